#include <stdio.h>

#include "cli/cli.h"
#include "train/export.h"

LmStatus cmd_export(CliArgs *a) { return export_run(&a->cfg, a->pos[0], a->pos[1], a->config_text); }

// convert = export of a standalone model to a landermt checkpoint.
LmStatus cmd_convert(CliArgs *a) {
    snprintf(a->cfg.export.format, sizeof a->cfg.export.format, "hdf5");
    return export_run(&a->cfg, a->pos[0], a->pos[1], a->config_text);
}
