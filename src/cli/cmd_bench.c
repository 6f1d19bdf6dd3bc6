#include "cli/cli.h"
#include "train/bench.h"

LmStatus cmd_bench(CliArgs *a) { return bench_run(&a->cfg); }
