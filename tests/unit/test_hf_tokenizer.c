// The Hugging Face tokenizer.json implementation, component by component,
// on small tokenizers written here. Expected ids are derived by hand from
// the `tokenizers` library's semantics (comments give the reasoning where
// it is not obvious). With the npm packages available, tests/cli/
// hf_equality.sh also checks every case against the library itself:
//
//   test_hf_tokenizer --write-fixtures DIR
//
// writes, per case NAME, DIR/NAME.json (the tokenizer), DIR/NAME.in (the
// text as a JSON string) and the expected DIR/NAME.{ids,ids_special,text,
// text_special} in the formats of tools/hf_tokenizer_ref.js.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/open.h"
#include "harness.h"
#include "io/ckpt.h"
#include "io/corpus_write.h"
#include "io/h5.h"
#include "tokenizer/hf.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/jsonout.h"

// ---------------------------------------------------------------- fixtures

typedef struct {
    const char *s[512];
    int n;
} Vocab;

static void add(Vocab *v, const char *s) {
    for (int i = 0; i < v->n; i++)
        if (!strcmp(v->s[i], s)) return;
    v->s[v->n++] = s;
}

static char BYTE_CHAR[256][4], FALLBACK[256][8];

// GPT-2's byte-level alphabet, id = byte.
static void byte_chars(Vocab *v) {
    for (int b = 0, k = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        int cp = printable ? b : 0x100 + k++;
        if (cp < 0x80) BYTE_CHAR[b][0] = (char)cp;
        else BYTE_CHAR[b][0] = (char)(0xC0 | cp >> 6), BYTE_CHAR[b][1] = (char)(0x80 | (cp & 0x3F));
        add(v, BYTE_CHAR[b]);
    }
}

static void vocab_sp(Vocab *v) {
    add(v, "<unk>"), add(v, "<s>"), add(v, "</s>");
    for (int b = 0; b < 256; b++) snprintf(FALLBACK[b], 8, "<0x%02X>", b), add(v, FALLBACK[b]);
    const char *t[] = {"▁", "a", "b", "c", "▁a", "ab", "▁ab", "h", "i", "hi", "▁hi"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) add(v, t[i]);
}

static void vocab_unk(Vocab *v) { add(v, "<unk>"), add(v, "a"), add(v, "b"), add(v, "ab"); }

static void vocab_bl(Vocab *v) {
    byte_chars(v);
    const char *t[] = {"Ġt", "he", "Ġthe", "Ġc", "at", "Ġcat", "<|endoftext|>"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) add(v, t[i]);
}

static void vocab_ignore(Vocab *v) {
    byte_chars(v);
    const char *t[] = {"hello", "he", "ll", "'m", "123", "45", "Ġok", "'M"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) add(v, t[i]);
}

static void vocab_affix(Vocab *v) {
    const char *t[] = {"[UNK]", "a", "##b", "##c</w>", "ab", "abc</w>", "b", "##a</w>", "ba</w>"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) add(v, t[i]);
}

// Every piece the identity cases expect: with ignore_merges and no merges,
// a piece is one token exactly when it is in this list.
static void vocab_pieces(Vocab *v) {
    const char *t[] = {
        "the", "final", "countdown", "-", "the-", "final-", "-final", "-countdown", "--",
        "a\u180eb", "c", "ab\u0301c", " ", "d", "ab", "123", "cd", "45", "1", "2", "3", "4", "5",
        "x", "٣٤½", "Hello", ",", " world", "!", "?", "$", "«", "a", "»", "world", "x,", "y",
        "z", "▁Hey", "▁friend!", "Hey", "▁you", "▁Hey▁friend!", "c3", "é", "e\u0301", "fi1",
        "e\u03011⁄2", "hello i\u0307σ", "a_b_c", "xy", "▁x", "x y", "x y  ", "abc", " b", "a ",
        "b", " cab ", "xax", "xx", "cab", "<0xC3>", "<0xA9>", "y abc", " ok", "ok"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) add(v, t[i]);
}

typedef struct {
    void (*vocab)(Vocab *);
    const char *model;   // members of "model" (backticks stand for double quotes)
    const char *merges;  // JSON array
    const char *added;   // JSON array of {content, special, ...} without ids (assigned as the library does)
    const char *rest;    // top-level members: normalizer, pre_tokenizer, post_processor, decoder;
                         // a template id -k stands for the id of added token k-1
} Fix;

// JSON text with ` for " (keeps the fixtures readable).
static json_t *jq(const char *text) {
    char *s = xstrdup(text);
    for (char *p = s; *p; p++)
        if (*p == '`') *p = '"';
    json_error_t err;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &err);
    if (!v) fprintf(stderr, "fixture JSON: %s in %s\n", err.text, s), exit(2);
    free(s);
    return v;
}

static json_t *braces(const char *members) {
    char *s = xmalloc(strlen(members) + 3);
    sprintf(s, "{%s}", members);
    json_t *v = jq(s);
    free(s);
    return v;
}

// Added tokens with the ids the library gives them: the vocabulary's id,
// else the next one after the vocabulary.
static json_t *added_with_ids(const char *added, json_t *vocab) {
    json_t *arr = jq(added ? added : "[]");
    json_int_t next = (json_int_t)json_object_size(vocab);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *t = json_array_get(arr, i), *known = json_object_get(vocab, json_string_value(json_object_get(t, "content")));
        int special = json_is_true(json_object_get(t, "special"));
        static const char *const FLAGS[] = {"single_word", "lstrip", "rstrip"};
        for (int k = 0; k < 3; k++)
            if (!json_object_get(t, FLAGS[k])) json_object_set_new(t, FLAGS[k], json_false());
        if (!json_object_get(t, "normalized")) json_object_set_new(t, "normalized", json_boolean(!special));
        if (!json_object_get(t, "special")) json_object_set_new(t, "special", json_false());
        json_object_set_new(t, "id", json_integer(known ? json_integer_value(known) : next++));
    }
    return arr;
}

// Template ids -k -> the id of added token k-1.
static void resolve_ids(json_t *v, json_t *added) {
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *x = json_array_get(v, i);
            if (json_is_integer(x) && json_integer_value(x) < 0)
                json_array_set(v, i, json_object_get(json_array_get(added, (size_t)(-json_integer_value(x) - 1)), "id"));
            else resolve_ids(x, added);
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) resolve_ids(x, added);
    }
}

static char *fixture_json(const Fix *f) {
    Vocab v = {.n = 0};
    f->vocab(&v);
    json_t *model = braces(f->model ? f->model : ""), *vocab = json_object();
    for (int i = 0; i < v.n; i++) json_object_set_new(vocab, v.s[i], json_integer(i));
    static const char *const DEFAULTS = "`type`: `BPE`, `dropout`: null, `unk_token`: null, "
        "`continuing_subword_prefix`: null, `end_of_word_suffix`: null, `fuse_unk`: false, "
        "`byte_fallback`: false, `ignore_merges`: false";
    json_t *def = braces(DEFAULTS), *root = braces(f->rest ? f->rest : "");
    const char *key;
    json_t *val;
    json_object_foreach(def, key, val) if (!json_object_get(model, key)) json_object_set(model, key, val);
    json_object_set_new(model, "merges", jq(f->merges ? f->merges : "[]"));
    json_object_set_new(root, "added_tokens", added_with_ids(f->added, vocab));
    resolve_ids(json_object_get(root, "post_processor"), json_object_get(root, "added_tokens"));
    json_object_set_new(model, "vocab", vocab);
    json_object_set_new(root, "model", model);
    json_object_set_new(root, "version", json_string("1.0"));
    static const char *const PARTS[] = {"truncation", "padding", "normalizer", "pre_tokenizer",
                                        "post_processor", "decoder"};
    for (int i = 0; i < 6; i++)
        if (!json_object_get(root, PARTS[i])) json_object_set_new(root, PARTS[i], json_null());
    char *s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(def), json_decref(root);
    return s;
}

// ---------------------------------------------------------------- components

#define ADD_S(c) "{`content`: `" c "`, `special`: true, `normalized`: false}"
#define TEMPLATE_BOS "`post_processor`: {`type`: `TemplateProcessing`, `single`: [{`SpecialToken`: " \
    "{`id`: `<s>`, `type_id`: 0}}, {`Sequence`: {`id`: `A`, `type_id`: 0}}], `pair`: [{`Sequence`: " \
    "{`id`: `A`, `type_id`: 0}}, {`Sequence`: {`id`: `B`, `type_id`: 1}}], `special_tokens`: {`<s>`: " \
    "{`id`: `<s>`, `ids`: [1], `tokens`: [`<s>`]}}}"
#define BL_PRE "{`type`: `ByteLevel`, `add_prefix_space`: false, `trim_offsets`: true, `use_regex`: true}"
#define BL_DEC "{`type`: `ByteLevel`, `add_prefix_space`: true, `trim_offsets`: true, `use_regex`: true}"
#define LLAMA3_RE "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| " \
    "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"

// Llama 2 / SentencePiece style: Prepend + Replace normalizer, byte fallback,
// <s> template, Replace/ByteFallback/Fuse/Strip decoder.
static const Fix SP = {vocab_sp, "`byte_fallback`: true, `unk_token`: `<unk>`, `fuse_unk`: true",
    "[`▁ a`, `a b`, `▁a b`, `h i`, `▁ hi`]", "[" ADD_S("<unk>") "," ADD_S("<s>") "," ADD_S("</s>") "]",
    "`normalizer`: {`type`: `Sequence`, `normalizers`: [{`type`: `Prepend`, `prepend`: `▁`}, "
    "{`type`: `Replace`, `pattern`: {`String`: ` `}, `content`: `▁`}]}, " TEMPLATE_BOS ", "
    "`decoder`: {`type`: `Sequence`, `decoders`: [{`type`: `Replace`, `pattern`: {`String`: `▁`}, "
    "`content`: ` `}, {`type`: `ByteFallback`}, {`type`: `Fuse`}, {`type`: `Strip`, `content`: ` `, "
    "`start`: 1, `stop`: 0}]}"};

static const Fix UNK_FUSE = {vocab_unk, "`unk_token`: `<unk>`, `fuse_unk`: true", "[`a b`]", NULL, NULL};
static const Fix UNK_NOFUSE = {vocab_unk, "`unk_token`: `<unk>`", "[`a b`]", NULL, NULL};
static const Fix NO_UNK = {vocab_unk, NULL, "[`a b`]", NULL, NULL};

// GPT-2 style byte level, merges as pairs.
#define BL_MERGES "[[`Ġ`, `t`], [`h`, `e`], [`Ġt`, `he`], [`Ġ`, `c`], [`a`, `t`], [`Ġc`, `at`]]"
static const Fix BL = {vocab_bl, NULL, BL_MERGES, "[" ADD_S("<|endoftext|>") "]",
    "`pre_tokenizer`: " BL_PRE ", `post_processor`: {`type`: `ByteLevel`, `add_prefix_space`: false, "
    "`trim_offsets`: false, `use_regex`: true}, `decoder`: {`type`: `ByteLevel`, `add_prefix_space`: true, "
    "`trim_offsets`: true, `use_regex`: true}"};
static const Fix BL_PREFIX = {vocab_bl, NULL, BL_MERGES, NULL,
    "`pre_tokenizer`: {`type`: `ByteLevel`, `add_prefix_space`: true, `trim_offsets`: true, "
    "`use_regex`: false}, `decoder`: " BL_DEC};

// Llama 3 style: Split regex + ByteLevel without regex, ignore_merges.
#define L3_REST "`pre_tokenizer`: {`type`: `Sequence`, `pretokenizers`: [{`type`: `Split`, `pattern`: " \
    "{`Regex`: `" LLAMA3_RE "`}, `behavior`: `Isolated`, `invert`: false}, {`type`: `ByteLevel`, " \
    "`add_prefix_space`: false, `trim_offsets`: true, `use_regex`: false}]}, `decoder`: " BL_DEC
static const Fix IGNORE = {vocab_ignore, "`ignore_merges`: true", "[`h e`, `l l`]", NULL, L3_REST};
static const Fix NO_IGNORE = {vocab_ignore, NULL, "[`h e`, `l l`]", NULL, L3_REST};

// continuing_subword_prefix / end_of_word_suffix with Whitespace.
static const Fix AFFIX = {vocab_affix, "`unk_token`: `[UNK]`, `continuing_subword_prefix`: `##`, "
    "`end_of_word_suffix`: `</w>`", "[`a ##b`, `ab ##c</w>`, `b ##a</w>`]", NULL,
    "`pre_tokenizer`: {`type`: `Whitespace`}"};

#define ID_MODEL "`ignore_merges`: true"
#define ID(rest) &(const Fix){vocab_pieces, ID_MODEL, NULL, NULL, rest}
#define ID_ADDED(added, rest) &(const Fix){vocab_pieces, ID_MODEL, NULL, added, rest}
#define SPLIT(pat, beh, inv) "`pre_tokenizer`: {`type`: `Split`, `pattern`: " pat ", `behavior`: `" beh \
    "`, `invert`: " inv "}"
#define META(scheme, split) "`pre_tokenizer`: {`type`: `Metaspace`, `replacement`: `▁`, " \
    "`prepend_scheme`: `" scheme "`, `split`: " split "}"
#define NORM(n) "`normalizer`: " n
#define WSPLIT "`pre_tokenizer`: {`type`: `WhitespaceSplit`}"

typedef struct {
    const char *name;
    const Fix *fix;
    const char *text;
    const char *ids[16];          // expected tokens, as strings
    const char *ids_special[16];  // with special tokens; {NULL} = same as ids
    const char *text_out;         // decode(ids_special, skip specials), NULL = not checked
    const char *text_special;     // decode(ids_special, keep specials), NULL = not checked
} Case;

static const Case CASES[] = {
    // BPE model: merges by rank, byte fallback, unk, affixes, ignore_merges
    {"sp_merge", &SP, "ab hi", {"▁ab", "▁hi"}, {"<s>", "▁ab", "▁hi"}, "ab hi", "<s> ab hi"},
    {"sp_byte_fallback", &SP, "aé", {"▁a", "<0xC3>", "<0xA9>"}, {"<s>", "▁a", "<0xC3>", "<0xA9>"},
     "aé", "<s> aé"},
    {"sp_added", &SP, "hi</s>ab", {"▁hi", "</s>", "▁ab"}, {"<s>", "▁hi", "</s>", "▁ab"}, "hi ab",
     "<s> hi</s> ab"},
    {"sp_empty", &SP, "", {NULL}, {"<s>"}, "", "<s>"},
    {"sp_spaces", &SP, "  a", {"▁", "▁", "▁a"}, {"<s>", "▁", "▁", "▁a"}, "  a", "<s>   a"},
    {"unk_fused", &UNK_FUSE, "axyb", {"a", "<unk>", "b"}, {NULL}, "a <unk> b", NULL},
    {"unk_first", &UNK_FUSE, "xab", {"<unk>", "ab"}, {NULL}, "<unk> ab", NULL},
    {"unk_not_fused", &UNK_NOFUSE, "axyb", {"a", "<unk>", "<unk>", "b"}, {NULL}, "a <unk> <unk> b", NULL},
    {"unk_dropped", &NO_UNK, "axb", {"ab"}, {NULL}, "ab", NULL},  // x vanishes, a and b merge
    {"bl_words", &BL, "the cat", {"t", "he", "Ġcat"}, {NULL}, "the cat", NULL},
    {"bl_the", &BL, " the", {"Ġthe"}, {NULL}, " the", NULL},
    {"bl_special", &BL, "a<|endoftext|>b", {"a", "<|endoftext|>", "b"}, {NULL}, "ab", "a<|endoftext|>b"},
    // \s+(?!\S) leaves the last space to the word: "  x" -> " ", " x"
    {"bl_spaces", &BL, "  x", {"Ġ", "Ġ", "x"}, {NULL}, "  x", NULL},
    {"bl_newlines", &BL, "a\n\nb", {"a", "Ċ", "Ċ", "b"}, {NULL}, "a\n\nb", NULL},
    {"bl_invalid_utf8", &BL, "\xff", {"ï", "¿", "½"}, {NULL}, "\xEF\xBF\xBD", NULL},  // U+FFFD's bytes
    {"bl_prefix_space", &BL_PREFIX, "the cat", {"Ġthe", "Ġcat"}, {NULL}, " the cat", NULL},
    {"ignore_merges", &IGNORE, "hello", {"hello"}, {NULL}, "hello", NULL},
    {"ignore_merges_not_word", &IGNORE, "hello hello", {"hello", "Ġ", "he", "ll", "o"}, {NULL},
     "hello hello", NULL},
    {"merges_not_ignored", &NO_IGNORE, "hello", {"he", "ll", "o"}, {NULL}, "hello", NULL},
    {"split_llama3_regex", &IGNORE, "I'm 12345 ok I'M", {"I", "'m", "Ġ", "123", "45", "Ġok", "Ġ", "I", "'M"},
     {NULL}, "I'm 12345 ok I'M", NULL},
    {"affix_words", &AFFIX, "abc ba x", {"abc</w>", "ba</w>", "[UNK]"}, {NULL}, "abc</w> ba</w> [UNK]", NULL},
    {"affix_punct", &AFFIX, "abc, ba!", {"abc</w>", "[UNK]", "ba</w>", "[UNK]"}, {NULL}, NULL, NULL},
    // pre-tokenizers (the library's own example: "the-final--countdown")
    {"split_removed", ID(SPLIT("{`String`: `-`}", "Removed", "false")), "the-final--countdown",
     {"the", "final", "countdown"}, {NULL}, NULL, NULL},
    {"split_isolated", ID(SPLIT("{`String`: `-`}", "Isolated", "false")), "the-final--countdown",
     {"the", "-", "final", "-", "-", "countdown"}, {NULL}, NULL, NULL},
    {"split_merged_previous", ID(SPLIT("{`String`: `-`}", "MergedWithPrevious", "false")),
     "the-final--countdown", {"the-", "final-", "-", "countdown"}, {NULL}, NULL, NULL},
    {"split_merged_next", ID(SPLIT("{`String`: `-`}", "MergedWithNext", "false")), "the-final--countdown",
     {"the", "-final", "-", "-countdown"}, {NULL}, NULL, NULL},
    {"split_contiguous", ID(SPLIT("{`String`: `-`}", "Contiguous", "false")), "the-final--countdown",
     {"the", "-", "final", "--", "countdown"}, {NULL}, NULL, NULL},
    {"split_invert_removed", ID(SPLIT("{`String`: `-`}", "Removed", "true")), "the-final--countdown",
     {"-", "-", "-"}, {NULL}, NULL, NULL},
    // inverted, the words are the delimiters and merge into the dash before them
    {"split_invert_merged_previous", ID(SPLIT("{`String`: `-`}", "MergedWithPrevious", "true")),
     "the-final--countdown", {"the", "-final", "-", "-countdown"}, {NULL}, NULL, NULL},
    // Oniguruma's \s has no U+180E (PCRE2's has), its \w has marks (PCRE2 10.42's has not)
    {"split_onig_space", ID(SPLIT("{`Regex`: `\\\\s`}", "Removed", "false")), "a\u180eb c",
     {"a\u180eb", "c"}, {NULL}, NULL, NULL},
    {"split_onig_word", ID(SPLIT("{`Regex`: `\\\\w+`}", "Isolated", "false")), "ab\u0301c d",
     {"ab\u0301c", " ", "d"}, {NULL}, NULL, NULL},
    // x* matches empty strings too; the empty pieces are dropped
    {"split_empty_matches", ID(SPLIT("{`Regex`: `x*`}", "Isolated", "false")), "axb", {"a", "x", "b"},
     {NULL}, NULL, NULL},
    {"digits_contiguous", ID("`pre_tokenizer`: {`type`: `Digits`, `individual_digits`: false}"),
     "ab123cd45", {"ab", "123", "cd", "45"}, {NULL}, NULL, NULL},
    {"digits_individual", ID("`pre_tokenizer`: {`type`: `Digits`, `individual_digits`: true}"),
     "ab123cd45", {"ab", "1", "2", "3", "cd", "4", "5"}, {NULL}, NULL, NULL},
    {"digits_unicode", ID("`pre_tokenizer`: {`type`: `Digits`, `individual_digits`: false}"), "x٣٤½",
     {"x", "٣٤½"}, {NULL}, NULL, NULL},
    {"punctuation", ID("`pre_tokenizer`: {`type`: `Punctuation`, `behavior`: `Isolated`}"),
     "Hello, world!?", {"Hello", ",", " world", "!", "?"}, {NULL}, NULL, NULL},
    {"punctuation_symbols", ID("`pre_tokenizer`: {`type`: `Punctuation`}"), "$5«a»",
     {"$", "5", "«", "a", "»"}, {NULL}, NULL, NULL},
    {"whitespace", ID("`pre_tokenizer`: {`type`: `Whitespace`}"), "Hello, world! x",
     {"Hello", ",", "world", "!", "x"}, {NULL}, NULL, NULL},
    {"whitespace_split", ID(WSPLIT), "x, y\tz", {"x,", "y", "z"}, {NULL}, NULL, NULL},
    {"metaspace_always", ID(META("always", "true")), "Hey friend!", {"▁Hey", "▁friend!"}, {NULL}, NULL, NULL},
    {"metaspace_first", ID(META("first", "true")), "Hey you", {"▁Hey", "▁you"}, {NULL}, NULL, NULL},
    // "first": only the piece at the start of the input gets the prefix
    {"metaspace_first_after_token", ID_ADDED("[" ADD_S("<s>") "]", META("first", "true")), "<s>Hey you",
     {"<s>", "Hey", "▁you"}, {NULL}, NULL, NULL},
    {"metaspace_always_after_token", ID_ADDED("[" ADD_S("<s>") "]", META("always", "true")),
     "<s>Hey you", {"<s>", "▁Hey", "▁you"}, {NULL}, NULL, NULL},
    {"metaspace_never", ID(META("never", "true")), "Hey you", {"Hey", "▁you"}, {NULL}, NULL, NULL},
    {"metaspace_no_split", ID(META("always", "false")), "Hey friend!", {"▁Hey▁friend!"}, {NULL}, NULL, NULL},
    {"pre_sequence", ID("`pre_tokenizer`: {`type`: `Sequence`, `pretokenizers`: [{`type`: `Whitespace`}, "
     "{`type`: `Digits`, `individual_digits`: true}]}"), "ab12 c3", {"ab", "1", "2", "c", "3"}, {NULL},
     NULL, NULL},
    // normalizers
    {"nfc", ID(NORM("{`type`: `NFC`}")), "e\u0301", {"é"}, {NULL}, NULL, NULL},
    {"nfd", ID(NORM("{`type`: `NFD`}")), "é", {"e\u0301"}, {NULL}, NULL, NULL},
    {"nfkc", ID(NORM("{`type`: `NFKC`}")), "ﬁ①", {"fi1"}, {NULL}, NULL, NULL},
    {"nfkd", ID(NORM("{`type`: `NFKD`}")), "é½", {"e\u03011⁄2"}, {NULL}, NULL, NULL},
    // İ lowercases to two characters, Σ to σ (no final-sigma rule)
    {"lowercase", ID(NORM("{`type`: `Lowercase`}")), "HeLLo İΣ", {"hello i\u0307σ"}, {NULL}, NULL, NULL},
    {"replace_regex", ID(NORM("{`type`: `Replace`, `pattern`: {`Regex`: ` +`}, `content`: `_`}")),
     "a  b c", {"a_b_c"}, {NULL}, NULL, NULL},
    {"replace_delete", ID(NORM("{`type`: `Replace`, `pattern`: {`String`: `ab`}, `content`: ``}")),
     "xaby", {"xy"}, {NULL}, NULL, NULL},
    {"prepend", ID(NORM("{`type`: `Prepend`, `prepend`: `▁`}")), "x", {"▁x"}, {NULL}, NULL, NULL},
    {"strip_both", ID(NORM("{`type`: `Strip`, `strip_left`: true, `strip_right`: true}")), "  x y  ",
     {"x y"}, {NULL}, NULL, NULL},
    {"strip_left", ID(NORM("{`type`: `Strip`, `strip_left`: true, `strip_right`: false}")), "  x y  ",
     {"x y  "}, {NULL}, NULL, NULL},
    {"normalizer_sequence", ID(NORM("{`type`: `Sequence`, `normalizers`: [{`type`: `NFKC`}, {`type`: "
     "`Lowercase`}, {`type`: `Strip`, `strip_left`: true, `strip_right`: true}]}")), "  ＡＢＣ  ",
     {"abc"}, {NULL}, NULL, NULL},
    // added tokens
    {"added_lstrip", ID_ADDED("[{`content`: `<mask>`, `special`: true, `normalized`: false, `lstrip`: true}]",
     ""), "a <mask> b", {"a", "<mask>", " b"}, {NULL}, NULL, NULL},
    {"added_rstrip", ID_ADDED("[{`content`: `<mask>`, `special`: true, `normalized`: false, `rstrip`: true}]",
     ""), "a <mask> b", {"a ", "<mask>", "b"}, {NULL}, NULL, NULL},
    // "ab" inside "cab" is not a single word: skipped
    {"added_single_word", ID_ADDED("[{`content`: `ab`, `normalized`: false, `single_word`: true}]", ""),
     "ab cab ab", {"ab", " cab ", "ab"}, {NULL}, NULL, NULL},
    {"added_normalized", ID_ADDED("[{`content`: `hello`, `normalized`: true}]",
     NORM("{`type`: `Lowercase`}")), "HELLO world", {"hello", " world"}, {NULL}, NULL, NULL},
    {"added_not_normalized", ID_ADDED("[{`content`: `ABC`, `normalized`: false}]",
     NORM("{`type`: `Lowercase`}")), "xABCy abc", {"x", "ABC", "y abc"}, {NULL}, NULL, NULL},
    {"added_longest", ID_ADDED("[{`content`: `ab`, `normalized`: false}, {`content`: `abc`, "
     "`normalized`: false}]", ""), "abcd", {"abc", "d"}, {NULL}, NULL, NULL},
    // post-processors
    {"template_affixes", ID_ADDED("[" ADD_S("<s>") "," ADD_S("</s>") "]",
     "`post_processor`: {`type`: `TemplateProcessing`, `single`: [{`SpecialToken`: {`id`: `<s>`, "
     "`type_id`: 0}}, {`Sequence`: {`id`: `A`, `type_id`: 0}}, {`SpecialToken`: {`id`: `</s>`, "
     "`type_id`: 0}}], `pair`: [{`Sequence`: {`id`: `A`, `type_id`: 0}}, {`Sequence`: {`id`: `B`, "
     "`type_id`: 1}}], `special_tokens`: {`<s>`: {`id`: `<s>`, `ids`: [-1], `tokens`: [`<s>`]}, "
     "`</s>`: {`id`: `</s>`, `ids`: [-2], `tokens`: [`</s>`]}}}"), "x", {"x"}, {"<s>", "x", "</s>"},
     "x", "<s> x </s>"},  // no decoder: tokens joined by spaces
    {"post_sequence", ID_ADDED("[" ADD_S("<s>") "]", "`post_processor`: {`type`: `Sequence`, `processors`: "
     "[{`type`: `ByteLevel`, `add_prefix_space`: true, `trim_offsets`: false, `use_regex`: true}, "
     "{`type`: `TemplateProcessing`, `single`: [{`SpecialToken`: {`id`: `<s>`, `type_id`: 0}}, "
     "{`Sequence`: {`id`: `A`, `type_id`: 0}}], `pair`: [{`Sequence`: {`id`: `A`, `type_id`: 0}}, "
     "{`Sequence`: {`id`: `B`, `type_id`: 1}}], `special_tokens`: {`<s>`: {`id`: `<s>`, `ids`: [-1], "
     "`tokens`: [`<s>`]}}}]}"), "x", {"x"}, {"<s>", "x"}, "x", "<s> x"},
    // decoders
    {"decode_metaspace", ID(META("always", "true") ", `decoder`: {`type`: `Metaspace`, `replacement`: `▁`, "
     "`prepend_scheme`: `always`, `split`: true}"), "Hey friend!", {"▁Hey", "▁friend!"}, {NULL},
     "Hey friend!", NULL},
    {"decode_metaspace_never", ID(META("always", "true") ", `decoder`: {`type`: `Metaspace`, "
     "`replacement`: `▁`, `prepend_scheme`: `never`, `split`: true}"), "Hey friend!", {"▁Hey", "▁friend!"},
     {NULL}, " Hey friend!", NULL},
    {"decode_strip", ID(WSPLIT ", `decoder`: {`type`: `Strip`, `content`: `x`, `start`: 1, `stop`: 1}"),
     "xax xx b", {"xax", "xx", "b"}, {NULL}, "ab", NULL},
    {"decode_replace_fuse", ID(WSPLIT ", `decoder`: {`type`: `Sequence`, `decoders`: [{`type`: `Replace`, "
     "`pattern`: {`Regex`: `[ab]`}, `content`: `-`}, {`type`: `Fuse`}]}"), "ab cab", {"ab", "cab"},
     {NULL}, "--c--", NULL},
    {"decode_byte_fallback_invalid", ID(WSPLIT ", `decoder`: {`type`: `ByteFallback`}"), "<0xC3> a",
     {"<0xC3>", "a"}, {NULL}, "\uFFFDa", NULL},
    {"decode_byte_fallback", ID(WSPLIT ", `decoder`: {`type`: `ByteFallback`}"), "<0xC3> <0xA9>",
     {"<0xC3>", "<0xA9>"}, {NULL}, "é", NULL},
    {"decode_none", ID(WSPLIT), "ab cab", {"ab", "cab"}, {NULL}, "ab cab", NULL},
};
enum { N_CASES = sizeof CASES / sizeof CASES[0] };

// ---------------------------------------------------------------- running cases

static void token_ids(const Tokenizer *t, const char *const *toks, TokIds *out, const char *name) {
    out->n = 0;
    for (int i = 0; toks[i]; i++) {
        int32_t id = hf_token_id(t->hf, toks[i], strlen(toks[i]));
        CHECK(id >= 0, "%s: expected token \"%s\" is not in the fixture", name, toks[i]);
        if (out->n == out->cap) out->cap = 2 * out->cap + 8, out->v = xrealloc(out->v, (size_t)out->cap * 4);
        out->v[out->n++] = id;
    }
}

static const char *ids_str(const TokIds *t) {
    static char buf[2][1024];
    static int k;
    k ^= 1;
    size_t n = 0;
    buf[k][n++] = '[';
    for (int64_t i = 0; i < t->n && n < sizeof buf[k] - 16; i++)
        n += (size_t)snprintf(buf[k] + n, sizeof buf[k] - n, i ? ",%d" : "%d", (int)t->v[i]);
    snprintf(buf[k] + n, sizeof buf[k] - n, "]");
    return buf[k];
}

static int same_ids(const TokIds *a, const TokIds *b) {
    return a->n == b->n && (!a->n || !memcmp(a->v, b->v, (size_t)a->n * sizeof *a->v));
}

static void check_decode(Tokenizer *t, const TokIds *ids, int flags, const char *want, const char *name) {
    if (!want) return;
    char *text;
    size_t len;
    CHECK(tokenizer_decode(t, ids->v, ids->n, flags, &text, &len) == LM_OK, "%s: decode", name);
    CHECK(len == strlen(want) && !memcmp(text, want, len), "%s: decoded%s \"%s\", expected \"%s\"",
          name, flags ? " with specials" : "", text, want);
    free(text);
}

static void run_case(const Case *k) {
    char *json = fixture_json(k->fix);
    Tokenizer t;
    LmStatus st = tokenizer_from_json(json, strlen(json), NULL, k->name, &t);
    CHECK(st == LM_OK, "%s: the fixture does not load", k->name);
    free(json);
    if (st != LM_OK) return;
    TokIds want = {0}, want_sp = {0}, got = {0};
    token_ids(&t, k->ids, &want, k->name);
    token_ids(&t, k->ids_special[0] ? k->ids_special : k->ids, &want_sp, k->name);
    CHECK(tokenizer_encode(&t, k->text, strlen(k->text), 0, &got) == got.n, "%s: count", k->name);
    CHECK(same_ids(&got, &want), "%s: ids %s, expected %s", k->name, ids_str(&got), ids_str(&want));
    got.n = 0;
    tokenizer_encode(&t, k->text, strlen(k->text), TOK_SPECIAL, &got);
    CHECK(same_ids(&got, &want_sp), "%s: ids with specials %s, expected %s", k->name, ids_str(&got),
          ids_str(&want_sp));
    check_decode(&t, &want_sp, 0, k->text_out, k->name);
    check_decode(&t, &want_sp, TOK_SPECIAL, k->text_special, k->name);
    tokids_free(&want), tokids_free(&want_sp), tokids_free(&got);
    tokenizer_free(&t);
}

static void test_cases(void) {
    for (int i = 0; i < N_CASES; i++) run_case(&CASES[i]);
}

// ---------------------------------------------------------------- files

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    fputs(s, f);
    fclose(f);
}

static void write_ids(const char *dir, const char *name, const char *ext, const TokIds *ids) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", ids_str(ids));
    fclose(f);
}

static void write_decoded(const char *dir, const char *name, const char *ext, const char *s) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "w");
    json_write_string(f, s, strlen(s));
    fputc('\n', f);
    fclose(f);
}

// The cases as files for tests/cli/hf_equality.sh: the input goes raw to
// NAME.txt, or as a JSON string to NAME.jsonl when it has line breaks.
static int write_fixtures(const char *dir) {
    for (int i = 0; i < N_CASES; i++) {
        const Case *k = &CASES[i];
        char path[1200], *json = fixture_json(k->fix);
        snprintf(path, sizeof path, "%s/%s.json", dir, k->name);
        write_text(path, json);
        Tokenizer t;
        if (tokenizer_from_json(json, strlen(json), NULL, k->name, &t) != LM_OK) return 1;
        free(json);
        int lines = strchr(k->text, '\n') != NULL;
        snprintf(path, sizeof path, "%s/%s.%s", dir, k->name, lines ? "jsonl" : "txt");
        FILE *f = fopen(path, "wb");
        if (lines) json_write_string(f, k->text, strlen(k->text));
        else fputs(k->text, f);
        fputc('\n', f);
        fclose(f);
        TokIds ids = {0}, sp = {0};
        token_ids(&t, k->ids, &ids, k->name);
        token_ids(&t, k->ids_special[0] ? k->ids_special : k->ids, &sp, k->name);
        write_ids(dir, k->name, "ids", &ids);
        write_ids(dir, k->name, "ids_special", &sp);
        if (k->text_out) write_decoded(dir, k->name, "text", k->text_out);
        if (k->text_special) write_decoded(dir, k->name, "text_special", k->text_special);
        tokids_free(&ids), tokids_free(&sp);
        tokenizer_free(&t);
    }
    printf("wrote %d cases to %s\n", N_CASES, dir);
    return 0;
}

// ---------------------------------------------------------------- special tokens, storage

// A model directory: the SentencePiece fixture with its side files.
static const char *model_dir(const char *name, const char *config, const char *map, const char *cfg) {
    static char dir[3][1024];
    static int k;
    k = (k + 1) % 3;
    snprintf(dir[k], sizeof dir[k], "%s", tmp_file(name));
    mkdir(dir[k], 0755);
    char path[1200], *json = fixture_json(&SP);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir[k]);
    write_text(path, json);
    free(json);
    const char *files[3][2] = {{"tokenizer_config.json", config}, {"special_tokens_map.json", map},
                               {"config.json", cfg}};
    for (int i = 0; i < 3; i++) {
        if (!files[i][1]) continue;
        snprintf(path, sizeof path, "%s/%s", dir[k], files[i][0]);
        char *text = xstrdup(files[i][1]);
        for (char *p = text; *p; p++)
            if (*p == '`') *p = '"';
        write_text(path, text);
        free(text);
    }
    return dir[k];
}

static void test_special_tokens(void) {
    // special_tokens_map wins over tokenizer_config; a null there means none;
    // config.json fills what the tokenizer files do not name; huge integers
    // (model_max_length) do not upset the reader.
    const char *dir = model_dir("m1", "{`eos_token`: `<unk>`, `pad_token`: null, "
                                "`model_max_length`: 1000000000000000019884624838656}",
                                "{`eos_token`: {`content`: `</s>`, `lstrip`: false}}",
                                "{`bos_token_id`: 1, `pad_token_id`: 0, `eos_token_id`: [0, 2]}");
    Tokenizer t;
    CHECK(tokenizer_open(dir, "model", &t) == LM_OK, "open the model directory");
    CHECK(t.bos_id == 1 && !strcmp(t.bos, "<s>"), "bos from config.json: %d", t.bos_id);
    CHECK(t.eos_id == 2 && !strcmp(t.eos, "</s>"), "eos from special_tokens_map.json: %d", t.eos_id);
    CHECK(t.pad_id == -1 && !t.pad[0], "pad null in tokenizer_config.json: %d", t.pad_id);
    CHECK(t.n_prefix == 1 && t.prefix[0] == 1, "the template's prefix is <s>");
    char hash[TOKENIZER_HASH_LEN + 1];
    snprintf(hash, sizeof hash, "%s", t.hash);
    tokenizer_free(&t);
    // The tokenizer.json path reads the same side files; config.json's eos list
    // gives its first id when nothing else names eos.
    char path[1200];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    CHECK(tokenizer_open(path, "model", &t) == LM_OK && !strcmp(t.hash, hash), "same tokenizer by path");
    tokenizer_free(&t);
    dir = model_dir("m2", NULL, NULL, "{`eos_token_id`: [2, 0]}");
    CHECK(tokenizer_open(dir, "model", &t) == LM_OK && t.eos_id == 2 && t.bos_id == -1, "eos from a list");
    CHECK(strcmp(t.hash, hash), "other special tokens, other hash");
    tokenizer_free(&t);
    dir = model_dir("m3", "{`eos_token`: `<nope>`}", NULL, NULL);
    capture_begin();
    LmStatus st = tokenizer_open(dir, "model", &t);
    check_error(st, LM_ERUNTIME, capture_end(), "tokenizer_config.json: eos_token \"<nope>\" is not a token");
    dir = model_dir("m4", "{`eos_token`: `</s>`,\n `bos_token`: oops}", NULL, NULL);
    capture_begin();
    st = tokenizer_open(dir, "model", &t);
    check_error(st, LM_ERUNTIME, capture_end(), "tokenizer_config.json: invalid JSON at line 2, column");
}

static void test_h5_round_trip(void) {
    const char *dir = model_dir("m5", "{`bos_token`: `<s>`, `eos_token`: `</s>`}", NULL, NULL);
    Tokenizer t, u;
    CHECK(tokenizer_open(dir, "model", &t) == LM_OK, "open");
    const char *path = tmp_file("tok.h5");
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(tokenizer_save(f, "tokenizer", &t) == LM_OK, "save");
    H5Fclose(f);
    CHECK(tokenizer_open(path, "file", &u) == LM_OK, "load from HDF5");
    CHECK(!strcmp(t.hash, u.hash) && u.eos_id == 2 && u.bos_id == 1 && u.vocab_size == t.vocab_size,
          "same tokenizer after storage");
    TokIds a = {0}, b = {0};
    tokenizer_encode(&t, "ab hié</s>", 11, TOK_SPECIAL, &a);
    tokenizer_encode(&u, "ab hié</s>", 11, TOK_SPECIAL, &b);
    CHECK(same_ids(&a, &b) && a.n == 6, "same ids %s %s", ids_str(&a), ids_str(&b));
    tokenizer_free(&u);
    // A clone shares the tables and outlives the original.
    CHECK(tokenizer_clone(&t, &u) == LM_OK, "clone");
    tokenizer_free(&t);
    b.n = 0;
    tokenizer_encode(&u, "ab hié</s>", 11, TOK_SPECIAL, &b);
    CHECK(same_ids(&a, &b), "clone encodes the same");
    tokenizer_free(&u);
    // Edited groups are refused.
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t g = H5Gopen2(f, "tokenizer", H5P_DEFAULT);
    h5_attr_write_i64(g, "eos_id", 1);
    H5Gclose(g), H5Fclose(f);
    capture_begin();
    LmStatus st = tokenizer_open(path, "file", &u);
    check_error(st, LM_ERUNTIME, capture_end(), "attribute eos_id = 1, but the tokenizer's contents give 2");
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    g = H5Gopen2(f, "tokenizer", H5P_DEFAULT);
    h5_attr_write_i64(g, "eos_id", 2);
    h5_attr_write_str(g, "hash", "0123456789abcdef");
    H5Gclose(g), H5Fclose(f);
    capture_begin();
    st = tokenizer_open(path, "file", &u);
    check_error(st, LM_ERUNTIME, capture_end(), "attribute hash = \"0123456789abcdef\" does not match");
    tokids_free(&a), tokids_free(&b);
}

// The project's own BPE behind the same interface.
static void test_bpe_interface(void) {
    BpeTokenizer b;
    bpe_init_bytes(&b);
    Tokenizer t;
    tokenizer_from_bpe(&t, &b, "bytes");
    TokIds ids = {0};
    CHECK(tokenizer_encode(&t, "ab", 2, TOK_SPECIAL, &ids) == 3 && ids.v[0] == 1 && ids.v[1] == 3 + 'a',
          "BPE: <bos> then bytes");
    char *s;
    size_t n;
    CHECK(tokenizer_decode(&t, ids.v, ids.n, 0, &s, &n) == LM_OK && !strcmp(s, "ab"), "BPE decode");
    free(s);
    CHECK(tokenizer_decode(&t, ids.v, ids.n, TOK_SPECIAL, &s, &n) == LM_OK && !strcmp(s, "<bos>ab"),
          "BPE decode with specials");
    free(s);
    CHECK(t.eos_id == 2 && t.pad_id == 0 && t.n_prefix == 1 && !strcmp(t.hash, bpe_hash(&t.bpe)), "ids");
    tokids_free(&ids);
    tokenizer_free(&t);
}

// The model/corpus check: a Hugging Face model directory is compared by
// its tokenizer.json (and special tokens); a model without a tokenizer is
// let through with a warning.
static void test_model_check(void) {
    const char *dir = model_dir("m6", "{`bos_token`: `<s>`, `eos_token`: `</s>`}", NULL, NULL);
    Tokenizer t;
    CHECK(tokenizer_open(dir, "model", &t) == LM_OK, "open");
    const char *corpus = tmp_file("c.h5");
    CorpusWriter w;
    CHECK(corpus_writer_create(&w, corpus) == LM_OK && tokenizer_save(w.file, "tokenizer", &t) == LM_OK &&
          corpus_writer_commit(&w) == LM_OK, "write a corpus");
    tokenizer_free(&t);
    capture_begin();
    LmStatus st = corpus_check_tokenizer(corpus, dir);
    const char *err = capture_end();
    CHECK(st == LM_OK && !err[0], "the same tokenizer passes silently: %s", err);
    const char *other = model_dir("m7", "{`bos_token`: `<s>`, `eos_token`: `<unk>`}", NULL, NULL);
    capture_begin();
    st = corpus_check_tokenizer(corpus, other);
    check_error(st, LM_ERUNTIME, capture_end(), "has another tokenizer");
    const char *bare = tmp_file("bare");
    mkdir(bare, 0755);
    capture_begin();
    st = corpus_check_tokenizer(corpus, bare);
    err = capture_end();
    CHECK(st == LM_OK && strstr(err, "warning: checkpoint") && strstr(err, "carries no tokenizer"),
          "a model directory without tokenizer.json warns: %s", err);
    const char *ck = tmp_file("none.h5");
    hid_t f = H5Fcreate(ck, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), g;
    h5_attr_write_str(f, "format", CKPT_FORMAT);
    h5_attr_write_i64(f, "format_version", CKPT_VERSION);
    h5_ensure_group(f, "tokenizer", &g);
    h5_attr_write_str(g, "type", "none");
    H5Gclose(g), H5Fclose(f);
    capture_begin();
    st = corpus_check_tokenizer(corpus, ck);
    err = capture_end();
    CHECK(st == LM_OK && strstr(err, "carries no tokenizer"), "a checkpoint without tokenizer warns: %s", err);
}

// Prompts take the tokenizer's prefix and eos, not fixed ids.
static void test_prompt_tokens(void) {
    const char *dir = model_dir("m8", "{`eos_token`: `</s>`}", NULL, NULL);
    Tokenizer t;
    CHECK(tokenizer_open(dir, "model", &t) == LM_OK, "open");
    Config c;
    config_defaults(&c);
    snprintf(c.data.prompt, sizeof c.data.prompt, "ab {src} hi");
    int32_t ids[PROMPT_IDS_MAX];
    StreamPrompt p;
    CHECK(prompt_tokens(&c, &t, "de-en", ids, &p) == LM_OK, "prompt");
    // <s> then "ab " (Prepend + Replace: ▁ab▁) and " hi" (▁▁hi: ▁, ▁hi)
    int32_t want_prefix[] = {1, 265, 259}, want_middle[] = {259, 269};
    CHECK(p.n_prefix == 3 && !memcmp(p.prefix, want_prefix, sizeof want_prefix), "prefix %d", p.n_prefix);
    CHECK(p.n_middle == 2 && !memcmp(p.middle, want_middle, sizeof want_middle), "middle %d", p.n_middle);
    CHECK(p.eos == 2, "eos %d", p.eos);
    tokenizer_free(&t);
    dir = model_dir("m9", NULL, NULL, NULL);
    CHECK(tokenizer_open(dir, "model", &t) == LM_OK, "open");
    capture_begin();
    LmStatus st = prompt_tokens(&c, &t, "en", ids, &p);
    check_error(st, LM_ERUNTIME, capture_end(), "has no eos token");
    tokenizer_free(&t);
}

// ---------------------------------------------------------------- bad input

typedef struct {
    const char *name, *json;  // backticks for quotes
    LmStatus status;
    const char *needle;
} Bad;

#define MODEL(v, m) "{`model`: {`type`: `BPE`, `vocab`: " v ", `merges`: " m "}"
static const Bad BAD[] = {
    {"truncated", "{\n `model`: {`type`: `BPE`, `vocab`: {`a`: 0", LM_ERUNTIME, "invalid JSON at line 2, column"},
    {"syntax", "{\n `model`: {\n `type`: BPE}}", LM_ERUNTIME, "invalid JSON at line 3, column"},
    {"not an object", "[1, 2]", LM_ERUNTIME, "(top level): expected a JSON object"},
    {"merge names unknown token", MODEL("{`a`: 0, `b`: 1, `ab`: 2}", "[`a zz`]") "}", LM_ERUNTIME,
     "model.merges[0]: \"zz\" is not in model.vocab"},
    {"merged token missing", MODEL("{`a`: 0, `b`: 1}", "[[`a`, `b`]]") "}", LM_ERUNTIME,
     "model.merges[0]: \"ab\" is not in model.vocab"},
    {"merge with two spaces", MODEL("{`a`: 0, `b`: 1}", "[`a b c`]") "}", LM_ERUNTIME,
     "model.merges[0]: \"a b c\" is not two tokens separated by one space"},
    {"vocab gap", MODEL("{`a`: 0, `b`: 2}", "[]") "}", LM_ERUNTIME, "model.vocab: token \"b\" has id 2"},
    {"vocab duplicate id", MODEL("{`a`: 0, `b`: 0}", "[]") "}", LM_ERUNTIME,
     "model.vocab: id 0 is given to both"},
    {"vocab negative id", MODEL("{`a`: -1}", "[]") "}", LM_ERUNTIME, "model.vocab: token \"a\": the id must"},
    {"unigram", "{`model`: {`type`: `Unigram`, `vocab`: []}}", LM_EUSAGE,
     "model.type: model \"Unigram\" is not supported"},
    {"wordpiece", "{`model`: {`type`: `WordPiece`, `vocab`: {}}}", LM_EUSAGE, "model \"WordPiece\" is not supported"},
    {"wordlevel", "{`model`: {`type`: `WordLevel`, `vocab`: {}}}", LM_EUSAGE, "model \"WordLevel\" is not supported"},
    {"regex rejected", MODEL("{`a`: 0}", "[]") ", `pre_tokenizer`: {`type`: `Split`, `pattern`: {`Regex`: "
     "`(a`}, `behavior`: `Isolated`, `invert`: false}}", LM_ERUNTIME,
     "pre_tokenizer.pattern.Regex: PCRE2 rejects the pattern \"(a\""},
    {"regex set operation", MODEL("{`a`: 0}", "[]") ", `pre_tokenizer`: {`type`: `Split`, `pattern`: {`Regex`: "
     "`[a-z&&[^aeiou]]`}, `behavior`: `Isolated`, `invert`: false}}", LM_EUSAGE, "set operation"},
    {"unknown behavior", MODEL("{`a`: 0}", "[]") ", `pre_tokenizer`: {`type`: `Split`, `pattern`: {`String`: "
     "`a`}, `behavior`: `Sideways`, `invert`: false}}", LM_ERUNTIME, "\"Sideways\" is not a split behavior"},
    {"pre-tokenizer", MODEL("{`a`: 0}", "[]") ", `pre_tokenizer`: {`type`: `Sequence`, `pretokenizers`: "
     "[{`type`: `Digits`}, {`type`: `BertPreTokenizer`}]}}", LM_EUSAGE,
     "pre_tokenizer.pretokenizers[1]: pre_tokenizer \"BertPreTokenizer\" is not supported"},
    {"normalizer", MODEL("{`a`: 0}", "[]") ", `normalizer`: {`type`: `Precompiled`, `precompiled_charsmap`: ``}}",
     LM_EUSAGE, "normalizer: normalizer \"Precompiled\" is not supported"},
    {"decoder", MODEL("{`a`: 0}", "[]") ", `decoder`: {`type`: `CTC`}}", LM_EUSAGE,
     "decoder: decoder \"CTC\" is not supported"},
    {"post-processor", MODEL("{`a`: 0}", "[]") ", `post_processor`: {`type`: `RobertaProcessing`}}",
     LM_EUSAGE, "post_processor \"RobertaProcessing\" is not supported"},
    {"dropout", "{`model`: {`type`: `BPE`, `dropout`: 0.1, `vocab`: {`a`: 0}, `merges`: []}}", LM_EUSAGE,
     "model.dropout = 0.1: BPE dropout makes encoding random"},
    {"unk not in vocab", "{`model`: {`type`: `BPE`, `unk_token`: `<unk>`, `vocab`: {`a`: 0}, `merges`: []}}",
     LM_ERUNTIME, "model.unk_token: \"<unk>\" is not in model.vocab"},
    {"added id", MODEL("{`a`: 0}", "[]") ", `added_tokens`: [{`id`: 5, `content`: `<x>`, `special`: true}]}",
     LM_ERUNTIME, "added_tokens[0]: \"<x>\" has id 5, but the tokenizers library gives it id 1"},
    {"added twice", MODEL("{`a`: 0}", "[]") ", `added_tokens`: [{`id`: 1, `content`: `<x>`}, {`id`: 1, "
     "`content`: `<x>`}]}", LM_ERUNTIME, "added_tokens[1]: \"<x>\" is listed twice"},
    {"template token", MODEL("{`a`: 0}", "[]") ", `post_processor`: {`type`: `TemplateProcessing`, `single`: "
     "[{`SpecialToken`: {`id`: `<s>`, `type_id`: 0}}], `pair`: [], `special_tokens`: {}}}", LM_ERUNTIME,
     "post_processor.single[0]: the template names \"<s>\", which special_tokens does not define"},
    {"template id", MODEL("{`a`: 0}", "[]") ", `post_processor`: {`type`: `TemplateProcessing`, `single`: "
     "[{`SpecialToken`: {`id`: `<s>`, `type_id`: 0}}], `pair`: [], `special_tokens`: {`<s>`: {`id`: `<s>`, "
     "`ids`: [7], `tokens`: [`<s>`]}}}}", LM_ERUNTIME, "the template adds token id 7, outside the vocabulary"},
    {"metaspace replacement", MODEL("{`a`: 0}", "[]") ", `pre_tokenizer`: {`type`: `Metaspace`, "
     "`replacement`: `__`}}", LM_ERUNTIME, "pre_tokenizer.replacement: \"__\" must be exactly one character"},
    {"version", "{`version`: `2.0`, `model`: {}}", LM_ERUNTIME, "version: \"2.0\" is not a tokenizer.json version"},
    {"no model", "{`version`: `1.0`}", LM_ERUNTIME, "no \"model\""},
};
enum { N_BAD = sizeof BAD / sizeof BAD[0] };

static void test_bad_input(void) {
    for (int i = 0; i < N_BAD; i++) {
        json_t *probe = NULL;  // the fixtures are JSON with backticks, except the broken ones
        char *s = xstrdup(BAD[i].json);
        for (char *p = s; *p; p++)
            if (*p == '`') *p = '"';
        Tokenizer t;
        capture_begin();
        LmStatus st = tokenizer_from_json(s, strlen(s), NULL, "bad.json", &t);
        const char *err = capture_end();
        CHECK(st == BAD[i].status, "%s: status %d, expected %d", BAD[i].name, st, BAD[i].status);
        CHECK(strstr(err, BAD[i].needle) && strstr(err, "bad.json"), "%s: message \"%s\" lacks \"%s\"",
              BAD[i].name, err, BAD[i].needle);
        if (st == LM_OK) tokenizer_free(&t);
        json_decref(probe);
        free(s);
    }
}

int main(int argc, char **argv) {
    h5_init();
    if (argc == 3 && !strcmp(argv[1], "--write-fixtures")) return write_fixtures(argv[2]);
    RUN(test_cases);
    RUN(test_special_tokens);
    RUN(test_h5_round_trip);
    RUN(test_bpe_interface);
    RUN(test_model_check);
    RUN(test_prompt_tokens);
    RUN(test_bad_input);
    return harness_finish();
}
