// A Hugging Face tokenizer.json held in C, encoding and decoding token for
// token as the `tokenizers` library 0.22 does (docs/tokenizer.md lists
// what is supported and where the semantics come from). Internal to
// src/tokenizer; everything else uses tokenizer.h.
//
// Encoding follows the library's pipeline: added tokens are cut out of the
// text (hf_added.c), the rest is normalized (hf_norm.c) and cut again by
// normalized added tokens, pre-tokenized into pieces (hf_pretok.c), each
// piece is tokenized by the BPE model (hf_bpe.c), and the post-processor
// adds special tokens (hf_encode.c). Decoding maps ids to token strings and
// runs the decoder chain (hf_decode.c). hf_json.c builds all of it from the
// JSON text, validating every field.
#ifndef LM_HF_H
#define LM_HF_H

#include <stddef.h>
#include <stdint.h>

#include "tokenizer/hf_regex.h"
#include "tokenizer/pairmap.h"
#include "util/err.h"

// ---------------------------------------------------------------- strings

// String -> id hash map over an arena of strings (the BPE vocabulary, the
// added tokens).
typedef struct {
    char *arena;           // the strings back to back
    size_t arena_n, arena_cap;
    size_t *off;           // [n + 1] string i is arena[off[i] .. off[i+1])
    int32_t *val;          // [n]
    int64_t n, cap;
    int64_t *slots;        // open addressing: index into off/val, -1 empty
    size_t n_slots;
} HfStrMap;

void strmap_init(HfStrMap *m);
void strmap_free(HfStrMap *m);
// The value of s[0..len), or -1.
int32_t strmap_get(const HfStrMap *m, const char *s, size_t len);
// Adds s -> val, replacing an existing value; returns the string's index.
int64_t strmap_set(HfStrMap *m, const char *s, size_t len, int32_t val);
static inline const char *strmap_key(const HfStrMap *m, int64_t i, size_t *len) {
    *len = m->off[i + 1] - m->off[i];
    return m->arena + m->off[i];
}

// ---------------------------------------------------------------- components

typedef enum { NORM_NFC, NORM_NFD, NORM_NFKC, NORM_NFKD, NORM_LOWERCASE, NORM_REPLACE,
               NORM_PREPEND, NORM_STRIP } HfNormKind;

typedef struct {
    HfNormKind kind;
    HfRegex *re;        // Replace
    char *text;         // Replace: content; Prepend: prepend
    size_t text_len;
    int left, right;    // Strip
} HfNorm;

// SplitDelimiterBehavior
typedef enum { SPLIT_REMOVED, SPLIT_ISOLATED, SPLIT_MERGED_PREV, SPLIT_MERGED_NEXT,
               SPLIT_CONTIGUOUS } HfSplitBehavior;

typedef enum { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } HfPrependScheme;

typedef enum { PRE_SPLIT, PRE_BYTELEVEL, PRE_METASPACE, PRE_DIGITS, PRE_PUNCTUATION,
               PRE_WHITESPACE, PRE_WHITESPACE_SPLIT } HfPreKind;

typedef struct {
    HfPreKind kind;
    HfRegex *re;               // Split; ByteLevel with use_regex; Whitespace
    HfSplitBehavior behavior;  // Split, Punctuation
    int invert;                // Split
    int add_prefix_space;      // ByteLevel
    char rep[5];               // Metaspace replacement (one character, UTF-8)
    size_t rep_len;
    uint32_t rep_cp;
    HfPrependScheme scheme;    // Metaspace
    int split;                 // Metaspace
    int individual;            // Digits
} HfPre;

typedef enum { DEC_BYTELEVEL, DEC_METASPACE, DEC_BYTE_FALLBACK, DEC_FUSE, DEC_STRIP,
               DEC_REPLACE } HfDecKind;

typedef struct {
    HfDecKind kind;
    HfRegex *re;               // Replace
    char *text;                // Replace: content
    size_t text_len;
    char ch[5];                // Strip: content; Metaspace: replacement
    size_t ch_len;
    int start, stop;           // Strip
    HfPrependScheme scheme;    // Metaspace
} HfDec;

// A TemplateProcessing "single" template, flattened: special token ids, and
// HF_SEQ_A where the encoded text goes.
#define HF_SEQ_A (-1)
typedef struct {
    int32_t *items;
    int n;
} HfTemplate;

typedef struct {
    char *content;
    size_t len;
    int32_t id;
    int special, single_word, lstrip, rstrip, normalized;
} HfAddedToken;

// Added tokens matched in one pass (leftmost, then longest, as the
// library's Aho-Corasick automaton): patterns sorted bytewise.
typedef struct {
    char **pat;           // [n] pattern bytes (the content, or the normalized content)
    size_t *len;
    int32_t *tok;         // [n] index into HfTokenizer.added
    int n;
    uint8_t first[256];   // 1 if some pattern starts with this byte
} HfTrie;

// Building: add patterns (taking ownership), then sort once.
void hf_trie_add(HfTrie *t, char *pat, size_t len, int32_t tok);
void hf_trie_finish(HfTrie *t);
void hf_trie_free(HfTrie *t);

// The BPE model.
typedef struct {
    HfStrMap vocab;            // token -> id; ids are 0 .. n-1
    int32_t n_vocab;
    int64_t *by_id;            // [n_vocab] index of the token string in vocab
    PairMap merges;            // (left id, right id) -> rank << 32 | merged id
    int64_t n_merges;
    int32_t unk_id;            // -1: no unk_token
    int fuse_unk, byte_fallback, ignore_merges;
    char *prefix, *suffix;     // continuing_subword_prefix, end_of_word_suffix ("" = none)
    size_t prefix_len, suffix_len;
    int32_t byte_id[256];      // <0xNN> tokens (byte_fallback), -1 if missing
    int32_t *char_id;          // [0x10000] single-character tokens (no prefix/suffix), -1
} HfBpe;

typedef struct HfTokenizer {
    int refs;                  // shared by tokenizer_clone
    char *json;                // the tokenizer.json text (stored in HDF5 as is)
    size_t json_len;
    HfBpe bpe;
    HfAddedToken *added;
    int n_added;
    HfStrMap added_map;        // content -> index into added
    HfTrie plain, normed;      // added tokens with normalized false / true
    HfNorm *norm;
    int n_norm;
    HfPre *pre;
    int n_pre;
    HfTemplate *post;          // TemplateProcessing steps in order (ByteLevel ones add nothing)
    int n_post;
    HfDec *dec;
    int n_dec, has_decoder;
    int32_t vocab_size;        // largest id + 1
    uint8_t *special;          // [vocab_size] 1: skipped by decoding without specials
    int32_t *added_of_id;      // [vocab_size] index into added, or -1
    HfRegex *word_re;          // Rust's \w, for single_word added tokens
} HfTokenizer;

// ---------------------------------------------------------------- building

// Parses and validates tokenizer.json text (copied). `what` names the file
// in errors. LM_ERUNTIME for malformed content, LM_EUSAGE for components
// landermt does not support.
LmStatus hf_parse(const char *json, size_t len, const char *what, HfTokenizer **out);
void hf_release(HfTokenizer *h);  // drops one reference

// Token string of an id (NULL if unknown).
const char *hf_token(const HfTokenizer *h, int32_t id, size_t *len);
// Id of a token string (added tokens first, then the vocabulary), or -1.
int32_t hf_token_id(const HfTokenizer *h, const char *s, size_t len);

// Parsing context: the file and the JSON path of the value being read, for
// error messages ("tokenizer.json t.json: pre_tokenizer.pretokenizers[1]: ...").
typedef struct {
    const char *what;
    char path[1024];
} HfCtx;

// Appends ".key" or "[i]" to the path; returns the old length for ctx_pop.
size_t ctx_key(HfCtx *c, const char *key);
size_t ctx_index(HfCtx *c, size_t i);
static inline void ctx_pop(HfCtx *c, size_t len) { c->path[len] = '\0'; }

// Components (hf_json_parts.c and hf_json_model.c): one JSON value each.
typedef struct json_t json_t;
LmStatus hf_parse_normalizer(HfTokenizer *h, json_t *v, HfCtx *c);
LmStatus hf_parse_pre_tokenizer(HfTokenizer *h, json_t *v, HfCtx *c);
LmStatus hf_parse_post_processor(HfTokenizer *h, json_t *v, HfCtx *c);
LmStatus hf_parse_decoder(HfTokenizer *h, json_t *v, HfCtx *c);
LmStatus hf_parse_model(HfTokenizer *h, json_t *v, HfCtx *c);
LmStatus hf_parse_added(HfTokenizer *h, json_t *v, HfCtx *c);  // after the model
// Typed field access; a missing key gives the default, a wrong type an
// error naming the path. *s is borrowed from the JSON value.
LmStatus json_opt_bool(json_t *obj, const char *key, int def, int *out, HfCtx *c);
LmStatus json_opt_str(json_t *obj, const char *key, const char **s, size_t *len, HfCtx *c);
LmStatus json_req_str(json_t *obj, const char *key, const char **s, size_t *len, HfCtx *c);
LmStatus json_req_array(json_t *obj, const char *key, json_t **arr, HfCtx *c);
LmStatus json_type_of(json_t *v, const char **type, HfCtx *c);  // the "type" field of an object
LmStatus hf_unsupported(const char *kind, const char *type, const char *supported, HfCtx *c);
LmStatus hf_bad(HfCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// The same about member `key` of the object at the path.
LmStatus hf_bad_key(HfCtx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

// ---------------------------------------------------------------- encoding

// Text of the encoder: an arena of bytes and pieces into it. z is the
// number of leading bytes that come from the first character of the input
// (alignment start 0 in the library's NormalizedString): Metaspace's
// prepend_scheme "first" prepends only to such a piece.
typedef struct {
    size_t off, len, z;
    int32_t id;                // >= 0: an added token, no further processing
} HfPiece;

typedef struct {
    HfPiece *v;
    size_t n, cap;
} HfPieces;

typedef struct {
    char *buf;
    size_t n, cap;
} HfBuf;

typedef struct HfCacheSlot HfCacheSlot;

// Per-thread scratch of one tokenizer.
typedef struct HfWork {
    HfBuf arena;
    HfPieces a, b;
    HfSpans spans;
    HfMatcher *matcher;
    HfBuf tmp;
    HfBuf tmp2;
    // BPE merging (hf_bpe.c)
    struct HfSym *sym;
    size_t sym_cap;
    struct HfMerge *heap;
    size_t heap_n, heap_cap;
    HfCacheSlot *cache;
    // output of one encode
    int32_t *ids;
    size_t n_ids, cap_ids;
} HfWork;

HfWork *hf_work_new(void);
void hf_work_free(HfWork *w);

void hfbuf_reserve(HfBuf *b, size_t more);
size_t hfbuf_add(HfBuf *b, const void *s, size_t n);  // returns the offset
void pieces_push(HfPieces *p, size_t off, size_t len, size_t z, int32_t id);
void hf_push_id(HfWork *w, int32_t id);  // appends to w->ids

// Ids of text[0..len) (any bytes: invalid UTF-8 is replaced as the library's
// callers do) into w->ids / w->n_ids, with the post-processor's special
// tokens when add_special. LM_ERUNTIME only if a regex fails at run time.
LmStatus hf_encode(const HfTokenizer *h, HfWork *w, const char *text, size_t len,
                   int add_special);

// Steps of the pipeline (in place on the piece lists of w).
void hf_added_split(const HfTokenizer *h, HfWork *w, const HfTrie *t, HfPieces *in,
                    HfPieces *out);
LmStatus hf_normalize(const HfTokenizer *h, HfWork *w, HfPieces *pieces);
LmStatus hf_pre_tokenize(const HfTokenizer *h, HfWork *w);  // w->a in, w->a out
void hf_bpe_tokenize(const HfBpe *b, HfWork *w, const char *s, size_t n);
// GPT-2's byte <-> character map of ByteLevel (hf_byte_level_init before
// any use: hf_parse calls it).
void hf_byte_level_init(void);
int hf_byte_of_char(uint32_t cp);  // the byte a character stands for, or -1
// Applies the normalizer to s alone (used for normalized added tokens); a
// malloc'ed copy.
char *hf_normalize_string(const HfTokenizer *h, HfWork *w, const char *s, size_t n,
                          size_t *out_len);

// ---------------------------------------------------------------- decoding

// Decodes ids (unknown ids are skipped, as the library does; special tokens
// too unless keep_special) into a malloc'ed NUL-terminated string.
char *hf_decode(const HfTokenizer *h, const int32_t *ids, int64_t n, int keep_special,
                size_t *out_len);

#endif
