#include "cli/cli.h"
#include "train/loop.h"

LmStatus cmd_train(CliArgs *a) {
    startup(a);
    return train_run(&a->cfg, a->config_text);
}
