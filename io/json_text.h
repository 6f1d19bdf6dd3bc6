// JSON text laid out as Python's json.dumps(v, indent=2, sort_keys=True)
// writes it — the layout of transformers' config.json and index files —
// so files written here diff cleanly against the Hub's: keys sorted, reals
// in their shortest round-trip form (1e-05, 10000.0), non-ASCII escaped.
#ifndef LM_JSON_TEXT_H
#define LM_JSON_TEXT_H

#include <jansson.h>

// Malloc'ed text ending in a newline.
char *json_text(const json_t *v);
// A JSON real holding the shortest decimal that reads back as f, so a
// float32 1e-5 is written as 1e-05 rather than 9.999999747378752e-06.
json_t *json_real_of_float(float f);

#endif
