#include "cli/cli.h"
#include "decode/decode.h"

LmStatus cmd_translate(CliArgs *a) {
    startup_stdout_free(a, a->cfg.translate.output);
    return translate_run(&a->cfg);
}
