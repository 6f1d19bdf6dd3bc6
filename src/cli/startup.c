// Start-up of the compute commands: the thread budget per rank and the
// banner (version, commit, config hash, ranks x threads, rank -> host map).
// Threads per rank: explicit OPENBLAS_NUM_THREADS / OMP_NUM_THREADS win,
// then Slurm's cpus-per-task, else the node's cores divided by the ranks on
// this node, so ranks never oversubscribe cores.
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "model/gemm.h"
#include "mpi/comm.h"

extern const char *const landermt_git;  // build/git_commit.c (tools/git_commit.cmake)

static int env_int(const char *name) {
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : 0;
}

// FNV-1a 64 of the resolved config: two logs with the same hash ran the
// same configuration.
static unsigned long long config_hash(const char *text) {
    unsigned long long h = 1469598103934665603ull;
    for (const char *p = text ? text : ""; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

void startup(const CliArgs *a) {
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
    gemm_init();  // the n threads are OpenMP's; OpenBLAS runs inside them, single-threaded
    omp_set_num_threads(n);
    char hosts[2048];
    comm_host_map(hosts, sizeof hosts);
    const char *job = getenv("SLURM_JOB_ID");
    if (comm_rank() == 0)
        printf("landermt %s (git %s) %s | config %016llx | ranks %d x threads %d (from %s) | %s%s%s\n",
               LANDERMT_VERSION, landermt_git, a->sub, config_hash(a->config_text), comm_size(), n,
               source, hosts, job ? " | slurm job " : "", job ? job : "");
    fflush(stdout);  // before any error on stderr, also when both go to one file
}

void startup_stdout_free(const CliArgs *a, const char *output) {
    int saved = -1;
    fflush(stdout);
    if (!strcmp(output, "-") && (saved = dup(STDOUT_FILENO)) >= 0) dup2(STDERR_FILENO, STDOUT_FILENO);
    startup(a);
    fflush(stdout);
    if (saved >= 0) dup2(saved, STDOUT_FILENO), close(saved);
}
