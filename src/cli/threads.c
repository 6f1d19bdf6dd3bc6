// Threads per rank: explicit OPENBLAS_NUM_THREADS / OMP_NUM_THREADS win,
// then Slurm's cpus-per-task, else the node's cores divided by the ranks on
// this node, so ranks never oversubscribe cores.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mpi/comm.h"

void openblas_set_num_threads(int);

static int env_int(const char *name) {
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : 0;
}

void threads_setup(void) {
    const char *source = "OPENBLAS_NUM_THREADS";
    int n = env_int("OPENBLAS_NUM_THREADS");
    if (!n) n = env_int("OMP_NUM_THREADS"), source = "OMP_NUM_THREADS";
    if (!n) n = env_int("SLURM_CPUS_PER_TASK"), source = "SLURM_CPUS_PER_TASK";
    if (!n) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = (int)(cores / comm_local_size());
        source = "cores / ranks on this node";
        if (n < 1) n = 1;
    }
    openblas_set_num_threads(n);
    omp_set_num_threads(n);
    char hosts[2048];
    comm_host_map(hosts, sizeof hosts);
    if (comm_rank() == 0)
        printf("landermt %s | ranks %d x threads %d (from %s) | %s\n", LANDERMT_VERSION, comm_size(),
               n, source, hosts);
}
