// `landermt inspect FILE`: a readable summary of any landermt HDF5 file,
// chosen by its root `format` attribute.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/ckpt.h"
#include "io/ckpt_verify.h"
#include "io/corpus.h"
#include "io/h5.h"
#include "io/model_source.h"
#include "io/neurons.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static LmStatus print_tokenizer(hid_t f, const char *what) {
    Tokenizer tok;
    LmStatus st = tokenizer_load(f, "tokenizer", &tok, what);
    if (st == LM_OK) {
        char desc[512];
        tokenizer_describe(&tok, desc, sizeof desc);
        printf("tokenizer: %s\n", desc);
    }
    tokenizer_free(&tok);
    return st;
}

// The training state as a resume reads it: every dataset reads back
// (ckpt_verify) and every value is in range (ckpt_read). A trainable-only
// checkpoint holds no model: its packed entries are read against the table.
static LmStatus print_train_state(const char *path, hid_t f, Model *m) {
    if (!h5_exists(f, "train")) {
        printf("training state: none (model-only file)\n");
        return LM_OK;
    }
    TrainState ts;
    LM_TRY(ckpt_verify(path, m));
    LM_TRY(ckpt_read(path, m, &ts));
    printf("training state: step %lld, %lld steps skipped, %d data stream(s)\n", (long long)ts.step,
           (long long)ts.skipped_steps, ts.n_cursors);
    if (ts.n_packed)
        printf("contents: the %lld trainable entries of a selective run (+ AdamW moments); base "
               "model %s — 'landermt export' makes a standalone model\n", (long long)ts.n_packed,
               ts.base_path[0] ? ts.base_path : "(random initialisation)");
    train_state_free(&ts);
    return LM_OK;
}

// The LANDeRMT state every consumer applies.
static LmStatus print_landermt(const char *path, const ModelConfig *c) {
    CkptLandermt lm;
    LM_TRY(ckpt_read_landermt(path, c, &lm));
    if (lm.present) {
        printf("landermt: %d %s units, selected layers", lm.neurons.U, lm.neurons.unit_kind);
        for (int j = 0; j < lm.neurons.k; j++) printf(" %d", lm.neurons.selected[j]);
        if (lm.n_gates) printf(", %d CAR gate(s) per layer, scale %g\n", lm.n_gates, lm.scale);
        else printf(", no routing gates\n");
    }
    ckpt_landermt_free(&lm);
    return LM_OK;
}

// One attribute of loc as text: strings, integers and floats (scalars or
// short 1-D arrays); anything else by its class and size.
static void attr_text(hid_t loc, const char *name, char *out, size_t cap) {
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5T_class_t cls = H5Tget_class(t);
    char *str = NULL;
    double v[16];
    long long iv[16];
    int is_int = cls == H5T_INTEGER;
    out[0] = '\0';
    if (cls == H5T_STRING && n == 1 && h5_attr_read_str(loc, name, &str, name) == LM_OK) {
        snprintf(out, cap, "\"%s\"", str);
    } else if ((is_int || cls == H5T_FLOAT) && n >= 1 && n <= 16 &&
               H5Aread(a, is_int ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE,
                       is_int ? (void *)iv : (void *)v) >= 0) {
        for (hssize_t i = 0, k = 0; i < n && (size_t)k < cap; i++)
            k += is_int ? snprintf(out + k, cap - (size_t)k, "%s%lld", i ? " " : "", iv[i])
                        : snprintf(out + k, cap - (size_t)k, "%s%.9g", i ? " " : "", v[i]);
    }
    if (!out[0]) snprintf(out, cap, "(HDF5 class %d, %lld values)", (int)cls, (long long)n);
    free(str);
    H5Sclose(sp), H5Tclose(t), H5Aclose(a);
}

static herr_t print_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data) {
    (void)info, (void)data;
    char text[512];
    attr_text(loc, name, text, sizeof text);
    printf("  %-26s %s\n", name, text);
    return 0;
}

// Every attribute of /config, in name order: what the file says, whatever
// this build knows about.
static void print_config_attrs(hid_t f) {
    if (!h5_exists(f, "config")) return;
    hid_t g = H5Gopen2(f, "config", H5P_DEFAULT);
    if (g < 0) return;
    printf("/config:\n");
    hsize_t idx = 0;
    H5Aiterate2(g, H5_INDEX_NAME, H5_ITER_INC, &idx, print_attr, NULL);
    H5Gclose(g);
}

// The model as model.checkpoint loads it (every tensor, finite), unless
// the file holds only trainable entries; then the training state.
static LmStatus print_checkpoint(const char *path, hid_t f) {
    ModelSource src;
    ModelConfig c;
    LM_TRY(ckpt_read_config(path, &c));
    int trainable_only = ckpt_is_trainable_only(path);
    Model m;
    model_table_init(&m, &c);  // sizes, not values
    printf("checkpoint: %s, %d layers, hidden %d, FFN %d, heads %d (kv %d), vocab %d, %s "
           "embeddings\nparameters: %zu in %d tensors (%.1f MB as fp32)\n", c.model_type,
           c.num_hidden_layers, c.hidden_size, c.intermediate_size, c.num_attention_heads,
           c.num_key_value_heads, c.vocab_size, c.tie_word_embeddings ? "tied" : "untied", m.numel,
           m.n_tensors, (double)m.numel * 4e-6);
    print_config_attrs(f);
    LmStatus st = LM_OK;
    if (!trainable_only) {
        model_free(&m);
        st = model_source_open(&src, path);
        if (st == LM_OK) {
            st = model_source_load(&src, &m);
            model_source_close(&src);
        }
        if (st == LM_OK) printf("values: every parameter finite\n");
    }
    if (st == LM_OK) st = print_train_state(path, f, &m);
    if (st == LM_OK) st = print_landermt(path, &c);
    if (st == LM_OK) st = print_tokenizer(f, path);
    if (m.tensors) model_free(&m);
    return st;
}

// One line per stream and split, each opened as training opens it:
// offsets, every token id below the vocabulary size, the text of a split
// that keeps it.
static LmStatus print_split(const char *path, const char *stream, const char *split, int vocab) {
    CorpusReader r;
    LM_TRY(corpus_reader_open(&r, path, stream, split, vocab));
    char **text = NULL;
    LmStatus st = LM_OK;
    char text_ds[300];
    snprintf(text_ds, sizeof text_ds, "%.*stext", (int)(strlen(r.tgt_tok) - strlen("tokens")), r.tgt_tok);
    int has_text = h5_exists(r.file, text_ds);
    if (has_text && (st = corpus_reader_text(&r, 0, &text)) == LM_OK && r.has_src)
        free(text), st = corpus_reader_text(&r, 1, &text);
    free(text);
    if (st == LM_OK)
        printf("  %-6s %-10s %-6s %8lld sentences %10lld %s tokens%s\n", r.has_src ? "bitext" : "mono",
               stream, split, (long long)r.n, (long long)r.tgt_offsets[r.n], r.has_src ? "target" : "",
               has_text ? ", text" : "");
    corpus_reader_close(&r);
    return st;
}

static LmStatus print_streams(const char *path, hid_t f, const char *top, int vocab) {
    char **names, **splits, base[512];
    int n, ns;
    if (!h5_exists(f, top)) return LM_OK;
    LM_TRY(h5_list(f, top, &names, &n, path));
    LmStatus st = LM_OK;
    for (int i = 0; st == LM_OK && i < n; i++) {
        snprintf(base, sizeof base, "%s/%s", top, names[i]);
        st = h5_list(f, base, &splits, &ns, path);
        for (int j = 0; st == LM_OK && j < ns; j++) st = print_split(path, names[i], splits[j], vocab);
        if (st == LM_OK) free(splits);
    }
    free(names);
    return st;
}

static LmStatus print_corpus(const char *path, hid_t f) {
    TokenizerInfo ti;
    printf("corpus %s\n", path);
    LM_TRY(print_tokenizer(f, path));
    LM_TRY(corpus_read_tokenizer_info(path, &ti));
    LM_TRY(print_streams(path, f, "bitext", (int)ti.vocab_size));
    return print_streams(path, f, "mono", (int)ti.vocab_size);
}

static void print_relevance(const Neurons *n) {
    printf("layer relevance (mean over units of D = |A[l+1] - A[l]|), * = selected:\n");
    for (int l = 0; l < n->L; l++) {
        int sel = 0;
        for (int j = 0; j < n->k; j++) sel |= n->selected[j] == l;
        double d = 0;
        for (int u = 0; l + 1 < n->L && u < n->U; u++) d += n->D[(size_t)u * (n->L - 1) + l];
        if (l + 1 < n->L) printf("  layer %3d %c  D(%d->%d) = %.6g\n", l, sel ? '*' : ' ', l, l + 1, d / n->U);
        else printf("  layer %3d %c\n", l, sel ? '*' : ' ');
    }
}

static void print_classes(const Neurons *n) {
    printf("classes (epsilon %.3g: general / specific per unit):\n", n->epsilon);
    for (int j = 0; j < n->k; j++) {
        int *count = calloc((size_t)n->U + 1, sizeof(int));  // [0] general, [u+1] unit u
        for (int i = 0; i < n->F; i++) count[n->owner[(size_t)j * n->F + i] + 1]++;
        printf("  layer %3d: general %d |", n->selected[j], count[0]);
        for (int u = 0; u < n->U; u++) printf(" %s %d", n->units[u], count[u + 1]);
        printf("\n");
        free(count);
    }
}

// The five highest-scoring neurons each unit owns.
static void print_top(const Neurons *n) {
    printf("top specific neurons per unit (layer:neuron score):\n");
    for (int u = 0; u < n->U; u++) {
        printf("  %-8s (%.0f sentences):", n->units[u], n->sentences[u]);
        double last = 1e300;
        for (int shown = 0; shown < 5; shown++) {
            int bj = -1, bi = -1;
            double best = -1;
            for (int j = 0; j < n->k; j++)
                for (int i = 0; i < n->F; i++) {
                    double s = n->scores[((size_t)u * n->L + n->selected[j]) * n->F + i];
                    if (n->owner[(size_t)j * n->F + i] == u && s > best && s < last) best = s, bj = j, bi = i;
                }
            if (bj < 0) break;
            printf(" %d:%d %.3g", n->selected[bj], bi, best);
            last = best;
        }
        printf("\n");
    }
}

static LmStatus print_neurons(const char *path, hid_t f) {
    (void)f;  // neurons_read opens the file itself
    Neurons n;
    LM_TRY(neurons_read(path, &n));
    printf("neurons file %s: %d %s units, %d layers x %d FFN neurons, selection %s, model %s\n", path,
           n.U, n.unit_kind, n.L, n.F, n.selection, n.model[0] ? n.model : "(random init)");
    print_relevance(&n);
    print_classes(&n);
    print_top(&n);
    neurons_free(&n);
    return LM_OK;
}

static const struct {
    const char *format;
    int version;
    LmStatus (*print)(const char *, hid_t);
} FORMATS[] = {{CKPT_FORMAT, CKPT_VERSION, print_checkpoint},
               {CORPUS_FORMAT, CORPUS_VERSION, print_corpus},
               {NEURONS_FORMAT, NEURONS_VERSION, print_neurons}};

LmStatus cmd_inspect(CliArgs *a) {
    const char *path = a->pos[0];
    if (model_source_is_hf(path)) return inspect_hf_dir(path);
    hid_t f;
    LM_TRY(h5_open(path, path, &f));
    char *format = NULL;
    LmStatus st = h5_attr_read_str(f, "format", &format, path);
    H5Fclose(f);
    size_t i = 0;
    while (st == LM_OK && i < sizeof FORMATS / sizeof *FORMATS && strcmp(format, FORMATS[i].format)) i++;
    if (st == LM_OK && i == sizeof FORMATS / sizeof *FORMATS) {
        lm_error("%s: unknown format \"%s\"", path, format);
        lm_hint("inspect reads landermt checkpoints, corpora and neurons files, and Hugging Face "
                "model directories (with their %s)", LANDERMT_SIDECAR);
        st = LM_ERUNTIME;
    }
    free(format);
    if (st != LM_OK) return st;
    // Opened again the way the loaders open it: format and version checked.
    int version;
    LM_TRY(h5_open_format(path, FORMATS[i].format, FORMATS[i].version, &f, &version));
    st = FORMATS[i].print(path, f);
    H5Fclose(f);
    return st;
}
