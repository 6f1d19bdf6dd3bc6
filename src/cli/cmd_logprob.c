#include "cli/cli.h"
#include "eval/logprob.h"

LmStatus cmd_logprob(CliArgs *a) {
    startup_stdout_free(a, a->cfg.logprob.output);
    return logprob_run(&a->cfg);
}
