#include "mpi/comm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/comm_int.h"
#include "util/timer.h"

static int g_rank, g_size = 1, g_local = 1;
static MPI_Comm g_local_comm = MPI_COMM_NULL;  // the ranks sharing this machine's memory
static double g_comm_seconds;
static double g_deadline;              // s; 0 = no hang detection
static const char *g_deadline_setting = "the deadline";
static MPI_Comm g_probe = MPI_COMM_NULL;  // hang probes and their answers
static MPI_Comm g_probe_sum = MPI_COMM_NULL;  // the point-to-point messages of comm_sum
static char *g_hosts;                  // (size, MPI_MAX_PROCESSOR_NAME) host of every rank
static int64_t g_seq;                  // collectives entered so far
static int64_t *g_answer;              // during a hang check: per rank, its g_seq + 1 (0 = silent)

enum { TAG_PROBE = 1, TAG_ANSWER = 2 };
#define SPIN_ARRIVE 2e-4  // s of continuous polling for ranks arriving together
#define SPIN_DATA COMM_SPIN_DATA

// MPI_ERRORS_RETURN + this check turns every failed call into one clear
// message followed by MPI_Abort of the whole job.
void comm_check(int rc, const char *what) {
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
    comm_check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_rank, MPI_INFO_NULL, &g_local_comm),
          "MPI_Comm_split_type");
    MPI_Comm_size(g_local_comm, &g_local);
    comm_check(MPI_Comm_dup(MPI_COMM_WORLD, &g_probe), "MPI_Comm_dup");
    comm_check(MPI_Comm_dup(MPI_COMM_WORLD, &g_probe_sum), "MPI_Comm_dup");
    char name[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    MPI_Get_processor_name(name, &len);
    g_hosts = calloc((size_t)g_size, MPI_MAX_PROCESSOR_NAME);
    comm_check(MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, g_hosts, MPI_MAX_PROCESSOR_NAME,
                        MPI_CHAR, MPI_COMM_WORLD), "MPI_Allgather(host names)");
}

void comm_set_deadline(double seconds, const char *setting) {
    g_deadline = seconds > 0 ? seconds : 0;
    if (setting) g_deadline_setting = setting;
}
double comm_deadline(void) { return g_deadline; }

static const char *host_of(int r) { return g_hosts + (size_t)r * MPI_MAX_PROCESSOR_NAME; }

// Answers the hang probes of other ranks (with this rank's collective
// count) and files answers to this rank's own probes.
static void answer_probes(void) {
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, g_probe, &flag, &st);
        if (!flag) return;
        int64_t msg;
        MPI_Recv(&msg, 1, MPI_INT64_T, st.MPI_SOURCE, st.MPI_TAG, g_probe, MPI_STATUS_IGNORE);
        if (st.MPI_TAG == TAG_PROBE) MPI_Send(&g_seq, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_ANSWER, g_probe);
        else if (g_answer) g_answer[st.MPI_SOURCE] = msg + 1;
    }
}

// The ranks that did not answer, with their hosts, and those waiting in
// another collective than this one; then the job ends.
static void hang_abort(const char *what, double waited) {
    char list[2048] = "", other[1024] = "";
    size_t k = 0, ko = 0;
    int silent = 0;
    for (int r = 0; r < g_size; r++) {
        if (r == g_rank) continue;
        if (!g_answer[r]) {
            silent++;
            if (k < sizeof list)
                k += (size_t)snprintf(list + k, sizeof list - k, "%s%d (%s)", k ? ", " : "", r, host_of(r));
        } else if (g_answer[r] - 1 != g_seq && ko < sizeof other) {
            ko += (size_t)snprintf(other + ko, sizeof other - ko, "%s%d at #%lld", ko ? ", " : "", r,
                                   (long long)(g_answer[r] - 1));
        }
    }
    fprintf(stderr, "error: rank %d (%s): %s (collective #%lld) has waited %.0f s, past the "
            "deadline of %.0f s; ", g_rank, host_of(g_rank), what, (long long)g_seq, waited, g_deadline);
    if (silent)
        fprintf(stderr, "rank%s %s did not arrive and do%s not answer (stopped, stuck in I/O or on a "
                "wedged node): ending the job\n", silent > 1 ? "s" : "", list, silent > 1 ? "" : "es");
    else
        fprintf(stderr, "every rank answers, but some wait in another collective (%s): ending the job\n",
                ko ? other : "the same one");
    fprintf(stderr, "HINT: if the ranks are only slow, raise %s (0 = never give up)\n", g_deadline_setting);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

// Past the deadline: probe every other rank, keep polling req for
// COMM_PROBE_GRACE seconds (it may still complete: then nothing happened),
// and end the job naming the ranks that stayed silent.
static void hang_check(MPI_Request *req, const char *what, double t0) {
    static int64_t probe;
    probe = g_seq;
    MPI_Request *sends = calloc((size_t)g_size, sizeof *sends);
    g_answer = calloc((size_t)g_size, sizeof *g_answer);
    for (int r = 0; r < g_size; r++)
        if (r == g_rank) sends[r] = MPI_REQUEST_NULL;
        else MPI_Isend(&probe, 1, MPI_INT64_T, r, TAG_PROBE, g_probe, &sends[r]);
    int done = 0;
    for (double end = MPI_Wtime() + COMM_PROBE_GRACE; !done && MPI_Wtime() < end; timer_sleep(1e-3)) {
        comm_check(MPI_Test(req, &done, MPI_STATUS_IGNORE), what);
        answer_probes();
    }
    if (!done) hang_abort(what, MPI_Wtime() - t0);
    for (int r = 0; r < g_size; r++)
        if (sends[r] != MPI_REQUEST_NULL) MPI_Request_free(&sends[r]);
    free(sends);
    free(g_answer);
    g_answer = NULL;
}

// Waits for a non-blocking collective under the deadline: continuous tests
// for the first `spin` seconds (data moving between ranks that are all
// there), then naps growing to 1 ms (a rank waiting for a late, or hung,
// peer uses almost no CPU).
void comm_wait_checked(MPI_Request *req, const char *what, double spin) {
    double t0 = MPI_Wtime(), dt = 2e-5;
    for (;;) {
        int done = 0;
        comm_check(MPI_Test(req, &done, MPI_STATUS_IGNORE), what);
        if (done) return;
        answer_probes();
        double waited = MPI_Wtime() - t0;
        if (g_deadline > 0 && waited > g_deadline) {  // 0 = wait as long as it takes
            hang_check(req, what, t0);
            return;
        }
        if (waited > spin) timer_sleep(dt), dt = dt < 5e-4 ? 2 * dt : 1e-3;
    }
}

// Under a deadline: the arrival of every rank, then the collective itself.
int comm_checked(void) { return g_deadline > 0 && g_size > 1; }

static void arrive(const char *what) {
    MPI_Request req;
    g_seq++;
    comm_check(MPI_Ibarrier(MPI_COMM_WORLD, &req), what);
    comm_wait_checked(&req, what, SPIN_ARRIVE);
}

void comm_finalize(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin) return;
    if (g_probe != MPI_COMM_NULL) MPI_Comm_free(&g_probe);
    if (g_probe_sum != MPI_COMM_NULL) MPI_Comm_free(&g_probe_sum);
    if (g_local_comm != MPI_COMM_NULL) MPI_Comm_free(&g_local_comm);
    free(g_hosts);
    g_hosts = NULL;
    MPI_Finalize();
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
    if (comm_checked()) arrive(what);
    for (size_t off = 0; off < n || (n == 0 && off == 0); off += chunk) {
        size_t cnt = n - off < chunk ? n - off : chunk;
        void *p = (char *)buf + off * (size_t)tsize;
        if (comm_checked()) {
            MPI_Request req;
            comm_check(MPI_Iallreduce(MPI_IN_PLACE, p, (int)cnt, type, op, MPI_COMM_WORLD, &req), what);
            comm_wait_checked(&req, what, SPIN_DATA);
        } else {
            comm_check(MPI_Allreduce(MPI_IN_PLACE, p, (int)cnt, type, op, MPI_COMM_WORLD), what);
        }
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
    if (comm_checked()) {
        MPI_Request req;
        arrive("MPI_Bcast");
        comm_check(MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD, &req), "MPI_Bcast");
        comm_wait_checked(&req, "MPI_Bcast", SPIN_DATA);
    } else {
        comm_check(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
    g_comm_seconds += MPI_Wtime() - t0;
}

void comm_barrier(void) {
    if (comm_checked()) arrive("MPI_Barrier");
    else comm_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}
double comm_seconds(void) { return g_comm_seconds; }

void comm_local_sum(double *v, int n) {
    if (comm_checked()) {
        MPI_Request req;
        comm_check(MPI_Iallreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, g_local_comm, &req),
                   "allreduce(machine)");
        comm_wait_checked(&req, "allreduce(machine)", SPIN_DATA);
    } else {
        comm_check(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, MPI_SUM, g_local_comm), "allreduce(machine)");
    }
}

// ------------------------------------------------------ deterministic sum
//
// Phases with P2 the largest power of two <= P and E = P - P2 extra ranks:
//   fold   rank P2 + i sends to rank i (i < E), which adds;
//   tree   log2(P2) steps, rank r exchanges with r ^ d (d = 1, 2, ...)
//          and adds what it receives: a + b == b + a, so both hold the
//          same bits after every step;
//   unfold rank i sends the result back to rank P2 + i.

static int pow2_below(int n) {
    int p = 1;
    while (2 * p <= n) p *= 2;
    return p;
}

// Sets what phase `ph` asks of this rank (partner -1: nothing).
static void sum_phase(CommSum *s, int ph) {
    int P2 = pow2_below(s->size), E = s->size - P2, r = s->rank;
    s->partner = -1, s->recv = s->send = 0;
    if (ph == 0) {  // fold
        if (r >= P2) s->partner = r - P2, s->send = 1;
        else if (r < E) s->partner = r + P2, s->recv = 1;
    } else if (ph <= s->n_phase - 2) {  // tree step d = 2^(ph-1)
        if (r < P2) s->partner = r ^ (1 << (ph - 1)), s->send = s->recv = 1;
    } else {  // unfold
        if (r < E) s->partner = r + P2, s->send = 1;
        else if (r >= P2) s->partner = r - P2, s->recv = 1;
    }
}

static void sum_post(CommSum *s) {
    MPI_Request *rq = s->req;
    rq[0] = rq[1] = MPI_REQUEST_NULL;
    sum_phase(s, s->phase);
    if (s->partner < 0) return;
    int unfold = s->phase == s->n_phase - 1;  // the result arrives in buf itself
    int rank, size;
    MPI_Comm c = comm_group(s->group, &rank, &size);
    if (s->recv)
        comm_check(MPI_Irecv(unfold ? s->buf : s->tmp, s->n, MPI_FLOAT, s->partner, s->tag, c, &rq[0]),
                   "MPI_Irecv(sum)");
    if (s->send) comm_check(MPI_Isend(s->buf, s->n, MPI_FLOAT, s->partner, s->tag, c, &rq[1]), "MPI_Isend(sum)");
}

// After phase ph's messages: add what came in (fold and tree steps);
// the requests are released with the last phase.
static void sum_finish_phase(CommSum *s) {
    if (s->recv && s->phase < s->n_phase - 1)
        for (int i = 0; i < s->n; i++) s->buf[i] += s->tmp[i];
    s->phase++;
    if (s->phase < s->n_phase) {
        sum_post(s);
        return;
    }
    free(s->req);
    s->req = NULL;
}

MPI_Comm comm_world_sum(int *rank, int *size) {
    *rank = g_rank, *size = g_size;
    return g_probe_sum;
}

void comm_sum_start_group(CommSum *s, int group, float *buf, float *tmp, int n) {
    static int seq;
    int rank, size, steps = 0;
    comm_group(group, &rank, &size);
    for (int p = pow2_below(size); p > 1; p /= 2) steps++;
    *s = (CommSum){.buf = buf, .tmp = tmp, .group = group, .rank = rank, .size = size, .n = n,
                   .phase = 0, .n_phase = steps + 2, .tag = seq++ % 30000};
    if (size == 1) {
        s->phase = s->n_phase;
        return;
    }
    s->req = calloc(2, sizeof(MPI_Request));
    sum_post(s);
}

void comm_sum_start(CommSum *s, float *buf, float *tmp, int n) {
    comm_sum_start_group(s, COMM_WORLD_GROUP, buf, tmp, n);
}

int comm_sum_test(CommSum *s) {
    while (s->phase < s->n_phase) {
        int done = 0;
        comm_check(MPI_Testall(2, s->req, &done, MPI_STATUSES_IGNORE), "MPI_Testall(sum)");
        if (!done) return 0;
        sum_finish_phase(s);
    }
    return 1;
}

void comm_sum_wait(CommSum *s) {
    double t0 = MPI_Wtime();
    while (s->phase < s->n_phase) {
        MPI_Request *rq = s->req;
        for (int k = 0; k < 2; k++)
            if (comm_checked()) comm_wait_checked(&rq[k], "the gradient sum", SPIN_DATA);
            else comm_check(MPI_Wait(&rq[k], MPI_STATUS_IGNORE), "MPI_Wait(sum)");
        sum_finish_phase(s);
    }
    g_comm_seconds += MPI_Wtime() - t0;
}

// Consecutive ranks on one host are listed as a range.
void comm_host_map(char *out, size_t cap) {
    const char *all = g_rank == 0 ? g_hosts : NULL;  // gathered by comm_init
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
}
