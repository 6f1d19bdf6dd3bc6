#include "cli/cli.h"
#include "landermt/detect.h"

LmStatus cmd_detect(CliArgs *a) {
    startup(a);
    return detect_run(&a->cfg);
}
