#include "mpi/comm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_rank, g_size = 1, g_local = 1;
static double g_comm_seconds;

// MPI_ERRORS_RETURN + this check turns every failed call into one clear
// message followed by MPI_Abort of the whole job.
static void check(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    fprintf(stderr, "error: rank %d: %s failed: %s\n", g_rank, what, msg);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

void comm_init(int *argc, char ***argv) {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) MPI_Init(argc, argv);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    MPI_Comm local;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &local),
          "MPI_Comm_split_type");
    MPI_Comm_size(local, &g_local);
    MPI_Comm_free(&local);
}

void comm_finalize(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

int comm_rank(void) { return g_rank; }
int comm_size(void) { return g_size; }
int comm_local_size(void) { return g_local; }

void comm_abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
    for (;;) {}
}

static void allreduce(void *buf, size_t n, MPI_Datatype type, MPI_Op op, const char *what) {
    double t0 = MPI_Wtime();
    // Chunks keep each call's count within int range for huge models.
    const size_t chunk = (size_t)1 << 30;
    int tsize;
    MPI_Type_size(type, &tsize);
    for (size_t off = 0; off < n || (n == 0 && off == 0); off += chunk) {
        size_t cnt = n - off < chunk ? n - off : chunk;
        check(MPI_Allreduce(MPI_IN_PLACE, (char *)buf + off * (size_t)tsize, (int)cnt, type, op,
                            MPI_COMM_WORLD), what);
        if (n == 0) break;
    }
    g_comm_seconds += MPI_Wtime() - t0;
}

void comm_allreduce_f32(float *buf, size_t n) { allreduce(buf, n, MPI_FLOAT, MPI_SUM, "allreduce(float)"); }
void comm_allreduce_f64(double *buf, size_t n) { allreduce(buf, n, MPI_DOUBLE, MPI_SUM, "allreduce(double)"); }
void comm_allreduce_i64(int64_t *buf, size_t n) { allreduce(buf, n, MPI_INT64_T, MPI_SUM, "allreduce(int64)"); }

static int reduce_int(int v, MPI_Op op) {
    allreduce(&v, 1, MPI_INT, op, "allreduce(decision)");
    return v;
}

int comm_any(int flag) { return reduce_int(flag != 0, MPI_LOR); }
int comm_all(int flag) { return reduce_int(flag != 0, MPI_LAND); }
int comm_or(int bits) { return reduce_int(bits, MPI_BOR); }
int comm_agree_status(int status) { return reduce_int(status, MPI_MAX); }

void comm_bcast(void *buf, size_t bytes, int root) {
    double t0 = MPI_Wtime();
    check(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    g_comm_seconds += MPI_Wtime() - t0;
}

void comm_barrier(void) { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
double comm_seconds(void) { return g_comm_seconds; }

// Consecutive ranks on one host are listed as a range.
void comm_host_map(char *out, size_t cap) {
    char name[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    MPI_Get_processor_name(name, &len);
    char *all = g_rank == 0 ? calloc((size_t)g_size, MPI_MAX_PROCESSOR_NAME) : NULL;
    check(MPI_Gather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, 0,
                     MPI_COMM_WORLD), "MPI_Gather(host names)");
    out[0] = '\0';
    size_t k = 0;
    for (int r = 0; all && r < g_size && k < cap; r++) {
        const char *h = all + (size_t)r * MPI_MAX_PROCESSOR_NAME;
        int first = r;
        while (r + 1 < g_size && !strcmp(h, all + (size_t)(r + 1) * MPI_MAX_PROCESSOR_NAME)) r++;
        k += (size_t)snprintf(out + k, cap - k, "%s%s: rank%s %d", k ? "; " : "", h,
                              r > first ? "s" : "", first);
        if (r > first && k < cap) k += (size_t)snprintf(out + k, cap - k, "-%d", r);
    }
    free(all);
}
