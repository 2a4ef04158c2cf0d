/* The greets' slab: whole-page chunks, reuse of the most recently freed first, and trims that give
 * free chunks' pages back (all of them once no chunk was taken since the last trim). Under
 * AddressSanitizer the slab is plain malloc and gives nothing back; only the common part runs. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "slab.h"
#include "test.h"

#define GREET_BYTES 5392       /* struct hop_greet + the default preread, near enough */
#define KEEP        2
#define TAKEN       100        /* more than one mapping's worth */

static int resident(const void *chunk, size_t page)
{
  unsigned char v = 0;

  return mincore((void *)(uintptr_t)chunk, page, &v) == 0 && (v & 1);
}

static int zeroed(const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return 0;
  return 1;
}

int main(void)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE), given;
  struct hop_slab s;
  uint8_t *c[TAKEN], *again;

  hop_slab_init(&s, GREET_BYTES, KEEP);
  CHECK(s.chunk_bytes >= GREET_BYTES);
  CHECK_EQ_U(0, s.chunk_bytes % page);
  CHECK(s.chunks_per_map < TAKEN);
  for (int i = 0; i < TAKEN; i++) {
    c[i] = hop_slab_get(&s);
    CHECK(c[i] != NULL);
    if (!c[i])
      return TEST_DONE();
    memset(c[i], 0xa5, s.chunk_bytes);   /* every byte is the caller's (ASan checks the bound) */
    for (int j = 0; j < i; j++)
      CHECK(c[i] != c[j]);
  }
  for (int i = 0; i < TAKEN; i++)
    hop_slab_put(&s, c[i]);

  given = hop_slab_trim(&s);
  if (given) {                 /* not under ASan */
    CHECK_EQ_U(TAKEN - KEEP, given);
    for (int i = 0; i < TAKEN - KEEP; i++)
      CHECK(!resident(c[i], page));
    for (int i = TAKEN - KEEP; i < TAKEN; i++)
      CHECK(resident(c[i], page));

    again = hop_slab_get(&s);            /* the most recently freed comes back first */
    CHECK(again == c[TAKEN - 1]);
    hop_slab_put(&s, again);
    CHECK_EQ_U(0, hop_slab_trim(&s));    /* one was taken: the KEEP most recent stay */
    CHECK(resident(again, page));
    CHECK_EQ_U(KEEP, hop_slab_trim(&s)); /* none taken since: they go too */
    CHECK_EQ_U(0, hop_slab_trim(&s));
    for (int i = 0; i < TAKEN; i++)
      CHECK(!resident(c[i], page));      /* quiet: nothing kept */

    again = hop_slab_get(&s);            /* a given-back chunk reads as zeros, and works */
    CHECK(zeroed(again, s.chunk_bytes));
    memset(again, 0x5a, s.chunk_bytes);
    hop_slab_put(&s, again);
  }
  hop_slab_destroy(&s);
  return TEST_DONE();
}
