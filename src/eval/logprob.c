// `landermt logprob`: the log-probability a model assigns to given lines,
// one JSON object per line:
//   {"line": 1, "logprob": -12.3456, "tokens": 5}
// plus "ids" and "token_logprobs" with logprob.per_token. A line is a JSON
// array of token ids or text (tokenized with the model's BPE). Scored
// tokens: with logprob.add_bos, [bos] is prepended and every token of the
// line is scored (log p(x_1 | bos) + ...); without, the first token is
// context only. logprob.add_eos appends eos, which is then scored too. A
// LANDeRMT model with CAR gates applies the routes of logprob.direction.
//
// Rank 0 reads and tokenizes, every rank scores lines i = rank (mod ranks),
// one forward pass per line; the sums come back by allreduce.
#include "eval/logprob.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/open.h"
#include "decode/decode.h"
#include "io/files.h"
#include "io/hf_config.h"
#include "io/model_source.h"
#include "mpi/comm.h"
#include "train/model_load.h"
#include "train/trained.h"
#include "util/alloc.h"
#include "util/lines.h"

typedef struct {
    int64_t n;       // lines
    int64_t *off;    // [n+1] into ids: the sequence fed to the model
    int32_t *ids;
} Seqs;

static void seqs_add(Seqs *s, const int32_t *ids, int64_t n) {
    int64_t at = s->off[s->n];
    s->ids = xrealloc(s->ids, sizeof(int32_t) * (size_t)(at + n + 1));
    memcpy(s->ids + at, ids, sizeof(int32_t) * (size_t)n);
    s->off = xrealloc(s->off, sizeof(int64_t) * (size_t)(s->n + 2));
    s->off[++s->n] = at + n;
}

// "[1, 2, 3]" -> ids in [0, V).
static LmStatus ids_parse(const char *line, int64_t k, int V, int32_t **ids, int64_t *n) {
    json_error_t err;
    json_t *a = json_loads(line, 0, &err);
    LmStatus st = LM_OK;
    if (!json_is_array(a)) {
        lm_error("logprob.input line %lld: not a JSON array of token ids%s%s", (long long)k,
                 a ? "" : ": ", a ? "" : err.text);
        st = LM_ERUNTIME;
    }
    *n = st == LM_OK ? (int64_t)json_array_size(a) : 0;
    *ids = xmalloc(sizeof(int32_t) * (size_t)(*n + 1));
    for (int64_t i = 0; st == LM_OK && i < *n; i++) {
        json_t *v = json_array_get(a, (size_t)i);
        long long x = json_integer_value(v);
        if (!json_is_integer(v) || x < 0 || x >= V) {
            lm_error("logprob.input line %lld: element %lld is not a token id in [0, %d)",
                     (long long)k, (long long)i, V);
            st = LM_ERUNTIME;
        }
        (*ids)[i] = (int32_t)x;
    }
    json_decref(a);
    return st;
}

typedef struct {
    const Config *cfg;
    Model m;
    Trained trained;     // what m refers to (a training checkpoint's pack)
    CkptLandermt lm;
    DecodeRouting rt;
    Tokenizer tok;
    int has_tok;
    int bos, eos;        // -1 = unknown
    Seqs seqs;
    int64_t *tok_off;    // [n+1] into the scored-token arrays
    double *lp, *sum;    // (scored tokens), (lines)
} Logprob;

// One input line -> the sequence fed to the model.
static LmStatus line_add(Logprob *p, const char *line, int64_t k) {
    const Config *c = p->cfg;
    int64_t n = 0, len = (int64_t)strlen(line);
    int32_t *ids = NULL;
    if (!strcmp(c->logprob.format, "ids")) {
        LM_TRY(ids_parse(line, k, p->m.cfg.vocab_size, &ids, &n));
    } else {
        TokIds t = {0};
        n = tokenizer_encode(&p->tok, line, (size_t)len, 0, &t);
        if (n < 0) {
            tokids_free(&t);
            return LM_ERUNTIME;
        }
        ids = t.v;  // taken over from t
    }
    int32_t *seq = xmalloc(sizeof(int32_t) * (size_t)(n + 2));
    int64_t t = 0;
    if (c->logprob.add_bos) seq[t++] = p->bos;  // special_ids made sure it exists
    memcpy(seq + t, ids, sizeof(int32_t) * (size_t)n);
    t += n;
    if (c->logprob.add_eos) seq[t++] = p->eos;
    free(ids);
    LmStatus st = LM_OK;
    if (t > p->m.cfg.max_position_embeddings) {
        lm_error("logprob.input line %lld: %lld tokens, more than the model's %d positions",
                 (long long)k, (long long)t, p->m.cfg.max_position_embeddings);
        st = LM_ERUNTIME;
    }
    if (st == LM_OK) seqs_add(&p->seqs, seq, t);
    free(seq);
    return st;
}

static LmStatus input_read(Logprob *p) {
    const char *in = p->cfg->logprob.input;
    Lines l;
    LM_TRY(strcmp(in, "-") ? lines_read_path(in, "logprob.input ", &l)
                           : lines_read(stdin, "logprob.input - (stdin)", &l));
    LmStatus st = LM_OK;
    for (int64_t i = 0; st == LM_OK && i < l.n; i++) st = line_add(p, l.line[i], i + 1);
    lines_free(&l);
    return st;
}

// bos/eos ids: the model's tokenizer's, else config.json's.
static void special_ids(Logprob *p) {
    p->bos = p->eos = -1;
    if (p->has_tok) {
        p->bos = p->tok.bos_id, p->eos = p->tok.eos_id;
        if (p->bos >= 0 && p->eos >= 0) return;
    }
    ModelSource s;
    if (model_source_open(&s, p->cfg->model.checkpoint) != LM_OK) return;
    if (s.config_json) {
        if (p->bos < 0) p->bos = hf_config_token_id(s.config_json, "bos_token_id");
        if (p->eos < 0) p->eos = hf_config_token_id(s.config_json, "eos_token_id");
    }
    model_source_close(&s);
}

// The tokenizer (text input only), bos/eos ids, and the ids' rules.
static LmStatus setup(Logprob *p) {
    const Config *c = p->cfg;
    LM_TRY(ckpt_tokenizer(c->model.checkpoint, &p->tok, &p->has_tok));
    if (!p->has_tok && c->data.corpus[0]) {
        LM_TRY(corpus_tokenizer(c->data.corpus, &p->tok));
        p->has_tok = 1;
    }
    special_ids(p);
    const char *need = !strcmp(c->logprob.format, "text") && !p->has_tok ? "a tokenizer"
                       : c->logprob.add_bos && p->bos < 0                 ? "a bos token id"
                       : c->logprob.add_eos && p->eos < 0                 ? "an eos token id"
                                                                          : NULL;
    if (!need) return LM_OK;
    lm_error("logprob needs %s, and model %s has none (no /tokenizer, no data.corpus%s)", need,
             c->model.checkpoint, model_source_is_hf(c->model.checkpoint) ? ", no bos/eos_token_id in config.json" : "");
    lm_hint("give token ids (logprob.format: ids) with logprob.add_bos: false, or set data.corpus "
            "to the corpus whose tokenizer the model uses");
    return LM_EUSAGE;
}

// Rank 0's sequences on every rank.
static void seqs_share(Seqs *s) {
    int64_t size[2] = {s->n, s->off[s->n]};
    comm_bcast(size, sizeof size, 0);
    s->n = size[0];
    s->off = xrealloc(s->off, sizeof(int64_t) * (size_t)(size[0] + 1));
    s->ids = xrealloc(s->ids, sizeof(int32_t) * (size_t)(size[1] + 1));
    comm_bcast(s->off, sizeof(int64_t) * (size_t)(size[0] + 1), 0);
    comm_bcast(s->ids, sizeof(int32_t) * (size_t)size[1], 0);
}

// log p(seq[t+1] | seq[0..t]) for t = 0 .. len-2, in double.
static void line_score(Logprob *p, Acts *a, int64_t i) {
    const int32_t *seq = p->seqs.ids + p->seqs.off[i];
    int len = (int)(p->seqs.off[i + 1] - p->seqs.off[i]), V = p->m.cfg.vocab_size;
    if (len < 2) return;
    model_forward(&p->m, a, seq, 1, len);
    for (int t = 0; t + 1 < len; t++) {
        const float *row = a->logits + (size_t)t * V;
        float mx = row[0];
        for (int v = 1; v < V; v++) mx = row[v] > mx ? row[v] : mx;
        double z = 0;
        for (int v = 0; v < V; v++) z += exp((double)row[v] - mx);
        double lp = (double)row[seq[t + 1]] - mx - log(z);
        p->lp[p->tok_off[i] + t] = lp;
        p->sum[i] += lp;
    }
}

static void score_all(Logprob *p) {
    Seqs *s = &p->seqs;
    int64_t tmax = 1;
    p->tok_off = xcalloc((size_t)s->n + 1, sizeof(int64_t));
    for (int64_t i = 0; i < s->n; i++) {
        int64_t len = s->off[i + 1] - s->off[i];
        tmax = len > tmax ? len : tmax;
        p->tok_off[i + 1] = p->tok_off[i] + (len > 1 ? len - 1 : 0);
    }
    p->lp = xcalloc((size_t)p->tok_off[s->n] + 1, sizeof(double));
    p->sum = xcalloc((size_t)s->n + 1, sizeof(double));
    Acts a;
    acts_init(&a, &p->m.cfg, 1, (int)tmax);
    for (int64_t i = comm_rank(); i < s->n; i += comm_size()) line_score(p, &a, i);
    acts_free(&a);
    comm_allreduce_f64(p->lp, (size_t)p->tok_off[s->n]);
    comm_allreduce_f64(p->sum, (size_t)s->n);
}

static void line_write(const Logprob *p, FILE *f, int64_t i) {
    int64_t n = p->tok_off[i + 1] - p->tok_off[i];
    fprintf(f, "{\"line\": %lld, \"logprob\": %.9g, \"tokens\": %lld", (long long)i + 1, p->sum[i],
            (long long)n);
    if (p->cfg->logprob.per_token) {
        const int32_t *seq = p->seqs.ids + p->seqs.off[i] + 1;
        fprintf(f, ", \"ids\": [");
        for (int64_t t = 0; t < n; t++) fprintf(f, "%s%d", t ? ", " : "", seq[t]);
        fprintf(f, "], \"token_logprobs\": [");
        for (int64_t t = 0; t < n; t++) fprintf(f, "%s%.9g", t ? ", " : "", p->lp[p->tok_off[i] + t]);
        fprintf(f, "]");
    }
    fprintf(f, "}\n");
}

// A file output appears complete (renamed from its temporary) or not at all.
static LmStatus output_write(const Logprob *p) {
    FileOut o;
    LM_TRY(file_out_open(&o, p->cfg->logprob.output, "logprob.output"));
    for (int64_t i = 0; i < p->seqs.n; i++) line_write(p, o.f, i);
    return file_out_close(&o, LM_OK);
}

// A LANDeRMT model with routing gates scores with the routes of
// logprob.direction, as translate decodes with them.
static LmStatus routes_setup(Logprob *p) {
    const Config *c = p->cfg;
    if (!p->lm.n_gates) return LM_OK;
    if (!c->logprob.direction[0]) {
        lm_error("model %s routes its FFN neurons by direction (CAR gates); logprob.direction is "
                 "not set", c->model.checkpoint);
        lm_hint("set logprob.direction to the translation direction of the lines, e.g. de-en");
        return LM_EUSAGE;
    }
    LM_TRY(decode_routing_init(&p->rt, &p->lm, &p->m.cfg, c->logprob.direction, c->model.checkpoint));
    p->m.route = p->rt.route;
    return LM_OK;
}

// Every rank takes part in each agreement whatever failed where.
static LmStatus run(Logprob *p) {
    p->seqs.off = xcalloc(1, sizeof(int64_t));
    LmStatus st = config_require(p->cfg, (const char *const[]){"model.checkpoint"}, 1);
    if (st == LM_OK) st = trained_load(p->cfg->model.checkpoint, &p->m, &p->lm, &p->trained);
    if (st == LM_OK) st = model_keys_agree(p->cfg, &p->m.cfg, p->cfg->model.checkpoint);
    if (st == LM_OK) st = routes_setup(p);
    if (st == LM_OK && comm_rank() == 0) st = setup(p);
    if (st == LM_OK && comm_rank() == 0) st = input_read(p);
    st = (LmStatus)comm_agree_status(st);
    if (st != LM_OK) return st;
    seqs_share(&p->seqs);
    score_all(p);
    return comm_rank() == 0 ? output_write(p) : LM_OK;
}

LmStatus logprob_run(const Config *c) {
    Logprob p;
    memset(&p, 0, sizeof p);
    p.cfg = c;
    tokenizer_init(&p.tok);
    LmStatus st = run(&p);
    decode_routing_free(&p.rt);
    trained_free(&p.trained, &p.m, &p.lm);
    tokenizer_free(&p.tok);
    free(p.seqs.off), free(p.seqs.ids), free(p.tok_off), free(p.lp), free(p.sum);
    return (LmStatus)comm_agree_status(st);
}
