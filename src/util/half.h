// 16-bit floats: IEEE binary16 (F16) and bfloat16 (BF16) to and from
// float32. Widening is exact; narrowing rounds to nearest, ties to even,
// as PyTorch does. Used by the safetensors reader/writer and by the model's
// linear layers, which keep frozen 16-bit weights as stored.
#ifndef LM_HALF_H
#define LM_HALF_H

#include <stddef.h>
#include <stdint.h>

float half_bf16_to_f32(uint16_t b);
float half_f16_to_f32(uint16_t h);
uint16_t half_f32_to_bf16(float x);
uint16_t half_f32_to_f16(float x);
// out[i] = src[i] widened, n values of 16-bit floats (bf16 = 1: bfloat16,
// else binary16).
void half_widen(const uint16_t *src, int bf16, size_t n, float *out);

#endif
