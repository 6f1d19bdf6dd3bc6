#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "decode/decode.h"

// The start-up banner goes to stdout; when the translations go there
// (translate.output "-"), it goes to stderr instead so the output holds
// translations only.
LmStatus cmd_translate(CliArgs *a) {
    int saved = -1;
    fflush(stdout);
    if (!strcmp(a->cfg.translate.output, "-") && (saved = dup(STDOUT_FILENO)) >= 0)
        dup2(STDERR_FILENO, STDOUT_FILENO);
    startup(a);
    fflush(stdout);
    if (saved >= 0) dup2(saved, STDOUT_FILENO), close(saved);
    return translate_run(&a->cfg);
}
