// Run configuration. The KEYS table below is the only description of a key:
// parsing, range checks, config_dump and the markdown reference all read it,
// so adding a key is one table row (plus the Config member it points at).
#include "io/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "io/files.h"
#include "util/alloc.h"

// ---------------------------------------------------------------------------
// Schema

typedef enum { T_INT, T_INT64, T_FLOAT, T_BOOL, T_STR, T_ENUM, T_LIST, T_FLIST, T_ILIST } KeyType;

typedef struct {
    const char *path;     // "section.key"
    KeyType type;
    size_t off, size;     // location of the value inside Config
    const char *def;      // default as text, parsed by the same rules as --set
    const char *allowed;  // numbers, float and int lists: interval "[lo, hi]" /
                          // "(lo, inf)"; enum: "a|b|c"; strings and string
                          // lists: a PATTERNS name or NULL (lists: per item)
    const char *help;     // one sentence; no '|' (it ends up in a markdown table)
} Key;

#define MEMBER(s, f) (((Config *)0)->s.f)
// offsetof plus a compile-time check that the member has the C type the row
// claims: a mismatch makes the array size negative and stops the build.
#define OFF(s, f, ctype)        \
    (offsetof(Config, s.f) +    \
     0 * sizeof(char[_Generic(MEMBER(s, f), ctype: 1, default: -1)]))
#define ROW(T, ctype, s, f, def, allowed, help) \
    { #s "." #f, T, OFF(s, f, ctype), sizeof MEMBER(s, f), def, allowed, help }
#define K_INT(s, f, d, a, h) ROW(T_INT, int, s, f, d, a, h)
#define K_I64(s, f, d, a, h) ROW(T_INT64, int64_t, s, f, d, a, h)
#define K_FLT(s, f, d, a, h) ROW(T_FLOAT, double, s, f, d, a, h)
#define K_BOOL(s, f, d, h) ROW(T_BOOL, int, s, f, d, NULL, h)
#define K_STR(s, f, d, a, h) ROW(T_STR, char *, s, f, d, a, h)
#define K_ENUM(s, f, d, a, h) ROW(T_ENUM, char *, s, f, d, a, h)
#define K_LIST(s, f, d, a, h) ROW(T_LIST, CfgList, s, f, d, a, h)
#define K_FLIST(s, f, d, a, h) ROW(T_FLIST, CfgFloatList, s, f, d, a, h)
#define K_ILIST(s, f, d, a, h) ROW(T_ILIST, CfgIntList, s, f, d, a, h)

static const struct {
    const char *name, *help;
} SECTIONS[] = {
    {"model", "Architecture and size of a freshly initialised model. When "
              "`model.checkpoint` names a pretrained checkpoint, the checkpoint "
              "decides and these keys must agree with it."},
    {"data", "Which corpus file, streams (directions, languages) and splits are trained "
             "on, and how examples are built."},
    {"train", "Optimisation, learning-rate schedule, validation and "
              "checkpointing of `landermt train`."},
    {"detect", "Neuron detection: `landermt detect` writes the neurons file."},
    {"awareness", "How language awareness of FFN neurons is scored and classified "
                  "(DESIGN §4.2-4.3)."},
    {"layers", "Which layers LANDeRMT finetunes (DESIGN §4.1)."},
    {"routing", "Conditional awareness-based routing gates (DESIGN §4.5)."},
    {"lora", "LoRA adapters of `train.mode: lora`, the parameter-efficient baseline: rank, "
             "alpha and target modules mean what they mean in PEFT."},
    {"bench", "The timing loop of `landermt bench`."},
    {"translate", "Decoding with `landermt translate` (the model is model.checkpoint)."},
    {"evaluate", "Scoring checkpoints with `landermt evaluate`."},
    {"score", "Scoring text files with `landermt score HYP REF...`."},
    {"prep", "Inputs, cleaning, splits and tokenizer of `landermt prep`."},
    {"export", "What `landermt export`, `landermt convert` and `landermt init` write "
               "(docs/models.md)."},
    {"logprob", "Log-probabilities of given lines with `landermt logprob` (the model is "
                "model.checkpoint; docs/models.md)."},
    {"debug", "Fault injection for tests; never needed in normal runs."},
};

static const Key KEYS[] = {
    K_ENUM(model, architecture, "llama", "llama|bloom", "Model family."),
    K_STR(model, checkpoint, "", NULL,
          "Pretrained model to start from: a landermt checkpoint or a Hugging Face model "
          "directory (docs/models.md); empty = random initialisation."),
    K_INT(model, vocab_size, "8192", "[2, 16777216]",
          "Vocabulary size; must match the corpus tokenizer."),
    K_INT(model, hidden_size, "256", "[2, 65536]", "Width of the residual stream."),
    K_INT(model, intermediate_size, "704", "[1, 262144]",
          "Width of the feed-forward layer (number of FFN neurons)."),
    K_INT(model, num_hidden_layers, "6", "[1, 1024]", "Number of transformer blocks."),
    K_INT(model, num_attention_heads, "8", "[1, 1024]",
          "Query heads; must divide model.hidden_size into an even head dimension."),
    K_INT(model, num_key_value_heads, "8", "[1, 1024]",
          "Key/value heads (grouped-query attention); must divide model.num_attention_heads."),
    K_INT(model, max_position_embeddings, "2048", "[1, 1048576]",
          "Longest sequence the model supports."),
    K_FLT(model, rms_norm_eps, "1e-5", "(0, 1)",
          "Epsilon of RMSNorm (of LayerNorm for bloom)."),
    K_FLT(model, rope_theta, "10000", "(0, inf)",
          "Base of the rotary position embedding frequencies (llama)."),
    K_BOOL(model, tie_word_embeddings, "false",
           "Share the input embedding matrix with the output projection."),
    K_BOOL(model, attention_bias, "false", "Bias terms in the q/k/v projections (Qwen2)."),
    K_FLT(model, init_std, "0.02", "(0, 1]",
          "Standard deviation of the random initialisation."),

    K_STR(data, corpus, "", NULL,
          "Corpus HDF5 file built by `landermt prep`; required by the commands that read data."),
    K_STR(data, lang, "en", "nonempty",
          "Monolingual stream used by train.mode full (language modelling)."),
    K_STR(data, train_split, "train", "nonempty", "Corpus split trained on."),
    K_STR(data, valid_split, "dev", "nonempty", "Corpus split used for validation."),
    K_LIST(data, directions, "[]", "direction",
           "Translation directions s-t trained on (e.g. de-en); a direction b-a reads the "
           "bitext a-b with sides swapped. Empty = language modelling on data.lang."),
    K_LIST(data, mono, "[]", "nonempty",
           "Languages whose monolingual text is trained with the language-model loss "
           "alongside the directions."),
    K_FLIST(data, weights, "[]", "[0, 1000]",
            "Loss weight per stream: one per direction, then one per data.mono language; "
            "empty = all 1."),
    K_STR(data, prompt, "Translate from {src_lang} to {tgt_lang}:\n{src}\n", NULL,
          "Prompt template; fields {src_lang}, {tgt_lang} (English names from ISO codes) "
          "and {src}."),
    K_ENUM(data, overlong, "skip", "skip|truncate",
           "What to do with an example longer than train.seq_len tokens (counted in the log)."),

    K_ENUM(train, mode, "full", "full|layers|landermt|general|specific|lora",
           "Trainable parameters: full = all; layers = all of the selected layers; "
           "landermt = general and specific neurons of the selected layers plus routing "
           "gates; general / specific = only those neurons."),
    K_STR(train, neurons, "", NULL,
          "Neurons file from `landermt detect`; required by train.mode layers, landermt, "
          "general and specific."),
    K_BOOL(train, awareness_scaled_grads, "false",
           "Scale each neuron's gradient by its normalised awareness score (off in the "
           "paper's main setting)."),
    K_INT(train, batch_size, "8", "[1, 1048576]",
          "Sequences per optimizer step, summed over all ranks."),
    K_INT(train, seq_len, "128", "[1, 1048576]", "Tokens per training sequence."),
    K_BOOL(train, recompute, "false",
           "Activation checkpointing: keep only each block's input and re-run the block's "
           "forward during backward (one block's activations in memory instead of all; "
           "results are bit-identical). Also used by detect and evaluate."),
    K_BOOL(train, node_shared, "false",
           "Keep the trainable state (packed values, gradient, AdamW moments) once per node in "
           "shared memory, each rank of a node updating its own slice, gradients summed within "
           "the node into the slice owners and between nodes across owners: the same results "
           "as per-rank state (bit for bit with power-of-two ranks per node and nodes), a "
           "fraction of the memory (docs/memory.md)."),
    K_INT(train, ce_chunk, "0", "[0, 1048576]",
          "Compute the logits of at most this many loss positions at a time (0 = all "
          "positions at once): a large vocabulary then never needs batch x seq_len x "
          "vocab floats. Equal to the plain path up to float32 rounding."),
    K_INT(train, steps, "100", "[1, inf)", "Optimizer steps."),
    K_FLT(train, lr, "3e-4", "(0, 10]", "Peak learning rate (reached after warm-up)."),
    K_FLT(train, min_lr, "3e-5", "[0, 10]",
          "Learning rate at the end of the cosine or linear decay; at most train.lr."),
    K_INT(train, warmup_steps, "10", "[0, inf)",
          "Steps of linear warm-up from 0 to train.lr; at most train.steps."),
    K_ENUM(train, schedule, "cosine", "constant|cosine|linear",
           "Learning-rate schedule after warm-up."),
    K_FLT(train, weight_decay, "0.1", "[0, 10]", "AdamW decoupled weight decay."),
    K_FLT(train, beta1, "0.9", "[0, 1)", "AdamW first-moment decay."),
    K_FLT(train, beta2, "0.95", "[0, 1)", "AdamW second-moment decay."),
    K_FLT(train, eps, "1e-8", "(0, 1]", "AdamW epsilon."),
    K_FLT(train, grad_clip, "1.0", "[0, inf)", "Clip the global gradient norm to this; 0 = off."),
    K_INT(train, eval_every, "50", "[0, inf)", "Validate every N steps; 0 = off."),
    K_INT(train, eval_batches, "4", "[1, inf)", "Batches per validation."),
    K_INT(train, save_every, "50", "[0, inf)",
          "Save a checkpoint every N steps; 0 = only at the end."),
    K_INT(train, keep_last, "2", "[1, inf)",
          "Checkpoints kept in train.out_dir; older ones are deleted."),
    K_BOOL(train, keep_best, "true",
           "Also keep the checkpoint with the best validation loss (best.h5)."),
    K_STR(train, resume, "", NULL,
          "Resume training: \"auto\" = the latest checkpoint in train.out_dir if any, or a "
          "checkpoint path; empty = start fresh."),
    K_STR(train, out_dir, "runs/train", "nonempty", "Directory for checkpoints and logs."),
    K_I64(train, seed, "1234", "[0, inf)", "Seed of the initialisation and the data order."),
    K_INT(train, log_every, "1", "[1, inf)", "Print a log line every N steps."),
    K_FLT(train, hang_timeout, "30", "[0, inf)",
          "Seconds a rank may wait in a collective of the training loop beyond 3x the slowest "
          "step so far; then the ranks that do not answer are named (rank, host) and the job "
          "ends with exit 1 (docs/cluster.md). 0 = wait forever."),
    K_FLT(train, save_timeout, "1800", "[0, inf)",
          "Seconds the other ranks wait for rank 0 to write a checkpoint before it counts as "
          "hung (a stuck file system). 0 = wait forever."),

    K_STR(detect, output, "runs/neurons.h5", "nonempty",
          "Neurons file to write (HDF5, format landermt.neurons)."),
    K_ENUM(detect, split, "dev", "dev|train", "Corpus split whose sentences are scored."),
    K_INT(detect, max_sentences, "2000", "[0, inf)",
          "Sentences scored per unit (direction or language); 0 = all."),
    K_INT(detect, batch_size, "16", "[1, 1048576]",
          "Sentences per forward/backward pass; whole batches are dealt to the ranks in turn."),

    K_ENUM(awareness, unit, "direction", "direction|language",
           "Units scored: translation directions (translation loss), or languages "
           "(language-model loss on each language's text; a direction then uses the specific "
           "neurons of both its languages)."),
    K_FLT(awareness, epsilon, "0.9", "(0, 1)",
          "Share of neurons per selected layer that are language-general (lowest variance of "
          "awareness across units); the rest are language-specific."),
    K_LIST(awareness, languages, "[]", "nonempty",
           "Units for awareness.unit language; empty = the languages of data.directions."),

    K_ENUM(layers, selection, "spikes", "spikes|topk|list",
           "spikes: the layers on both sides of the largest representation changes; topk: the "
           "k layers with the largest incoming change; list: layers.list."),
    K_INT(layers, k, "4", "[1, 1024]",
          "Number of selected layers; ignored with layers.selection list."),
    K_ILIST(layers, list, "[]", "[0, 1023]",
            "Explicit layer indices for layers.selection list."),

    K_BOOL(routing, enabled, "true",
           "Train the routing gates; false = plain selective finetuning."),
    K_FLT(routing, scale, "2.0", "(0, 100]",
          "Gate scale: with 2 the untrained model equals the base model; 1 is the literal "
          "complementary form."),
    K_BOOL(routing, per_direction, "false",
           "One gate per layer and direction instead of one per layer."),

    K_INT(lora, rank, "8", "[1, 65536]",
          "Rank r of every adapter; at most the smaller side of each targeted matrix."),
    K_FLT(lora, alpha, "16", "(0, 1e6]", "Adapter scale alpha; the branch is (alpha / r) B A x."),
    K_LIST(lora, target, "[]", "loratarget",
           "Linears that get adapters: q, k, v, o, gate, up, down (llama family; the HF "
           "names q_proj ... down_proj too) or query_key_value, dense, dense_h_to_4h, "
           "dense_4h_to_h (bloom); empty = q, v (llama) or query_key_value (bloom), PEFT's "
           "defaults."),
    K_ENUM(lora, layers, "all", "all|selected",
           "Layers with adapters: all, or those the neurons file (train.neurons) selected."),

    K_INT(bench, steps, "10", "[1, inf)", "Timed steps."),
    K_INT(bench, warmup, "2", "[0, inf)", "Untimed warm-up steps before timing."),

    K_STR(translate, direction, "", "optdirection", "Direction to translate, e.g. de-en; required."),
    K_STR(translate, input, "test", "nonempty",
          "A split of data.corpus (e.g. test), file:PATH (one sentence per line) or - (stdin)."),
    K_STR(translate, output, "-", "nonempty", "Where the translations go, one line each; - = stdout."),
    K_INT(translate, beam, "1", "[1, 64]", "Beam width; 1 = greedy decoding."),
    K_INT(translate, max_new_tokens, "128", "[1, 65536]", "Longest translation in tokens."),
    K_INT(translate, batch_size, "16", "[1, 65536]", "Sentences decoded together."),
    K_INT(translate, max_sentences, "0", "[0, inf)", "Sentences translated from a split; 0 = all."),

    K_LIST(evaluate, checkpoints, "[]", "langpath",
           "Checkpoints to compare as NAME:PATH (e.g. base:runs/base.h5); empty = model.checkpoint as base."),
    K_LIST(evaluate, directions, "[]", "direction",
           "Directions scored; empty = data.directions (add unseen ones such as de-fr to see forgetting)."),
    K_STR(evaluate, split, "test", "nonempty", "Corpus split scored."),
    K_INT(evaluate, max_sentences, "200", "[0, inf)", "Sentences scored per direction; 0 = all."),
    K_LIST(evaluate, languages, "[]", "nonempty",
           "Languages whose monolingual split gets a perplexity; empty = those of the directions."),
    K_LIST(evaluate, external, "[]", "dirfiles",
           "External test sets as SRC-TGT:SOURCE_FILE,REFERENCE_FILE (one sentence per line)."),
    K_STR(evaluate, output, "runs/eval", "nonempty", "Directory for eval.md and eval.json."),

    K_ENUM(score, tokenize, "auto", "auto|13a|zh|char|none",
           "BLEU tokenizer: auto = from score.lang (zh -> zh, ja -> char, else 13a)."),
    K_STR(score, lang, "", NULL,
          "Target language code of the scored text, for score.tokenize auto; empty = 13a."),

    K_STR(prep, output, "data/corpus.h5", "nonempty", "Corpus file to write."),
    K_STR(prep, pivot, "en", "nonempty",
          "Source language of the gettext catalogs (the msgid language)."),
    K_LIST(prep, languages, "[de, fr, it, zh_CN, ar]", "nonempty",
           "Target languages taken from gettext catalogs (the paper's set)."),
    K_LIST(prep, mo, "[]", "nonempty",
           "Files or directories (searched recursively) of gettext .mo catalogs; the language "
           "comes from the path (`<lang>/LC_MESSAGES/<domain>.mo`) or the catalog header."),
    K_BOOL(prep, system_locale, "false", "Also read the catalogs under /usr/share/locale."),
    K_LIST(prep, tsv, "[]", "langpath",
           "Tab-separated parallel files as SRC-TGT:PATH (one pair per line)."),
    K_LIST(prep, moses, "[]", "langpath",
           "Moses-style aligned files as SRC-TGT:PATH_SRC,PATH_TGT."),
    K_LIST(prep, text, "[]", "langpath",
           "Monolingual text files as LANG:PATH (one sentence per line)."),
    K_STR(prep, tokenizer, "", NULL,
          "Use this tokenizer instead of training one: a landermt corpus or checkpoint (its "
          "/tokenizer), a Hugging Face tokenizer.json, or a Hugging Face model directory "
          "holding one (docs/tokenizer.md)."),
    K_INT(prep, vocab_size, "8000", "[260, 1048576]",
          "Vocabulary size of the trained BPE tokenizer (specials + 256 bytes + merges)."),
    K_BOOL(prep, lang_tags, "false",
           "Add one special token `<2xx>` per language to the tokenizer."),
    K_FLT(prep, dev_fraction, "0.02", "[0, 0.5]",
          "Share of source sentences (by hash of the normalised source text) assigned to dev."),
    K_FLT(prep, test_fraction, "0.02", "[0, 0.5]",
          "Share assigned to test; dev and test never overlap and never reach train."),
    K_INT(prep, min_chars, "2", "[1, inf)", "Shortest kept sentence in characters (bitext: the source side; text: the sentence)."),
    K_INT(prep, max_chars, "400", "[1, inf)", "Longest kept sentence (characters, either side)."),
    K_BOOL(prep, mono_from_bitext, "true",
           "Also store each language's side of the bitext as its monolingual text (for "
           "language modelling and perplexity)."),

    K_ENUM(export, format, "hdf5", "hdf5|hf",
           "hdf5: a standalone landermt checkpoint; hf: a Hugging Face model directory "
           "(config.json, safetensors, tokenizer files, LANDeRMT sidecar)."),
    K_ENUM(export, dtype, "float32", "float32|bfloat16|float16|source",
           "dtype of the safetensors written (format hf, init); source = the dtype the source "
           "model was published in (init: config.json's torch_dtype). bfloat16/float16 round to "
           "nearest even."),
    K_STR(export, max_shard_size, "5GB", "size",
          "Largest safetensors shard (transformers' max_shard_size); bigger models are split "
          "into model-0000k-of-0000N.safetensors with an index."),

    K_STR(logprob, input, "-", "nonempty", "Lines to score: a file path, or - for stdin."),
    K_ENUM(logprob, format, "ids", "ids|text",
           "ids: each line a JSON array of token ids; text: each line tokenized with the "
           "model's tokenizer (checkpoint /tokenizer or data.corpus)."),
    K_STR(logprob, output, "-", "nonempty", "Where the JSON lines go; - = stdout."),
    K_BOOL(logprob, per_token, "false", "Also print each token's log-probability."),
    K_BOOL(logprob, add_bos, "true",
           "Prepend the bos token, so every token of the line is scored; false = the first "
           "token is context only (not scored)."),
    K_BOOL(logprob, add_eos, "false", "Append the eos token (scored) to every line."),
    K_STR(logprob, direction, "", "optdirection",
          "Direction s-t whose CAR routes a LANDeRMT model applies (required when the model has "
          "routing gates; ignored otherwise)."),

    K_INT(debug, nan_at_step, "0", "[0, inf)",
          "Make the loss NaN at this optimizer step (1-based) to exercise the skip path; "
          "0 = off."),
    K_INT(debug, exit_at_step, "0", "[0, inf)",
          "Kill the process with SIGKILL right after this step's checkpoint decision "
          "(1-based); 0 = off."),
    K_I64(debug, pack_chunk_floats, "0", "[0, inf)",
          "Floats of FFN neuron rows per gradient bucket (0 = 8M); small values test the "
          "chunked reduction."),
    K_INT(debug, ranks_per_node, "0", "[0, 65536]",
          "Split the ranks into emulated nodes of this many consecutive ranks for "
          "train.node_shared (0 = the real nodes); tests run 2 nodes on one machine."),
    K_I64(debug, memory_limit_mb, "0", "[0, inf)",
          "Memory the plan check at the start of train assumes this node has (MB; 0 = "
          "MemAvailable of /proc/meminfo)."),
    K_FLT(debug, micro_batch_delay, "0", "[0, 3600]",
          "Seconds of extra work added to every micro-batch of a training step (signals do "
          "not cut it short), to test slow steps; 0 = off."),
    K_FLT(debug, load_delay, "0", "[0, 3600]",
          "Seconds a training run waits before loading its model and data (as on a stuck file "
          "system), to test stop signals outside the training loop; 0 = off."),
};

#define N_KEYS (sizeof KEYS / sizeof KEYS[0])
_Static_assert(N_KEYS <= CFG_MAX_KEYS, "raise CFG_MAX_KEYS");
#define N_SECTIONS (sizeof SECTIONS / sizeof SECTIONS[0])
#define MAX_PATH 256
#define MAX_DEPTH 16  // also stops recursive YAML aliases
#define MAX_NESTING 32  // YAML collections inside each other, checked before loading
#define MAX_FILE_BYTES ((size_t)1 << 20)  // a config is a few KB; not a data file

// Where a key's current value came from; file NULL = the default.
typedef struct {
    const char *file;
    int line;  // 0 = no line (default, --set)
} Origin;

typedef struct {
    int64_t i;         // int, int64, bool; lists: item count
    double f;          // float
    const char *s;     // string, enum (borrowed)
    const void *list;  // CfgList / CfgFloatList (borrowed)
} Value;

typedef struct {
    double lo, hi;
    int lo_open, hi_open;
} Range;

// ---------------------------------------------------------------------------
// Small helpers

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

static void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(Buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = 2 * (b->len + (size_t)n + 1) + 256;
        b->p = xrealloc(b->p, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int key_find(const char *path) {
    for (size_t k = 0; k < N_KEYS; k++)
        if (!strcmp(KEYS[k].path, path)) return (int)k;
    return -1;
}

static int section_find(const char *name) {
    for (size_t s = 0; s < N_SECTIONS; s++)
        if (!strcmp(SECTIONS[s].name, name)) return (int)s;
    return -1;
}

static int key_in_section(const Key *k, const char *section) {
    size_t n = strlen(section);
    return !strncmp(k->path, section, n) && k->path[n] == '.';
}

static const char *last_component(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

static int is_numeric(KeyType t) { return t == T_INT || t == T_INT64 || t == T_FLOAT; }
static int is_list(KeyType t) { return t == T_LIST || t == T_FLIST || t == T_ILIST; }
// Keys whose `allowed` is an interval (lists: per item).
static int has_range(KeyType t) { return is_numeric(t) || t == T_FLIST || t == T_ILIST; }

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

static const char *origin_text(const Origin *o, char *buf, size_t n) {
    if (!o->file)
        snprintf(buf, n, "default");
    else if (o->line > 0)
        snprintf(buf, n, "%s:%d", o->file, o->line);
    else
        snprintf(buf, n, "%s", o->file);
    return buf;
}

// Prints "error: <origin>: <message>" and returns LM_EUSAGE.
static LmStatus fail(const Origin *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static LmStatus fail(const Origin *o, const char *fmt, ...) {
    char where[4200], msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lm_error("%s: %s", origin_text(o, where, sizeof where), msg);
    return LM_EUSAGE;
}

// ---------------------------------------------------------------------------
// UTF-8 (strings from --set are raw bytes; dump must stay parseable)

// Decodes one well-formed UTF-8 sequence; returns its length, 0 if invalid.
static int utf8_decode(const unsigned char *s, uint32_t *cp) {
    int n;
    uint32_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) n = 1, c &= 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) n = 2, c &= 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) n = 3, c &= 0x07;
    else return 0;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;  // also stops at the NUL
        c = (c << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && c < 0x800) || (n == 3 && (c < 0x10000 || c > 0x10FFFF)) ||
        (c >= 0xD800 && c <= 0xDFFF))
        return 0;  // overlong, out of Unicode, or a surrogate
    *cp = c;
    return n + 1;
}

static int utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    for (int n; *p; p += n)
        if (!(n = utf8_decode(p, &cp))) return 0;
    return 1;
}

// Double-quoted YAML scalar; escapes whatever libyaml's reader would reject
// or fold (controls, C1, BOM, non-characters) so the dump parses back exactly.
static void yaml_quote(Buf *b, const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    buf_printf(b, "\"");
    while (*p) {
        uint32_t cp;
        int n = utf8_decode(p, &cp);
        if (!n) { cp = 0xFFFD; n = 1; }  // unreachable: strings are validated on input
        if (cp == '"' || cp == '\\')
            buf_printf(b, "\\%c", (char)cp);
        else if (cp == '\n' || cp == '\t')  // readable prompt templates
            buf_printf(b, "\\%c", cp == '\n' ? 'n' : 't');
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFEFF ||
                 (cp >= 0xFFFE && cp <= 0xFFFF))
            buf_printf(b, "\\u%04X", (unsigned)cp);
        else
            buf_printf(b, "%.*s", n, (const char *)p);
        p += n;
    }
    buf_printf(b, "\"");
}

// ---------------------------------------------------------------------------
// Values: parse text by the key's type, check its range, store, format

enum { PARSE_OK, PARSE_TYPE, PARSE_OVERFLOW, PARSE_LONG, PARSE_UTF8, PARSE_PATTERN };

static int range_parse(const char *s, Range *r) {
    char lb, rb;
    if (!s || sscanf(s, " %c %lf , %lf %c", &lb, &r->lo, &r->hi, &rb) != 4) return 0;
    r->lo_open = lb == '(';
    r->hi_open = rb == ')';
    return (lb == '(' || lb == '[') && (rb == ')' || rb == ']') && r->lo <= r->hi;
}

// "[1, inf)" reads better as ">= 1"; finite intervals are shown as written.
static void range_describe(const Key *k, char *buf, size_t n) {
    Range r;
    if (!range_parse(k->allowed, &r))
        snprintf(buf, n, "any");
    else if (isinf(r.hi))
        snprintf(buf, n, "%s %.15g", r.lo_open ? ">" : ">=", r.lo);
    else
        snprintf(buf, n, "%s", k->allowed);
}

// A language code: a letter, then letters or '_' (de, zh_CN).
static int is_lang_code(const char *s, size_t n) {
    if (!n || !isalpha((unsigned char)s[0])) return 0;
    for (size_t i = 1; i < n; i++)
        if (!isalpha((unsigned char)s[i]) && s[i] != '_') return 0;
    return 1;
}

static int pat_nonempty(const char *s) { return *s != '\0'; }

// "de-en", "zh_CN-en": two codes around the only '-', different even when
// case is ignored ("de-DE" is a locale, not a direction).
static int pat_direction(const char *s) {
    const char *dash = strchr(s, '-');
    if (!dash) return 0;
    size_t a = (size_t)(dash - s), b = strlen(dash + 1);
    return is_lang_code(s, a) && is_lang_code(dash + 1, b) &&
           (a != b || strncasecmp(s, dash + 1, a));
}

static int pat_optdirection(const char *s) { return !*s || pat_direction(s); }

// "SRC-TGT:SOURCE_FILE,REFERENCE_FILE": a direction and two non-empty paths.
static int pat_dirfiles(const char *s) {
    const char *colon = strchr(s, ':'), *comma = colon ? strchr(colon, ',') : NULL;
    char dir[CFG_STR];
    if (!comma || comma == colon + 1 || !comma[1] || (size_t)(colon - s) >= sizeof dir) return 0;
    snprintf(dir, sizeof dir, "%.*s", (int)(colon - s), s);
    return pat_direction(dir);
}

// "LANG:PATH" / "SRC-TGT:PATH": prep splits at the first ':' and checks the
// languages and files itself.
static int pat_langpath(const char *s) {
    const char *colon = strchr(s, ':');
    return colon && colon > s && colon[1];
}

static int pat_size(const char *s) { return file_parse_size(s) > 0; }

// A LoRA target name (pack.c maps it to the model's linears).
static int pat_loratarget(const char *s) {
    static const char *const names[] = {
        "q", "k", "v", "o", "gate", "up", "down", "q_proj", "k_proj", "v_proj", "o_proj",
        "gate_proj", "up_proj", "down_proj", "query_key_value", "dense", "dense_h_to_4h",
        "dense_4h_to_h"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(s, names[i])) return 1;
    return 0;
}

// Rules a string (or each item of a string list) may be given in `allowed`.
static const struct {
    const char *name;
    int (*ok)(const char *);
    const char *expect;  // completes "expected ..."
    const char *doc;     // the "allowed" column of docs/config.md
} PATTERNS[] = {
    {"nonempty", pat_nonempty, "a non-empty string", "non-empty"},
    {"direction", pat_direction,
     "a direction SRC-TGT of two different language codes (letters and _), e.g. de-en",
     "`SRC-TGT`, two different language codes (letters and `_`), e.g. `de-en`"},
    {"optdirection", pat_optdirection, "a direction SRC-TGT of two different language codes, e.g. de-en",
     "empty or `SRC-TGT`, e.g. `de-en`"},
    {"dirfiles", pat_dirfiles,
     "SRC-TGT:SOURCE_FILE,REFERENCE_FILE with a direction of two different language codes",
     "`SRC-TGT:SOURCE_FILE,REFERENCE_FILE`"},
    {"langpath", pat_langpath, "LANG:PATH or SRC-TGT:PATH with both parts non-empty",
     "`LANG:PATH` or `SRC-TGT:PATH`"},
    {"size", pat_size, "a byte size such as 5GB, 500MB or 2GiB", "a size: `5GB`, `500MB`, `2GiB`, bytes"},
    {"loratarget", pat_loratarget,
     "a linear: q, k, v, o, gate, up, down (or q_proj ... down_proj), query_key_value, dense, "
     "dense_h_to_4h or dense_4h_to_h",
     "`q k v o gate up down` (or `q_proj` ...), `query_key_value dense dense_h_to_4h dense_4h_to_h`"},
};

static int pattern_find(const char *name) {
    for (size_t i = 0; name && i < sizeof PATTERNS / sizeof PATTERNS[0]; i++)
        if (!strcmp(PATTERNS[i].name, name)) return (int)i;
    return -1;
}

static void type_expect(const Key *k, char *buf, size_t n) {
    switch (k->type) {
    case T_INT: case T_INT64: snprintf(buf, n, "an integer"); return;
    case T_FLOAT: snprintf(buf, n, "a number"); return;
    case T_BOOL: snprintf(buf, n, "a boolean (true/false, yes/no, on/off, 1/0)"); return;
    case T_STR: snprintf(buf, n, "a string"); return;
    case T_LIST: snprintf(buf, n, "a list, e.g. [de]"); return;
    case T_FLIST: snprintf(buf, n, "a list of numbers, e.g. [1.0, 0.5]"); return;
    case T_ILIST: snprintf(buf, n, "a list of integers, e.g. [2, 3]"); return;
    case T_ENUM: break;
    }
    size_t len = (size_t)snprintf(buf, n, "one of: ");
    for (const char *p = k->allowed; *p && len + 3 < n; p++) {
        if (*p == '|') len += (size_t)snprintf(buf + len, n - len, ", ");
        else buf[len++] = *p, buf[len] = '\0';
    }
}

static int enum_has(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return 1;
        if (!bar) return 0;
        p = bar + 1;
    }
}

// strtoll alone would skip leading blanks, stop at "3.5"'s dot and clamp on overflow.
static int parse_integer(const char *t, int64_t lo, int64_t hi, int64_t *out) {
    if (!*t || isspace((unsigned char)t[0])) return PARSE_TYPE;
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (*end) return PARSE_TYPE;
    if (errno == ERANGE || v < lo || v > hi) return PARSE_OVERFLOW;
    *out = v;
    return PARSE_OK;
}

// Hex floats are not YAML; nan/inf are never a sensible setting.
static int parse_float(const char *t, double *out) {
    if (!*t || isspace((unsigned char)t[0]) || strpbrk(t, "xX")) return PARSE_TYPE;
    char *end;
    double v = strtod(t, &end);
    if (*end) return PARSE_TYPE;
    if (!isfinite(v)) return PARSE_OVERFLOW;
    *out = v;
    return PARSE_OK;
}

static int parse_bool(const char *t, int64_t *out) {
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(t, yes[i])) { *out = 1; return PARSE_OK; }
        if (!strcasecmp(t, no[i])) { *out = 0; return PARSE_OK; }
    }
    return PARSE_TYPE;
}

static int parse_string(const Key *k, const char *t) {
    if (strlen(t) >= k->size) return PARSE_LONG;
    if (!utf8_valid(t)) return PARSE_UTF8;
    int p = pattern_find(k->allowed);
    if (p >= 0 && !PATTERNS[p].ok(t)) return PARSE_PATTERN;
    return PARSE_OK;
}

// Returns 0 and fills v, or non-zero with the reason in why ("expected ...").
// Scalars only: list values arrive item by item (list_add).
static int value_parse(const Key *k, const char *t, Value *v, char *why, size_t n) {
    int st = PARSE_TYPE;
    *v = (Value){.s = t};
    switch (k->type) {
    case T_INT: st = parse_integer(t, INT_MIN, INT_MAX, &v->i); break;
    case T_INT64: st = parse_integer(t, INT64_MIN, INT64_MAX, &v->i); break;
    case T_FLOAT: st = parse_float(t, &v->f); break;
    case T_BOOL: st = parse_bool(t, &v->i); break;
    case T_STR: st = parse_string(k, t); break;
    case T_ENUM: st = enum_has(k->allowed, t) ? PARSE_OK : PARSE_TYPE; break;
    case T_LIST: case T_FLIST: case T_ILIST: break;
    }
    char exp[256];
    type_expect(k, exp, sizeof exp);
    switch (st) {
    case PARSE_OK: return 0;
    case PARSE_TYPE: snprintf(why, n, "expected %s", exp); break;
    case PARSE_OVERFLOW:
        snprintf(why, n, k->type == T_FLOAT ? "expected a finite number"
                         : k->type == T_INT ? "expected an integer in the 32-bit range"
                                            : "expected an integer in the 64-bit range");
        break;
    case PARSE_LONG: snprintf(why, n, "expected a string of at most %zu bytes", k->size - 1); break;
    case PARSE_UTF8: snprintf(why, n, "expected valid UTF-8 text"); break;
    default: snprintf(why, n, "expected %s", PATTERNS[pattern_find(k->allowed)].expect); break;
    }
    return 1;
}

static int value_in_range(const Key *k, const Value *v) {
    Range r;
    if (!is_numeric(k->type) || !range_parse(k->allowed, &r)) return 1;
    double x = k->type == T_FLOAT ? v->f : (double)v->i;
    return (r.lo_open ? x > r.lo : x >= r.lo) && (r.hi_open ? x < r.hi : x <= r.hi);
}

// Values live at dst: a Config member, or one item of a list member.
static void value_store(const Key *k, void *dst, const Value *v) {
    switch (k->type) {
    case T_INT: case T_BOOL: *(int *)dst = (int)v->i; break;
    case T_INT64: *(int64_t *)dst = v->i; break;
    case T_FLOAT: *(double *)dst = v->f; break;
    case T_STR: case T_ENUM:
        // Zero the tail too: equal configs are then equal byte for byte.
        memset(dst, 0, k->size);
        memcpy(dst, v->s, strlen(v->s));
        break;
    case T_LIST: case T_FLIST: case T_ILIST: memcpy(dst, v->list, k->size); break;
    }
}

static Value value_read(const Key *k, const void *src) {
    Value v = {0, 0.0, NULL, NULL};
    switch (k->type) {
    case T_INT: case T_BOOL: v.i = *(const int *)src; break;
    case T_INT64: v.i = *(const int64_t *)src; break;
    case T_FLOAT: v.f = *(const double *)src; break;
    case T_STR: case T_ENUM: v.s = (const char *)src; break;
    case T_LIST: v.list = src, v.i = ((const CfgList *)src)->n; break;
    case T_FLIST: v.list = src, v.i = ((const CfgFloatList *)src)->n; break;
    case T_ILIST: v.list = src, v.i = ((const CfgIntList *)src)->n; break;
    }
    return v;
}

static Value value_get(const Key *k, const Config *cfg) {
    return value_read(k, (const char *)cfg + k->off);
}

// Each list type: the scalar type of its items and where they sit.
static const struct {
    KeyType list, item;
    size_t first, size;  // offset of item 0 in the list struct, bytes per item
} LIST_SHAPES[] = {
    {T_LIST, T_STR, offsetof(CfgList, item), CFG_STR},
    {T_FLIST, T_FLOAT, offsetof(CfgFloatList, v), sizeof(double)},
    {T_ILIST, T_INT, offsetof(CfgIntList, v), sizeof(int)},
};

static int list_shape(KeyType t) {
    int s = 0;
    while (LIST_SHAPES[s].list != t) s++;  // only called for list keys
    return s;
}

// The key that item i of list key k is checked, stored and formatted as: the
// list's path with the index, the list's rule, the items' scalar type.
static Key item_key(const Key *k, int i, char *path, size_t n) {
    Key item = *k;
    int s = list_shape(k->type);
    snprintf(path, n, "%s[%d]", k->path, i);
    item.path = path;
    item.type = LIST_SHAPES[s].item;
    item.size = LIST_SHAPES[s].size;
    return item;
}

// Address of item i inside a list value of key k.
static void *item_at(const Key *k, const void *list, int i) {
    int s = list_shape(k->type);
    return (char *)list + LIST_SHAPES[s].first + (size_t)i * LIST_SHAPES[s].size;
}

// Shortest of %.15g..%.17g that reads back to the same double, with a ".0"
// added where %g leaves none ("1.0", "1.0e-05") so that YAML 1.1 readers
// such as PyYAML also see a float.
static void format_double(double x, char *buf, size_t n) {
    char tmp[48];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, x);
        if (strtod(tmp, NULL) == x) break;
    }
    size_t mant = strcspn(tmp, "eE");
    if (strchr(tmp, '.'))
        snprintf(buf, n, "%s", tmp);
    else
        snprintf(buf, n, "%.*s.0%s", (int)mant, tmp, tmp + mant);
}

// The value at src as YAML text that reads back unchanged; lists as flow
// sequences of their formatted items.
static void value_format_at(const Key *k, const void *src, Buf *b) {
    Value v = value_read(k, src);
    char num[64], path[MAX_PATH + 16];
    switch (k->type) {
    case T_INT: buf_printf(b, "%d", (int)v.i); break;
    case T_INT64: buf_printf(b, "%" PRId64, v.i); break;
    case T_FLOAT: format_double(v.f, num, sizeof num); buf_printf(b, "%s", num); break;
    case T_BOOL: buf_printf(b, "%s", v.i ? "true" : "false"); break;
    case T_ENUM: buf_printf(b, "%s", v.s); break;
    case T_STR: yaml_quote(b, v.s); break;
    case T_LIST: case T_FLIST: case T_ILIST:
        buf_printf(b, "[");
        for (int i = 0; i < v.i; i++) {
            Key item = item_key(k, i, path, sizeof path);
            buf_printf(b, "%s", i ? ", " : "");
            value_format_at(&item, item_at(k, src, i), b);
        }
        buf_printf(b, "]");
        break;
    }
}

static void value_format(const Key *k, const Config *cfg, Buf *b) {
    value_format_at(k, (const char *)cfg + k->off, b);
}

// User text for an error message: at most 80 bytes, control bytes and
// invalid UTF-8 shown as '?' so the terminal (and grep) get plain text.
static const char *shown(const char *text, char *buf, size_t n) {
    int ascii_only = !utf8_valid(text);
    size_t i = 0;
    for (; text[i] && i < 80 && i + 1 < n; i++) {
        unsigned char c = (unsigned char)text[i];
        buf[i] = c < 0x20 || c == 0x7F || (ascii_only && c >= 0x80) ? '?' : (char)c;
    }
    buf[i] = '\0';
    return buf;
}

// Parses and range-checks one scalar of key (or list item) k.
static LmStatus value_check(const Key *k, const char *text, Value *v, const Origin *o) {
    char why[512], range[128], show[96];
    if (value_parse(k, text, v, why, sizeof why))
        return fail(o, "%s: %s, got \"%s\"", k->path, why, shown(text, show, sizeof show));
    if (!value_in_range(k, v)) {
        range_describe(k, range, sizeof range);
        return fail(o, "%s = %s is out of range (allowed: %s)", k->path,
                    shown(text, show, sizeof show), range);
    }
    return LM_OK;
}

// Stores key k's new value; origin o is recorded for later cross-field messages.
static void value_commit(Config *cfg, Origin *org, int k, const Value *v, const Origin *o) {
    value_store(&KEYS[k], (char *)cfg + KEYS[k].off, v);
    org[k] = *o;
}

// ---------------------------------------------------------------------------
// YAML nodes and lists

static const char *node_kind(const yaml_node_t *n) {
    return n->type == YAML_MAPPING_NODE ? "a mapping"
           : n->type == YAML_SEQUENCE_NODE ? "a sequence" : "a scalar";
}

// A plain empty, ~ or null scalar: YAML's "no value".
static int node_is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static LmStatus no_value(const Key *k, const Origin *o) {
    char exp[256];
    type_expect(k, exp, sizeof exp);
    return fail(o, "%s has no value, expected %s%s", k->path, exp,
                k->type == T_STR && !k->allowed ? " (write \"\" for an empty string)"
                : is_list(k->type) ? " (write [] for an empty list)" : "");
}

// Node v has the shape key (or list item) k needs: a sequence for a list,
// else a non-null scalar without NUL bytes.
static LmStatus node_check(const Key *k, const yaml_node_t *v, const Origin *o) {
    char exp[256];
    if (node_is_null(v)) return no_value(k, o);
    if (v->type != (is_list(k->type) ? YAML_SEQUENCE_NODE : YAML_SCALAR_NODE)) {
        type_expect(k, exp, sizeof exp);
        return fail(o, "%s: expected %s, got %s", k->path, exp, node_kind(v));
    }
    if (v->type == YAML_SCALAR_NODE &&
        strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
        return fail(o, "%s: value contains a NUL character", k->path);
    return LM_OK;
}

// A list being read. Items are checked as they arrive and the key's old
// value is replaced only when all passed: a later source replaces a list,
// never appends to it.
typedef union {
    CfgList s;
    CfgFloatList f;
    CfgIntList i;
} ListBuf;

static int *list_count(const Key *k, ListBuf *lb) {
    return k->type == T_FLIST ? &lb->f.n : k->type == T_ILIST ? &lb->i.n : &lb->s.n;
}

// String lists are sets: a repeated language, direction or file would
// silently count a stream twice.
static LmStatus item_unique(const Key *k, const ListBuf *lb, int n, const char *text,
                            const char *path, const Origin *o) {
    char show[96];
    for (int j = 0; k->type == T_LIST && j < n; j++)
        if (!strcmp(lb->s.item[j], text))
            return fail(o, "%s: \"%s\" repeats %s[%d]", path, shown(text, show, sizeof show),
                        k->path, j);
    return LM_OK;
}

// Checks and appends one item, given as text or (from YAML) as a node.
static LmStatus list_add(const Key *k, ListBuf *lb, const char *text, const yaml_node_t *node,
                         const Origin *o) {
    int *n = list_count(k, lb);
    if (*n == CFG_LIST_MAX) return fail(o, "%s: more than %d items", k->path, CFG_LIST_MAX);
    char path[MAX_PATH + 16];
    Key item = item_key(k, *n, path, sizeof path);
    if (node) {
        LM_TRY(node_check(&item, node, o));
        text = (const char *)node->data.scalar.value;
    }
    Value v;
    LM_TRY(value_check(&item, text, &v, o));
    LM_TRY(item_unique(k, lb, *n, text, path, o));
    value_store(&item, item_at(k, lb, *n), &v);
    (*n)++;
    return LM_OK;
}

static void list_commit(Config *cfg, Origin *org, int k, ListBuf *lb, const Origin *o) {
    Value v = {.i = *list_count(&KEYS[k], lb), .list = lb};
    value_commit(cfg, org, k, &v, o);
}

static LmStatus list_from_node(Config *cfg, Origin *org, int k, yaml_document_t *doc,
                               const yaml_node_t *seq, const Origin *o) {
    ListBuf lb;
    memset(&lb, 0, sizeof lb);  // unused slots zero: configs compare with memcmp
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *node = yaml_document_get_node(doc, *it);
        // In a file each item has its own line; a --set value is one line.
        Origin at = {o->file, o->line > 0 ? (int)node->start_mark.line + 1 : o->line};
        LM_TRY(list_add(&KEYS[k], &lb, NULL, node, &at));
    }
    list_commit(cfg, org, k, &lb, o);
    return LM_OK;
}

// --set shorthand "de, fr": items split at every comma and trimmed, no
// quoting (an item with a comma needs the flow form ["a,b"]).
static LmStatus list_from_commas(Config *cfg, Origin *org, int k, const char *text,
                                 const Origin *o) {
    if (!*text) return no_value(&KEYS[k], o);
    ListBuf lb;
    memset(&lb, 0, sizeof lb);
    char *copy = xstrdup(text), *p = copy;
    LmStatus st;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        st = list_add(&KEYS[k], &lb, trim(p), NULL, o);
        if (st != LM_OK || !comma) break;
        p = comma + 1;
    }
    free(copy);
    if (st == LM_OK) list_commit(cfg, org, k, &lb, o);
    return st;
}

// For a file (key NULL) the message points at file:line:column; a --set
// value or a default is one short line (libyaml often places its error past
// the end), so the key says enough.
static LmStatus yaml_fail(const yaml_parser_t *p, const Origin *o, const char *key) {
    const char *problem = p->problem ? p->problem : "out of memory";
    if (key) return fail(o, "%s: invalid YAML: %s", key, problem);
    if (p->error == YAML_READER_ERROR) {
        lm_error("%s: invalid YAML: %s (byte offset %zu)", o->file, problem, p->problem_offset);
        return LM_EUSAGE;
    }
    char ctx[256] = "";
    if (p->context)
        snprintf(ctx, sizeof ctx, " (%s at line %zu)", p->context, p->context_mark.line + 1);
    lm_error("%s:%zu:%zu: invalid YAML: %s%s", o->file, p->problem_mark.line + 1,
             p->problem_mark.column + 1, problem, ctx);
    return LM_EUSAGE;
}

// The whole file (a pipe works too), at most MAX_FILE_BYTES.
static LmStatus file_slurp(const char *file, unsigned char **text, size_t *len) {
    FILE *fp = fopen(file, "rb");
    if (!fp) {
        lm_error("cannot open config file %s: %s", file, strerror(errno));
        return LM_EUSAGE;
    }
    *text = xmalloc(MAX_FILE_BYTES + 1);
    *len = fread(*text, 1, MAX_FILE_BYTES + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (!bad && *len <= MAX_FILE_BYTES) return LM_OK;
    if (bad) lm_error("cannot read config file %s: %s", file, strerror(errno));
    else lm_error("config file %s is larger than %zu bytes: not a configuration", file, MAX_FILE_BYTES);
    free(*text);
    return LM_EUSAGE;
}

// libyaml's scanner takes time quadratic in the nesting depth (200 KB of
// '[' take a minute), and configurations nest a few levels: the events are
// scanned first, and a text nesting deeper than MAX_NESTING is refused
// before a document is built. Syntax errors are left to the load, which
// reports them with their position.
static LmStatus nesting_check(const unsigned char *text, size_t len, const Origin *o,
                              const char *key) {
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        lm_error("%s: cannot initialise the YAML parser (out of memory)", key ? key : o->file);
        return LM_ERUNTIME;
    }
    yaml_parser_set_input_string(&p, text, len);
    LmStatus st = LM_OK;
    yaml_event_t ev;
    for (int depth = 0; st == LM_OK && yaml_parser_parse(&p, &ev);) {
        yaml_event_type_t t = ev.type;
        Origin at = {o->file, key ? o->line : (int)ev.start_mark.line + 1};
        yaml_event_delete(&ev);
        depth += t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT;
        depth -= t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT;
        if (depth > MAX_NESTING)
            st = fail(&at, "%s%snesting deeper than %d levels", key ? key : "", key ? ": " : "",
                      MAX_NESTING);
        if (t == YAML_STREAM_END_EVENT) break;
    }
    yaml_parser_delete(&p);
    return st;
}

// Loads the one document of p into doc (caller deletes it on LM_OK). A plain
// load would silently ignore what follows: a second document, or trailing
// text after a --set list.
static LmStatus yaml_load_one(yaml_parser_t *p, yaml_document_t *doc, const Origin *o,
                              const char *key) {
    yaml_document_t extra;
    if (!yaml_parser_load(p, doc)) return yaml_fail(p, o, key);
    if (!yaml_parser_load(p, &extra)) {
        yaml_document_delete(doc);
        return yaml_fail(p, o, key);
    }
    yaml_node_t *root = yaml_document_get_root_node(&extra);
    int line = root ? (int)root->start_mark.line + 1 : 0;
    yaml_document_delete(&extra);
    if (!line) return LM_OK;
    yaml_document_delete(doc);
    if (key) return fail(o, "%s: the value holds more than one YAML document", key);
    Origin at = {o->file, line};
    return fail(&at, "a config file holds one YAML document; found a second one");
}

// --set key=[de, "a,b"] and the list defaults: a YAML flow sequence.
static LmStatus list_from_yaml(Config *cfg, Origin *org, int k, const char *text,
                               const Origin *o) {
    yaml_parser_t p;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&p)) {
        lm_error("%s: cannot initialise the YAML parser (out of memory)", KEYS[k].path);
        return LM_ERUNTIME;
    }
    LmStatus st = nesting_check((const unsigned char *)text, strlen(text), o, KEYS[k].path);
    if (st != LM_OK) {
        yaml_parser_delete(&p);
        return st;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    st = yaml_load_one(&p, &doc, o, KEYS[k].path);
    yaml_parser_delete(&p);
    if (st != LM_OK) return st;
    yaml_node_t *root = yaml_document_get_root_node(&doc);  // text starts with '['
    st = node_check(&KEYS[k], root, o);
    if (st == LM_OK) st = list_from_node(cfg, org, k, &doc, root, o);
    yaml_document_delete(&doc);
    return st;
}

// Applies one value given as text (--set, defaults): a scalar, or a list as
// a flow sequence or comma shorthand.
static LmStatus value_apply(Config *cfg, Origin *org, int k, const char *text, const Origin *o) {
    if (is_list(KEYS[k].type))
        return text[0] == '[' ? list_from_yaml(cfg, org, k, text, o)
                              : list_from_commas(cfg, org, k, text, o);
    Value v;
    LM_TRY(value_check(&KEYS[k], text, &v, o));
    value_commit(cfg, org, k, &v, o);
    return LM_OK;
}

// ---------------------------------------------------------------------------
// Unknown keys: suggest the closest valid one

// Case-insensitive edit distance (inputs are short key paths).
static int levenshtein(const char *a, const char *b) {
    int row[MAX_PATH];
    size_t na = strlen(a), nb = strlen(b);
    if (na >= MAX_PATH) na = MAX_PATH - 1;
    if (nb >= MAX_PATH) nb = MAX_PATH - 1;
    for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= nb; j++) {
            int up = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = diag + cost;
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static int is_prefix(const char *a, const char *b) {
    size_t n = strlen(a);
    return n >= 3 && !strncasecmp(a, b, n);
}

// a is a misspelt start of b: `hiden` for hidden_size.
static int is_fuzzy_prefix(const char *a, const char *b) {
    size_t n = strlen(a);
    if (n < 4 || n + 1 >= strlen(b)) return 0;
    char head[MAX_PATH];
    int best = INT_MAX;
    for (size_t len = n - 1; len <= n + 1; len++) {
        snprintf(head, sizeof head, "%.*s", (int)len, b);
        int d = levenshtein(a, head);
        best = d < best ? d : best;
    }
    return best <= 1;
}

// Closest key by distance over full paths and over last components (so
// `model.lr` finds `train.lr`); -1 when nothing is plausibly meant.
static int key_suggest(const char *path) {
    const char *last = last_component(path);
    int best = -1, best_score = INT_MAX, nlast = (int)strlen(last);
    for (size_t k = 0; k < N_KEYS; k++) {
        const char *klast = last_component(KEYS[k].path);
        int full = levenshtein(path, KEYS[k].path), part = levenshtein(last, klast);
        int d = full < part ? full : part;
        int fuzzy = is_fuzzy_prefix(last, klast);
        int close = (d <= 2 + nlast / 4 && d < nlast) || is_prefix(last, klast) ||
                    is_prefix(klast, last) || fuzzy;
        if (fuzzy) d = 1;  // a misspelt start is as good as a near miss
        // Keys of the section the user wrote come first (`train.warmup` means
        // train.warmup_steps, not bench.warmup), then by distance, then by
        // full-path distance.
        int other = klast - KEYS[k].path != last - path ||
                    strncmp(KEYS[k].path, path, (size_t)(last - path));
        int score = other * 1000000 + d * 1000 + full;
        if (close && score < best_score) best = (int)k, best_score = score;
    }
    return best;
}

static LmStatus key_unknown(const Origin *o, const char *path) {
    int s = key_suggest(path);
    if (s >= 0) return fail(o, "unknown key `%s`; did you mean `%s`?", path, KEYS[s].path);
    return fail(o, "unknown key `%s` (docs/config.md and --dump-config list the valid keys)", path);
}

static LmStatus section_not_key(const Origin *o, const char *name, const char *got) {
    for (size_t k = 0; k < N_KEYS; k++)
        if (key_in_section(&KEYS[k], name))
            return fail(o, "`%s` is a section, expected a mapping of its keys (e.g. %s), got %s",
                        name, KEYS[k].path, got);
    return fail(o, "`%s` is a section", name);
}

// ---------------------------------------------------------------------------
// YAML files

typedef struct {
    Config *cfg;
    Origin *org;          // per key: where its value came from
    const char *file;
    yaml_document_t *doc;
    int seen[N_KEYS];     // line where this file set each key, to catch duplicates
} Walk;

static LmStatus walk_value(Walk *w, int k, const Origin *o, const yaml_node_t *v) {
    if (w->seen[k])
        return fail(o, "%s is set twice in this file (first at line %d)", KEYS[k].path, w->seen[k]);
    w->seen[k] = o->line;
    LM_TRY(node_check(&KEYS[k], v, o));
    if (is_list(KEYS[k].type)) return list_from_node(w->cfg, w->org, k, w->doc, v, o);
    return value_apply(w->cfg, w->org, k, (const char *)v->data.scalar.value, o);
}

static LmStatus walk_mapping(Walk *w, const char *prefix, yaml_node_t *map, int depth);

// One "name: value" pair at dotted path `path`.
static LmStatus walk_entry(Walk *w, const char *path, const Origin *o, yaml_node_t *v, int depth) {
    int k = key_find(path);
    if (k >= 0) return walk_value(w, k, o, v);
    if (section_find(path) >= 0) {
        if (v->type == YAML_MAPPING_NODE) return walk_mapping(w, path, v, depth + 1);
        if (node_is_null(v)) return LM_OK;  // all of its keys commented out
        return section_not_key(o, path, node_kind(v));
    }
    // Unknown: descend so the message names a full dotted path (`trian.lr`
    // suggests `train.lr`, which `trian` alone could not).
    if (v->type == YAML_MAPPING_NODE && v->data.mapping.pairs.top > v->data.mapping.pairs.start)
        return walk_mapping(w, path, v, depth + 1);
    return key_unknown(o, path);
}

static LmStatus walk_mapping(Walk *w, const char *prefix, yaml_node_t *map, int depth) {
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        Origin o = {w->file, (int)kn->start_mark.line + 1};
        if (depth > MAX_DEPTH) return fail(&o, "nesting deeper than %d levels", MAX_DEPTH);
        if (kn->type != YAML_SCALAR_NODE)
            return fail(&o, "keys must be plain names, got %s", node_kind(kn));
        char path[MAX_PATH];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "",
                 (const char *)kn->data.scalar.value);
        LM_TRY(walk_entry(w, path, &o, vn, depth));
    }
    return LM_OK;
}

static LmStatus walk_document(Walk *w) {
    yaml_node_t *root = yaml_document_get_root_node(w->doc);
    if (!root || node_is_null(root)) return LM_OK;  // empty or comments only
    if (root->type != YAML_MAPPING_NODE) {
        Origin o = {w->file, (int)root->start_mark.line + 1};
        Buf names = {0};
        for (size_t s = 0; s < N_SECTIONS; s++)
            buf_printf(&names, "%s%s:", s ? ", " : "", SECTIONS[s].name);
        fail(&o, "expected a mapping of sections (%s) at the top level, got %s", names.p,
             node_kind(root));
        free(names.p);
        return LM_EUSAGE;
    }
    return walk_mapping(w, "", root, 0);
}

static LmStatus load_file(Config *cfg, Origin *org, const char *file) {
    unsigned char *text;
    size_t len;
    LM_TRY(file_slurp(file, &text, &len));
    Origin o = {file, 0};
    LmStatus st = nesting_check(text, len, &o, NULL);
    yaml_parser_t parser;
    if (st == LM_OK && !yaml_parser_initialize(&parser)) {
        lm_error("%s: cannot initialise the YAML parser (out of memory)", file);
        st = LM_ERUNTIME;
    }
    yaml_document_t doc;
    if (st == LM_OK) {
        yaml_parser_set_input_string(&parser, text, len);
        st = yaml_load_one(&parser, &doc, &o, NULL);
        yaml_parser_delete(&parser);
    }
    free(text);
    if (st != LM_OK) return st;
    Walk w = {.cfg = cfg, .org = org, .file = file, .doc = &doc};
    st = walk_document(&w);
    yaml_document_delete(&doc);
    return st;
}

// ---------------------------------------------------------------------------
// --set overrides

static LmStatus override_apply(Config *cfg, Origin *org, const char *arg) {
    static const Origin set = {"--set", 0};
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return fail(&set, "`%s` is not KEY=VALUE (e.g. --set train.lr=3e-4)", arg);
    char *copy = xstrdup(arg);
    copy[eq - arg] = '\0';
    char *path = trim(copy), *text = trim(copy + (eq - arg) + 1);
    int k = key_find(path);
    LmStatus st;
    if (k >= 0)
        st = value_apply(cfg, org, k, text, &set);
    else if (section_find(path) >= 0)
        st = fail(&set, "`%s` is a section, not a key (--set %s.KEY=VALUE)", path, path);
    else
        st = key_unknown(&set, path);
    free(copy);
    return st;
}

// ---------------------------------------------------------------------------
// Cross-field rules

// The message leads with a place the user wrote (a default is no place to fix).
static const Origin *origin_pick(const Origin *a, const Origin *b) {
    return a->file ? a : b;
}

// "<origin>: a = x (<origin of a>) must be <rel> b = y (<origin of b>)"
static LmStatus cross_fail(const Config *cfg, const Origin *org, const char *a,
                           const char *rel, const char *b) {
    int ka = key_find(a), kb = key_find(b);
    Buf va = {0}, vb = {0};
    char oa[4200], ob[4200];
    value_format(&KEYS[ka], cfg, &va);
    value_format(&KEYS[kb], cfg, &vb);
    fail(origin_pick(&org[ka], &org[kb]), "%s = %s (%s) must be %s %s = %s (%s)", a, va.p,
         origin_text(&org[ka], oa, sizeof oa), rel, b, vb.p, origin_text(&org[kb], ob, sizeof ob));
    free(va.p);
    free(vb.p);
    return LM_EUSAGE;
}

static const Origin *org_of(const Origin *org, const char *path) {
    return &org[key_find(path)];
}

static LmStatus validate_model(const Config *c, const Origin *org) {
    if (c->model.hidden_size % c->model.num_attention_heads)
        return cross_fail(c, org, "model.hidden_size", "a multiple of", "model.num_attention_heads");
    if (c->model.num_attention_heads % c->model.num_key_value_heads)
        return cross_fail(c, org, "model.num_attention_heads", "a multiple of",
                          "model.num_key_value_heads");
    int head_dim = c->model.hidden_size / c->model.num_attention_heads;
    if (head_dim % 2) {  // rotary embeddings rotate pairs of channels
        const Origin *o = origin_pick(org_of(org, "model.hidden_size"),
                                      org_of(org, "model.num_attention_heads"));
        return fail(o, "head dimension model.hidden_size / model.num_attention_heads = "
                       "%d / %d = %d must be even", c->model.hidden_size,
                    c->model.num_attention_heads, head_dim);
    }
    return LM_OK;
}

// data.weights pairs with the streams by position, so a wrong count would
// put every weight after the gap on the wrong stream.
static LmStatus validate_weights(const Config *c, const Origin *org) {
    int nw = c->data.weights.n, nd = c->data.directions.n, nm = c->data.mono.n;
    if (nw == 0 || nw == nd + nm) return LM_OK;
    const Origin *ow = org_of(org, "data.weights");
    const Origin *o = origin_pick(ow, origin_pick(org_of(org, "data.directions"),
                                                  org_of(org, "data.mono")));
    char where[4200];
    return fail(o, "data.weights has %d item%s (%s), expected none or one per stream: "
                   "len(data.directions) + len(data.mono) = %d + %d = %d",
                nw, nw == 1 ? "" : "s", origin_text(ow, where, sizeof where), nd, nm, nd + nm);
}

static LmStatus validate_prep(const Config *c, const Origin *org) {
    if (c->prep.min_chars > c->prep.max_chars)
        return cross_fail(c, org, "prep.min_chars", "<=", "prep.max_chars");
    if (c->prep.dev_fraction + c->prep.test_fraction >= 1) {
        const Origin *o = origin_pick(org_of(org, "prep.dev_fraction"),
                                      org_of(org, "prep.test_fraction"));
        return fail(o, "prep.dev_fraction + prep.test_fraction = %g + %g must be < 1 "
                       "(nothing would be left for train)",
                    c->prep.dev_fraction, c->prep.test_fraction);
    }
    return LM_OK;
}

// layers.list is read only by layers.selection list: a list given with
// another selection would be silently ignored, and a repeated index would
// select a layer twice.
static LmStatus validate_layers(const Config *c, const Origin *org) {
    const CfgIntList *l = &c->layers.list;
    const Origin *ol = org_of(org, "layers.list"), *os = org_of(org, "layers.selection");
    int explicit = !strcmp(c->layers.selection, "list");
    char wl[4200], ws[4200];
    if (explicit && !l->n)
        return fail(origin_pick(os, ol), "layers.selection = list (%s) needs a non-empty "
                    "layers.list of layer indices, e.g. layers.list: [2, 3]",
                    origin_text(os, ws, sizeof ws));
    if (!explicit && l->n)
        return fail(origin_pick(ol, os), "layers.list is given (%s) but layers.selection = %s "
                    "(%s) ignores it; set layers.selection: list to finetune exactly those "
                    "layers", origin_text(ol, wl, sizeof wl), c->layers.selection,
                    origin_text(os, ws, sizeof ws));
    for (int i = 1; i < l->n; i++)
        for (int j = 0; j < i; j++)
            if (l->v[i] == l->v[j])
                return fail(ol, "layers.list[%d] = %d repeats layers.list[%d]", i, l->v[i], j);
    return LM_OK;
}

static LmStatus config_validate(const Config *c, const Origin *org) {
    if (c->train.min_lr > c->train.lr)
        return cross_fail(c, org, "train.min_lr", "<=", "train.lr");
    if (c->train.warmup_steps > c->train.steps)
        return cross_fail(c, org, "train.warmup_steps", "<=", "train.steps");
    LM_TRY(validate_model(c, org));
    LM_TRY(validate_weights(c, org));
    LM_TRY(validate_layers(c, org));
    return validate_prep(c, org);
}

// ---------------------------------------------------------------------------
// Public API

// The table checks itself: every number has a range, every rule name
// exists, every key sits in a known section, and every default obeys its own
// rules (tests/unit/test_config.c calls this).
int config_schema_ok(void) {
    for (size_t k = 0; k < N_KEYS; k++) {
        const Key *key = &KEYS[k];
        char section[MAX_PATH];
        Range r;
        snprintf(section, sizeof section, "%.*s", (int)(last_component(key->path) - key->path - 1),
                 key->path);
        if (section_find(section) < 0 || strchr(key->help, '|')) return 0;
        if (has_range(key->type) && !range_parse(key->allowed, &r))
            return 0;
        if (key->type == T_ENUM && !key->allowed) return 0;
        if ((key->type == T_STR || key->type == T_LIST) && key->allowed &&
            pattern_find(key->allowed) < 0)
            return 0;
    }
    static Config cfg;
    Origin org[N_KEYS];
    static const Origin def = {NULL, 0};
    for (size_t k = 0; k < N_KEYS; k++)
        if (value_apply(&cfg, org, (int)k, KEYS[k].def, &def) != LM_OK) return 0;
    return 1;
}

void config_defaults(Config *cfg) {
    static const Origin def = {NULL, 0};
    Origin org[N_KEYS];
    memset(cfg, 0, sizeof *cfg);  // deterministic padding: configs compare with memcmp
    // Same rules as --set, so a default is exactly what a user could write;
    // config_schema_ok (run by the tests) proves every default applies.
    for (size_t k = 0; k < N_KEYS; k++) value_apply(cfg, org, (int)k, KEYS[k].def, &def);
}

LmStatus config_load(Config *out, const char *const *files, int n_files,
                     const char *const *overrides, int n_overrides) {
    Config cfg;
    Origin org[N_KEYS];
    memset(org, 0, sizeof org);
    config_defaults(&cfg);
    for (int i = 0; i < n_files; i++) LM_TRY(load_file(&cfg, org, files[i]));
    for (int i = 0; i < n_overrides; i++) LM_TRY(override_apply(&cfg, org, overrides[i]));
    LM_TRY(config_validate(&cfg, org));
    for (size_t k = 0; k < N_KEYS; k++) cfg.given[k] = org[k].file != NULL;
    memcpy(out, &cfg, sizeof cfg);  // only on success: out is untouched on error
    return LM_OK;
}

int config_given(const Config *cfg, const char *path) {
    int k = key_find(path);
    return k >= 0 && cfg->given[k];
}

LmStatus config_require(const Config *cfg, const char *const *paths, int n) {
    for (int i = 0; i < n; i++) {
        int k = key_find(paths[i]);
        if (k < 0) {
            lm_error("internal error: config_require: no key %s", paths[i]);
            return LM_ERUNTIME;
        }
        const Key *key = &KEYS[k];
        Value v = value_get(key, cfg);
        int empty = is_list(key->type) ? v.i == 0
                    : (key->type == T_STR || key->type == T_ENUM) && !v.s[0];
        if (empty) {
            lm_error("missing required key %s (set it in a -c file or with --set %s=...)",
                     key->path, key->path);
            return LM_EUSAGE;
        }
    }
    return LM_OK;
}

char *config_dump(const Config *cfg) {
    Buf b = {0};
    buf_printf(&b, "# landermt configuration: every key, resolved (landermt --dump-config)\n");
    for (size_t s = 0; s < N_SECTIONS; s++) {
        buf_printf(&b, "%s:\n", SECTIONS[s].name);
        for (size_t k = 0; k < N_KEYS; k++) {
            if (!key_in_section(&KEYS[k], SECTIONS[s].name)) continue;
            buf_printf(&b, "  %s: ", last_component(KEYS[k].path));
            value_format(&KEYS[k], cfg, &b);
            buf_printf(&b, "\n");
        }
    }
    return b.p;
}

static void doc_allowed(const Key *k, Buf *b) {
    char range[128];
    if (k->type == T_ENUM) {
        for (const char *p = k->allowed; *p;) {
            size_t n = strcspn(p, "|");
            buf_printf(b, "%s`%.*s`", p == k->allowed ? "" : ", ", (int)n, p);
            p += n + (p[n] == '|');
        }
    } else if (k->type == T_BOOL) {
        buf_printf(b, "true, false");
    } else if (k->type == T_STR || k->type == T_LIST) {
        int p = pattern_find(k->allowed);
        buf_printf(b, "%s", p >= 0 ? PATTERNS[p].doc : "any");
    } else {
        range_describe(k, range, sizeof range);
        buf_printf(b, "%s", range);
    }
}

static const char *type_name(KeyType t) {
    static const char *const names[] = {"int",    "int64", "float",       "bool",       "string",
                                        "enum",   "string list", "float list", "int list"};
    return names[t];
}

char *config_doc_markdown(void) {
    Buf b = {0};
    Config def;
    config_defaults(&def);
    for (size_t s = 0; s < N_SECTIONS; s++) {
        buf_printf(&b, "## `%s`\n\n%s\n\n", SECTIONS[s].name, SECTIONS[s].help);
        buf_printf(&b, "| key | type | default | allowed | description |\n");
        buf_printf(&b, "|---|---|---|---|---|\n");
        for (size_t k = 0; k < N_KEYS; k++) {
            const Key *key = &KEYS[k];
            if (!key_in_section(key, SECTIONS[s].name)) continue;
            buf_printf(&b, "| `%s` | %s | `", key->path, type_name(key->type));
            value_format(key, &def, &b);
            buf_printf(&b, "` | ");
            doc_allowed(key, &b);
            buf_printf(&b, " | %s |\n", key->help);
        }
        buf_printf(&b, "\n");
    }
    return b.p;
}
