// Run configuration: YAML files (merged, later wins) + --set overrides,
// validated against one schema table into a typed struct.
//
// Every key is described once, in the schema table in io/config.c (path,
// type, default, range, help); parsing, validation, --dump-config and
// docs/config.md all come from that table.
#ifndef LM_CONFIG_H
#define LM_CONFIG_H

#include <stdint.h>

#include "util/err.h"

#define CFG_STR 256
#define CFG_LIST_MAX 64
#define CFG_MAX_KEYS 192  // room in Config.given for every key of the schema

// List values (YAML sequences). Unused slots are zero so that equal configs
// compare equal with memcmp.
typedef struct {
    int n;
    char item[CFG_LIST_MAX][CFG_STR];
} CfgList;

typedef struct {
    int n;
    double v[CFG_LIST_MAX];
} CfgFloatList;

typedef struct {
    int n;
    int v[CFG_LIST_MAX];
} CfgIntList;

typedef struct {
    // model: architecture and size of a freshly initialised model. Ignored
    // (must agree) when model.checkpoint names a pretrained checkpoint.
    struct {
        char architecture[CFG_STR];  // llama | bloom
        char checkpoint[CFG_STR];    // "" = random init
        int vocab_size, hidden_size, intermediate_size, num_hidden_layers;
        int num_attention_heads, num_key_value_heads, max_position_embeddings;
        double rms_norm_eps, rope_theta;
        int tie_word_embeddings, attention_bias;
        double init_std;
    } model;
    struct {
        char corpus[CFG_STR];        // landermt.corpus HDF5 file
        char lang[CFG_STR];          // mono stream used by train.mode full (LM)
        char train_split[CFG_STR];   // default "train"
        char valid_split[CFG_STR];   // default "dev"
        CfgList directions;          // "de-en" items; b-a reads bitext a-b swapped;
                                     // empty = language modelling on lang
        CfgList mono;                // languages also trained with the LM loss
        CfgFloatList weights;        // per stream: directions, then mono; empty = all 1
        char prompt[CFG_STR];        // template: {src_lang} {tgt_lang} {src}
        char overlong[CFG_STR];      // skip | truncate (examples > train.seq_len)
    } data;
    struct {
        char mode[CFG_STR];          // full | layers | landermt | general | specific | lora
        char neurons[CFG_STR];       // neurons file of `landermt detect`; "" = none
        int awareness_scaled_grads;  // scale neuron gradients by normalised awareness
        int batch_size;              // sequences per optimizer step (global)
        int seq_len;
        int recompute;               // activation checkpointing per block
        int node_shared;             // trainable state once per node (shared memory)
        int ce_chunk;                // cross-entropy over chunks of this many rows; 0 = whole
        int steps;
        double lr, min_lr;
        int warmup_steps;
        char schedule[CFG_STR];      // constant | cosine | linear
        double weight_decay, beta1, beta2, eps, grad_clip;
        int eval_every, eval_batches;
        int save_every, keep_last;
        int keep_best;               // also keep best.h5 (lowest validation loss)
        char resume[CFG_STR];        // "" = fresh; "auto" = latest in out_dir; or a path
        char out_dir[CFG_STR];
        int64_t seed;
        int log_every;
        double hang_timeout;         // s a collective may wait beyond the slowest steps; 0 = off
        double save_timeout;         // s the ranks wait for rank 0's checkpoint write; 0 = off
    } train;
    // detect: `landermt detect` scores the FFN neurons and writes them.
    struct {
        char output[CFG_STR];        // neurons file (HDF5, landermt.neurons)
        char split[CFG_STR];         // dev | train
        int max_sentences;           // per unit (direction or language); 0 = all
        int batch_size;              // sentences per forward/backward, global
    } detect;
    // awareness: scoring units and the general/specific split (DESIGN 4.2-4.3).
    struct {
        char unit[CFG_STR];          // direction | language
        double epsilon;              // share of language-general neurons, (0, 1)
        CfgList languages;           // units for unit language; empty = data.directions'
    } awareness;
    // layers: which layers are finetuned (DESIGN 4.1).
    struct {
        char selection[CFG_STR];     // spikes | topk | list
        int k;                       // selected layers (spikes, topk)
        CfgIntList list;             // layer indices for selection list (no repeats)
    } layers;
    // routing: awareness-based routing gates (DESIGN 4.5).
    struct {
        int enabled;                 // 0 = plain selective finetuning
        double scale;                // gate scale; 2 = untrained model equals base
        int per_direction;           // one gate per layer and direction
    } routing;
    // lora: adapters of train.mode lora (rank, alpha and target modules as PEFT means them).
    struct {
        int rank;
        double alpha;                // branch scale alpha / rank
        CfgList target;              // linears; empty = the family's default (q, v / query_key_value)
        char layers[CFG_STR];        // all | selected (the neurons file's layers)
    } lora;
    struct {
        int steps, warmup;           // timed steps, untimed warm-up steps
    } bench;
    // translate: `landermt translate` (model = model.checkpoint).
    struct {
        char direction[CFG_STR];     // e.g. de-en
        char input[CFG_STR];         // split name | file:PATH | -
        char output[CFG_STR];        // path | -
        int beam;                    // 1 = greedy
        int max_new_tokens, batch_size, max_sentences;
    } translate;
    // evaluate: `landermt evaluate`.
    struct {
        CfgList checkpoints;         // NAME:PATH
        CfgList directions;          // empty = data.directions
        char split[CFG_STR];
        int max_sentences;
        CfgList languages;           // perplexity; empty = languages of the directions
        CfgList external;            // SRC-TGT:SRC_FILE,REF_FILE
        char output[CFG_STR];        // directory for eval.md / eval.json
    } evaluate;
    // score: `landermt score HYP REF...` (BLEU and chrF of text files).
    struct {
        char tokenize[CFG_STR];      // auto | 13a | zh | char | none
        char lang[CFG_STR];          // target language for tokenize auto
    } score;
    // prep: inputs, cleaning, splits and tokenizer of `landermt prep`.
    struct {
        char output[CFG_STR];        // corpus file written
        char pivot[CFG_STR];         // msgid language of the gettext catalogs
        CfgList languages;           // target languages taken from catalogs
        CfgList mo;                  // .mo files / directories (recursive)
        int system_locale;           // also read /usr/share/locale
        CfgList tsv;                 // "SRC-TGT:PATH" tab-separated bitext
        CfgList moses;               // "SRC-TGT:PATH_SRC,PATH_TGT" aligned files
        CfgList text;                // "LANG:PATH" monolingual text
        char tokenizer[CFG_STR];     // corpus, checkpoint, tokenizer.json or HF model dir; "" = train
        int vocab_size;              // trained BPE: specials + 256 bytes + merges
        int lang_tags;               // add <2xx> specials, one per language
        double dev_fraction, test_fraction;  // by hash of the normalised source
        int min_chars, max_chars;    // kept sentence length (either side)
        int mono_from_bitext;        // bitext sides also stored as mono text
    } prep;
    // export: what `landermt export`, `convert` and `init` write.
    struct {
        char format[CFG_STR];        // hdf5 | hf
        char dtype[CFG_STR];         // float32 | bfloat16 | float16 | source
        char max_shard_size[CFG_STR];  // e.g. 5GB
    } export;
    // logprob: `landermt logprob` (model = model.checkpoint).
    struct {
        char input[CFG_STR];         // path | -
        char format[CFG_STR];        // ids | text
        char output[CFG_STR];        // path | -
        int per_token;               // also print each token's log-probability
        int add_bos, add_eos;        // prepend bos (scores the first token) / append eos
        char direction[CFG_STR];     // CAR routes of this direction (LANDeRMT models)
    } logprob;
    // debug: fault injection for tests (1-based optimizer steps; 0 = off).
    struct {
        int nan_at_step;             // loss becomes NaN at this step
        int exit_at_step;            // SIGKILL after this step's checkpoint decision
        int64_t pack_chunk_floats;   // FFN gradient bucket size (0 = the default)
        int ranks_per_node;          // emulated nodes of k consecutive ranks (0 = real nodes)
        int64_t memory_limit_mb;     // the memory available to the plan check (0 = the machine's)
        double micro_batch_delay;    // s of extra work per training micro-batch
        double load_delay;           // s of extra wait while a training run loads
    } debug;
    // Not a setting: 1 for each key (in schema order) that a file or --set
    // gave, 0 for a default. Read with config_given.
    unsigned char given[CFG_MAX_KEYS];
} Config;

// Fills cfg with every default.
void config_defaults(Config *cfg);

// 1 if the schema table is consistent and every default obeys its rules.
int config_schema_ok(void);

// Starts from the defaults, parses and merges the files (in order, later
// wins; a list is replaced as a whole), then applies the overrides
// ("a.b=value", value read by the same rules as a YAML scalar; a list as a
// YAML flow sequence "[a, b]" or the shorthand "a,b"), then checks
// cross-field rules (min_lr <= lr, head counts divide, ...).
// On error prints one message naming the key, the file and the line (and the
// closest valid key for unknown keys), leaves cfg untouched and returns
// LM_EUSAGE.
LmStatus config_load(Config *cfg, const char *const *files, int n_files,
                     const char *const *overrides, int n_overrides);

// Commands call this for the keys they cannot run without (e.g. train needs
// data.corpus). A string or list key is missing when it is empty; other keys
// always have a value. Prints "missing required key ..." and returns LM_EUSAGE.
LmStatus config_require(const Config *cfg, const char *const *paths, int n);

// 1 if a file or --set gave key `path` a value (even the default's), 0 if
// it holds its default.
int config_given(const Config *cfg, const char *path);

// Resolved config as YAML text (malloc'ed; caller frees). Parsing this text
// again gives the same Config.
char *config_dump(const Config *cfg);

// Markdown reference of every key (type, default, range, help), used to
// generate docs/config.md. Malloc'ed.
char *config_doc_markdown(void);

#endif
