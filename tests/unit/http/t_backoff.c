/* Backoff: full jitter within [0, min(max, base * 2^attempt)], growth, reset, saturation, and
 * that the random input actually spreads the delays. */
#include <stdint.h>

#include "hop/http.h"
#include "test.h"

static uint64_t splitmix64(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15u);

  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Passing random == ceiling yields the ceiling itself; ceiling + 1 wraps to 0. */
static void test_growth_and_bounds(void)
{
  static const uint64_t ceilings[] = { 100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000 };
  struct hop_backoff b = { .base_ms = 100, .max_ms = 10000 };

  for (size_t i = 0; i < sizeof ceilings / sizeof ceilings[0]; i++) {
    struct hop_backoff probe = b;

    TEST_CTX("attempt %zu", i);
    CHECK_EQ_U(ceilings[i], hop_backoff_next(&probe, ceilings[i]));
    probe = b;
    CHECK_EQ_U(0, hop_backoff_next(&probe, ceilings[i] + 1));
    probe = b;
    CHECK(hop_backoff_next(&probe, UINT64_MAX) <= ceilings[i]);
    CHECK_EQ_U(i + 1, probe.attempt);
    hop_backoff_next(&b, 0);
    CHECK_EQ_U(i + 1, b.attempt);
  }
  TEST_CTX("%s", "");
}

static void test_reset(void)
{
  struct hop_backoff b = { .base_ms = 50, .max_ms = 60000 };

  for (int i = 0; i < 10; i++)
    hop_backoff_next(&b, 0);
  CHECK_EQ_U(10, b.attempt);
  CHECK_EQ_U(50 << 10, hop_backoff_next(&b, 50 << 10));
  hop_backoff_reset(&b);
  CHECK_EQ_U(0, b.attempt);
  CHECK_EQ_U(50, hop_backoff_next(&b, 50));      /* back to the base ceiling */
  CHECK_EQ_U(0, hop_backoff_next(&b, 101));      /* ceiling 100 now: 101 % 101 */
  CHECK_EQ_U(50, b.base_ms);
  CHECK_EQ_U(60000, b.max_ms);
}

static void test_edges(void)
{
  struct hop_backoff b = { .base_ms = 0, .max_ms = 1000 };

  CHECK_EQ_U(0, hop_backoff_next(&b, 12345));    /* base 0: always retry at once */

  b = (struct hop_backoff){ .base_ms = 5000, .max_ms = 1000 };
  CHECK_EQ_U(1000, hop_backoff_next(&b, 1000));  /* max below base wins */

  b = (struct hop_backoff){ .base_ms = 100, .max_ms = 30000, .attempt = 1000 };
  CHECK_EQ_U(30000, hop_backoff_next(&b, 30000)); /* no overflow from a huge shift */

  b = (struct hop_backoff){ .base_ms = 100, .max_ms = 30000, .attempt = UINT32_MAX };
  CHECK(hop_backoff_next(&b, UINT64_MAX) <= 30000);
  CHECK_EQ_U(UINT32_MAX, b.attempt);             /* saturates, never wraps to 0 */

  b = (struct hop_backoff){ .base_ms = UINT32_MAX, .max_ms = UINT32_MAX, .attempt = 31 };
  CHECK_EQ_U(UINT32_MAX, hop_backoff_next(&b, UINT32_MAX));

  b = (struct hop_backoff){ .base_ms = 1, .max_ms = UINT32_MAX, .attempt = 31 };
  CHECK_EQ_U(1u << 31, hop_backoff_next(&b, 1u << 31));
  CHECK_EQ_U(UINT32_MAX, hop_backoff_next(&b, UINT32_MAX));  /* attempt 32: capped */
}

/* Different random inputs give different delays, spread over the whole range. */
static void test_jitter(void)
{
  enum { N = 2000 };
  uint64_t seed = 42, sum = 0, lo = UINT64_MAX, hi = 0;
  uint64_t ceiling = 8000;     /* base 1000, attempt 3 */
  int same_as_first = 0;
  uint64_t first = 0;

  for (int i = 0; i < N; i++) {
    struct hop_backoff b = { .base_ms = 1000, .max_ms = 60000, .attempt = 3 };
    uint64_t d = hop_backoff_next(&b, splitmix64(&seed));

    CHECK(d <= ceiling);
    if (i == 0)
      first = d;
    else if (d == first)
      same_as_first++;
    sum += d;
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  CHECK(same_as_first < N / 10);
  CHECK(lo < ceiling / 10);    /* full jitter reaches near zero... */
  CHECK(hi > ceiling * 9 / 10); /* ...and near the ceiling */
  CHECK(sum / N > ceiling * 4 / 10 && sum / N < ceiling * 6 / 10);   /* mean ~ ceiling / 2 */

  {
    struct hop_backoff a = { .base_ms = 1000, .max_ms = 60000, .attempt = 5 };
    struct hop_backoff c = a;

    CHECK(hop_backoff_next(&a, 0x1234567890abcdefu) != hop_backoff_next(&c, 0xfedcba0987654321u));
  }
}

int main(void)
{
  test_growth_and_bounds();
  test_reset();
  test_edges();
  test_jitter();
  return TEST_DONE();
}
