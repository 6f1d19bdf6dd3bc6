// Byte-level BPE tokenizer: training, encoding, decoding and HDF5 storage
// (docs/tokenizer.md).
//
// Id layout (fixed, so a tokenizer is fully described by its special token
// names and its merge list):
//   0 <pad>, 1 <bos>, 2 <eos>, 3 .. n_special-1 extra specials (e.g. <2de>),
//   n_special + b                 byte b (b = 0..255),
//   n_special + 256 + r           the token made by merge r (r = 0..n_merges-1).
// Special tokens are never produced from text: the text "<bos>" is encoded
// as ordinary bytes, so bpe_decode(bpe_encode(x)) == x for any byte string.
// Special tokens decode to nothing.
#ifndef LM_BPE_H
#define LM_BPE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/pairmap.h"
#include "util/err.h"

enum { BPE_PAD_ID = 0, BPE_BOS_ID = 1, BPE_EOS_ID = 2, BPE_N_FIXED_SPECIAL = 3 };

#define BPE_HASH_LEN 16  // hex digits of the FNV-1a 64 content hash

typedef struct BpeWork BpeWork;          // encoding scratch and chunk cache (bpe.c)

typedef struct {
    int32_t vocab_size;   // n_special + 256 + n_merges
    int32_t n_special;    // >= 3: <pad>, <bos>, <eos>, then the extras
    int32_t n_merges;
    char **specials;      // [n_special] names, NUL-terminated
    int32_t *merges;      // [n_merges][2]: left id, right id of merge r
    char hash[BPE_HASH_LEN + 1];
    // Derived at construction: the bytes of every token, the merge lookup,
    // and (lazily) encoding scratch with a bounded chunk -> ids cache.
    int64_t *tok_off;     // [vocab_size + 1] offsets into tok_bytes
    uint8_t *tok_bytes;
    PairMap *rank_of;      // (left, right) -> merge rank
    BpeWork *work;
} BpeTokenizer;

// One training text: explicit length, so NUL and any other byte are allowed.
typedef struct {
    const char *data;
    size_t len;
} BpeText;

// An empty tokenizer that bpe_free accepts.
void bpe_init(BpeTokenizer *tok);
void bpe_free(BpeTokenizer *tok);

// The tokenizer without merges (vocab 259): the layout of the interim byte
// tokenizer (type "bytes", id 3 + b for byte b).
void bpe_init_bytes(BpeTokenizer *tok);

// Builds a tokenizer from its parts after validating them: specials[0..2]
// must be <pad>, <bos>, <eos>; names non-empty and distinct; each merge
// joins two existing non-special ids below its own id, and no pair repeats.
// `what` prefixes error messages, which then name "specials[i]" or
// "merges row r" (e.g. what = "corpus c.h5: /tokenizer"). merges is
// [n_merges][2]. On error *out is left empty.
LmStatus bpe_from_parts(BpeTokenizer *out, const char *const *specials, int32_t n_special,
                        const int32_t *merges, int64_t n_merges, const char *what);

// Trains on n_texts texts: chunk frequencies, then greedy merges of the most
// frequent adjacent pair within chunks (ties: smallest (left id, right id)).
// extra_specials (may be NULL when n_extra == 0) follow <pad>, <bos>, <eos>.
// Stops at vocab_size or when no pair occurs twice, so out->vocab_size may
// be smaller than asked. Deterministic: the result depends only on the
// multiset of texts. LM_EUSAGE for a vocab_size below n_special + 256 or bad
// special names.
LmStatus bpe_train(const BpeText *texts, int64_t n_texts, int32_t vocab_size,
                   const char *const *extra_specials, int32_t n_extra, BpeTokenizer *out);

// Encodes len bytes into at most cap ids and returns the number of ids of
// the full encoding (like snprintf: a result > cap means the output was
// cut). The count never exceeds len, so cap = len always suffices. Uses
// per-tokenizer scratch: not safe to call concurrently on one tokenizer.
int64_t bpe_encode(BpeTokenizer *tok, const void *bytes, size_t len, int32_t *ids, int64_t cap);

// Decodes n ids into at most cap bytes and returns the full decoded length
// (a result > cap means the output was cut). An id outside
// [0, vocab_size) prints an error naming it and returns -1.
int64_t bpe_decode(const BpeTokenizer *tok, const int32_t *ids, int64_t n, void *out,
                   int64_t cap);

// The bytes token `id` decodes to (*len = 0 for a special token; its name is
// tok->specials[id]). NULL if id is out of range.
const uint8_t *bpe_token_bytes(const BpeTokenizer *tok, int32_t id, size_t *len);

// FNV-1a 64 over the special names and merges, as 16 hex digits: equal
// hashes mean equal tokenizers (used to refuse a model/corpus mismatch).
const char *bpe_hash(const BpeTokenizer *tok);

// HDF5 storage (bpe_h5.c). bpe_save writes group `name` (normally
// "/tokenizer") under `parent`; bpe_load reads it back, validating every
// field, and also accepts the interim "bytes" tokenizer. `what` names the
// file in errors.
LmStatus bpe_save(hid_t parent, const char *name, const BpeTokenizer *tok);
LmStatus bpe_load(hid_t file, const char *name, BpeTokenizer *tok, const char *what);

#endif
