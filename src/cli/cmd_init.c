#include "cli/cli.h"
#include "train/export.h"

LmStatus cmd_init(CliArgs *a) { return init_run(&a->cfg, a->pos[0], a->pos[1]); }
