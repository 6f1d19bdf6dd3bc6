// `landermt tokenize`: text lines <-> token ids with any tokenizer landermt
// reads (docs/tokenizer.md). One output line per input line:
//   encode: [id,id,...]       (--special: with the post-processor's tokens)
//   decode: the text          (--decode; input lines are [id,...] arrays;
//                              special tokens are kept only with --special)
// --json reads text lines as JSON strings and writes decoded text as JSON
// strings (JSON.stringify's format), so newlines and any character fit on
// one line. --stats prints the loading time and the encoding or decoding
// throughput (time inside the tokenizer only) to stderr.
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "mpi/comm.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/jsonout.h"
#include "util/timer.h"

typedef struct {
    int special, decode, json, stats;
    const char *tokenizer, *input;
    double seconds;          // inside the tokenizer
    int64_t lines, bytes, tokens;
} TokArgs;

static LmStatus parse(const CliArgs *a, TokArgs *t) {
    memset(t, 0, sizeof *t);
    for (int i = 0; i < a->n_opts; i++) {
        const char *o = a->opts[i];
        if (!strcmp(o, "--special")) t->special = 1;
        else if (!strcmp(o, "--decode")) t->decode = 1;
        else if (!strcmp(o, "--json")) t->json = 1;
        else if (!strcmp(o, "--stats")) t->stats = 1;
        else {
            lm_error("tokenize: unknown option '%s'", o);
            lm_hint("landermt tokenize [--special] [--decode] [--json] [--stats] TOKENIZER [FILE]");
            return LM_EUSAGE;
        }
    }
    if (a->n_pos < 1 || a->n_pos > 2) {
        lm_error("tokenize takes a tokenizer and optionally an input file, got %d argument(s)",
                 a->n_pos);
        lm_hint("landermt tokenize [--special] [--decode] [--json] TOKENIZER [FILE]; TOKENIZER is a "
                "tokenizer.json, a Hugging Face model directory, a corpus or a checkpoint");
        return LM_EUSAGE;
    }
    t->tokenizer = a->pos[0];
    t->input = a->n_pos == 2 && strcmp(a->pos[1], "-") ? a->pos[1] : NULL;
    return LM_OK;
}

// The text of a --json input line.
static LmStatus json_text(const char *line, size_t len, int64_t no, json_t **v) {
    json_error_t err;
    *v = json_loadb(line, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (*v && json_is_string(*v)) return LM_OK;
    lm_error("tokenize input line %lld: expected a JSON string%s%s", (long long)no,
             *v ? "" : ": ", *v ? "" : err.text);
    json_decref(*v);
    return LM_ERUNTIME;
}

static LmStatus encode_line(Tokenizer *tok, TokArgs *t, const char *line, size_t len,
                            int64_t no, TokIds *ids, FILE *out) {
    json_t *v = NULL;
    if (t->json) {
        LM_TRY(json_text(line, len, no, &v));
        line = json_string_value(v), len = json_string_length(v);
    }
    ids->n = 0;
    double t0 = timer_now();
    int64_t k = tokenizer_encode(tok, line, len, t->special ? TOK_SPECIAL : 0, ids);
    t->seconds += timer_now() - t0;
    t->bytes += (int64_t)len, t->tokens += ids->n;
    json_decref(v);
    if (k < 0) return LM_ERUNTIME;
    fputc('[', out);
    for (int64_t i = 0; i < ids->n; i++) fprintf(out, i ? ",%d" : "%d", (int)ids->v[i]);
    fputs("]\n", out);
    return LM_OK;
}

// The ids of a decode input line: a JSON array of integers.
static LmStatus line_ids(const char *line, size_t len, int64_t no, TokIds *ids) {
    json_error_t err;
    json_t *v = json_loadb(line, len, 0, &err);
    LmStatus st = v && json_is_array(v) ? LM_OK : LM_ERUNTIME;
    ids->n = 0;
    for (size_t i = 0; st == LM_OK && i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_integer(x) || json_integer_value(x) < INT32_MIN || json_integer_value(x) > INT32_MAX) {
            st = LM_ERUNTIME;
            break;
        }
        if (ids->n == ids->cap) ids->cap = 2 * ids->cap + 16, ids->v = xrealloc(ids->v, (size_t)ids->cap * 4);
        ids->v[ids->n++] = (int32_t)json_integer_value(x);
    }
    if (st != LM_OK) {
        lm_error("tokenize --decode input line %lld: expected a JSON array of token ids like [1,2,3]",
                 (long long)no);
        if (!v) lm_error("line %lld, column %d: %s", (long long)no, err.column, err.text);
    }
    json_decref(v);
    return st;
}

static LmStatus decode_line(Tokenizer *tok, TokArgs *t, const char *line, size_t len,
                            int64_t no, TokIds *ids, FILE *out) {
    LM_TRY(line_ids(line, len, no, ids));
    char *text;
    size_t n;
    double t0 = timer_now();
    LM_TRY(tokenizer_decode(tok, ids->v, ids->n, t->special ? TOK_SPECIAL : 0, &text, &n));
    t->seconds += timer_now() - t0;
    t->bytes += (int64_t)n, t->tokens += ids->n;
    if (t->json) json_write_string(out, text, n);
    else fwrite(text, 1, n, out);
    fputc('\n', out);
    free(text);
    return LM_OK;
}

// Every line of in ("\n" ends a line and is not part of it).
static LmStatus run_lines(Tokenizer *tok, TokArgs *t, FILE *in, FILE *out) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    TokIds ids = {0};
    LmStatus st = LM_OK;
    for (int64_t no = 1; st == LM_OK && (len = getline(&line, &cap, in)) >= 0; no++) {
        if (len && line[len - 1] == '\n') len--;
        st = t->decode ? decode_line(tok, t, line, (size_t)len, no, &ids, out)
                       : encode_line(tok, t, line, (size_t)len, no, &ids, out);
        t->lines++;
    }
    if (st == LM_OK && ferror(in)) {
        lm_error("tokenize: cannot read %s", t->input ? t->input : "stdin");
        st = LM_ERUNTIME;
    }
    free(line);
    tokids_free(&ids);
    return st;
}

LmStatus cmd_tokenize(CliArgs *a) {
    if (comm_rank() != 0) return LM_OK;
    TokArgs t;
    LM_TRY(parse(a, &t));
    FILE *in = t.input ? fopen(t.input, "rb") : stdin;
    if (!in) {
        lm_error("tokenize: cannot open %s", t.input);
        return LM_ERUNTIME;
    }
    Tokenizer tok;
    double t0 = timer_now();
    LmStatus st = tokenizer_open(t.tokenizer, "tokenizer", &tok);
    double load = timer_now() - t0;
    if (st == LM_OK) st = run_lines(&tok, &t, in, stdout);
    if (st == LM_OK && t.stats) {
        char desc[512];
        tokenizer_describe(&tok, desc, sizeof desc);
        fprintf(stderr, "tokenize: %s\ntokenize: loaded in %.2f s; %s %lld lines, %.2f MB, %lld tokens "
                "in %.3f s: %.2f MB/s, %.0f tokens/s (one thread)\n", desc, load,
                t.decode ? "decoded" : "encoded", (long long)t.lines, (double)t.bytes / 1e6,
                (long long)t.tokens, t.seconds, (double)t.bytes / 1e6 / (t.seconds > 0 ? t.seconds : 1),
                (double)t.tokens / (t.seconds > 0 ? t.seconds : 1));
    }
    if (st == LM_OK && fflush(stdout)) {
        lm_error("tokenize: cannot write the output");
        st = LM_ERUNTIME;
    }
    if (in != stdin) fclose(in);
    tokenizer_free(&tok);
    return st;
}
