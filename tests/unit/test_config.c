// Config loading: defaults, nested YAML, merging, --set, lists (block, flow,
// shorthand, replace-on-merge, item rules), every error class (message names
// key and file:line), cross-field rules, dump round trip, required keys, and
// docs/config.md covering every key.
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "io/config.h"
#include "util/alloc.h"

// ---------------------------------------------------------------------------
// Helpers

// Writes text to a fresh file in tmp_dir(); returns its path (malloc'ed).
static char *write_yaml(const char *text) {
    static int counter;
    char *path = malloc(512);
    snprintf(path, 512, "%s/cfg%03d.yaml", tmp_dir(), counter++);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    return path;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

// config_load with stderr captured into *err (malloc'ed).
static LmStatus load_capture(Config *cfg, const char *const *files, int nf,
                             const char *const *sets, int ns, char **err) {
    capture_begin();
    LmStatus st = config_load(cfg, files, nf, sets, ns);
    *err = xstrdup(capture_end());
    return st;
}

static int count_substr(const char *s, const char *sub) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub)) n++;
    return n;
}

// Loads one YAML text (plus optional --set list) expecting exactly one
// "error:" that mentions `where` (NULL: "<file>:<line>") and each of the
// substrings a and b (NULL = skip).
static void expect_error(const char *yaml, int line, const char *set, const char *a,
                         const char *b) {
    char *file = yaml ? write_yaml(yaml) : NULL;
    const char *files[1] = {file};
    const char *sets[1] = {set};
    Config cfg;
    config_defaults(&cfg);
    cfg.train.steps = 777;  // must survive a failed load
    char *err = NULL;
    LmStatus st = load_capture(&cfg, files, file ? 1 : 0, sets, set ? 1 : 0, &err);
    char where[600];
    if (file)
        snprintf(where, sizeof where, "%s:%d", file, line);
    else
        snprintf(where, sizeof where, "--set");
    CHECK(st == LM_EUSAGE, "status %d for %s", st, yaml ? yaml : set);
    CHECK(count_substr(err, "error: ") == 1, "want one error, got: %s", err);
    CHECK(strstr(err, where), "no '%s' in: %s", where, err);
    CHECK(!a || strstr(err, a), "no '%s' in: %s", a, err);
    CHECK(!b || strstr(err, b), "no '%s' in: %s", b, err);
    CHECK(cfg.train.steps == 777, "config changed by a failed load");
    free(err);
    free(file);
}

static LmStatus load1(Config *cfg, const char *yaml, const char *set) {
    char *file = yaml ? write_yaml(yaml) : NULL, *err = NULL;
    const char *files[1] = {file}, *sets[1] = {set};
    LmStatus st = load_capture(cfg, files, file ? 1 : 0, sets, set ? 1 : 0, &err);
    CHECK(st == LM_OK || *err, "error without a message");
    if (st != LM_OK) fprintf(stderr, "(load1: %s)", err);
    free(err);
    free(file);
    return st;
}

// 1 if list l holds exactly the NULL-terminated items.
static int list_is_(const CfgList *l, const char *const *items) {
    int n = 0;
    for (; items[n]; n++)
        if (n >= l->n || strcmp(l->item[n], items[n])) return 0;
    return n == l->n;
}
#define LIST_IS(l, ...) list_is_((l), (const char *const[]){__VA_ARGS__, NULL})

// "prep:\n  mo: [f0, f1, ...]\n" with n items (malloc'ed).
static char *yaml_flow_list(int n) {
    char *y = malloc(64 + 8 * (size_t)n), *p = y;
    p += sprintf(p, "prep:\n  mo: [");
    for (int i = 0; i < n; i++) p += sprintf(p, "%sf%d", i ? ", " : "", i);
    sprintf(p, "]\n");
    return y;
}

// ---------------------------------------------------------------------------
// Tests

static void test_defaults(void) {
    Config c;
    CHECK(config_schema_ok(), "the schema table is inconsistent or a default breaks its own rule");
    config_defaults(&c);
    CHECK(!strcmp(c.model.architecture, "llama"), "%s", c.model.architecture);
    CHECK(!strcmp(c.model.checkpoint, ""), "%s", c.model.checkpoint);
    CHECK(c.model.vocab_size == 8192 && c.model.hidden_size == 256, "sizes");
    CHECK(c.model.intermediate_size == 704 && c.model.num_hidden_layers == 6, "sizes");
    CHECK(c.model.num_attention_heads == 8 && c.model.num_key_value_heads == 8, "heads");
    CHECK(c.model.max_position_embeddings == 2048, "max pos");
    CHECK(c.model.rms_norm_eps == 1e-5 && c.model.rope_theta == 10000.0, "eps/theta");
    CHECK(!c.model.tie_word_embeddings && !c.model.attention_bias, "bools");
    CHECK(c.model.init_std == 0.02, "init_std");
    CHECK(!strcmp(c.data.corpus, "") && !strcmp(c.data.lang, "en"), "data");
    CHECK(!strcmp(c.data.train_split, "train") && !strcmp(c.data.valid_split, "dev"), "splits");
    CHECK(!strcmp(c.train.mode, "full") && !strcmp(c.train.schedule, "cosine"), "enums");
    CHECK(c.train.batch_size == 8 && c.train.seq_len == 128 && c.train.steps == 100, "train");
    CHECK(c.train.lr == 3e-4 && c.train.min_lr == 3e-5 && c.train.warmup_steps == 10, "lr");
    CHECK(c.train.weight_decay == 0.1 && c.train.beta1 == 0.9 && c.train.beta2 == 0.95, "adam");
    CHECK(c.train.eps == 1e-8 && c.train.grad_clip == 1.0, "eps/clip");
    CHECK(c.train.eval_every == 50 && c.train.eval_batches == 4, "eval");
    CHECK(c.train.save_every == 50 && c.train.keep_last == 2, "save");
    CHECK(!strcmp(c.train.out_dir, "runs/train") && c.train.seed == 1234, "out/seed");
    CHECK(c.train.log_every == 1 && c.bench.steps == 10 && c.bench.warmup == 2, "log/bench");
    CHECK(c.data.directions.n == 0 && c.data.mono.n == 0 && c.data.weights.n == 0, "data lists");
    CHECK(!strcmp(c.data.prompt, "Translate from {src_lang} to {tgt_lang}:\n{src}\n"), "%s",
          c.data.prompt);
    CHECK(!strcmp(c.data.overlong, "skip"), "%s", c.data.overlong);
    CHECK(!strcmp(c.prep.output, "data/corpus.h5") && !strcmp(c.prep.pivot, "en"), "prep strings");
    CHECK(LIST_IS(&c.prep.languages, "de", "fr", "it", "zh_CN", "ar"), "prep.languages");
    CHECK(c.prep.languages.item[5][0] == 0 && c.prep.languages.item[0][2] == 0, "zeroed tail");
    CHECK(!c.prep.mo.n && !c.prep.tsv.n && !c.prep.moses.n && !c.prep.text.n, "prep lists");
    CHECK(!c.prep.system_locale && !c.prep.lang_tags && c.prep.mono_from_bitext == 1, "bools");
    CHECK(!c.prep.tokenizer[0] && c.prep.vocab_size == 8000, "tokenizer");
    CHECK(c.prep.dev_fraction == 0.02 && c.prep.test_fraction == 0.02, "fractions");
    CHECK(c.prep.min_chars == 2 && c.prep.max_chars == 400, "chars");
    CHECK(!strcmp(c.train.neurons, "") && !strcmp(c.train.resume, ""), "train strings");
    CHECK(c.train.keep_best == 1 && c.train.awareness_scaled_grads == 0, "train bools");
    CHECK(!strcmp(c.detect.output, "runs/neurons.h5") && !strcmp(c.detect.split, "dev"),
          "detect strings");
    CHECK(c.detect.max_sentences == 2000 && c.detect.batch_size == 16, "detect ints");
    CHECK(!strcmp(c.awareness.unit, "direction") && c.awareness.epsilon == 0.9 &&
              c.awareness.languages.n == 0, "awareness");
    CHECK(!strcmp(c.layers.selection, "spikes") && c.layers.k == 4 && c.layers.list.n == 0,
          "layers");
    CHECK(c.routing.enabled == 1 && c.routing.scale == 2.0 && c.routing.per_direction == 0,
          "routing");
    CHECK(c.debug.nan_at_step == 0 && c.debug.exit_at_step == 0, "debug");
    // No sources at all: the defaults, and they pass every cross-field rule.
    Config l;
    memset(&l, 0xAB, sizeof l);
    CHECK(config_load(&l, NULL, 0, NULL, 0) == LM_OK, "defaults must validate");
    CHECK(!memcmp(&l, &c, sizeof c), "load of nothing != defaults");
}

static void test_nested_parse(void) {
    Config c;
    LmStatus st = load1(&c,
                        "# comment\n"
                        "model:\n"
                        "  hidden_size: 512\n"
                        "  tie_word_embeddings: yes\n"
                        "  attention_bias: On\n"
                        "  rms_norm_eps: 1.0e-6\n"
                        "data:\n"
                        "  corpus: 'x: y.h5'\n"
                        "  lang: de\n"
                        "train:\n"
                        "  lr: .5\n"
                        "  min_lr: 0\n"
                        "  steps: +200\n"
                        "  schedule: linear\n"
                        "  mode: landermt\n"
                        "  seed: 9007199254740993\n"
                        "bench: {steps: 3, warmup: 0}\n"
                        "train.keep_last: 5\n",
                        NULL);
    CHECK(st == LM_OK, "status %d", st);
    CHECK(c.model.hidden_size == 512 && c.model.tie_word_embeddings == 1, "model");
    CHECK(c.model.attention_bias == 1 && c.model.rms_norm_eps == 1e-6, "model2");
    CHECK(!strcmp(c.data.corpus, "x: y.h5") && !strcmp(c.data.lang, "de"), "%s", c.data.corpus);
    CHECK(c.train.lr == 0.5 && c.train.min_lr == 0.0 && c.train.steps == 200, "train");
    CHECK(!strcmp(c.train.schedule, "linear") && !strcmp(c.train.mode, "landermt"), "enums");
    CHECK(c.train.seed == INT64_C(9007199254740993), "int64 exact");
    CHECK(c.bench.steps == 3 && c.bench.warmup == 0, "flow mapping");
    CHECK(c.train.keep_last == 5, "dotted key at top level");
    CHECK(c.train.batch_size == 8 && c.model.vocab_size == 8192, "untouched keys keep defaults");
    // Empty file, comments only, an empty section: all fine, all defaults.
    Config d, e;
    config_defaults(&d);
    CHECK(load1(&e, "", NULL) == LM_OK && !memcmp(&d, &e, sizeof d), "empty file");
    CHECK(load1(&e, "# nothing\n", NULL) == LM_OK && !memcmp(&d, &e, sizeof d), "comments");
    CHECK(load1(&e, "train:\n#  lr: 1\n", NULL) == LM_OK && !memcmp(&d, &e, sizeof d),
          "empty section");
}

static void test_scalar_forms(void) {
    static const struct { const char *set; int want; } bools[] = {
        {"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"on", 1}, {"off", 0},
        {"1", 1}, {"0", 0}, {"TRUE", 1}, {"No", 0}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        char set[64];
        snprintf(set, sizeof set, "model.attention_bias=%s", bools[i].set);
        Config c;
        CHECK(load1(&c, NULL, set) == LM_OK && c.model.attention_bias == bools[i].want,
              "bool %s", bools[i].set);
    }
    static const struct { const char *text; double want; } floats[] = {
        {"3e-4", 3e-4}, {"1.0e-5", 1e-5}, {".5", 0.5}, {"2", 2.0}, {"-0.0", 0.0}};
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        char set[64];
        snprintf(set, sizeof set, "train.weight_decay=%s", floats[i].text);
        Config c;
        CHECK(load1(&c, NULL, set) == LM_OK && c.train.weight_decay == floats[i].want,
              "float %s", floats[i].text);
    }
    Config c;
    CHECK(load1(&c, NULL, " train.seed = 42 ") == LM_OK && c.train.seed == 42, "trimmed --set");
    CHECK(load1(&c, NULL, "data.corpus=a=b.h5") == LM_OK && !strcmp(c.data.corpus, "a=b.h5"),
          "value with '='");
    CHECK(load1(&c, NULL, "model.checkpoint=") == LM_OK && !c.model.checkpoint[0], "empty string");
    CHECK(load1(&c, "train: {seed: 9223372036854775807}\n", NULL) == LM_OK &&
              c.train.seed == INT64_MAX, "int64 max");
}

static void test_merge(void) {
    char *a = write_yaml("train:\n  lr: 1e-3\n  steps: 500\nmodel:\n  hidden_size: 128\n");
    char *b = write_yaml("train:\n  lr: 2e-3\n");
    const char *files[2] = {a, b};
    Config c;
    char *err;
    LmStatus st = load_capture(&c, files, 2, NULL, 0, &err);
    CHECK(st == LM_OK, "status %d: %s", st, err);
    CHECK(c.train.lr == 2e-3, "later file wins: %g", c.train.lr);
    CHECK(c.train.steps == 500 && c.model.hidden_size == 128, "earlier file's keys kept");
    CHECK(c.train.batch_size == 8, "default kept");
    free(err);
    // --set beats every file, later --set beats earlier.
    const char *sets[2] = {"train.lr=5e-3", "train.steps=600"};
    const char *sets2[3] = {"train.lr=5e-3", "train.steps=600", "train.steps=700"};
    st = load_capture(&c, files, 2, sets, 2, &err);
    CHECK(st == LM_OK && c.train.lr == 5e-3 && c.train.steps == 600, "--set wins");
    free(err);
    st = load_capture(&c, files, 2, sets2, 3, &err);
    CHECK(st == LM_OK && c.train.steps == 700, "later --set wins");
    free(err);
    free(a);
    free(b);
}

static void test_list_parse(void) {
    Config c;
    LmStatus st = load1(&c,
                        "data:\n"
                        "  directions:\n"
                        "    - de-en\n"
                        "    - 'zh_CN-en'\n"
                        "  mono: [fr, \"it\"]\n"
                        "  weights:\n"
                        "  - 1\n"
                        "  - .5\n"
                        "  - \"2e0\"\n"
                        "  - 0\n"
                        "prep:\n"
                        "  languages: []\n"
                        "  mo: [a/b.mo, \"c d/\", 'x, y']\n"
                        "  tsv: [de-en:data/x.tsv]\n"
                        "  moses: [\"de-en:a.de,a.en\"]\n"
                        "  text:\n"
                        "    - \"fr:mono: weird.txt\"\n",
                        NULL);
    CHECK(st == LM_OK, "status %d", st);
    CHECK(LIST_IS(&c.data.directions, "de-en", "zh_CN-en"), "block sequence");
    CHECK(LIST_IS(&c.data.mono, "fr", "it"), "flow sequence");
    CHECK(c.data.weights.n == 4 && c.data.weights.v[0] == 1.0 && c.data.weights.v[1] == 0.5 &&
              c.data.weights.v[2] == 2.0 && c.data.weights.v[3] == 0.0, "float list");
    CHECK(c.prep.languages.n == 0 && !c.prep.languages.item[0][0], "[] empties the default");
    CHECK(LIST_IS(&c.prep.mo, "a/b.mo", "c d/", "x, y"), "quoted items");
    CHECK(LIST_IS(&c.prep.tsv, "de-en:data/x.tsv"), "':' in a flow item");
    CHECK(LIST_IS(&c.prep.moses, "de-en:a.de,a.en"), "',' in a quoted item");
    CHECK(LIST_IS(&c.prep.text, "fr:mono: weird.txt"), "text");
    // Exactly CFG_LIST_MAX items and items of CFG_STR - 1 bytes fit.
    char *y = yaml_flow_list(CFG_LIST_MAX);
    CHECK(load1(&c, y, NULL) == LM_OK && c.prep.mo.n == CFG_LIST_MAX &&
              !strcmp(c.prep.mo.item[CFG_LIST_MAX - 1], "f63"), "64 items");
    free(y);
    char set[CFG_STR + 16] = "prep.mo=";
    memset(set + 8, 'a', CFG_STR - 1);
    set[8 + CFG_STR - 1] = '\0';
    CHECK(load1(&c, NULL, set) == LM_OK && strlen(c.prep.mo.item[0]) == CFG_STR - 1, "255 bytes");
}

static void test_list_merge_and_set(void) {
    char *a = write_yaml("prep:\n  languages: [de, fr, it]\n  mo: [x]\n");
    char *b = write_yaml("prep:\n  languages:\n    - ar\n");
    char *e = write_yaml("prep: {mo: []}\n");
    const char *ab[2] = {a, b}, *abe[3] = {a, b, e};
    Config c, only;
    char *err;
    CHECK(load_capture(&c, ab, 2, NULL, 0, &err) == LM_OK, "%s", err);
    free(err);
    CHECK(LIST_IS(&c.prep.languages, "ar"), "later file replaces the list, n=%d",
          c.prep.languages.n);
    CHECK(!c.prep.languages.item[1][0] && !c.prep.languages.item[2][0], "old items cleared");
    CHECK(LIST_IS(&c.prep.mo, "x"), "list the later file does not mention is kept");
    CHECK(load1(&only, "prep:\n  languages: [ar]\n  mo: [x]\n", NULL) == LM_OK &&
              !memcmp(&c, &only, sizeof c), "merged == written directly, byte for byte");
    CHECK(load_capture(&c, abe, 3, NULL, 0, &err) == LM_OK && c.prep.mo.n == 0, "[] empties");
    free(err);
    // --set: flow sequence (YAML rules, quotes protect commas) or shorthand.
    static const struct { const char *set; int n; const char *first, *last; } sets[] = {
        {"prep.languages=[de, \"a,b\" ]", 2, "de", "a,b"},
        {"prep.languages= de, fr ,it ", 3, "de", "it"},
        {"prep.languages=ar", 1, "ar", "ar"},
        {"prep.languages=[]", 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        const char *s1[1] = {sets[i].set};
        LmStatus st = load_capture(&c, ab, 2, s1, 1, &err);
        CHECK(st == LM_OK && c.prep.languages.n == sets[i].n, "%s: %s", sets[i].set, err);
        CHECK(!sets[i].first || (!strcmp(c.prep.languages.item[0], sets[i].first) &&
                                 !strcmp(c.prep.languages.item[sets[i].n - 1], sets[i].last)),
              "%s", sets[i].set);
        free(err);
    }
    const char *w[2] = {"data.mono=x, y", "data.weights=0.5,2"};
    CHECK(load_capture(&c, NULL, 0, w, 2, &err) == LM_OK && c.data.weights.n == 2 &&
              c.data.weights.v[0] == 0.5 && c.data.weights.v[1] == 2.0, "float shorthand: %s",
          err);
    free(err);
    const char *w2[2] = {"data.mono=x", "data.weights=[1e-3]"};
    CHECK(load_capture(&c, NULL, 0, w2, 2, &err) == LM_OK && c.data.weights.n == 1 &&
              c.data.weights.v[0] == 1e-3, "float flow: %s", err);
    free(err);
    free(a);
    free(b);
    free(e);
}

static void test_list_errors(void) {
    expect_error("prep:\n  languages:\n    - de\n    - a: b\n", 4, NULL,
                 "prep.languages[1]: expected a string", "got a mapping");
    expect_error("prep:\n  languages: [de, [fr]]\n", 2, NULL,
                 "prep.languages[1]: expected a string", "got a sequence");
    expect_error("prep:\n  languages: de\n", 2, NULL,
                 "prep.languages: expected a list, e.g. [de]", "got a scalar");
    expect_error("data:\n  weights: 1\n", 2, NULL, "data.weights: expected a list of numbers",
                 "got a scalar");
    expect_error("prep:\n  languages: {de: 1}\n", 2, NULL, "prep.languages: expected a list",
                 "got a mapping");
    expect_error("prep:\n  languages:\n", 2, NULL, "prep.languages has no value",
                 "write [] for an empty list");
    expect_error("prep:\n  languages: [de, ~]\n", 2, NULL, "prep.languages[1] has no value", NULL);
    expect_error("prep:\n  languages: [\"a\\0b\"]\n", 2, NULL, "prep.languages[0]", "NUL");
    expect_error("prep:\n  languages: [de]\n  languages: [fr]\n", 3, NULL,
                 "prep.languages is set twice", "line 2");
    // Too many items: the error names the first item past the limit.
    char *y = yaml_flow_list(CFG_LIST_MAX + 1);
    expect_error(y, 2, NULL, "prep.mo: more than 64 items", NULL);
    free(y);
    char block[2048] = "prep:\n  mo:\n";
    for (int i = 0; i <= CFG_LIST_MAX; i++)
        snprintf(block + strlen(block), sizeof block - strlen(block), "    - f%d\n", i);
    expect_error(block, 3 + CFG_LIST_MAX, NULL, "prep.mo: more than 64 items", NULL);
    // An item longer than CFG_STR - 1 bytes, in a file and in --set.
    char longy[600] = "prep:\n  mo: [x, ", longset[600] = "prep.mo=x,";
    memset(longy + strlen(longy), 'a', CFG_STR);
    strcat(longy, "]\n");
    memset(longset + strlen(longset), 'a', CFG_STR);
    expect_error(longy, 2, NULL, "prep.mo[1]: expected a string of at most 255 bytes", NULL);
    expect_error(NULL, 0, longset, "prep.mo[1]: expected a string of at most 255 bytes", NULL);
}

static void test_list_item_errors(void) {
    // Float lists: numbers only, finite, in range.
    expect_error("data:\n  weights: [1, x]\n", 2, NULL, "data.weights[1]: expected a number",
                 "\"x\"");
    expect_error("data:\n  weights: [nan]\n", 2, NULL, "data.weights[0]", "finite");
    expect_error("data:\n  weights: [1, inf]\n", 2, NULL, "data.weights[1]", "finite");
    expect_error("data:\n  weights: [.nan]\n", 2, NULL, "data.weights[0]: expected a number", NULL);
    expect_error("data:\n  weights: [1001]\n", 2, NULL, "data.weights[0] = 1001 is out of range",
                 "[0, 1000]");
    expect_error("data:\n  weights: [-1]\n", 2, NULL, "data.weights[0] = -1 is out of range", NULL);
    // String lists are sets.
    expect_error("data:\n  directions:\n    - de-en\n    - en-de\n    - de-en\n", 5, NULL,
                 "data.directions[2]: \"de-en\" repeats data.directions[0]", NULL);
    expect_error(NULL, 0, "data.mono=fr, de, fr", "data.mono[2]", "repeats data.mono[0]");
    // --set forms.
    expect_error(NULL, 0, "prep.languages=[de, [fr]]", "prep.languages[1]: expected a string",
                 "got a sequence");
    expect_error(NULL, 0, "prep.languages=[a: b]", "prep.languages[0]", "got a mapping");
    expect_error(NULL, 0, "prep.languages=[de", "prep.languages: invalid YAML",
                 "expected ',' or ']'");
    expect_error(NULL, 0, "prep.languages=[de] x", "prep.languages: invalid YAML", NULL);
    expect_error(NULL, 0, "prep.languages=[de]\n---\n[fr]", "prep.languages",
                 "more than one YAML document");
    expect_error(NULL, 0, "prep.languages=", "prep.languages has no value", "[]");
    expect_error(NULL, 0, "data.weights=1,x", "data.weights[1]: expected a number", NULL);
    expect_error(NULL, 0, "data.weights=[1, nan]", "data.weights[1]", "finite");
    expect_error(NULL, 0, "data.mono=a,,b", "data.mono[1]: expected a non-empty string", NULL);
    expect_error(NULL, 0, "prep.mo=\xff", "prep.mo[0]: expected valid UTF-8", NULL);
    expect_error(NULL, 0, "prep.mo=[\"\xff\"]", "prep.mo: invalid YAML", NULL);
}

static void test_list_patterns(void) {
    static const char *const good[] = {"de-en", "zh_CN-en", "en-zh_CN", "pt_BR-pt"};
    static const char *const bad[] = {"de", "de-de", "de-DE", "-en", "de-", "de-en-fr",
                                      "d1-en", "de en", "_x-en", "de:en"};
    char set[128];
    Config c;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(set, sizeof set, "data.directions=%s", good[i]);
        CHECK(load1(&c, NULL, set) == LM_OK && LIST_IS(&c.data.directions, good[i]), "%s", set);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(set, sizeof set, "data.directions=en-fr,%s", bad[i]);
        expect_error(NULL, 0, set, "data.directions[1]: expected a direction SRC-TGT", bad[i]);
    }
    expect_error("data:\n  directions:\n    - de-en\n    - de\n", 4, NULL,
                 "data.directions[1]: expected a direction", "e.g. de-en");
    static const char *const good_lp[] = {"de-en:a.tsv", "de:x", "fr:/a/b:c", "de-en:a.de,a.en"};
    static const char *const bad_lp[] = {"a.tsv", ":a.tsv", "de:", ""};
    for (size_t i = 0; i < sizeof good_lp / sizeof good_lp[0]; i++) {
        snprintf(set, sizeof set, "prep.tsv=[\"%s\"]", good_lp[i]);
        CHECK(load1(&c, NULL, set) == LM_OK && LIST_IS(&c.prep.tsv, good_lp[i]), "%s", set);
    }
    for (size_t i = 0; i < sizeof bad_lp / sizeof bad_lp[0]; i++) {
        snprintf(set, sizeof set, "prep.tsv=[\"%s\"]", bad_lp[i]);
        expect_error(NULL, 0, set, "prep.tsv[0]: expected LANG:PATH or SRC-TGT:PATH", NULL);
    }
    // Every langpath key carries the rule; the shorthand splits moses pairs.
    expect_error(NULL, 0, "prep.moses=de-en:a.de,a.en", "prep.moses[1]", "LANG:PATH");
    expect_error(NULL, 0, "prep.text=x.txt", "prep.text[0]", "LANG:PATH");
    expect_error(NULL, 0, "data.mono=[\"\"]", "data.mono[0]: expected a non-empty string", NULL);
    expect_error(NULL, 0, "prep.mo=[\"\"]", "prep.mo[0]: expected a non-empty string", NULL);
    CHECK(load1(&c, NULL, "prep.mo=[\"{x}: [y]\"]") == LM_OK, "any non-empty path");
}

// Int lists: the same forms as the other lists, items read as ints.
static void test_int_list_parse(void) {
    Config c;
    LmStatus st = load1(&c,
                        "layers:\n"
                        "  selection: list\n"
                        "  list:\n"
                        "    - 0\n"
                        "    - +7\n"
                        "    - '12'\n"
                        "    - 1023\n",
                        NULL);
    CHECK(st == LM_OK && c.layers.list.n == 4 && c.layers.list.v[0] == 0 &&
              c.layers.list.v[1] == 7 && c.layers.list.v[2] == 12 && c.layers.list.v[3] == 1023,
          "block sequence: n=%d", c.layers.list.n);
    CHECK(c.layers.list.v[4] == 0, "unused slots zero");
    CHECK(load1(&c, "layers: {selection: list, list: [5, 2]}\n", NULL) == LM_OK &&
              c.layers.list.n == 2 && c.layers.list.v[0] == 5 && c.layers.list.v[1] == 2,
          "flow sequence");
    CHECK(load1(&c, "layers:\n  list: []\n", NULL) == LM_OK && c.layers.list.n == 0, "[]");
    const char *flow[2] = {"layers.selection=list", "layers.list=[ 3, 1 ]"};
    const char *comma[2] = {"layers.selection=list", "layers.list= 4 ,9"};
    char *err;
    CHECK(load_capture(&c, NULL, 0, flow, 2, &err) == LM_OK && c.layers.list.n == 2 &&
              c.layers.list.v[0] == 3 && c.layers.list.v[1] == 1, "--set flow: %s", err);
    free(err);
    CHECK(load_capture(&c, NULL, 0, comma, 2, &err) == LM_OK && c.layers.list.n == 2 &&
              c.layers.list.v[0] == 4 && c.layers.list.v[1] == 9, "--set shorthand: %s", err);
    free(err);
    // A later file replaces the list, byte for byte as if written directly.
    char *a = write_yaml("layers: {selection: list, list: [1, 2, 3]}\n");
    char *b = write_yaml("layers:\n  list: [6]\n");
    const char *ab[2] = {a, b};
    Config only;
    CHECK(load_capture(&c, ab, 2, NULL, 0, &err) == LM_OK && c.layers.list.n == 1 &&
              c.layers.list.v[0] == 6 && c.layers.list.v[1] == 0, "replaced: %s", err);
    free(err);
    CHECK(load1(&only, "layers: {selection: list, list: [6]}\n", NULL) == LM_OK &&
              !memcmp(&c, &only, sizeof c), "merged == written directly");
    free(a);
    free(b);
}

static void test_int_list_errors(void) {
    const char *sel = "layers.selection=list";
    expect_error("layers:\n  list: [1, 3.5]\n", 2, NULL, "layers.list[1]: expected an integer",
                 "\"3.5\"");
    expect_error("layers:\n  list:\n    - 1\n    - x\n", 4, NULL,
                 "layers.list[1]: expected an integer", "\"x\"");
    expect_error("layers:\n  list: [1e3]\n", 2, NULL, "layers.list[0]: expected an integer", NULL);
    expect_error("layers:\n  list: [99999999999]\n", 2, NULL, "layers.list[0]", "32-bit");
    expect_error("layers:\n  list: [1024]\n", 2, NULL, "layers.list[0] = 1024 is out of range",
                 "[0, 1023]");
    expect_error("layers:\n  list: [2, -1]\n", 2, NULL, "layers.list[1] = -1 is out of range",
                 NULL);
    expect_error("layers:\n  list: 3\n", 2, NULL, "layers.list: expected a list of integers",
                 "got a scalar");
    expect_error("layers:\n  list: [1, ~]\n", 2, NULL, "layers.list[1] has no value", NULL);
    expect_error("layers:\n  list:\n", 2, NULL, "layers.list has no value", "[]");
    expect_error(NULL, 0, "layers.list=1,2.5", "layers.list[1]: expected an integer", NULL);
    expect_error(NULL, 0, "layers.list=[1, 0x10]", "layers.list[1]: expected an integer", NULL);
    expect_error(NULL, 0, "layers.list=[1, [2]]", "layers.list[1]: expected an integer",
                 "got a sequence");
    expect_error(NULL, 0, "layers.list=", "layers.list has no value", NULL);
    // The item error comes before any cross-field rule, whatever the selection.
    char *f = write_yaml("layers:\n  list: [5000]\n");
    const char *files[1] = {f}, *sets[1] = {sel};
    Config c;
    char *err;
    CHECK(load_capture(&c, files, 1, sets, 1, &err) == LM_EUSAGE &&
              strstr(err, "layers.list[0] = 5000 is out of range"), "%s", err);
    free(err);
    free(f);
}

// Ranges and choices of the detect, awareness, layers, routing, train and
// debug keys.
static void test_method_keys(void) {
    expect_error("awareness:\n  epsilon: 0\n", 2, NULL, "awareness.epsilon = 0 is out of range",
                 "(0, 1)");
    expect_error("awareness:\n  epsilon: 1\n", 2, NULL, "awareness.epsilon = 1 is out of range",
                 "(0, 1)");
    expect_error(NULL, 0, "awareness.epsilon=1.5", "awareness.epsilon = 1.5 is out of range", NULL);
    Config c;
    CHECK(load1(&c, NULL, "awareness.epsilon=1e-9") == LM_OK && c.awareness.epsilon == 1e-9,
          "small epsilon");
    CHECK(load1(&c, NULL, "awareness.epsilon=0.999") == LM_OK && c.awareness.epsilon == 0.999,
          "large epsilon");
    expect_error("detect:\n  split: test\n", 2, NULL, "detect.split", "one of: dev, train");
    expect_error("awareness:\n  unit: sentence\n", 2, NULL, "awareness.unit",
                 "one of: direction, language");
    expect_error(NULL, 0, "layers.selection=top", "layers.selection", "one of: spikes, topk, list");
    expect_error("detect:\n  output: \"\"\n", 2, NULL, "detect.output", "non-empty");
    expect_error("detect:\n  max_sentences: -1\n", 2, NULL, "detect.max_sentences = -1", ">= 0");
    expect_error("detect:\n  batch_size: 0\n", 2, NULL, "detect.batch_size = 0", "[1, 1048576]");
    expect_error("layers:\n  k: 0\n", 2, NULL, "layers.k = 0", "[1, 1024]");
    expect_error("layers:\n  k: 1025\n", 2, NULL, "layers.k = 1025", "[1, 1024]");
    expect_error("routing:\n  scale: 0\n", 2, NULL, "routing.scale = 0", "(0, 100]");
    expect_error("routing:\n  scale: 100.5\n", 2, NULL, "routing.scale = 100.5", "(0, 100]");
    expect_error("routing:\n  enabled: maybe\n", 2, NULL, "routing.enabled", "a boolean");
    expect_error("awareness:\n  languages: [de, \"\"]\n", 2, NULL, "awareness.languages[1]",
                 "non-empty");
    expect_error("debug:\n  nan_at_step: -1\n", 2, NULL, "debug.nan_at_step = -1", ">= 0");
    expect_error(NULL, 0, "debug.exit_at_step=-2", "debug.exit_at_step = -2", ">= 0");
    CHECK(load1(&c,
                "detect: {split: train, max_sentences: 0, batch_size: 1048576}\n"
                "awareness: {unit: language, languages: [de, en]}\n"
                "layers: {selection: topk, k: 1024}\n"
                "routing: {enabled: no, scale: 100, per_direction: yes}\n"
                "train: {neurons: n.h5, resume: auto, keep_best: off, "
                "awareness_scaled_grads: on}\n"
                "debug: {nan_at_step: 3, exit_at_step: 4}\n",
                NULL) == LM_OK, "bounds and every new key");
    CHECK(!strcmp(c.detect.split, "train") && c.detect.max_sentences == 0 &&
              c.detect.batch_size == 1048576, "detect");
    CHECK(!strcmp(c.awareness.unit, "language") && LIST_IS(&c.awareness.languages, "de", "en"),
          "awareness");
    CHECK(!strcmp(c.layers.selection, "topk") && c.layers.k == 1024, "layers");
    CHECK(!c.routing.enabled && c.routing.scale == 100.0 && c.routing.per_direction, "routing");
    CHECK(!strcmp(c.train.neurons, "n.h5") && !strcmp(c.train.resume, "auto") &&
              !c.train.keep_best && c.train.awareness_scaled_grads, "train");
    CHECK(c.debug.nan_at_step == 3 && c.debug.exit_at_step == 4, "debug");
}

// layers.selection list <-> a non-empty layers.list without repeats.
static void test_layers_rules(void) {
    expect_error("layers:\n  selection: list\n", 2, NULL,
                 "layers.selection = list (", "needs a non-empty layers.list");
    expect_error(NULL, 0, "layers.selection=list", "layers.selection = list (--set)",
                 "non-empty layers.list");
    expect_error("layers:\n  list: [2, 3]\n", 2, NULL, "layers.list is given (",
                 "set layers.selection: list");
    expect_error("layers:\n  selection: topk\n  list: [2]\n", 3, NULL,
                 "layers.selection = topk (", "ignores it; set layers.selection: list");
    expect_error("layers:\n  selection: list\n  list: [2, 5, 3, 5]\n", 3, NULL,
                 "layers.list[3] = 5 repeats layers.list[1]", NULL);
    const char *dup[2] = {"layers.selection=list", "layers.list=7,1,7"};
    Config c;
    char *err;
    CHECK(load_capture(&c, NULL, 0, dup, 2, &err) == LM_EUSAGE &&
              strstr(err, "error: --set: layers.list[2] = 7 repeats layers.list[0]"),
          "repeat via --set: %s", err);
    free(err);
    CHECK(load1(&c, "layers:\n  selection: list\n  list: [0]\n  k: 7\n", NULL) == LM_OK &&
              c.layers.k == 7 && c.layers.list.n == 1, "k may stay set with list");
    CHECK(load1(&c, "layers:\n  list: [4, 2]\n", "layers.selection=list") == LM_OK &&
              c.layers.list.n == 2, "repaired by --set");
    expect_error("layers:\n  selection: list\n  list: [4]\n", 3, "layers.selection=spikes",
                 "layers.list is given (", "layers.selection = spikes (--set) ignores it");
}

static void test_yaml_syntax_errors(void) {
    char *f = write_yaml("train:\n  lr: 1\n  steps: [1, 2\n");
    const char *files[1] = {f};
    Config c;
    char *err;
    CHECK(load_capture(&c, files, 1, NULL, 0, &err) == LM_EUSAGE, "status");
    char want[600];
    snprintf(want, sizeof want, "%s:4:1: invalid YAML: did not find expected ',' or ']'", f);
    CHECK(strstr(err, want), "want '%s' in: %s", want, err);
    free(err);
    free(f);
    expect_error("train:\n  lr: 1\n bad\n", 3, NULL, "invalid YAML", NULL);
    expect_error("a: b: c\n", 1, NULL, "mapping values are not allowed", NULL);
    expect_error("train: {lr: 1}\n---\ntrain: {lr: 2}\n", 3, NULL, "one YAML document", NULL);
    expect_error("- 1\n- 2\n", 1, NULL, "top level", "got a sequence");
}

// Deep nesting is refused before libyaml builds it (its scanner is
// quadratic in the depth: 200 KB of '[' took a minute), in files and --set.
static void test_nesting_cap(void) {
    size_t n = 200000;
    char *deep = malloc(n + 16);
    memcpy(deep, "train: ", 7);
    memset(deep + 7, '[', n);
    deep[7 + n] = '\0';
    clock_t t0 = clock();
    expect_error(deep, 1, NULL, "nesting deeper than 32 levels", NULL);
    double cpu = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(cpu < 5, "refusing 200 KB of '[' took %.1f CPU-seconds", cpu);
    char set[200] = "data.directions=";
    memset(set + 16, '[', 100);
    set[116] = '\0';
    expect_error(NULL, 0, set, "data.directions: nesting deeper than 32 levels", NULL);
    Config c;
    CHECK(load1(&c, "data: {directions: [de-en, [x]]}\n", NULL) == LM_EUSAGE, "shallow: ordinary error");
    free(deep);
}

// config_given tells what a file or --set wrote from what is a default,
// even when both hold the same value.
static void test_given(void) {
    Config c;
    CHECK(load1(&c, "model: {hidden_size: 256}\n", "model.vocab_size=600") == LM_OK, "load");
    CHECK(config_given(&c, "model.hidden_size") && c.model.hidden_size == 256, "from the file");
    CHECK(config_given(&c, "model.vocab_size"), "from --set");
    CHECK(!config_given(&c, "model.num_hidden_layers"), "a default is not given");
    CHECK(!config_given(&c, "no.such_key"), "unknown key");
    Config d;
    config_defaults(&d);
    CHECK(!config_given(&d, "model.hidden_size"), "defaults give nothing");
}

static void test_unknown_keys(void) {
    expect_error("train:\n  lr: 1e-3\n  lrr: 1e-3\n", 3, NULL, "unknown key `train.lrr`",
                 "did you mean `train.lr`?");
    expect_error("model:\n  lr: 1e-3\n", 2, NULL, "`model.lr`", "did you mean `train.lr`?");
    expect_error("trian:\n  steps: 5\n", 2, NULL, "`trian.steps`", "did you mean `train.steps`?");
    expect_error("train:\n  warmup: 5\n", 2, NULL, "`train.warmup`",
                 "did you mean `train.warmup_steps`?");
    expect_error("zzzqqqxxx: 1\n", 1, NULL, "unknown key `zzzqqqxxx`", "docs/config.md");
    expect_error(NULL, 0, "train.lrr=1", "unknown key `train.lrr`", "did you mean `train.lr`?");
    expect_error("model:\n  hiden: 64\n", 2, NULL, "`model.hiden`", "did you mean `model.hidden_size`?");
    expect_error(NULL, 0, "train.lr", "`train.lr` is not KEY=VALUE", NULL);
    expect_error(NULL, 0, "=3", "is not KEY=VALUE", NULL);
    // the suggestion is not printed for nonsense
    char *f = write_yaml("zzzqqqxxx: 1\n");
    const char *files[1] = {f};
    Config c;
    char *err;
    load_capture(&c, files, 1, NULL, 0, &err);
    CHECK(!strstr(err, "did you mean"), "%s", err);
    free(err);
    free(f);
}

static void test_wrong_types(void) {
    expect_error("train:\n  steps: abc\n", 2, NULL, "train.steps: expected an integer", "\"abc\"");
    expect_error("train:\n  steps: 3.5\n", 2, NULL, "train.steps: expected an integer", NULL);
    expect_error("train:\n  steps: 99999999999\n", 2, NULL, "train.steps", "32-bit");
    expect_error("train:\n  seed: 9223372036854775808\n", 2, NULL, "train.seed", "64-bit");
    expect_error("\ntrain:\n  lr: [1, 2]\n", 3, NULL, "train.lr: expected a number",
                 "got a sequence");
    expect_error("train:\n  lr:\n    a: 1\n", 2, NULL, "train.lr: expected a number",
                 "got a mapping");
    expect_error("train: 5\n", 1, NULL, "`train` is a section", "got a scalar");
    expect_error("train:\n  - lr\n", 1, NULL, "`train` is a section", "got a sequence");
    expect_error("train:\n  lr: nan\n", 2, NULL, "train.lr", "finite");
    expect_error("train:\n  lr: inf\n", 2, NULL, "train.lr", "finite");
    expect_error("train:\n  lr: .inf\n", 2, NULL, "train.lr: expected a number", NULL);
    expect_error("train:\n  lr: 1e999\n", 2, NULL, "train.lr", "finite");
    expect_error("train:\n  lr: 0x10\n", 2, NULL, "train.lr: expected a number", NULL);
    expect_error("train:\n  lr: 3e-4x\n", 2, NULL, "train.lr: expected a number", NULL);
    expect_error("model:\n  attention_bias: maybe\n", 2, NULL, "model.attention_bias",
                 "expected a boolean");
    expect_error("train:\n  lr:\n", 2, NULL, "train.lr has no value", NULL);
    expect_error("data:\n  corpus: ~\n", 2, NULL, "data.corpus has no value", "\"\"");
    expect_error("data:\n  lang: \"\"\n", 2, NULL, "data.lang", "non-empty");
    expect_error("data:\n  lang: \"a\\0b\"\n", 2, NULL, "data.lang", "NUL");
    expect_error("train:\n  lr: 1\n  lr: 2\n", 3, NULL, "train.lr is set twice", "line 2");
    expect_error("? [a]\n: 1\n", 1, NULL, "keys must be plain names", NULL);
    expect_error(NULL, 0, "train.steps=abc", "train.steps: expected an integer", NULL);
    expect_error(NULL, 0, "train=1", "`train` is a section", NULL);
    expect_error(NULL, 0, "data.lang=\xff", "data.lang: expected valid UTF-8", "got \"?\"");
    char longer[400] = "data.corpus=";
    memset(longer + 12, 'a', 300);
    longer[312] = '\0';
    expect_error(NULL, 0, longer, "data.corpus", "at most 255 bytes");
}

static void test_ranges_and_enums(void) {
    expect_error("train:\n  lr: 20\n", 2, NULL, "train.lr = 20 is out of range", "(0, 10]");
    expect_error("train:\n  lr: 0\n", 2, NULL, "train.lr = 0 is out of range", NULL);
    expect_error("train:\n  beta1: 1\n", 2, NULL, "train.beta1 = 1", "[0, 1)");
    expect_error("train:\n  batch_size: 0\n", 2, NULL, "train.batch_size = 0", "[1, 1048576]");
    expect_error("train:\n  warmup_steps: -1\n", 2, NULL, "train.warmup_steps = -1", ">= 0");
    expect_error("train:\n  steps: 0\n", 2, NULL, "train.steps = 0", "allowed: >= 1");
    expect_error("model:\n  rope_theta: 0\n", 2, NULL, "model.rope_theta", "> 0");
    expect_error(NULL, 0, "train.eps=0", "train.eps = 0 is out of range", NULL);
    expect_error("train:\n  mode: fancy\n", 2, NULL, "train.mode",
                 "one of: full, layers, landermt, general, specific");
    expect_error("train:\n  schedule: Cosine\n", 2, NULL, "train.schedule",
                 "one of: constant, cosine, linear");
    expect_error(NULL, 0, "model.architecture=gpt2", "model.architecture", "llama, bloom");
    Config c;
    CHECK(load1(&c, "train: {beta1: 0, grad_clip: 0, lr: 10}\n", NULL) == LM_OK, "bounds");
}

static void test_missing_file(void) {
    char path[600];
    snprintf(path, sizeof path, "%s/no-such-config.yaml", tmp_dir());
    const char *files[1] = {path};
    Config c;
    char *err;
    CHECK(load_capture(&c, files, 1, NULL, 0, &err) == LM_EUSAGE, "status");
    CHECK(strstr(err, path) && strstr(err, "cannot open"), "%s", err);
    free(err);
}

static void test_cross_field(void) {
    // The message leads with the place the user wrote, even when that is
    // the second key of the rule.
    expect_error("train:\n  lr: 1e-5\n", 2, NULL,
                 "train.min_lr = 3.0e-05 (default) must be <= train.lr = 1.0e-05", NULL);
    expect_error("train:\n  min_lr: 0.01\n", 2, NULL, "train.min_lr = 0.01 (", "<= train.lr");
    expect_error("train:\n  steps: 5\n", 2, NULL, "train.warmup_steps = 10 (default) must be <= "
                 "train.steps = 5", NULL);
    expect_error("model:\n  hidden_size: 100\n  num_attention_heads: 3\n", 2, NULL,
                 "model.hidden_size = 100", "a multiple of model.num_attention_heads = 3");
    expect_error(NULL, 0, "model.num_key_value_heads=3", "model.num_attention_heads = 8",
                 "a multiple of model.num_key_value_heads = 3 (--set)");
    expect_error("model:\n  hidden_size: 24\n", 2, NULL, "head dimension", "24 / 8 = 3");
    // Rules apply to the merged result: a later source may repair an earlier one.
    Config c;
    CHECK(load1(&c, "train:\n  lr: 1e-5\n  min_lr: 1e-6\n", NULL) == LM_OK, "consistent");
    CHECK(load1(&c, "train:\n  steps: 5\n", "train.warmup_steps=5") == LM_OK, "repaired");
    // prep: characters and split fractions.
    expect_error("prep:\n  min_chars: 500\n", 2, NULL, "prep.min_chars = 500 (",
                 "must be <= prep.max_chars = 400 (default)");
    expect_error("prep:\n  max_chars: 1\n", 2, NULL, "prep.min_chars = 2 (default) must be <= "
                 "prep.max_chars = 1", NULL);
    expect_error("prep:\n  dev_fraction: 0.5\n  test_fraction: 0.5\n", 2, NULL,
                 "prep.dev_fraction + prep.test_fraction = 0.5 + 0.5 must be < 1", NULL);
    CHECK(load1(&c, "prep: {min_chars: 10, max_chars: 10}\n", NULL) == LM_OK, "min == max");
    CHECK(load1(&c, "prep: {dev_fraction: 0.5, test_fraction: 0.49}\n", NULL) == LM_OK, "0.99");
    // data.weights: none, or one per direction and mono language.
    expect_error("data:\n  directions: [de-en]\n  weights: [1, 2]\n", 3, NULL,
                 "data.weights has 2 items", "len(data.directions) + len(data.mono) = 1 + 0 = 1");
    expect_error("data:\n  weights: [1]\n", 2, NULL, "data.weights has 1 item (", "0 + 0 = 0");
    expect_error("data:\n  mono: [fr, de]\n  directions: [de-en]\n  weights: [1, 1]\n", 4,
                 NULL, "= 1 + 2 = 3", NULL);
    CHECK(load1(&c, "data:\n  directions: [de-en, en-de]\n  mono: [fr]\n"
                    "  weights: [1, 2, 0.5]\n", NULL) == LM_OK, "one weight per stream");
    CHECK(load1(&c, "data:\n  directions: [de-en, en-de]\n", NULL) == LM_OK, "no weights");
    CHECK(load1(&c, "data:\n  directions: [de-en]\n  weights: [1, 2]\n", "data.mono=fr") ==
              LM_OK, "repaired by --set");
}

static void test_required(void) {
    Config c;
    config_defaults(&c);
    const char *need[2] = {"train.out_dir", "data.corpus"};
    char path[512];
    snprintf(path, sizeof path, "%s/stderr-req.txt", tmp_dir());
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    LmStatus st = config_require(&c, need, 2);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *err = read_all(path);
    CHECK(st == LM_EUSAGE, "status %d", st);
    CHECK(strstr(err, "missing required key data.corpus (set it in a -c file or with "
                      "--set data.corpus=...)"), "%s", err);
    free(err);
    strcpy(c.data.corpus, "c.h5");
    CHECK(config_require(&c, need, 2) == LM_OK, "given");
    CHECK(config_require(&c, need, 0) == LM_OK, "nothing required");
    // A list is missing when it is empty.
    const char *dirs[1] = {"data.directions"};
    capture_begin();
    st = config_require(&c, dirs, 1);
    const char *msg = capture_end();
    CHECK(st == LM_EUSAGE && strstr(msg, "missing required key data.directions"), "%s", msg);
    CHECK(load1(&c, NULL, "data.directions=de-en") == LM_OK &&
              config_require(&c, dirs, 1) == LM_OK, "non-empty list given");
}

// Dumps cfg, loads the dump, expects the same Config and the same dump.
static void check_round_trip(const Config *c, const char *what) {
    char *dump = config_dump(c);
    char *file = write_yaml(dump);
    const char *files[1] = {file};
    Config back;
    char *err;
    LmStatus st = load_capture(&back, files, 1, NULL, 0, &err);
    CHECK(st == LM_OK, "%s: reload failed: %s\n%s", what, err, dump);
    // Every value, not which keys were given (the dump gives them all).
    CHECK(!memcmp(&back, c, offsetof(Config, given)), "%s: config differs after round trip\n%s",
          what, dump);
    char *again = config_dump(&back);
    CHECK(!strcmp(again, dump), "%s: dump differs", what);
    free(again);
    free(err);
    free(file);
    free(dump);
}

static void test_dump_round_trip(void) {
    Config c;
    config_defaults(&c);
    check_round_trip(&c, "defaults");
    const char *sets[] = {
        "train.lr=0.1", "train.min_lr=1e-300", "train.weight_decay=0.30000000000000004",
        "model.rope_theta=500000", "model.init_std=0.017999999999999999",
        "train.seed=9223372036854775807", "model.tie_word_embeddings=yes",
        "train.mode=specific", "train.schedule=constant",
        "data.corpus=  we\"ird: #path\\ with 'quotes' \t tab",
        "data.lang=zh_CN \xe4\xb8\xad\xe6\x96\x87 \xc2\x85 \xef\xbb\xbf end",
        "train.out_dir=- [x]\n{y}: & * ! | > % @ `",
        "model.checkpoint=yes",
        "data.directions=[de-en, zh_CN-en]", "data.mono=fr",
        "data.weights=[0.1, 1e-300, 1000]",
        "prep.mo=[\"a,b\", \"x: y\", \"q\\\"uote\", \"tab\\there\", \"[z]\", \"\\u00e9\\u4e2d\"]",
        "prep.languages=[]", "prep.tsv=de:- {a}, fr:#b",
        "data.prompt={src_lang}->{tgt_lang} \"q\":\n{src}\n\t{x}",
        "layers.selection=list", "layers.list=[3, 0, 1023]", "layers.k=9",
        "awareness.unit=language", "awareness.languages=[de, zh_CN]",
        "awareness.epsilon=0.8500000000000001", "routing.scale=1", "routing.enabled=off",
        "detect.split=train", "detect.output=out/n.h5", "train.resume=auto",
        "train.neurons=n.h5", "train.keep_best=no", "debug.nan_at_step=5",
    };
    int n = (int)(sizeof sets / sizeof sets[0]);
    char *err;
    LmStatus st = load_capture(&c, NULL, 0, sets, n, &err);
    CHECK(st == LM_OK, "modified: %s", err);
    free(err);
    CHECK(c.train.min_lr == 1e-300 && !strcmp(c.model.checkpoint, "yes"), "overrides applied");
    CHECK(!strcmp(c.train.out_dir, "- [x]\n{y}: & * ! | > % @ `"), "%s", c.train.out_dir);
    CHECK(LIST_IS(&c.prep.mo, "a,b", "x: y", "q\"uote", "tab\there", "[z]", "\xc3\xa9\xe4\xb8\xad"),
          "YAML escapes in --set items");
    CHECK(LIST_IS(&c.prep.tsv, "de:- {a}", "fr:#b"), "shorthand items");
    check_round_trip(&c, "modified");
    char *dump = config_dump(&c);
    CHECK(strstr(dump, "\n  directions: [\"de-en\", \"zh_CN-en\"]\n"), "%s", dump);
    CHECK(strstr(dump, "\n  weights: [0.1, 1.0e-300, 1000.0]\n"), "%s", dump);
    CHECK(strstr(dump, "\n  languages: []\n"), "%s", dump);
    CHECK(strstr(dump, "\nlayers:\n  selection: list\n  k: 9\n  list: [3, 0, 1023]\n"), "%s",
          dump);
    CHECK(c.layers.list.n == 3 && c.layers.list.v[2] == 1023, "int list applied");
    CHECK(strstr(dump, "\n  prompt: \"{src_lang}->{tgt_lang} \\\"q\\\":\\n{src}\\n\\t{x}\"\n"),
          "%s", dump);
    free(dump);
}

// Collects "section.key" paths from a dump (section lines end in ':').
static int dump_paths(char paths[][128], int max) {
    Config c;
    config_defaults(&c);
    char *dump = config_dump(&c), *save = NULL, section[64] = "";
    int n = 0;
    for (char *line = strtok_r(dump, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        size_t colon = strcspn(line, ":");
        if (line[0] != ' ') {
            snprintf(section, sizeof section, "%.*s", (int)colon, line);
        } else if (n < max) {
            snprintf(paths[n++], 128, "%s.%.*s", section, (int)(colon - 2), line + 2);
        }
    }
    free(dump);
    return n;
}

static void test_doc_covers_every_key(void) {
    static char paths[128][128];
    int n = dump_paths(paths, 128);
    CHECK(n >= 80, "only %d keys found in the dump", n);
    char *gen = config_doc_markdown(), *doc = read_all(src_path("docs/config.md"));
    CHECK(doc != NULL, "docs/config.md missing");
    for (int i = 0; i < n; i++) {
        char cell[160];
        snprintf(cell, sizeof cell, "| `%.127s` |", paths[i]);
        CHECK(strstr(gen, cell), "config_doc_markdown lacks %s", paths[i]);
        CHECK(doc && strstr(doc, cell), "docs/config.md lacks %s (regenerate its table)", paths[i]);
    }
    // Everything after the "# Keys" heading is the generated text (trailing
    // blank lines aside), so a changed default, range or help shows up too.
    const char *keys = doc ? strstr(doc, "\n# Keys\n\n") : NULL;
    CHECK(keys, "docs/config.md has no '# Keys' heading");
    if (keys) {
        keys += strlen("\n# Keys\n\n");
        size_t nd = strlen(keys), ng = strlen(gen);
        while (nd && keys[nd - 1] == '\n') nd--;
        while (ng && gen[ng - 1] == '\n') ng--;
        CHECK(nd == ng && !memcmp(keys, gen, ng),
              "docs/config.md key tables differ from config_doc_markdown() (regenerate them)");
    }
    free(gen);
    free(doc);
}

// `test_config --write-doc`: rewrites the generated part of docs/config.md
// (everything after "# Keys") from the schema table.
static int write_doc(void) {
    char *doc = read_all(src_path("docs/config.md")), *gen = config_doc_markdown();
    char *keys = doc ? strstr(doc, "\n# Keys\n\n") : NULL;
    FILE *f = keys ? fopen(src_path("docs/config.md"), "w") : NULL;
    if (f) {
        fwrite(doc, 1, (size_t)(keys - doc) + strlen("\n# Keys\n\n"), f);
        fputs(gen, f);
        fclose(f);
    }
    free(doc), free(gen);
    return f ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--write-doc")) return write_doc();
    RUN(test_defaults);
    RUN(test_nested_parse);
    RUN(test_scalar_forms);
    RUN(test_merge);
    RUN(test_list_parse);
    RUN(test_list_merge_and_set);
    RUN(test_list_errors);
    RUN(test_list_item_errors);
    RUN(test_list_patterns);
    RUN(test_int_list_parse);
    RUN(test_int_list_errors);
    RUN(test_method_keys);
    RUN(test_layers_rules);
    RUN(test_yaml_syntax_errors);
    RUN(test_nesting_cap);
    RUN(test_given);
    RUN(test_unknown_keys);
    RUN(test_wrong_types);
    RUN(test_ranges_and_enums);
    RUN(test_missing_file);
    RUN(test_cross_field);
    RUN(test_required);
    RUN(test_dump_round_trip);
    RUN(test_doc_covers_every_key);
    return harness_finish();
}
