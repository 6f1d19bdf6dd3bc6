// The MPI layer: initialisation (a single process without a launcher works
// through singleton init), rank/size, checked collectives and agreed
// decisions. Any MPI failure is fatal and aborts the whole job, so a broken
// rank can never leave the others waiting in a collective.
#ifndef LM_COMM_H
#define LM_COMM_H

#include <stddef.h>
#include <stdint.h>

void comm_init(int *argc, char ***argv);
void comm_finalize(void);
int comm_rank(void);
int comm_size(void);
// Ranks sharing this node (for thread budgeting).
int comm_local_size(void);

// Terminates every rank with `code` (MPI_Abort). Never returns.
void comm_abort(int code) __attribute__((noreturn));

// In-place sums over all ranks.
void comm_allreduce_f32(float *buf, size_t n);
void comm_allreduce_f64(double *buf, size_t n);
void comm_allreduce_i64(int64_t *buf, size_t n);
// Collective decisions: true on every rank if any / all ranks pass true.
int comm_any(int flag);
int comm_all(int flag);
// Bitwise OR of `bits` over all ranks: several agreed flags in one call.
int comm_or(int bits);
// Agreed exit status: the maximum over ranks, so one failing rank makes
// every rank report failure.
int comm_agree_status(int status);
void comm_bcast(void *buf, size_t bytes, int root);
void comm_barrier(void);
// Rank -> host map on rank 0 ("host-a: ranks 0-1; host-b: ranks 2-3"),
// written into out (cap bytes); other ranks get "".
void comm_host_map(char *out, size_t cap);
// In-place sums over the ranks of this machine (memory totals per node).
void comm_local_sum(double *v, int n);
// Seconds spent inside collectives so far (communication timing).
double comm_seconds(void);

// Deterministic in-place sum of float buffers over all ranks, non-blocking:
// a fixed tree — ranks pair at distance 1, then 2, 4, ... (recursive
// doubling; beyond the largest power of two, the extra ranks fold into the
// first ones before and receive the result after) — so every rank gets the
// same bits, independent of the message size and of MPI's own algorithm
// choice: ((r0 + r1) + (r2 + r3)) for 4 ranks. Gradient buckets use it.
// tmp has room for n floats. Several may be in flight; all ranks start
// them in the same order.
enum { COMM_WORLD_GROUP = 0, COMM_SLICE_GROUP = 1 };
typedef struct {
    float *buf, *tmp;
    int group;        // COMM_WORLD_GROUP, or COMM_SLICE_GROUP (comm_node.h)
    int rank, size;   // in that group
    int n;            // floats (a bucket; < 2^31)
    int phase;        // step of the schedule now running; -1 = not started, done = n_phase
    int n_phase;
    int tag;
    int partner, recv, send;  // what the running phase does
    void *req;        // MPI requests of the phase (2)
} CommSum;
void comm_sum_start(CommSum *s, float *buf, float *tmp, int n);
// The same over the slice group: one rank per node, those with this rank's
// node rank (node-shared training, mpi/node.c).
void comm_sum_start_group(CommSum *s, int group, float *buf, float *tmp, int n);
// Advances without waiting; 1 once the sum is complete.
int comm_sum_test(CommSum *s);
// Completes it (under the hang deadline).
void comm_sum_wait(CommSum *s);

// Hang detection (docs/cluster.md). With a deadline set, every collective
// above first waits for all ranks to arrive (a non-blocking barrier polled
// with naps of at most 1 ms, so a waiting rank uses almost no CPU), then runs
// in its non-blocking form. A rank that has waited `seconds` in one of them
// asks all others, on a private communicator, whether they are waiting too;
// any rank inside a collective answers. Those that do not answer within
// COMM_PROBE_GRACE seconds are named with their hosts and the job is ended
// with MPI_Abort (exit 1). 0 (the default) = plain blocking collectives.
// `setting` names what the user changes to allow longer waits (for the
// message); NULL keeps the previous one.
#define COMM_PROBE_GRACE 3.0
void comm_set_deadline(double seconds, const char *setting);
double comm_deadline(void);

#endif
