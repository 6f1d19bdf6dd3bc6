#include "cli/cli.h"
#include "train/bench.h"

LmStatus cmd_bench(CliArgs *a) {
    startup(a);
    return bench_run(&a->cfg);
}
