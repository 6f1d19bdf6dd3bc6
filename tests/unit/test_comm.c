// The deterministic sum (comm_sum_*): every rank ends with the same bits,
// equal to the fixed tree computed here from every rank's values; several
// sums in flight complete independently; progress by test and by wait.
// Run alone and on 2, 3 and 4 ranks (tests/cli/comm_ranks.sh).
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mpi/comm.h"
#include "mpi/node.h"
#include "util/alloc.h"
#include "util/timer.h"

enum { N = 1000 };

// Rank r's value at i: varied magnitudes so the order of additions shows.
static float value(int r, int i) { return (float)((r + 1) * 1e-3 * (i % 17) + (i % 5 == r % 5 ? 1e4 : 0.1) + r * 3.1); }

// The tree of comm_sum over P ranks, computed from all values.
static float tree(int P, int i) {
    int P2 = 1;
    while (2 * P2 <= P) P2 *= 2;
    float v[64];
    for (int r = 0; r < P2; r++) v[r] = value(r, i);
    for (int r = P2; r < P; r++) v[r - P2] += value(r, i);  // fold
    for (int d = 1; d < P2; d *= 2)
        for (int r = 0; r < P2; r += 2 * d) v[r] = v[r] + v[r + d];
    return v[0];
}

static void test_sum_tree(void) {
    int P = comm_size(), R = comm_rank();
    float *a = falloc(N), *b = falloc(N), *ta = falloc(N), *tb = falloc(N);
    for (int i = 0; i < N; i++) a[i] = value(R, i), b[i] = 2 * value(R, i);
    CommSum sa, sb;
    comm_sum_start(&sa, a, ta, N);
    comm_sum_start(&sb, b, tb, N);  // two in flight
    while (!comm_sum_test(&sb)) {}
    comm_sum_wait(&sa);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        float want = tree(P, i), want2 = 0;
        bad += memcmp(&a[i], &want, 4) != 0;
        // b = 2a everywhere, and doubling is exact: the same tree doubled
        want2 = 2 * want;
        bad += memcmp(&b[i], &want2, 4) != 0;
    }
    CHECK(bad == 0, "%d ranks: %d values differ from the tree", P, bad);
    // every rank holds the same bits
    float *all = falloc(N);
    memcpy(all, a, sizeof(float) * N);
    comm_bcast(all, sizeof(float) * N, 0);
    CHECK(!memcmp(all, a, sizeof(float) * N), "rank %d differs from rank 0", R);
    free(a), free(b), free(ta), free(tb), free(all);
}

// Without a deadline (0, the default) a node barrier waits for a late rank
// however long it takes: a 7B run's first rank zeroes gigabytes of shared
// state before it arrives. Later than the probe grace, so a hang check would
// have ended the job.
static void test_node_barrier_waits(void) {
    comm_set_deadline(0, NULL);
    CHECK(comm_nodes_init(0) == 0, "nodes");
    if (comm_node_rank() == 0 && comm_node_size() > 1) timer_sleep(COMM_PROBE_GRACE + 0.5);
    comm_node_barrier();
    CHECK(1, "every rank passed the barrier");
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    RUN(test_sum_tree);
    RUN(test_node_barrier_waits);
    int rc = harness_finish();
    comm_finalize();
    return rc;
}
