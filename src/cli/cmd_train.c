#include <string.h>

#include "cli/cli.h"
#include "train/loop.h"

LmStatus cmd_train(CliArgs *a) {
    if (a->cfg.train.mode[0] && strcmp(a->cfg.train.mode, "full")) {
        lm_error("train.mode '%s' is not implemented yet (available: full)", a->cfg.train.mode);
        lm_hint("set train.mode: full");
        return LM_EUSAGE;
    }
    threads_setup();
    return train_run(&a->cfg, a->config_text);
}
