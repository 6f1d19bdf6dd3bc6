#include "train/run.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ckpt_verify.h"
#include "mpi/comm.h"
#include "util/alloc.h"

// The data position of every stream, into caller-provided arrays.
static void cursors_fill(Run *r, TrainState *ts, char **names, int64_t *epochs, int64_t *pos) {
    for (int i = 0; i < r->ss.n; i++) {
        names[i] = r->ss.train[i].name;
        epochs[i] = r->ss.train[i].epoch, pos[i] = r->ss.train[i].cursor;
    }
    ts->n_cursors = r->ss.n, ts->cursor_names = names;
    ts->cursor_epoch = epochs, ts->cursor_pos = pos;
}

// Full mode: the pack is the whole model in tensor order, so its moments
// are laid out like the model. Selective modes: the packed entries.
static void optimizer_fill(Run *r, TrainState *ts) {
    ParamPack *p = &r->tr.pack;
    if (!strcmp(p->mode, "full")) {
        ts->exp_avg = p->m, ts->exp_avg_sq = p->v;
        return;
    }
    ts->n_packed = (int64_t)p->n;
    ts->packed = p->param, ts->packed_m = p->m, ts->packed_v = p->v;
    ts->layout_hash = pack_layout_hash(p);
    ts->base_checksum = r->base_checksum;
    snprintf(ts->base_path, sizeof ts->base_path, "%s", r->cfg->model.checkpoint);
}

static LmStatus write_rank0(Run *r, const char *path) {
    TrainState ts = r->hist;  // shares the history arrays; not freed here
    char *names[STEP_MAX_STREAMS];
    int64_t epochs[STEP_MAX_STREAMS], pos[STEP_MAX_STREAMS];
    cursors_fill(r, &ts, names, epochs, pos);
    ts.step = r->tr.step;
    ts.skipped_steps = r->tr.skipped;
    const char *job = getenv("SLURM_JOB_ID"), *restarts = getenv("SLURM_RESTART_COUNT");
    snprintf(ts.slurm_job_id, sizeof ts.slurm_job_id, "%s", job ? job : "");
    ts.restart_count = restarts ? atoll(restarts) : 0;
    optimizer_fill(r, &ts);
    const char *dirs[CFG_LIST_MAX];
    for (int i = 0; i < r->cfg->data.directions.n; i++) dirs[i] = r->cfg->data.directions.item[i];
    LandermtState lm;
    pack_landermt_state(&r->tr.pack, &r->neurons, dirs, &lm);
    LmStatus st = ckpt_write(path, &r->model, r->config_text, &ts, r->cfg->data.corpus,
                             r->neurons.k && !r->tr.pack.n_lora ? &lm : NULL);
    if (st == LM_OK) printf("saved %s\n", path);
    return st;
}

LmStatus run_save(Run *r, const char *name) {
    LmStatus st = LM_OK;
    if (comm_rank() == 0) {
        char path[2 * CFG_STR];
        snprintf(path, sizeof path, "%s/%s", r->cfg->train.out_dir, name);
        st = write_rank0(r, path);
    }
    // The other ranks wait for the write: up to train.save_timeout when
    // hang detection is on (a stuck file system is a hang too).
    double d = comm_deadline(), save = r->cfg->train.save_timeout;
    if (d > 0) comm_set_deadline(save > 0 ? fmax(save, d) : 0, "train.save_timeout");
    st = (LmStatus)comm_agree_status(st);
    comm_set_deadline(d, "train.hang_timeout");
    return st;
}

// Steps of the step_<N>.h5 files in dir, ascending; returns the count.
static int list_steps(const char *dir, long long **steps) {
    DIR *d = opendir(dir);
    int n = 0, cap = 16;
    *steps = xmalloc(sizeof(long long) * (size_t)cap);
    for (struct dirent *e; d && (e = readdir(d));) {
        long long s;
        char tail[8] = "";
        if (sscanf(e->d_name, "step_%lld.h5%7s", &s, tail) != 1 || strlen(e->d_name) != 16) continue;
        if (n == cap) *steps = xrealloc(*steps, sizeof(long long) * (size_t)(cap *= 2));
        (*steps)[n++] = s;
    }
    if (d) closedir(d);
    for (int i = 1; i < n; i++)  // insertion sort: a handful of files
        for (int j = i; j > 0 && (*steps)[j] < (*steps)[j - 1]; j--) {
            long long t = (*steps)[j];
            (*steps)[j] = (*steps)[j - 1], (*steps)[j - 1] = t;
        }
    return n;
}

// Only after the newest checkpoint is complete are old ones removed.
static void prune(const Run *r) {
    long long *steps;
    int n = list_steps(r->cfg->train.out_dir, &steps);
    for (int i = 0; i < n - r->cfg->train.keep_last; i++) {
        char path[2 * CFG_STR];
        snprintf(path, sizeof path, "%s/step_%08lld.h5", r->cfg->train.out_dir, steps[i]);
        unlink(path);
    }
    free(steps);
}

LmStatus run_save_step(Run *r) {
    char name[32];
    snprintf(name, sizeof name, "step_%08lld.h5", (long long)r->tr.step);
    LM_TRY(run_save(r, name));
    r->saved_step = r->tr.step;
    if (comm_rank() == 0) prune(r);
    return LM_OK;
}

// Temporary files of interrupted checkpoint writes (<name>.h5.tmp.<pid>,
// io/h5.c): a run owns its out_dir, so any left there is its own debris.
static void remove_stale_tmp(const char *dir) {
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        const char *t = strstr(e->d_name, ".h5.tmp.");
        if (!t || strspn(t + 8, "0123456789") != strlen(t + 8) || !t[8]) continue;
        char path[2 * CFG_STR];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (unlink(path) == 0) printf("resume: removed %s (left by an interrupted checkpoint write)\n", path);
    }
    if (d) closedir(d);
}

// Rank 0: whether a checkpoint can be resumed from: it verifies
// (io/ckpt_verify.c) and a selective run's packed state fits this run and
// its base. The reason goes to why.
static int candidate_ok(Run *r, const char *path, char *why, size_t cap) {
    lm_capture_begin(why, cap);
    LmStatus st = ckpt_verify(path, &r->model);
    if (st == LM_OK && ckpt_is_trainable_only(path)) {  // reading it touches no parameter
        TrainState ts;
        memset(&ts, 0, sizeof ts);
        ts.packed_borrow = 1, ts.packed_cap = r->tr.pack.n;  // sizes and identities only
        st = ckpt_read(path, &r->model, &ts);
        if (st == LM_OK)
            st = pack_restore_check(&r->tr.pack, &ts, r->base_checksum, r->cfg->model.checkpoint, path);
        train_state_free(&ts);
    }
    lm_capture_end();
    return st == LM_OK;
}

// Rank 0: the checkpoint to resume from ("" = start fresh). "auto" takes
// the newest step_*.h5 of out_dir that verifies, saying which ones it
// skipped and why; if none does, that is an error (starting afresh would
// quietly discard the run). A path must verify itself.
static LmStatus resume_choose(Run *r, char *path, size_t cap) {
    const char *want = r->cfg->train.resume, *dir = r->cfg->train.out_dir;
    char why[1024];
    path[0] = '\0';
    remove_stale_tmp(dir);
    if (!want[0]) return LM_OK;
    if (strcmp(want, "auto")) {
        if (candidate_ok(r, want, why, sizeof why)) return snprintf(path, cap, "%s", want), LM_OK;
        lm_error("train.resume %s cannot be used: %s", want, why);
        lm_hint("name another checkpoint, or use train.resume: auto");
        return LM_ERUNTIME;
    }
    long long *steps;
    int n = list_steps(dir, &steps), i = n - 1;
    for (; i >= 0; i--) {
        snprintf(path, cap, "%s/step_%08lld.h5", dir, steps[i]);
        if (candidate_ok(r, path, why, sizeof why)) break;
        fprintf(stderr, "warning: resume: skipping %s: %s\n", path, why);
    }
    free(steps);
    if (i >= 0 || n == 0) {
        if (n == 0) path[0] = '\0';
        return LM_OK;
    }
    path[0] = '\0';
    lm_error("resume: none of the %d checkpoint(s) in %s can be used (see the warnings above)", n, dir);
    lm_hint("move them away to start afresh, or name one with train.resume: PATH");
    return LM_ERUNTIME;
}

static LmStatus restore_cursors(Run *r, const TrainState *ts, const char *path) {
    for (int i = 0; i < r->ss.n; i++) {
        Stream *s = &r->ss.train[i];
        int k = 0;
        while (k < ts->n_cursors && strcmp(ts->cursor_names[k], s->name)) k++;
        if (k == ts->n_cursors) {
            lm_error("checkpoint %s has no data position for stream %s", path, s->name);
            lm_hint("resume with the data.directions / data.mono that wrote it");
            return LM_EUSAGE;
        }
        if (ts->cursor_pos[k] > s->rd.n) {
            lm_error("checkpoint %s: data position %lld of stream %s is beyond its %lld sentences",
                     path, (long long)ts->cursor_pos[k], s->name, (long long)s->rd.n);
            lm_hint("the checkpoint is damaged, or belongs to another corpus than data.corpus");
            return LM_ERUNTIME;
        }
        s->epoch = ts->cursor_epoch[k], s->cursor = ts->cursor_pos[k];
    }
    return LM_OK;
}

// The history moves into the run; the best validation loss follows from it.
static void restore_history(Run *r, TrainState *ts) {
    train_state_free(&r->hist);
    r->hist.n_hist = ts->n_hist;
    r->hist.hist_step = ts->hist_step, r->hist.hist_loss = ts->hist_loss, r->hist.hist_val = ts->hist_val;
    ts->hist_step = NULL, ts->hist_loss = NULL, ts->hist_val = NULL, ts->n_hist = 0;
    for (int i = 0; i < r->hist.n_hist; i++)
        if (isfinite(r->hist.hist_val[i]) && r->hist.hist_val[i] < r->best_val) r->best_val = r->hist.hist_val[i];
}

LmStatus run_resume(Run *r) {
    char path[2 * CFG_STR];
    int st0 = comm_rank() == 0 ? (int)resume_choose(r, path, sizeof path) : 0;
    comm_bcast(&st0, sizeof st0, 0);
    comm_bcast(path, sizeof path, 0);
    if (st0 != LM_OK) return (LmStatus)st0;
    if (!path[0]) {
        if (comm_rank() == 0 && r->cfg->train.resume[0])
            printf("resume: no checkpoint in %s, starting fresh\n", r->cfg->train.out_dir);
        return LM_OK;
    }
    TrainState ts;
    memset(&ts, 0, sizeof ts);
    ParamPack *p = &r->tr.pack;
    if (strcmp(p->mode, "full")) {  // straight into the pack (the node's writer only)
        ts.packed_borrow = 1, ts.packed_cap = p->n;
        if (pack_writer(p)) ts.packed_into[0] = p->param, ts.packed_into[1] = p->m, ts.packed_into[2] = p->v;
    }
    LmStatus st = ckpt_read(path, &r->model, &ts);
    if (st == LM_OK) st = pack_restore(p, &r->model, &ts, r->base_checksum, r->cfg->model.checkpoint, path);
    if (st == LM_OK) st = restore_cursors(r, &ts, path);
    if (st == LM_OK) {
        r->tr.step = ts.step, r->tr.skipped = ts.skipped_steps, r->saved_step = ts.step;
        restore_history(r, &ts);
        if (comm_rank() == 0) printf("resumed from %s at step %lld\n", path, (long long)ts.step);
    }
    train_state_free(&ts);
    return st;
}
