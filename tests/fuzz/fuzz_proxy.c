/* The PROXY protocol codec and the address text it shares with the CIDR lists.
 *
 * Byte 0 picks the mode. Bit 6 clear: the rest is a connection's first bytes, parsed whole and in
 * growing pieces (seeded by bits 0-5), each piece from an exact-size copy. Every piece must answer
 * 0 until the answer is decided and the whole's answer from then on; an answer never exceeds the
 * input, the cap (bit 7: 64 bytes, else 512) or 107 bytes for v1; detect() agrees with parse();
 * a parsed header re-encodes, and that encoding parses to itself.
 * Bit 6 set: the rest is address or CIDR text. What parses must format and parse back to the same
 * bytes, and an IPv4 text must never also read as IPv6. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop/cidr.h"
#include "hop/proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse_copy(const uint8_t *data, size_t len, size_t cap, struct hop_proxy_header *h)
{
  uint8_t *copy = malloc(len ? len : 1);
  int r;

  if (copy == NULL)
    abort();
  memcpy(copy, data, len);
  r = hop_proxy_parse(copy, len, cap, h);
  free(copy);
  return r;
}

/* A header built from `h`'s addresses must parse back to the same bytes when encoded again. */
static void check_reencode(const struct hop_proxy_header *h)
{
  for (int version = 1; version <= 2; version++) {
    uint8_t a[HOP_PROXY_ENCODE_BYTES_MAX], b[HOP_PROXY_ENCODE_BYTES_MAX];
    struct hop_proxy_header back;
    int n = hop_proxy_encode(a, sizeof a, version, (const struct sockaddr *)&h->src,
                             (const struct sockaddr *)&h->dst);
    int m;

    if (n <= 0 || hop_proxy_parse(a, (size_t)n, sizeof a, &back) != n || back.local ||
        back.version != version)
      abort();
    m = hop_proxy_encode(b, sizeof b, version, (const struct sockaddr *)&back.src,
                         (const struct sockaddr *)&back.dst);
    if (m != n || memcmp(a, b, (size_t)n) != 0)
      abort();
  }
}

static void fuzz_header(const uint8_t *data, size_t size, uint8_t mode)
{
  size_t cap = mode & 0x80 ? 64 : HOP_PROXY_BYTES_DEFAULT, len = 0;
  uint32_t x = 2654435761u * (mode + 1u);
  struct hop_proxy_header whole, part;
  int rw = hop_proxy_parse(data, size, cap, &whole);
  int det = hop_proxy_detect(data, size);
  int decided = 0;

  if (rw < 0 && hop_err_text(rw) == NULL)
    abort();                           /* only our own codes */
  if ((det == HOP_PROXY_NO) != (rw == HOP_EPROXYSIG) || (det == HOP_PROXY_MORE && rw != 0))
    abort();
  if (rw > 0) {
    if ((size_t)rw > size || (size_t)rw > cap || whole.version != det - HOP_PROXY_V1 + 1)
      abort();
    if (whole.version == 1 && (rw > HOP_PROXY_V1_BYTES_MAX || whole.tlv != NULL))
      abort();
    if (whole.tlv != NULL && (whole.tlv < data || whole.tlv + whole.tlv_len != data + rw))
      abort();
    if (!whole.local) {
      if (whole.src.ss_family != whole.dst.ss_family ||
          (whole.src.ss_family != AF_INET && whole.src.ss_family != AF_INET6))
        abort();
      check_reencode(&whole);
    }
    for (uint8_t type = 0; type < 8; type++) {
      const uint8_t *v;
      size_t vlen;

      if (hop_proxy_tlv_find(&whole, type, &v, &vlen) &&
          (v < whole.tlv || v + vlen > whole.tlv + whole.tlv_len))
        abort();
    }
  }

  do {
    int r;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    len += x % 4 == 0 ? 0 : 1 + (x >> 8) % 24;       /* sometimes the same length again */
    if (len > size)
      len = size;
    r = parse_copy(data, len, cap, &part);
    if (decided ? r != rw : r != 0 && r != rw)
      abort();
    if (rw > 0 && r != ((size_t)rw <= len ? rw : 0))
      abort();                         /* a header is complete at its last byte, not before */
    decided = r != 0;
  } while (len < size);
}

static void fuzz_text(const uint8_t *data, size_t size)
{
  char s[128];
  uint8_t a[16], b[16];
  char text[HOP_IP_TEXT_BYTES];
  struct hop_cidr c, again;
  char ctext[HOP_CIDR_TEXT_BYTES];
  size_t n;

  if (size >= sizeof s)
    return;
  memcpy(s, data, size);
  s[size] = '\0';

  if (hop_ip4_parse(s, size, a) == 0) {
    n = hop_ip_format(text, AF_INET, a);
    if (n != size || memcmp(text, s, size) != 0)
      abort();                         /* dotted quads have one spelling */
    if (hop_ip6_parse(s, size, b) == 0)
      abort();
  }
  if (hop_ip6_parse(s, size, a) == 0) {
    n = hop_ip_format(text, AF_INET6, a);
    if (n != strlen(text) || hop_ip6_parse(text, n, b) != 0 || memcmp(a, b, 16) != 0)
      abort();
  }
  if (hop_cidr_parse(s, &c) == 0) {
    if (c.family == AF_INET ? c.prefix > 32 : c.family != AF_INET6 || c.prefix > 128)
      abort();
    n = hop_cidr_format(ctext, &c);
    if (n != strlen(ctext) || hop_cidr_parse(ctext, &again) != 0 ||
        memcmp(&c, &again, sizeof c) != 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  if (data[0] & 0x40)
    fuzz_text(data + 1, size - 1);
  else
    fuzz_header(data + 1, size - 1, data[0]);
  return 0;
}
