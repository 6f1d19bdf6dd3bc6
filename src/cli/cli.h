// Shared pieces of the subcommands: parsed common options and the resolved
// configuration.
#ifndef LM_CLI_H
#define LM_CLI_H

#include "io/config.h"
#include "util/err.h"

#define CLI_MAX_POS 16

typedef struct {
    const char *sub;
    const char **files;      // -c (repeatable, later wins)
    int n_files;
    const char **overrides;  // --set a.b=v (repeatable)
    int n_overrides;
    const char *pos[CLI_MAX_POS];  // positional arguments after the command
    int n_pos;
    const char *opts[CLI_MAX_POS]; // other --options (commands that check their own)
    int n_opts;
    int dump_config;
    int help;
    Config cfg;
    char *config_text;       // resolved YAML
} CliArgs;

// Per-rank thread budget (OpenBLAS + OpenMP) and the start-up banner on
// rank 0; every compute command calls it first.
void startup(const CliArgs *a);
// startup() for commands whose results go to `output`: when that is "-"
// (stdout), the banner goes to stderr so stdout holds results only.
void startup_stdout_free(const CliArgs *a, const char *output);

LmStatus cmd_train(CliArgs *a);
LmStatus cmd_bench(CliArgs *a);
LmStatus cmd_detect(CliArgs *a);
LmStatus cmd_prep(CliArgs *a);
LmStatus cmd_inspect(CliArgs *a);
LmStatus cmd_export(CliArgs *a);
LmStatus cmd_translate(CliArgs *a);
LmStatus cmd_evaluate(CliArgs *a);
LmStatus cmd_score(CliArgs *a);
LmStatus cmd_tokenize(CliArgs *a);
LmStatus cmd_convert(CliArgs *a);
LmStatus cmd_init(CliArgs *a);
LmStatus cmd_logprob(CliArgs *a);
LmStatus cmd_plan(CliArgs *a);
// `inspect DIR`: a Hugging Face model directory (src/cli/inspect_hf.c).
LmStatus inspect_hf_dir(const char *path);

#endif
