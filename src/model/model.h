// The decoder-only transformer: configuration, parameters, activations, and
// the forward / backward passes over a batch of B sequences of T tokens.
//
// Notation used in shape comments throughout src/model:
//   B batch, T sequence length, C hidden_size, F intermediate_size (FFN
//   neurons), V vocab_size, H query heads, KV key/value heads, D head dim
//   (C / H unless the config gives head_dim), L layers.
#ifndef LM_MODEL_H
#define LM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "util/rng.h"

// What a query may see beyond causality: ALiBi (BLOOM) adds alibi[h] * j
// to the score of key j for head h; a sliding window (Mistral) hides keys
// window or more positions back. Zero-initialised = plain causal.
typedef struct {
    const float *alibi;  // (H) slopes, or NULL
    int window;          // 0 = unlimited
} AttnMask;

// The block structure of a family:
//   llama  RMSNorm, rotary positions, SwiGLU FFN, separate q/k/v/o
//          (Hugging Face model_type llama, mistral, qwen2);
//   bloom  LayerNorm with bias (also after the embedding), ALiBi, fused
//          query_key_value laid out per head as [q, k, v], GELU (tanh)
//          FFN, biases on every linear, tied head.
typedef enum { ARCH_LLAMA = 0, ARCH_BLOOM = 1 } Architecture;
// Rotary frequency schemes: plain theta^(-2i/D), or Llama 3.1's
// wavelength-dependent rescaling (rope_scaling.rope_type = llama3).
typedef enum { ROPE_PLAIN = 0, ROPE_LLAMA3 = 1 } RopeScaling;

#define MODEL_TYPE_LEN 16

// Field names follow Hugging Face config.json so checkpoints map 1:1.
typedef struct {
    Architecture architecture;
    char model_type[MODEL_TYPE_LEN];  // HF model_type: llama | mistral | qwen2 | bloom
    int vocab_size;
    int hidden_size;
    int intermediate_size;
    int num_hidden_layers;
    int num_attention_heads;
    int num_key_value_heads;
    int head_dim;             // per attention head; hidden_size / heads unless given
    int max_position_embeddings;
    float norm_eps;           // rms_norm_eps (llama) or layer_norm_epsilon (bloom)
    float rope_theta;
    RopeScaling rope_scaling;
    float rope_factor, rope_low_freq_factor, rope_high_freq_factor;  // llama3 scaling
    int rope_original_max_position_embeddings;                        // llama3 scaling
    int sliding_window;       // a query sees at most this many keys (itself included); 0 = all
    int tie_word_embeddings;  // lm_head shares the embedding matrix
    int attention_bias;       // q/k/v projections carry a bias (Qwen2; llama attention_bias)
    int attention_out_bias;   // o_proj carries a bias (llama attention_bias)
} ModelConfig;

// How a weight matrix is stored: float32 (trainable tensors, models loaded
// as float32), or bfloat16 / float16 as published (frozen tensors mapped
// from safetensors), widened block by block just before each product.
typedef enum { DTYPE_F32 = 0, DTYPE_BF16 = 1, DTYPE_F16 = 2 } DType;

typedef struct {
    void *p;     // (rows, cols) row-major in dtype dt
    DType dt;
} Mat;

// Gradients of the tensors of one block (float32). A NULL pointer means
// "frozen: compute no gradient". A family uses a subset: llama has no norm
// biases, no fused qkv and no FFN biases; bloom has qkv instead of
// q/k/v_proj and no gate_proj.
typedef struct {
    float *input_layernorm, *input_layernorm_bias;                    // (C), (C)
    float *q_proj, *q_bias;           // (H*D, C), (H*D)
    float *k_proj, *k_bias;           // (KV*D, C), (KV*D)
    float *v_proj, *v_bias;           // (KV*D, C), (KV*D)
    float *qkv, *qkv_bias;            // (3*H*D, C), (3*H*D): rows per head [q, k, v]
    float *o_proj, *o_bias;           // (C, H*D), (C)
    float *post_attention_layernorm, *post_attention_layernorm_bias;  // (C), (C)
    float *gate_proj;                 // (F, C)
    float *up_proj, *up_bias;         // (F, C), (F): bloom dense_h_to_4h
    float *down_proj, *down_bias;     // (C, F), (C): bloom dense_4h_to_h
} LayerWeights;

typedef struct {
    float *embed_tokens;          // (V, C)
    float *embed_norm, *embed_norm_bias;  // (C) bloom word_embeddings_layernorm
    float *norm, *norm_bias;      // (C) final norm
    float *lm_head;               // (V, C); aliases embed_tokens when tied
    LayerWeights *layers;         // [L]
} ModelWeights;

// The parameters themselves, as the forward pass reads them: the same
// tensors, matrices as stored (Mat), 1-D tensors always float32.
typedef struct {
    float *input_layernorm, *input_layernorm_bias;
    Mat q_proj;
    float *q_bias;
    Mat k_proj;
    float *k_bias;
    Mat v_proj;
    float *v_bias;
    Mat qkv;
    float *qkv_bias;
    Mat o_proj;
    float *o_bias;
    float *post_attention_layernorm, *post_attention_layernorm_bias;
    Mat gate_proj, up_proj;
    float *up_bias;
    Mat down_proj;
    float *down_bias;
} LayerParams;

typedef struct {
    Mat embed_tokens;
    float *embed_norm, *embed_norm_bias, *norm, *norm_bias;
    Mat lm_head;                  // the embedding's storage when tied
    LayerParams *layers;          // [L]
} ModelParams;

// One named tensor inside a flat buffer, named and shaped like the HF tensor.
typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    size_t offset;  // in floats, into the flat buffer
    size_t numel;
    int layer;      // block index, -1 for embeddings / final norm / lm_head
    size_t slot;    // byte offset of its gradient pointer in LayerWeights (or ModelWeights)
    size_t pslot;   // byte offset of its view in LayerParams (or ModelParams)
    void *data;     // its values: into Model.data, an own buffer or a mapping
    DType dtype;
    int owned;      // data is this tensor's own allocation (freed with the model)
    int readonly;   // data is in a read-only file mapping shared with other processes
} TensorInfo;

// FFN neuron classes relative to one micro-batch's direction (CAR routing).
enum { NEURON_REST = 0, NEURON_GENERAL = 1, NEURON_SPECIFIC = 2 };

// CAR routing of one layer's FFN for the current micro-batch; cls == NULL
// means a plain FFN.
typedef struct {
    const unsigned char *cls;  // (F) class of each neuron for this direction
    const float *w;            // (C) gate weights
    const float *b;            // (1) gate bias
    float scale;
} FfnRoute;

// LoRA adapters (train.mode lora): a targeted linear y = W x + b becomes
// y = W x + b + scale * B (A x), scale = alpha / rank, with A (r, in) and
// B (out, r). Targets are the linears of a block; bloom's fused
// query_key_value is one target (LORA_QKV) and its dense, dense_h_to_4h,
// dense_4h_to_h are LORA_O, LORA_UP, LORA_DOWN.
typedef enum {
    LORA_Q, LORA_K, LORA_V, LORA_QKV, LORA_O, LORA_GATE, LORA_UP, LORA_DOWN, LORA_N
} LoraTarget;

typedef struct {
    const float *A, *B;   // (r, in), (out, r); NULL: no adapter here
} LoraPair;

typedef struct {
    int rank;
    float scale;          // alpha / rank
    const LoraPair *at;   // [L * LORA_N]: adapter of layer l, target t at l * LORA_N + t
} LoraSet;

typedef struct {
    float *dA, *dB;       // accumulated gradients of one adapter, or NULL
} LoraGrad;

// (in, out) of the linear that target t adapts in a model of config c.
void model_lora_dims(const ModelConfig *c, LoraTarget t, int *in, int *out);

// FFN neurons whose current values live outside the model's tensors — in
// the trainer's packed buffer — for layers trained neuron by neuron: their
// rows of gate_proj and up_proj, up-bias entries and columns of down_proj
// (as rows). The forward and backward passes read these instead of the
// tensors' (frozen, possibly 16-bit) values for those neurons.
typedef struct {
    int n;                          // 0: the layer's tensors hold every value
    const int *neuron;              // [n] which neurons
    const float *gate, *up, *down;  // (n, C) each; gate NULL for bloom
    const float *up_bias;           // (n) bloom; NULL for llama
} FfnPacked;

typedef struct {
    ModelConfig cfg;
    FfnRoute *route;      // [L] or NULL; set per micro-batch by the trainer
    const FfnPacked *packed;  // [L] or NULL; set by the trainer
    const LoraSet *lora;  // or NULL
    int n_tensors;
    TensorInfo *tensors;  // HF order: embed, per layer ..., norm, lm_head
    float *data;          // all parameters, contiguous, when model_init made them
    size_t numel;
    ModelParams w;        // views of every tensor's storage
    void *keep;           // what read-only tensors point into (e.g. a file mapping),
    void (*keep_free)(void *);  // released by model_free
} Model;

// Fills what a family implies and what a config may leave out: head_dim
// (hidden / heads), model_type (from the architecture and biases); bloom
// gets kv heads = heads, every bias and a tied head.
void model_config_finish(ModelConfig *cfg);
// Validates a finished config (heads divide hidden, kv heads divide heads,
// even head dim for rotary, known model_type, ...). Returns 0 or prints the
// offending field and returns LM_EUSAGE.
int model_config_check(const ModelConfig *cfg);

// Allocates parameters (zeroed, float32, contiguous in m->data) and builds
// the tensor table and views.
void model_init(Model *m, const ModelConfig *cfg);
// Points tensor i at storage data of dtype dt (not owned unless `owned`;
// `readonly` for a shared read-only mapping); 1-D tensors must be float32.
// Call model_params_bind once all are set.
void model_tensor_set(Model *m, int i, void *data, DType dt, int owned, int readonly);
// (Re)builds m->w from the tensors' storage.
void model_params_bind(Model *m);
// Gives tensor i writable float32 storage of its own (widened or copied
// from its storage) and rebinds; a no-op when it has that already.
// Trainable tensors need this.
void model_tensor_to_f32(Model *m, int i);
// The index of the tensor whose view sits at byte pslot of layer l's
// LayerParams (l < 0: of ModelParams), or -1.
int model_tensor_at(const Model *m, int l, size_t pslot);
// Drops this process's pages of a read-only mapped tensor that nothing will
// read again (the file keeps them; a later read faults them back in).
void model_tensor_release(const Model *m, int i);
// Tensor i's float32 values, or NULL when it is stored in 16 bits.
float *model_tensor_f32(const Model *m, int i);
// Values [start, start + n) of tensor i, widened to float32.
void model_tensor_read(const Model *m, int i, size_t start, size_t n, float *out);
// Bytes of parameter storage the model holds: in float32 / in 16 bits.
void model_storage_bytes(const Model *m, size_t *f32, size_t *half);
// The tensor table alone (data NULL, no views): names, shapes and offsets
// of a model too large to allocate, e.g. to write it tensor by tensor.
// model_free releases it.
void model_table_init(Model *m, const ModelConfig *cfg);
void model_free(Model *m);
// Normal(0, std) weights, norms = 1, biases = 0; deterministic in seed.
void model_init_random(Model *m, uint64_t seed, float std);
// The next n initial values of tensor t as model_init_random draws them
// from r (matrices in element order; 1-D tensors need no draws), so a
// model can be initialised piece by piece.
void model_init_values(const TensorInfo *t, Rng *r, float std, float *out, size_t n);
const TensorInfo *model_find_tensor(const Model *m, const char *name);
// 64-bit checksum of every parameter's bits: identifies a base model in
// the checkpoints of selective finetuning.
uint64_t model_checksum(const Model *m);

// Folds m->lora into the weights (W += scale B A, as a merged export
// holds them) and detaches the adapters.
void model_lora_merge(Model *m);

// Views of an arbitrary flat buffer laid out like m->data (used for dense
// gradient and optimizer buffers).
void model_weights_view(const Model *m, float *flat, ModelWeights *out);
// All-NULL views (everything frozen); set single tensors with
// *model_weights_slot(m, w, tensor_index) = pointer.
void model_weights_none(const Model *m, ModelWeights *out);
float **model_weights_slot(const Model *m, ModelWeights *w, int tensor);
void model_weights_free(ModelWeights *w);

// Everything the backward pass needs from the forward pass.
typedef struct {
    int B, T;                 // capacity this was allocated for
    int b, t;                 // shape of the last forward
    int L, C;                 // layers, hidden size
    // Per layer (index l), each (B*T, ...) row-major by (b, t):
    float **x;          // [L+1] block inputs; x[L] = final hidden   (B,T,C)
    float *emb;         // bloom: raw embeddings before their norm   (B,T,C)
    float *mean_e, *rstd_e;  // bloom: statistics of that norm       (B,T)
    float **xn1;        // [L] attention norm output                  (B,T,C)
    float **mean1, **rstd1;  // [L] norm statistics of x[l] (mean: bloom) (B,T)
    float **q, **k, **v;// [L] after bias and rotary                   (B,T,H*D) / (B,T,KV*D)
    float **att;        // [L] softmax probabilities                  (B,H,T,T)
    float **ctx;        // [L] attention output before o_proj         (B,T,H*D)
    float **xmid;       // [L] residual after attention               (B,T,C)
    float **xn2;        // [L] FFN norm output                        (B,T,C)
    float **mean2, **rstd2;  // [L]                                    (B,T)
    float **gate, **up; // [L] bias-free products (gate: llama only)  (B,T,F)
    float **h;          // [L] FFN neuron activations                 (B,T,F)
    float **route_c;    // [L] routing gate value per token           (B,T)
    float **lora_u;     // [L*LORA_N] A x of each adapter, allocated on
                        // the first forward with adapters           (B,T,r)
    float *lora_t;      // backward scratch                          (B,T,r)
    float *pk_a, *pk_b; // packed FFN neurons (Model.packed): scratch  (B,T,F) each
    float *pk_bias;     // (F) the up bias with the packed neurons' values
    int lora_rank;      // rank lora_u was allocated for
    float *xf;          // final norm output                          (B,T,C)
    float *meanf, *rstdf;  //                                         (B,T)
    float *logits;      // (B,T,V); after model_loss: dL/dlogits
    float *rope_cos, *rope_sin;  // llama: (T, D/2)
    AttnMask mask;      // ALiBi slopes (bloom), sliding window (mistral)
    // scratch for the forward and backward passes
    float *qkv;         // bloom: fused projection / its gradient     (B,T,3*H*D)
    float *dx, *dx2, *dxn, *dq, *dk, *dv, *dctx, *datt, *dgate, *dup, *dh, *dc;
    float *dbias;       // (F) FFN bias gradient of one layer (bloom)
    int datt_slices;    // datt holds (datt_slices, T, T): one per thread
    // Memory options (ActsOpts): with recompute every per-layer buffer
    // except x is one buffer shared by all layers, refilled by re-running
    // the layer's forward during backward; with ce_chunk the logits are
    // never held for all rows.
    int recompute;
    int ce_chunk;       // loss rows per chunk; 0 = plain (B,T,V) logits
    int n_ce_rows, *ce_rows;  // (B*T) rows with a non-zero loss weight
    float *ce_x;        // (ce_chunk, C) a chunk of their final hidden states
    float *ce_w;        // (ce_chunk) their weights
    int *ce_tg;         // (ce_chunk) their targets
    float *dxf;         // (B,T,C) dL/d(final norm output) from model_loss
    const int *ce_targets;    // model_loss's arguments, for the head's weight
    const float *ce_weight;   // gradient in model_backward
    float ce_dloss;
} Acts;

typedef struct {
    int recompute;      // activation checkpointing: keep only block inputs
    int ce_chunk;       // cross-entropy over chunks of this many loss rows
} ActsOpts;

void acts_init(Acts *a, const ModelConfig *cfg, int B, int T);
// acts_init with memory options (NULL = none).
void acts_init_opts(Acts *a, const ModelConfig *cfg, int B, int T, const ActsOpts *o);
void acts_free(Acts *a);

// tokens (b,t) -> logits (b,t,V) in a->logits. b <= a->B, t <= a->T. With
// ce_chunk the pass stops at the final norm: model_loss makes the logits.
void model_forward(const Model *m, Acts *a, const int *tokens, int b, int t);
// Re-runs the forward of layer l from a->x[l] (activation checkpointing).
void model_layer_forward(const Model *m, Acts *a, int l);

// Cross-entropy of the logits against targets (b,t), each position weighted
// by weight[b*t] (0 = not a loss position; 1 = ordinary; other values let a
// caller give each sentence its own mean). Returns the weighted loss sum in
// *loss_sum and the number of positions with non-zero weight in *n_tokens.
// Overwrites a->logits with dL/dlogits scaled by dloss (e.g. 1 / global
// token count), ready for model_backward. With ce_chunk it computes the
// logits of the loss rows chunk by chunk and keeps only dL/dxf; targets
// and weight must then stay valid until model_backward (which recomputes
// the chunks when the head's weight gets a gradient).
void model_loss(const Model *m, Acts *a, const int *targets, const float *weight,
                float dloss, double *loss_sum, double *n_tokens);

// Called for each layer during backward, once dL/dh is known:
// h and dh are (b*t, F) row-major.
typedef void (*FfnGradHook)(void *ctx, int layer, const float *h, const float *dh,
                            int bt, int F);

// Selective FFN gradients of one layer: only the parameters of some
// neurons — rows of gate_proj (llama) and up_proj, entries of the up bias
// (bloom), columns of down_proj as rows of C floats — written block by
// block (a block = neurons whose gradient rows are consecutive in the
// caller's buffer), plus the routing gate's gradients.
typedef struct {
    int n;                 // neurons in the block
    const int *neuron;     // [n] neuron indices
    float *d_gate, *d_up;  // (n, C) accumulated; d_gate NULL for bloom
    float *d_down;         // (n, C): column i of down_proj as a row
    float *d_up_bias;      // (n) bloom; NULL for llama
} FfnBlock;

typedef struct {
    int n_block;           // 0 = no FFN weight gradient in this layer
    const FfnBlock *block;
    float *d_route_w;      // (C) or NULL
    float *d_route_b;      // (1) or NULL
    int n_chunk;           // >= 1: the rows come in chunks; BackwardOpts.grad_hook
                           // (layer, c, 0) sets `block` for chunk c before its rows
} FfnGrad;

typedef struct {
    int stop_layer;      // lowest layer to backpropagate into; layers below
                         // and the embedding get nothing. 0 = whole model.
    FfnGradHook ffn_hook;  // optional
    void *hook_ctx;
    FfnGrad *ffn;        // [L] or NULL: FFN weight gradients come from here
                         // (the gate/up/down pointers of g must be NULL)
    const LoraGrad *lora;  // [L*LORA_N] or NULL: gradients of the adapters
    // Optional: called with done = 0 before and done = 1 after each stretch
    // of the pass that computes weight gradients: part -1 around a whole
    // layer (L: the final norm and head, then the blocks top-down), part c
    // around chunk c of a layer's FFN neuron rows (FfnGrad.n_chunk) — so a
    // trainer can point the next gradients somewhere and reduce the
    // finished ones while the pass goes on.
    void (*grad_hook)(void *ctx, int layer, int part, int done);
    void *grad_ctx;
} BackwardOpts;

// Accumulates (+=) gradients into the non-NULL pointers of g.
// tokens are needed for the embedding gradient.
void model_backward(const Model *m, Acts *a, const int *tokens, ModelWeights *g,
                    const BackwardOpts *opts);

#endif
