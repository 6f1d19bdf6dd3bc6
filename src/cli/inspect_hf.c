// `landermt inspect DIR`: a Hugging Face model directory, validated as the
// loaders validate it (config.json, headers, index, tensors, values).
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/hf_write.h"
#include "io/model_source.h"

static void print_config(const ModelConfig *c) {
    printf("config: model_type %s (%s blocks), %d layers, hidden %d, FFN %d, heads %d (kv %d, head_dim "
           "%d), vocab %d, %s embeddings, %d positions\n", c->model_type,
           c->architecture == ARCH_BLOOM ? "bloom" : "llama", c->num_hidden_layers, c->hidden_size,
           c->intermediate_size, c->num_attention_heads, c->num_key_value_heads, c->head_dim,
           c->vocab_size, c->tie_word_embeddings ? "tied" : "untied", c->max_position_embeddings);
    if (c->architecture == ARCH_BLOOM) return;
    printf("        rope_theta %g%s", (double)c->rope_theta, c->rope_scaling == ROPE_LLAMA3 ? ", llama3 scaling" : "");
    if (c->rope_scaling == ROPE_LLAMA3)
        printf(" (factor %g, low %g, high %g, original %d)", (double)c->rope_factor,
               (double)c->rope_low_freq_factor, (double)c->rope_high_freq_factor,
               c->rope_original_max_position_embeddings);
    printf(", sliding window %s, biases: q/k/v %s, o %s\n", c->sliding_window ? "on" : "off",
           c->attention_bias ? "yes" : "no", c->attention_out_bias ? "yes" : "no");
}

static void print_weights(const ModelSource *s) {
    size_t bytes[3] = {0}, count[3] = {0}, on_disk = 0;
    for (int i = 0; i < s->table.n_tensors; i++) {
        bytes[s->src[i]->dtype] += s->src[i]->nbytes;
        count[s->src[i]->dtype]++;
    }
    for (int f = 0; f < s->weights.n_files; f++) on_disk += s->weights.files[f].size;
    printf("weights: %s%d file%s, %.1f MB:", s->weights.sharded ? "index + " : "", s->weights.n_files,
           s->weights.n_files > 1 ? "s" : "", (double)on_disk / 1e6);
    for (int d = 0; d < 3; d++)
        if (count[d]) printf(" %zu tensors %s (%.1f MB)", count[d], st_dtype_name((StDtype)d), (double)bytes[d] / 1e6);
    printf("%s\nparameters: %zu in %d tensors (%.1f MB as fp32)\n",
           s->lm_head ? " + a stored copy of the tied head" : "", s->table.numel, s->table.n_tensors,
           (double)s->table.numel * 4e-6);
}

static void print_extras(const ModelSource *s) {
    printf("tokenizer files:");
    int n = 0;
    for (int i = 0; HF_TOKENIZER_FILES[i]; i++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", s->path, HF_TOKENIZER_FILES[i]);
        if (access(p, F_OK) == 0) printf(" %s", HF_TOKENIZER_FILES[i]), n++;
    }
    printf("%s\n", n ? "" : " none");
}

static LmStatus print_landermt(const ModelSource *s) {
    CkptLandermt lm;
    LM_TRY(model_source_landermt(s, &lm));
    if (!lm.present) printf("landermt: no %s (a plain model)\n", LANDERMT_SIDECAR);
    else {
        printf("landermt: %s, %d %s units, selected layers", LANDERMT_SIDECAR, lm.neurons.U, lm.neurons.unit_kind);
        for (int j = 0; j < lm.neurons.k; j++) printf(" %d", lm.neurons.selected[j]);
        if (lm.n_gates) printf(", %d CAR gate(s) per layer, scale %g\n", lm.n_gates, lm.scale);
        else printf(", no routing gates\n");
    }
    ckpt_landermt_free(&lm);
    return LM_OK;
}

LmStatus inspect_hf_dir(const char *path) {
    ModelSource s;
    LM_TRY(model_source_open(&s, path));
    printf("Hugging Face model directory %s\n", path);
    print_config(&s.cfg);
    print_weights(&s);
    print_extras(&s);
    LmStatus st = print_landermt(&s);
    if (st == LM_OK) st = model_source_verify(&s);
    if (st == LM_OK) printf("values: every weight finite\n");
    model_source_close(&s);
    return st;
}
