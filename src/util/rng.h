// Deterministic random numbers (xoshiro128+-style splitmix/xorshift mix) so
// that initialisation and data order depend only on seeds, never on the
// machine, rank count or library versions.
#ifndef LM_RNG_H
#define LM_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[2]; } Rng;

void rng_seed(Rng *r, uint64_t seed);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);            // [0, 1)
float rng_normal(Rng *r);              // N(0, 1), Box-Muller
// Fisher-Yates permutation of 0..n-1 into perm.
void rng_permute(Rng *r, int64_t *perm, int64_t n);

#endif
