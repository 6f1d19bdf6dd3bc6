#include "cli/cli.h"
#include "train/export.h"

LmStatus cmd_export(CliArgs *a) { return export_run(&a->cfg, a->pos[0], a->pos[1], a->config_text); }
