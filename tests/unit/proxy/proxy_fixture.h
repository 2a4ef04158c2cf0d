/* Shared fixture for the PROXY protocol codec's unit tests (t_proxy_*.c): the parse cap, the v2
 * signature, a handshake trailer, parse_split() (every prefix from an exact-size heap copy, so a
 * read past it is an ASan error) and check_addr(). Functions are static inline so each test
 * binary uses what it needs. */
#ifndef HOP_PROXY_FIXTURE_H
#define HOP_PROXY_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop/cidr.h"
#include "hop/err.h"
#include "hop/proxy.h"
#include "pputil.h"
#include "test.h"
#include "tutil.h"

#define CAP HOP_PROXY_BYTES_DEFAULT

static const uint8_t sig2[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                  0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* A Minecraft handshake's first bytes, to follow a header: never consumed by the parser. */
static const uint8_t trailer[] = { 0x10, 0x00, 0xfb, 0x05 };

/* Parses `p` whole, then every prefix from its own exact-size copy. Each prefix must answer 0
 * until the answer is decided and the whole's answer from then on (a success is decided exactly
 * at its last byte). Returns the whole's answer; `*decided` is the shortest deciding prefix. */
static inline int parse_split(const uint8_t *p, size_t len, size_t cap,
                              struct hop_proxy_header *out, size_t *decided)
{
  struct hop_proxy_header h;
  int whole = hop_proxy_parse(p, len, cap, out);
  size_t first = len + 1;
  int bad = 0;

  for (size_t cut = 0; cut < len; cut++) {
    uint8_t *copy = malloc(cut ? cut : 1);
    int r;

    memcpy(copy, p, cut);
    r = hop_proxy_parse(copy, cut, cap, &h);
    free(copy);
    if (r != 0 && first > len)
      first = cut;
    if (first <= len ? r != whole : r != 0)
      bad++;
    if (whole > 0 && r != ((size_t)whole <= cut ? whole : 0))
      bad++;
  }
  CHECK_EQ(0, bad);
  if (decided)
    *decided = first <= len ? first : len;
  return whole;
}

#define F6 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

static inline void check_addr(const struct sockaddr_storage *ss, const char *want)
{
  char buf[80];

  CHECK_STR(want, sa_text(ss, buf));
}

#endif
