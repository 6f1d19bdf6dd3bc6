#include "cli/cli.h"
#include "eval/evaluate.h"

LmStatus cmd_evaluate(CliArgs *a) {
    startup(a);
    return evaluate_run(&a->cfg);
}
