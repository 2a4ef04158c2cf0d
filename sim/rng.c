/* xoshiro256** (Blackman and Vigna), seeded by splitmix64 so that nearby seeds give unrelated
 * streams. Floating point is used only to compare against probabilities and to shape the
 * exponential; both are exact functions of the 64-bit draw, so runs stay reproducible. */
#include <math.h>

#include "rng.h"

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
  for (int i = 0; i < 4; i++)
    r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_u64(struct sim_rng *r)
{
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
  return n ? sim_rng_u64(r) % n : 0;   /* bias < n / 2^64: irrelevant at simulator scales */
}

uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi)
{
  return lo + sim_rng_below(r, hi - lo + 1);
}

/* A draw in [0, 1) with 53 bits. */
static double unit(struct sim_rng *r)
{
  return (double)(sim_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

int sim_rng_chance(struct sim_rng *r, double p)
{
  if (p <= 0)
    return 0;
  if (p >= 1)
    return 1;
  return unit(r) < p;
}

uint64_t sim_rng_exp_ms(struct sim_rng *r, double mean_ms)
{
  double u = unit(r);

  return (uint64_t)(-log(1.0 - u) * mean_ms);
}
