// The tokenizer of a corpus or model, whichever kind it is (docs/tokenizer.md):
//   - landermt's own byte-level BPE (bpe.h), for models pretrained here;
//   - a Hugging Face tokenizer.json (hf.h), for pretrained models: encodes
//     and decodes token for token as the `tokenizers` library does.
// prep, the data streams, detect, translate and evaluate use only this.
//
// Special tokens: BOS/EOS/pad ids come from the tokenizer's files (BPE:
// 1/2/0; Hugging Face: special_tokens_map.json, tokenizer_config.json or
// config.json beside tokenizer.json), and "with special tokens" means what
// the tokenizer's post-processor adds (BPE: <bos> in front).
#ifndef LM_TOKENIZER_H
#define LM_TOKENIZER_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/bpe.h"
#include "util/err.h"

typedef enum { TOKENIZER_NONE = 0, TOKENIZER_BPE, TOKENIZER_HF } TokenizerKind;

#define TOKENIZER_HASH_LEN 16      // hex digits of the content hash
#define TOKENIZER_AFFIX_MAX 8      // special ids the post-processor puts in front

struct HfTokenizer;
struct HfWork;

typedef struct {
    TokenizerKind kind;
    BpeTokenizer bpe;              // kind BPE
    struct HfTokenizer *hf;        // kind HF, shared between clones
    struct HfWork *work;           // kind HF, this copy's scratch
    // Read-only after construction.
    int32_t vocab_size;            // largest id + 1
    int32_t bos_id, eos_id, pad_id;  // -1: the tokenizer has none
    int32_t prefix[TOKENIZER_AFFIX_MAX];  // what encoding with specials puts before the text
    int n_prefix;
    char hash[TOKENIZER_HASH_LEN + 1];
    char *bos, *eos, *pad;         // names ("" if none)
    char *source;                  // where it was read from (reports)
} Tokenizer;

// Growable id list.
typedef struct {
    int32_t *v;
    int64_t n, cap;
} TokIds;

void tokids_free(TokIds *t);

enum {
    TOK_SPECIAL = 1,  // encode: add the post-processor's special tokens; decode: keep specials
};

void tokenizer_init(Tokenizer *t);
void tokenizer_free(Tokenizer *t);

// Opens a tokenizer from a path: a tokenizer.json file (with the
// tokenizer_config.json, special_tokens_map.json and config.json beside
// it, if any), a Hugging Face model directory holding tokenizer.json, or a
// landermt corpus or checkpoint (its /tokenizer group). Errors start with
// "<role> <path>" (role e.g. "prep.tokenizer") and name the field;
// LM_EUSAGE for unsupported components.
LmStatus tokenizer_open(const char *path, const char *role, Tokenizer *t);

// A tokenizer.json text with its special-token files read from dir (may
// be NULL); `source` names it in errors and reports.
LmStatus tokenizer_from_json(const char *json, size_t len, const char *dir, const char *source,
                             Tokenizer *t);

// A tokenizer.json text with special tokens given by name (as stored in a
// /tokenizer group: tokenizer_h5.c). Takes ownership of names[0..2].
LmStatus tokenizer_from_stored(const char *json, size_t len, char *names[3], const char *what,
                               Tokenizer *t);

// Wraps a BPE tokenizer (ownership moves into t).
void tokenizer_from_bpe(Tokenizer *t, BpeTokenizer *bpe, const char *source);

// An independent copy for another thread (the Hugging Face tables are
// shared, read-only; scratch is per copy).
LmStatus tokenizer_clone(const Tokenizer *src, Tokenizer *dst);

// Appends the ids of len bytes of text to out; returns how many, or -1
// after an error message. Any bytes are accepted (a Hugging Face tokenizer
// reads invalid UTF-8 as U+FFFD, as its Python and Node callers do). Not
// safe to call concurrently on one Tokenizer: clone it per thread.
int64_t tokenizer_encode(Tokenizer *t, const char *text, size_t len, int flags, TokIds *out);

// The text of n ids (malloc'ed, NUL-terminated, *len its length). Special
// tokens are left out unless flags has TOK_SPECIAL. A BPE tokenizer refuses
// ids outside its vocabulary (LM_ERUNTIME, naming the id); a Hugging Face
// one skips them, as the library does.
LmStatus tokenizer_decode(Tokenizer *t, const int32_t *ids, int64_t n, int flags, char **text,
                          size_t *len);

// The tokenizer.json text of a Hugging Face tokenizer (NULL for BPE).
const char *tokenizer_json_text(const Tokenizer *t);

// The id of a special token by name, or -1.
int32_t tokenizer_special_id(const Tokenizer *t, const char *name);

// One line for reports: kind, vocabulary, special ids, hash.
void tokenizer_describe(const Tokenizer *t, char *buf, size_t cap);

// HDF5 group `name` (normally "tokenizer") of a corpus or checkpoint
// (layout in docs/formats.md). Loading validates everything and recomputes
// the hash; `what` names the file in errors.
LmStatus tokenizer_save(hid_t parent, const char *name, const Tokenizer *t);
LmStatus tokenizer_load(hid_t file, const char *name, Tokenizer *t, const char *what);

#endif
