#include "cli/cli.h"
#include "train/bench.h"

LmStatus cmd_bench(CliArgs *a) {
    threads_setup();
    return bench_run(&a->cfg);
}
