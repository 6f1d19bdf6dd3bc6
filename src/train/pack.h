// The trainable entries of a run, packed into one contiguous buffer whose
// layout is fixed at start-up and never depends on data (DESIGN §4.4, §5):
// gradients are packed there and allreduced once per step, AdamW updates
// only packed entries, and the parameters are scattered back into the
// model. Three kinds of segment:
//   whole tensors     train.mode full (every tensor), layers (every tensor
//                     of the selected layers);
//   FFN neuron sets   landermt, general, specific: for each selected layer
//                     the trainable neurons' rows of gate_proj (llama) and
//                     up_proj and columns of down_proj, each as a row of C
//                     floats, then their up-bias entries (bloom);
//   routing gates     landermt with routing: w (C) and b per selected
//                     layer (and direction with routing.per_direction);
//   LoRA adapters     lora: A (r, in) then B (out, r) per layer and target;
//                     the model reads them from the pack directly.
// A micro-batch of direction p only ever writes the gradients of the
// general neurons and those specific to p; all others stay exactly zero.
#ifndef LM_PACK_H
#define LM_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "io/ckpt.h"
#include "io/config.h"
#include "io/neurons.h"
#include "train/adamw.h"
#include "model/model.h"

// One selected layer's trainable neurons, grouped by class: general ones
// first, then the neurons of each unit in unit order (ascending inside a
// group), so the neurons a micro-batch updates are at most three
// consecutive runs of packed rows.
typedef struct {
    int layer;        // model layer
    int n;            // trainable neurons
    int *neuron;      // [n] in group order
    float *grad_scale;  // [n] awareness factors (train.awareness_scaled_grads), or NULL
    int n_group;      // 1 + units
    int *group_start; // [n_group + 1] first row of each group (general, unit 0, ...)
    size_t off;       // packed offset: [gate rows (n,C)] up rows (n,C), down columns (n,C)
                      // [up-bias entries (n)] (PackFfnView)
} PackFfn;

// Where a neuron segment's parts sit in a packed buffer (values,
// gradients or moments): row r of each part belongs to neuron[r].
typedef struct {
    float *gate, *up, *down;  // (n,C) each; gate NULL for bloom
    float *bias;              // (n) up-bias entries; NULL for llama
} PackFfnView;

typedef struct {
    int tensor;       // whole-tensor segment: index in the tensor table
    size_t off;
} PackTensor;

typedef struct {
    size_t off, n;
    int decay;        // weight decay applies (entries of 2-D weights)
} PackRun;

typedef struct {
    int layer;
    LoraTarget target;
    int in, out;      // the targeted linear's sizes
    size_t off;       // A (r, in) at off, B (out, r) after it
} PackLora;

// A bucket: packed entries whose gradients one stretch of the backward
// pass completes — one layer's (layer = its index, part -1), a chunk of
// the FFN neuron rows of a layer trained neuron by neuron (part = chunk
// index: a few thousand neurons, so a bucket stays a few tens of MB even
// for 7B-sized layers), the final norm and head's (layer = L), the
// embedding's (layer = -1) or the routing gates' (layer = -2, written by
// every selected layer). The buckets list the entries in backward order; a
// persistent bucket collects gradients over the whole backward pass (the
// embedding of a tied head, the gates), the others only during their own
// stretch, so their gradients can be reduced while the pass goes on. A
// bucket is up to 4 packed ranges (a chunk: its gate, up, down rows and
// bias entries), gathered back to back in a bucket buffer.
enum { PACK_TENSORS, PACK_FFN, PACK_ROUTES, PACK_LORA };
#define PACK_CHUNK_FLOATS ((size_t)1 << 23)  // FFN neuron rows per bucket, in floats
typedef struct {
    int layer, part;
    int kind;          // PACK_TENSORS, PACK_FFN, PACK_ROUTES, PACK_LORA
    int first, count;  // the entries of that kind (p->tensor, p->ffn, p->lora indices)
    int r0, r1;        // PACK_FFN: the segment's neuron rows [r0, r1)
    int persistent;
    int n_range;
    size_t off[4], len[4];  // packed ranges, in the order of the bucket buffer
    size_t n;          // floats in all
} PackBucket;

typedef struct {
    char mode[16];
    size_t n;                    // packed floats = floats allreduced per step
    float *param, *grad, *m, *v; // (n) values, gradient, AdamW moments
    int n_run;
    PackRun *run;                // consecutive runs covering [0, n): weight decay or not
    int n_tensor;
    PackTensor *tensor;
    int n_ffn;
    PackFfn *ffn;                // selected layers with neuron segments
    int ffn_gated, ffn_biased;   // llama: gate rows; bloom: up-bias entries
    int stop_layer;              // lowest layer with a trainable entry
    // Per direction d: the groups its micro-batches update (index 0 =
    // general) and, with routing, the CAR class of every neuron per FFN
    // segment j (cls[d * n_ffn + j], (F)).
    int n_dir;
    int *n_groups;               // [n_dir]
    int (*groups)[3];            // [n_dir] group indices
    unsigned char **cls;         // NULL without routing
    // Routing gates: gate g of FFN segment j at route_off + (g*n_ffn + j)*(C+1).
    int routing, n_gates;
    float scale;
    size_t route_off;
    FfnRoute *route;             // [L] handed to the model, per micro-batch
    FfnGrad *fgrad;              // [L]
    FfnBlock *blocks;            // [L][3]
    // LoRA: adapters in layer then target order; the model's LoraSet and
    // the backward's gradient views point into param and grad.
    int n_lora;
    PackLora *lora;
    LoraPair *lora_at;           // [L * LORA_N]
    LoraGrad *lora_grad;         // [L * LORA_N]
    LoraSet lora_set;
    int n_bucket;
    PackBucket *bucket;          // in backward order
    size_t chunk_floats;         // FFN neuron rows per bucket, in floats
    int shared;                  // param, grad, m, v are node-shared (mpi/node.h)
    size_t own_lo, own_hi;       // the entries this rank updates (its slice; all when not shared)
    FfnPacked *packed;           // [L] where the model reads the trained neurons (neuron modes)
    int dir;                     // the direction of the current micro-batch
} ParamPack;

typedef struct {
    int rank;
    float alpha;
    const char *const *target;   // lora.target names; n_target = 0: the family default
    int n_target;
    int selected;                // 1: only the neurons file's selected layers
    uint64_t seed;               // A's initialisation
} LoraSpec;

typedef struct {
    const char *mode;            // full | layers | landermt | general | specific | lora
    const Neurons *neurons;      // required unless mode is full (or lora on all layers)
    const char *const *dirs;     // training directions, in stream order
    int n_dir;
    int routing, per_direction;  // landermt only
    float scale;
    int awareness_scaled;        // scale neuron gradients by their awareness
    LoraSpec lora;               // mode lora
    size_t chunk_floats;         // FFN rows per bucket; 0 = PACK_CHUNK_FLOATS
    int node_shared;             // values, gradient and moments in node-shared memory
    int values_only;             // only the values (export, decoding): no gradient or moments
    int ranks_per_node;          // with node_shared: emulated nodes (0 = real ones)
} PackSpec;

// Slices are whole blocks of the gradient norm's partial sums (adamw.h).
#define PACK_NORM_BLOCK ADAMW_NORM_BLOCK
// 1 where this rank writes the pack's values (always, unless node-shared:
// then the node's rank 0).
int pack_writer(const ParamPack *p);
// The lora.* keys (and train.seed) as a LoraSpec.
LoraSpec pack_lora_spec(const Config *c);
// The spec a run's config asks for: train.mode, the neurons file (read
// into nr for the selective modes), data.directions, routing.*, lora.*.
LmStatus pack_spec_config(const Config *c, Neurons *nr, PackSpec *spec);

// Builds the layout and gathers the initial values from the model (LoRA:
// A uniform in +-1/sqrt(in) as PEFT does, B = 0, so the adapted model
// starts as the base). Errors (LM_EUSAGE) name what does not fit: a neurons
// file of another model, a direction without neurons, a mode without a
// neurons file, a LoRA target the family lacks or a rank above a matrix.
// Trainable model tensors stored in 16 bits get float32 storage of their
// own first (model_tensor_to_f32).
LmStatus pack_build(ParamPack *p, Model *m, const PackSpec *spec);
void pack_free(ParamPack *p);

// Prepares the model and the gradient views for a micro-batch of direction
// d: CAR routes with d's classes, dense gradient views into p->grad for
// whole-tensor segments, selective FFN gradient blocks straight into the
// packed rows of d's groups, LoRA adapters and their gradient views. g
// must come from model_weights_none.
void pack_micro_begin(ParamPack *p, Model *m, int d, ModelWeights *g, BackwardOpts *o);
// Points the gradient views of bucket b's entries at buf, which holds its
// packed ranges back to back (for the micro-batch's direction).
void pack_point(ParamPack *p, Model *m, ModelWeights *g, int b, float *buf);
// Chunked FFN gradients on (the backward pass calls grad_hook around each
// chunk, and pack_point sets its rows) or off (pack_micro_begin: every row
// in one chunk, into p->grad).
void pack_chunked(ParamPack *p, int on);
// With awareness-scaled gradients: multiplies each trainable neuron's
// gradient rows by its factor (its awareness averaged over units, divided by
// the mean over the layer's trainable neurons). A no-op otherwise.
void pack_scale_grads(ParamPack *p, int C);

// The parts of neuron segment f inside buf (p->param, p->grad, ...), a
// buffer holding the packed range from offset `origin` on.
PackFfnView pack_ffn_view(const ParamPack *p, const PackFfn *f, float *buf, size_t origin, int C);
// Floats per trainable neuron: 3 C (llama), 2 C + 1 (bloom).
size_t pack_ffn_per_neuron(const ParamPack *p, int C);

// Writes the packed values back into the model's tensors (made float32
// first): export and decoding need the whole model.
void pack_scatter(const ParamPack *p, Model *m);
// Only the whole-tensor segments: training, whose forward pass reads
// neuron segments from the pack itself (Model.packed).
void pack_scatter_tensors(const ParamPack *p, Model *m);
// Copies the model's current values of the packed entries into p->param
// (any storage dtype).
void pack_gather(ParamPack *p, const Model *m);
// Whether a checkpoint's training state fits this pack (mode, layout, base
// checksum) without touching anything; errors name what differs.
LmStatus pack_restore_check(const ParamPack *p, const TrainState *ts, uint64_t base_checksum,
                            const char *base_name, const char *path);
// Loads the pack from a checkpoint's training state (ckpt_read) — whole
// tensors into the model too; neuron segments only into the pack, as
// training reads them (pack_scatter writes them into the model): the whole
// model and its moments for mode full; otherwise the packed entries, after
// checking that the layout and the base model (base_checksum of the model
// now loaded, base_name for messages) are the ones that wrote them.
LmStatus pack_restore(ParamPack *p, Model *m, const TrainState *ts, uint64_t base_checksum,
                      const char *base_name, const char *path);

// What a checkpoint's /landermt group records of this pack: classes of
// nr, and the gates (per direction, named by dirs, when there are several).
void pack_landermt_state(const ParamPack *p, const Neurons *nr, const char *const *dirs,
                         LandermtState *out);

// Identity of the layout (mode, segments, neuron lists, gates): a resumed
// run must find the same one in its checkpoint.
uint64_t pack_layout_hash(const ParamPack *p);

#endif
