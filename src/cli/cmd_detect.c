#include "cli/cli.h"
#include "landermt/detect.h"

LmStatus cmd_detect(CliArgs *a) {
    threads_setup();
    return detect_run(&a->cfg);
}
