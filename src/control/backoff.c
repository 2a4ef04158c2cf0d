/* Exponential backoff with full jitter: the delay is drawn uniformly from [0, ceiling], where the
 * ceiling doubles per failure from base_ms up to max_ms. Pure: the caller brings the randomness
 * (the seeded source in the simulator, the process RNG in production). */
#include "hop/http.h"

/* The ceiling for `attempt` failures so far: min(max, base * 2^attempt), without overflow. */
static uint64_t ceiling_ms(const struct hop_backoff *b)
{
  uint64_t max = b->max_ms;
  uint64_t grown;

  if (b->base_ms == 0)
    return 0;
  if (b->attempt >= 32)      /* base < 2^32, so base << 32 >= 2^32 > any max */
    return max;
  grown = (uint64_t)b->base_ms << b->attempt;
  return grown < max ? grown : max;
}

/* Returns a delay in [0, min(max, base * 2^attempt)] picked by `random_u64`, then counts the
 * attempt (saturating). The modulo bias is below 2^-31 because the range is at most 2^32. */
uint64_t hop_backoff_next(struct hop_backoff *b, uint64_t random_u64)
{
  uint64_t ceiling = ceiling_ms(b);

  if (b->attempt < UINT32_MAX)
    b->attempt++;
  return random_u64 % (ceiling + 1);
}

/* After a success: the next failure waits at most base_ms again. */
void hop_backoff_reset(struct hop_backoff *b)
{
  b->attempt = 0;
}
