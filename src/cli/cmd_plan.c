#include "cli/cli.h"
#include "train/memory.h"

LmStatus cmd_plan(CliArgs *a) { return mem_plan_run(&a->cfg, a->pos[0]); }
