// JSON strings written exactly as JavaScript's JSON.stringify writes them
// (the reference tool's format): ", \ and \b \f \n \r \t escaped, other
// control characters as \u00xx, everything else as is; invalid UTF-8
// becomes U+FFFD.
#ifndef LM_JSONOUT_H
#define LM_JSONOUT_H

#include <stddef.h>
#include <stdio.h>

void json_write_string(FILE *out, const char *s, size_t n);

#endif
