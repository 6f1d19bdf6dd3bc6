#include "cli/cli.h"
#include "eval/logprob.h"

LmStatus cmd_logprob(CliArgs *a) {
    startup(a);
    return logprob_run(&a->cfg);
}
