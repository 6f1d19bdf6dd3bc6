// landermt: one executable, one subcommand per stage (DESIGN §10).
// Exit status: 0 ok, 1 runtime error, 2 usage/config error, 75 preempted.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/h5.h"
#include "mpi/comm.h"
#include "util/alloc.h"
#include "util/signals.h"

typedef struct {
    const char *name;
    LmStatus (*run)(CliArgs *);
    const char *help;
    int n_files;  // positional FILE arguments it takes (inspect: 1); -N: N or more
    int options;  // 1: it reads its own --options (tokenize); others refuse them
} Command;

static const Command COMMANDS[] = {
    {"prep", cmd_prep, "build a corpus file (tokenizer, bitext, mono) from TSV, Moses, text, .mo", 0, 0},
    {"train", cmd_train, "train (train.mode full | layers | landermt | general | specific | lora)", 0, 0},
    {"detect", cmd_detect, "score FFN neurons per direction, select layers, classify -> neurons file", 0, 0},
    {"bench", cmd_bench, "time train steps of a configured model: tokens/s, phases, MFU", 0, 0},
    {"translate", cmd_translate, "decode translate.direction from a corpus split, file:PATH or stdin", 0, 0},
    {"evaluate", cmd_evaluate, "BLEU/chrF per direction and perplexity per language for checkpoints", 0, 0},
    {"export", cmd_export, "model -> standalone checkpoint or HF directory (export.format): export -c CFG IN OUT", 2, 0},
    {"convert", cmd_convert, "Hugging Face model directory -> landermt checkpoint: convert DIR OUT.h5", 2, 0},
    {"init", cmd_init, "random Hugging Face model directory from a config.json: init CONFIG.json OUT_DIR", 2, 0},
    {"plan", cmd_plan, "memory per rank and per node of training a config.json model: plan CONFIG.json", 1, 0},
    {"logprob", cmd_logprob, "log-probability of given lines (token ids or text) under model.checkpoint", 0, 0},
    {"score", cmd_score, "BLEU and chrF2 of a hypothesis file: score HYP REF [REF...]", -2, 0},
    {"inspect", cmd_inspect, "summarise a landermt HDF5 file or a Hugging Face model directory: inspect PATH", 1, 0},
    {"tokenize", cmd_tokenize, "text <-> token ids: tokenize [--special] [--decode] [--json] TOKENIZER [FILE]", -1, 1},
};
enum { N_COMMANDS = sizeof COMMANDS / sizeof *COMMANDS };

static void usage(FILE *f) {
    fprintf(f, "landermt %s — LANDeRMT selective finetuning of LLMs for translation\n\n"
               "usage: landermt COMMAND [-c CONFIG.yaml]... [--set key.path=value]... "
               "[--dump-config] [--help]\n\ncommands:\n", LANDERMT_VERSION);
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fprintf(f, "\noptions:\n"
               "  -c FILE          YAML config; repeat to merge (later files win)\n"
               "  --set KEY=VALUE  override one key, e.g. --set train.lr=1e-4 (repeatable)\n"
               "  --dump-config    print the resolved configuration and exit\n"
               "  --help           this help\n"
               "\nKeys are documented in docs/config.md. Exit status: 0 ok, 1 runtime error,\n"
               "2 usage or configuration error, 75 preempted after saving a checkpoint.\n");
}

// An empty argument is a shell variable that was not set: taken as a path
// it would give errors that name nothing ("error: : no such file").
static LmStatus args_nonempty(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (argv[i][0]) continue;
        if (i > 1) lm_error("command-line argument %d (after '%s') is empty", i, argv[i - 1]);
        else lm_error("command-line argument 1 is empty");
        lm_hint("give a file, key or value there; an unset shell variable expands to nothing");
        return LM_EUSAGE;
    }
    return LM_OK;
}

static LmStatus parse_args(int argc, char **argv, CliArgs *a) {
    memset(a, 0, sizeof *a);
    LM_TRY(args_nonempty(argc, argv));
    a->files = xcalloc((size_t)argc, sizeof(char *));
    a->overrides = xcalloc((size_t)argc, sizeof(char *));
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) a->help = 1;
        else if (!strcmp(s, "--dump-config")) a->dump_config = 1;
        else if ((!strcmp(s, "-c") || !strcmp(s, "--config")) && has_value) a->files[a->n_files++] = argv[++i];
        else if (!strcmp(s, "--set") && has_value) a->overrides[a->n_overrides++] = argv[++i];
        else if (!strncmp(s, "--set=", 6)) a->overrides[a->n_overrides++] = s + 6;
        else if (s[0] != '-' && !a->sub) a->sub = s;
        else if ((s[0] != '-' || !strcmp(s, "-")) && a->n_pos < CLI_MAX_POS) a->pos[a->n_pos++] = s;
        else if (!strncmp(s, "--", 2) && a->n_opts < CLI_MAX_POS) a->opts[a->n_opts++] = s;
        else {
            lm_error("unexpected argument '%s'%s", s,
                     (!strcmp(s, "-c") || !strcmp(s, "--set")) ? " (missing its value)" : "");
            lm_hint("run 'landermt --help'");
            return LM_EUSAGE;
        }
    }
    return LM_OK;
}

static const Command *find_command(const char *name) {
    for (int i = 0; name && i < N_COMMANDS; i++)
        if (!strcmp(COMMANDS[i].name, name)) return &COMMANDS[i];
    return NULL;
}

static int files_ok(const Command *cmd, int n) {
    return cmd->n_files >= 0 ? n == cmd->n_files : n >= -cmd->n_files;
}

static LmStatus run(int argc, char **argv) {
    CliArgs a;
    LmStatus st = parse_args(argc, argv, &a);
    const Command *cmd = st == LM_OK ? find_command(a.sub) : NULL;
    if (st == LM_OK && (a.help || !a.sub)) {
        // Asked for: stdout, exit 0. A usage error: stderr, exit 2.
        usage(a.help ? stdout : stderr);
        st = a.help ? LM_OK : LM_EUSAGE;
    } else if (st == LM_OK && !cmd) {
        lm_error("unknown command '%s'", a.sub);
        lm_hint("run 'landermt --help' for the list of commands");
        st = LM_EUSAGE;
    } else if (st == LM_OK && !cmd->options && a.n_opts) {
        lm_error("unexpected argument '%s'", a.opts[0]);
        lm_hint("run 'landermt --help'");
        st = LM_EUSAGE;
    } else if (st == LM_OK && !files_ok(cmd, a.n_pos) && !a.dump_config) {
        lm_error("'landermt %s' takes %s%d file argument(s), got %d", cmd->name,
                 cmd->n_files < 0 ? "at least " : "", abs(cmd->n_files), a.n_pos);
        lm_hint("run 'landermt --help'");
        st = LM_EUSAGE;
    } else if (st == LM_OK) {
        st = config_load(&a.cfg, a.files, a.n_files, a.overrides, a.n_overrides);
        if (st == LM_OK) a.config_text = config_dump(&a.cfg);
        if (st == LM_OK && a.dump_config) {
            if (comm_rank() == 0) fputs(a.config_text, stdout);
        } else if (st == LM_OK) {
            st = cmd->run(&a);
        }
    }
    free(a.files), free(a.overrides), free(a.config_text);
    return st;
}

// After an allocation failure: end every rank, as one rank's exit would
// leave the others waiting in a collective.
static void fatal_exit(void) {
    if (comm_size() > 1) comm_abort(1);
    exit(1);
}

// OpenBLAS reserves ~128 MiB per thread and MPI some more at start-up; under
// a smaller address-space limit (ulimit -v) they crash or spin in their own
// allocation retries. Say so instead, before anything starts.
#define STARTUP_MIB 512
#define BLAS_THREAD_MIB 128
int openblas_get_num_threads(void);
static void address_space_check(void) {
    struct rlimit r;
    double need = ((double)STARTUP_MIB + BLAS_THREAD_MIB * openblas_get_num_threads()) * 1048576.0;
    if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY || (double)r.rlim_cur >= need)
        return;
    fprintf(stderr, "error: the address space is limited to %.0f MiB (ulimit -v); landermt needs "
            "at least %.0f MiB to start (%d OpenBLAS threads)\n", (double)r.rlim_cur / 1048576.0,
            need / 1048576.0, openblas_get_num_threads());
    fprintf(stderr, "HINT: raise the limit%s\n",
            openblas_get_num_threads() > 1 ? ", or set OPENBLAS_NUM_THREADS=1" : "");
    _exit(1);  // exit() would wait for OpenBLAS threads that may be stuck allocating
}

int main(int argc, char **argv) {
    address_space_check();
    comm_init(&argc, &argv);
    alloc_set_fatal(fatal_exit);
    signals_install();
    h5_init();
    LmStatus st = run(argc, argv);
    // Results printed to a full disk or a closed pipe must not pass for success.
    if (fflush(stdout) != 0 || ferror(stdout)) {
        lm_error("cannot write to standard output: %s", strerror(errno));
        if (st == LM_OK) st = LM_ERUNTIME;
    }
    int code = comm_agree_status((int)st);
    comm_finalize();
    return code;
}
