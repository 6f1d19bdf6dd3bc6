// Pre-tokenization: splits a byte string into the chunks that BPE works
// inside (a merge never crosses a chunk boundary). Internal to the tokenizer;
// the rules are in docs/tokenizer.md. Chunks partition the input exactly (no
// byte is lost, added or reordered), so any byte string round-trips.
#ifndef LM_PRETOK_H
#define LM_PRETOK_H

#include <stddef.h>
#include <stdint.h>

// Longest chunk in bytes. Runs longer than this (base64 blobs, URLs, Thai
// without spaces) are cut at a code point boundary, which bounds the
// per-chunk work and scratch memory of encoding.
#define PRETOK_MAX_CHUNK 256

// End (exclusive) of the chunk starting at pos; requires pos < len.
// Always returns a value in (pos, pos + PRETOK_MAX_CHUNK].
size_t pretok_next(const uint8_t *s, size_t len, size_t pos);

#endif
