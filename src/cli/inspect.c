// `landermt inspect FILE`: a readable summary of any landermt HDF5 file,
// chosen by its root `format` attribute.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/ckpt.h"
#include "io/corpus.h"
#include "io/h5.h"
#include "io/model_source.h"
#include "io/neurons.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

static void print_tokenizer(hid_t f, const char *what) {
    Tokenizer tok;
    if (tokenizer_load(f, "tokenizer", &tok, what) == LM_OK) {
        char desc[512];
        tokenizer_describe(&tok, desc, sizeof desc);
        printf("tokenizer: %s\n", desc);
    }
    tokenizer_free(&tok);
}

static void print_train_state(hid_t f, const char *what) {
    int64_t step = 0, skipped = 0;
    hid_t g;
    if (!h5_exists(f, "train") || h5_open_group(f, "train", &g, what) != LM_OK) {
        printf("training state: none (model-only file)\n");
        return;
    }
    h5_attr_read_i64(g, "step", &step, what);
    h5_attr_read_i64(g, "skipped_steps", &skipped, what);
    printf("training state: step %lld, %lld steps skipped\n", (long long)step, (long long)skipped);
    H5Gclose(g);
}

// Selective-mode training checkpoints hold packed entries, not the model.
static void print_contents(const char *path, hid_t f) {
    if (!ckpt_is_trainable_only(path)) return;
    hid_t g;
    char *base = NULL;
    int64_t n = 0;
    if (h5_open_group(f, "train", &g, path) != LM_OK) return;
    h5_attr_read_str(g, "base_path", &base, path);
    h5_shape(g, "packed/param", 1, &n, path);
    printf("contents: the %lld trainable entries of a selective run (+ AdamW moments); base "
           "model %s — 'landermt export' makes a standalone model\n", (long long)n,
           base && base[0] ? base : "(random initialisation)");
    free(base);
    H5Gclose(g);
}

// The LANDeRMT state every consumer applies.
static void print_landermt(const char *path, const ModelConfig *c) {
    CkptLandermt lm;
    if (ckpt_read_landermt(path, c, &lm) != LM_OK || !lm.present) return;
    printf("landermt: %d %s units, selected layers", lm.neurons.U, lm.neurons.unit_kind);
    for (int j = 0; j < lm.neurons.k; j++) printf(" %d", lm.neurons.selected[j]);
    if (lm.n_gates) printf(", %d CAR gate(s) per layer, scale %g\n", lm.n_gates, lm.scale);
    else printf(", no routing gates\n");
    ckpt_landermt_free(&lm);
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

static LmStatus print_checkpoint(const char *path, hid_t f) {
    ModelConfig c;
    LM_TRY(ckpt_read_config(path, &c));
    Model m;
    model_init(&m, &c);  // for the tensor table: sizes, not values
    printf("checkpoint: llama, %d layers, hidden %d, FFN %d, heads %d (kv %d), vocab %d, %s "
           "embeddings\nparameters: %zu in %d tensors (%.1f MB as fp32)\n", c.num_hidden_layers,
           c.hidden_size, c.intermediate_size, c.num_attention_heads, c.num_key_value_heads,
           c.vocab_size, c.tie_word_embeddings ? "tied" : "untied", m.numel, m.n_tensors,
           (double)m.numel * 4e-6);
    model_free(&m);
    print_config_attrs(f);
    print_contents(path, f);
    print_train_state(f, path);
    print_landermt(path, &c);
    print_tokenizer(f, path);
    return LM_OK;
}

// One line per stream and split: sentences and tokens per side.
static void print_streams(hid_t f, const char *top, const char *what) {
    char **names, **splits, base[512];
    int n, ns;
    if (!h5_exists(f, top) || h5_list(f, top, &names, &n, what) != LM_OK) return;
    for (int i = 0; i < n; i++) {
        snprintf(base, sizeof base, "%s/%s", top, names[i]);
        if (h5_list(f, base, &splits, &ns, what) != LM_OK) continue;
        for (int j = 0; j < ns; j++) {
            char ds[700];
            int64_t noff = 0, ntok = 0;
            int bitext = !strcmp(top, "bitext");
            snprintf(ds, sizeof ds, "%s/%s/%s", base, splits[j], bitext ? "src_offsets" : "offsets");
            h5_shape(f, ds, 1, &noff, what);
            snprintf(ds, sizeof ds, "%s/%s/%s", base, splits[j], bitext ? "tgt_tokens" : "tokens");
            h5_shape(f, ds, 1, &ntok, what);
            printf("  %-6s %-10s %-6s %8lld sentences %10lld %s tokens\n", top, names[i], splits[j],
                   (long long)(noff - 1), (long long)ntok, bitext ? "target" : "");
        }
        free(splits);
    }
    free(names);
}

static LmStatus print_corpus(const char *path, hid_t f) {
    printf("corpus %s\n", path);
    print_tokenizer(f, path);
    print_streams(f, "bitext", path);
    print_streams(f, "mono", path);
    return LM_OK;
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

static LmStatus print_neurons(const char *path) {
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

LmStatus cmd_inspect(CliArgs *a) {
    const char *path = a->pos[0];
    if (model_source_is_hf(path)) return inspect_hf_dir(path);
    hid_t f;
    LM_TRY(h5_open(path, path, &f));
    char *format = NULL;
    LmStatus st = h5_attr_read_str(f, "format", &format, path);
    if (st == LM_OK && !strcmp(format, CKPT_FORMAT)) st = print_checkpoint(path, f);
    else if (st == LM_OK && !strcmp(format, CORPUS_FORMAT)) st = print_corpus(path, f);
    else if (st == LM_OK && !strcmp(format, NEURONS_FORMAT)) st = print_neurons(path);
    else if (st == LM_OK) {
        lm_error("%s: unknown format \"%s\"", path, format);
        lm_hint("inspect reads landermt checkpoints, corpora and neurons files");
        st = LM_ERUNTIME;
    }
    free(format);
    H5Fclose(f);
    return st;
}
