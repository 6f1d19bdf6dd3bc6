#include "cli/cli.h"
#include "train/loop.h"

LmStatus cmd_train(CliArgs *a) {
    threads_setup();
    return train_run(&a->cfg, a->config_text);
}
