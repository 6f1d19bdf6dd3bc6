// Layer selection and neuron classification on hand-made score tables,
// including ties (DESIGN §4.1, §4.3).
#include <string.h>

#include "harness.h"
#include "landermt/classify.h"

static void test_transitions(void) {
    // 2 units, 4 layers
    const double A[] = {0, 1, 3, 3.5, 0, -1, 1, 1.5};
    double D[6], Dm[3];
    relevance_transitions(A, 2, 4, D, Dm);
    const double wantD[] = {1, 2, 0.5, 1, 2, 0.5}, wantM[] = {1, 2, 0.5};
    CHECK(!memcmp(D, wantD, sizeof D), "D %g %g %g / %g %g %g", D[0], D[1], D[2], D[3], D[4], D[5]);
    CHECK(!memcmp(Dm, wantM, sizeof Dm), "Dmean %g %g %g", Dm[0], Dm[1], Dm[2]);
}

static void test_spikes(void) {
    // 8 layers; transitions: biggest 5->6, then 1->2, then 6->7
    const double Dm[7] = {0.1, 0.9, 0.2, 0.3, 0.1, 1.5, 0.8};
    int out[8];
    CHECK(layers_select_spikes(Dm, 8, 4, out) == 4 && out[0] == 1 && out[1] == 2 && out[2] == 5 &&
              out[3] == 6, "k=4: %d %d %d %d", out[0], out[1], out[2], out[3]);
    // k = 3: 5,6 then the lower layer of the next transition
    CHECK(layers_select_spikes(Dm, 8, 3, out) == 3 && out[0] == 1 && out[1] == 5 && out[2] == 6,
          "k=3: %d %d %d", out[0], out[1], out[2]);
    // overlapping transitions share a layer: 5->6 then 6->7 adds only 7
    const double Dm2[7] = {0, 0, 0, 0, 0, 2, 1};
    CHECK(layers_select_spikes(Dm2, 8, 3, out) == 3 && out[0] == 5 && out[1] == 6 && out[2] == 7,
          "overlap: %d %d %d", out[0], out[1], out[2]);
    // ties: the lower transition first
    const double tie[3] = {1, 1, 1};
    CHECK(layers_select_spikes(tie, 4, 2, out) == 2 && out[0] == 0 && out[1] == 1, "tie");
    CHECK(layers_select_spikes(Dm, 8, 9, out) == -1, "k > L accepted");
    CHECK(layers_select_spikes(Dm, 8, 8, out) == 8 && out[7] == 7, "k = L");
}

static void test_topk(void) {
    const double Dm[7] = {0.1, 0.9, 0.2, 0.3, 0.1, 1.5, 0.8};
    int out[8];
    CHECK(layers_select_topk(Dm, 8, 3, out) == 3 && out[0] == 2 && out[1] == 6 && out[2] == 7,
          "topk: %d %d %d", out[0], out[1], out[2]);
    const double tie[3] = {1, 1, 1};
    CHECK(layers_select_topk(tie, 4, 2, out) == 2 && out[0] == 1 && out[1] == 2, "topk tie");
    CHECK(layers_select_topk(Dm, 8, 8, out) == -1, "topk with k = L accepted (layer 0 has no D)");
}

static void test_classify(void) {
    // 3 units x 6 neurons. Variances: n0 high (owner 2), n1 zero, n2 mid
    // (owner 0), n3 high (owner 1), n4 tie with n5 (equal variance).
    const double phi[3 * 6] = {
        0, 1, 5, 0, 1, 2,   // unit 0
        0, 1, 1, 9, 2, 1,   // unit 1
        10, 1, 1, 0, 3, 3,  // unit 2
    };
    int owner[6];
    classify_layer(phi, 3, 6, 6, 0.5, owner);  // 3 specific: n0, n3, then n2
    const int want[6] = {2, -1, 0, 1, -1, -1};
    CHECK(!memcmp(owner, want, sizeof want), "owners %d %d %d %d %d %d", owner[0], owner[1], owner[2],
          owner[3], owner[4], owner[5]);
    // epsilon 1/6 rounds to 5 specific: n4 and n5 tie in variance; both in,
    // n1 (zero variance) stays general; a tie in phi goes to the lower unit.
    classify_layer(phi, 3, 6, 6, 1.0 / 6, owner);
    CHECK(owner[1] == -1 && owner[4] == 2 && owner[5] == 2, "n1 %d n4 %d n5 %d", owner[1], owner[4], owner[5]);
    const double flat[2 * 2] = {1, 1, 1, 1};
    classify_layer(flat, 2, 2, 2, 0.5, owner);
    CHECK(owner[0] == 0 && owner[1] == -1, "all-tie: %d %d (lowest index specific, lowest unit owner)",
          owner[0], owner[1]);
}

int main(void) {
    RUN(test_transitions);
    RUN(test_spikes);
    RUN(test_topk);
    RUN(test_classify);
    return harness_finish();
}
