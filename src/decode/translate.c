// `landermt translate` (docs/decoding.md): the sentences of a corpus split,
// a text file or stdin, prompted exactly as in training ([bos] head src
// tail), decoded with the checkpoint's routes for the direction, written
// one line per input in input order.
//
// Ranks: rank 0 reads the input and sends the prompts to every rank;
// batches are dealt round-robin (batch k to rank k mod R); their text comes
// back to rank 0 in batch order, which writes it. Every collective is
// entered by all ranks whatever fails, so nothing hangs.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/open.h"
#include "decode/decode.h"
#include "decode/prompts.h"
#include "util/lines.h"
#include "io/corpus.h"
#include "io/files.h"
#include "io/h5.h"
#include "mpi/comm.h"
#include "train/model_load.h"
#include "train/trained.h"
#include "util/alloc.h"
#include "util/timer.h"

typedef enum { IN_SPLIT, IN_FILE, IN_STDIN } InputKind;

typedef struct {
    const Config *cfg;
    Model model;
    Trained trained;                 // what the model refers to (a training checkpoint's pack)
    Tokenizer tok;
    CkptLandermt lm;
    DecodeRouting rt;
    PromptList pl;                   // the prompts of every sentence
    FileOut out;                     // translate.output (rank 0)
} Translate;

static InputKind input_kind(const char *in) {
    if (!strcmp(in, "-")) return IN_STDIN;
    return strncmp(in, "file:", 5) ? IN_SPLIT : IN_FILE;
}

static LmStatus translate_check(const Config *c) {
    LM_TRY(config_require(c, (const char *const[]){"model.checkpoint", "translate.direction"}, 2));
    const char *d = c->translate.direction, *in = c->translate.input;
    if (!corpus_stream_is_direction(d) || strlen(d) >= NEURONS_NAME) {
        lm_error("translate.direction '%s' is not a direction s-t", d);
        lm_hint("two language codes joined by '-', e.g. translate.direction: de-en");
        return LM_EUSAGE;
    }
    if (input_kind(in) == IN_SPLIT) return config_require(c, (const char *const[]){"data.corpus"}, 1);
    if (input_kind(in) == IN_FILE && !in[5]) {
        lm_error("translate.input 'file:' names no file");
        lm_hint("translate.input: file:PATH (one sentence per line), - (stdin) or a split name");
        return LM_EUSAGE;
    }
    return LM_OK;
}

static LmStatus model_setup(Translate *tr) {
    const Config *c = tr->cfg;
    LM_TRY(config_require(c, (const char *const[]){"model.checkpoint"}, 1));
    LM_TRY(trained_load(c->model.checkpoint, &tr->model, &tr->lm, &tr->trained));
    LM_TRY(model_keys_agree(c, &tr->model.cfg, c->model.checkpoint));
    LM_TRY(decode_routing_init(&tr->rt, &tr->lm, &tr->model.cfg, c->translate.direction,
                               c->model.checkpoint));
    tr->model.route = tr->rt.route;
    return LM_OK;
}

// The corpus tokenizer, which must be the model's if it carries one; or
// the model's when there is no corpus.
static LmStatus tokenizer_setup(Translate *tr) {
    const Config *c = tr->cfg;
    const char *ck = c->model.checkpoint;
    Tokenizer own;
    int has_own;
    LmStatus st = ckpt_tokenizer(ck, &own, &has_own);
    if (st == LM_OK && c->data.corpus[0]) {
        st = corpus_check_vocab(c->data.corpus, tr->model.cfg.vocab_size);
        if (st == LM_OK) st = corpus_tokenizer(c->data.corpus, &tr->tok);
        if (st == LM_OK && has_own) st = tokenizers_match(&tr->tok, c->data.corpus, &own, ck);
    } else if (st == LM_OK && !has_own) {
        lm_error("checkpoint %s has no tokenizer and data.corpus is not set", ck);
        lm_hint("set data.corpus to the corpus the model was trained on");
        st = LM_EUSAGE;
    } else if (st == LM_OK) {
        tr->tok = own;
        tokenizer_init(&own);
    }
    tokenizer_free(&own);
    if (st == LM_OK && tr->tok.vocab_size > tr->model.cfg.vocab_size) {
        lm_error("the tokenizer has %d tokens but the model's vocab_size is %d (checkpoint %s)",
                 tr->tok.vocab_size, tr->model.cfg.vocab_size, ck);
        st = LM_ERUNTIME;
    }
    return st;
}

// ---------------------------------------------------------------- input

// Appends [bos] head src tail; a source too long for the model's
// positions is cut (and counted).

// Source sides of the direction's split (bitext s-t, or t-s swapped).
static LmStatus split_read(Translate *tr) {
    const Config *c = tr->cfg;
    CorpusReader r;
    LM_TRY(corpus_reader_open(&r, c->data.corpus, c->translate.direction, c->translate.input,
                              tr->model.cfg.vocab_size));
    int64_t n = r.n, max = c->translate.max_sentences;
    if (max > 0 && n > max) n = max;
    int32_t *src = xmalloc(sizeof(int32_t) * (size_t)(r.src_offsets[n] + 1));
    int32_t *tgt = xmalloc(sizeof(int32_t) * (size_t)(r.tgt_offsets[n] + 1));
    LmStatus st = n ? corpus_reader_read(&r, 0, n, src, tgt) : LM_OK;
    for (int64_t i = 0; st == LM_OK && i < n; i++)
        prompts_add(&tr->pl, src + r.src_offsets[i], r.src_offsets[i + 1] - r.src_offsets[i]);
    free(src), free(tgt);
    corpus_reader_close(&r);
    return st;
}

// One sentence per line (without its "\n" or "\r\n"), tokenized.
// Raw text lines, tokenized with the model's tokenizer.
static LmStatus text_read(Translate *tr, FILE *f, const char *path, const char *what) {
    Lines l;
    LM_TRY(f ? lines_read(f, what, &l) : lines_read_path(path, what, &l));
    TokIds ids = {0};
    LmStatus st = LM_OK;
    for (int64_t i = 0; st == LM_OK && i < l.n; i++) {
        ids.n = 0;
        if (tokenizer_encode(&tr->tok, l.line[i], strlen(l.line[i]), 0, &ids) < 0) st = LM_ERUNTIME;
        else prompts_add(&tr->pl, ids.v, ids.n);
    }
    tokids_free(&ids);
    lines_free(&l);
    return st;
}

// The direction's prompt parts and the room they leave for the source
// (every rank: decoding needs the eos id).
static LmStatus prompt_setup(Translate *tr) {
    return prompts_init(&tr->pl, tr->cfg, &tr->tok, tr->cfg->translate.direction,
                        tr->model.cfg.max_position_embeddings);
}

static LmStatus inputs_read(Translate *tr) {
    const char *in = tr->cfg->translate.input;
    if (input_kind(in) == IN_SPLIT) return split_read(tr);
    if (input_kind(in) == IN_FILE) return text_read(tr, NULL, in + 5, "translate.input file:");
    return text_read(tr, stdin, NULL, "translate.input - (stdin)");
}

// --------------------------------------------------------------- output

// ---------------------------------------------------------------- decode

// The prompts of rank 0 on every rank.
static void prompts_share(Translate *tr) {
    int64_t size[2] = {tr->pl.n, tr->pl.n ? tr->pl.off[tr->pl.n] : 0};
    comm_bcast(size, sizeof size, 0);
    if (comm_rank() != 0) {
        tr->pl.n = (int)size[0];
        tr->pl.off = xrealloc(tr->pl.off, sizeof(int64_t) * (size_t)(size[0] + 1));
        tr->pl.ids = xrealloc(tr->pl.ids, sizeof(int32_t) * (size_t)(size[1] + 1));
    }
    comm_bcast(tr->pl.off, sizeof(int64_t) * (size_t)(size[0] + 1), 0);
    comm_bcast(tr->pl.ids, sizeof(int32_t) * (size_t)size[1], 0);
}

// Appends the detokenized ids as one line (line breaks inside become spaces).
static void line_append(Tokenizer *tok, const int32_t *ids, int n, char **text, size_t *len) {
    char *s;
    size_t k = 0;
    if (tokenizer_decode(tok, ids, n, 0, &s, &k) != LM_OK) s = NULL, k = 0;
    *text = xrealloc(*text, *len + k + 2);
    for (size_t i = 0; i < k; i++) (*text)[*len + i] = s[i] == '\n' || s[i] == '\r' ? ' ' : s[i];
    (*text)[*len + k] = '\n';
    *len += k + 1;
    free(s);
}

// Sentences [first, first+nb) as text, one line each; *tokens += generated.
static char *batch_translate(Translate *tr, int first, int nb, size_t *len, int64_t *tokens) {
    const Config *c = tr->cfg;
    DecodeOpts o = {.beam = c->translate.beam, .max_new_tokens = c->translate.max_new_tokens,
                    .eos_id = tr->pl.sp.eos, .max_len = tr->model.cfg.max_position_embeddings,
                    .n_vocab = tr->tok.vocab_size};
    int32_t *out = xmalloc(sizeof(int32_t) * (size_t)nb * o.max_new_tokens);
    int *n_out = xmalloc(sizeof(int) * (size_t)nb);
    DecodePrompts p = prompts_view(&tr->pl, first, nb);
    decode_batch(&tr->model, &p, &o, out, n_out);
    char *text = xmalloc(1);
    *len = 0;
    for (int r = 0; r < nb; r++) {
        line_append(&tr->tok, out + (size_t)r * o.max_new_tokens, n_out[r], &text, len);
        *tokens += n_out[r];
    }
    free(out), free(n_out);
    return text;
}

// Batch k's text from rank k mod R to rank 0, which writes it.
static LmStatus batch_gather(Translate *tr, int k, char **text, size_t *len, LmStatus st) {
    int root = k % comm_size(), me = comm_rank();
    if (comm_size() > 1) {
        uint64_t n = *len;
        comm_bcast(&n, sizeof n, root);
        if (me != root) *text = xmalloc((size_t)n + 1), *len = (size_t)n;
        comm_bcast(*text, *len, root);
    }
    if (me == 0 && st == LM_OK && fwrite(*text, 1, *len, tr->out.f) != *len) {
        lm_error("translate.output %s: write failed: %s", tr->cfg->translate.output, strerror(errno));
        st = LM_ERUNTIME;
    }
    free(*text);
    *text = NULL;
    return st;
}

static LmStatus translate_all(Translate *tr) {
    int bs = tr->cfg->translate.batch_size, R = comm_size(), me = comm_rank();
    int n_batches = (int)(((int64_t)tr->pl.n + bs - 1) / bs);
    char **text = xcalloc((size_t)n_batches + 1, sizeof(char *));
    size_t *len = xcalloc((size_t)n_batches + 1, sizeof(size_t));
    int64_t tokens = 0;
    double t0 = timer_now(), shown = t0;
    for (int k = me; k < n_batches; k += R) {
        int first = k * bs, nb = tr->pl.n - first < bs ? tr->pl.n - first : bs;
        text[k] = batch_translate(tr, first, nb, &len[k], &tokens);
        if (me == 0 && timer_now() - shown > 60)
            fprintf(stderr, "translate: batch %d of %d done (rank 0)\n", k + 1, n_batches), shown = timer_now();
    }
    LmStatus st = LM_OK;
    for (int k = 0; k < n_batches; k++) st = batch_gather(tr, k, &text[k], &len[k], st);
    comm_allreduce_i64(&tokens, 1);
    double dt = timer_now() - t0;
    if (me == 0)
        fprintf(stderr, "translate %s: %d sentences, %lld tokens in %.2f s (%.1f sentences/s, "
                "%.1f tokens/s), beam %d, %d rank(s)%s\n", tr->cfg->translate.direction, tr->pl.n,
                (long long)tokens, dt, tr->pl.n / (dt > 0 ? dt : 1),
                (double)tokens / (dt > 0 ? dt : 1), tr->cfg->translate.beam, R,
                tr->rt.route ? ", CAR routing" : "");
    free(text), free(len);
    return st;
}

// ------------------------------------------------------------------ run

static void translate_free(Translate *tr) {
    trained_free(&tr->trained, &tr->model, &tr->lm);
    tokenizer_free(&tr->tok);
    decode_routing_free(&tr->rt);
    prompts_free(&tr->pl);
}

// Rank 0 reads the input and opens the output; every rank learns how.
static LmStatus inputs_agree(Translate *tr) {
    LmStatus st = LM_OK;
    if (comm_rank() == 0) {
        st = inputs_read(tr);
        if (st == LM_OK) st = file_out_open(&tr->out, tr->cfg->translate.output, "translate.output");
        if (st == LM_OK && tr->pl.n_cut)
            fprintf(stderr, "warning: %d source sentence(s) were cut to %lld tokens to fit "
                    "max_position_embeddings = %d\n", tr->pl.n_cut, (long long)tr->pl.max_src,
                    tr->model.cfg.max_position_embeddings);
    }
    comm_bcast(&st, sizeof st, 0);
    return st;
}

LmStatus translate_run(const Config *c) {
    LM_TRY(translate_check(c));
    Translate *tr = xcalloc(1, sizeof *tr);
    tr->cfg = c;
    tokenizer_init(&tr->tok);
    LmStatus st = model_setup(tr);
    if (st == LM_OK) st = tokenizer_setup(tr);
    if (st == LM_OK) st = prompt_setup(tr);
    if (!comm_all(st == LM_OK)) st = st != LM_OK ? st : LM_ERUNTIME;  // failed elsewhere
    if (st == LM_OK) st = inputs_agree(tr);
    if (st == LM_OK) {
        prompts_share(tr);
        st = translate_all(tr);
    }
    st = file_out_close(&tr->out, st);
    translate_free(tr);
    free(tr);
    return st;
}
