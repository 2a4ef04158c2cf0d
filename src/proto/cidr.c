/* IP address text and CIDR prefix lists. Parsing is strict (what the PROXY spec and an operator's
 * config should contain, nothing looser), because the same parsers read PROXY v1 lines from the
 * network. Matching normalises IPv4-mapped IPv6 to IPv4 on both sides, so a dual-stack listener
 * and an IPv4 listener see the same client the same way. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hop/cidr.h"
#include "hop/proxy.h"

static const uint8_t mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* ---- Address text ---------------------------------------------------------------------------- */

int hop_ip4_parse(const char *s, size_t len, uint8_t out[4])
{
  uint8_t a[4];
  size_t i = 0;

  for (int k = 0; k < 4; k++) {
    unsigned v = 0;
    size_t digits = 0;

    if (k > 0) {
      if (i == len || s[i] != '.')
        return -1;
      i++;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
      if (digits == 3 || (digits == 1 && v == 0))
        return -1;                     /* four digits, or a leading zero (octal to some readers) */
      v = v * 10 + (unsigned)(s[i] - '0');
      digits++;
    }
    if (digits == 0 || v > 255)
      return -1;
    a[k] = (uint8_t)v;
  }
  if (i != len)
    return -1;
  memcpy(out, a, 4);
  return 0;
}

static int hex_value(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int hop_ip6_parse(const char *s, size_t len, uint8_t out[16])
{
  uint16_t g[8];
  size_t n = 0, i = 0;
  int gap = -1;                        /* group index where "::" stands, if any */

  if (len >= 1 && s[0] == ':') {
    if (len < 2 || s[1] != ':')
      return -1;                       /* one leading colon is never valid */
    gap = 0;
    i = 2;
  }
  while (i < len) {
    size_t start = i, digits = 0;
    unsigned v = 0;

    for (; i < len && hex_value(s[i]) >= 0; i++) {
      if (++digits > 4)
        return -1;
      v = v << 4 | (unsigned)hex_value(s[i]);
    }
    if (i < len && s[i] == '.') {
      uint8_t q[4];

      if (n > 6 || hop_ip4_parse(s + start, len - start, q) != 0)
        return -1;                     /* a dotted tail takes the last two groups */
      g[n++] = (uint16_t)(q[0] << 8 | q[1]);
      g[n++] = (uint16_t)(q[2] << 8 | q[3]);
      break;
    }
    if (digits == 0 || n == 8)
      return -1;
    g[n++] = (uint16_t)v;
    if (i == len)
      break;
    if (s[i] != ':' || ++i == len)
      return -1;                       /* a stray byte, or a trailing single colon */
    if (s[i] == ':') {
      if (gap >= 0)
        return -1;                     /* "::" at most once */
      gap = (int)n;
      i++;
    }
  }
  /* "::" stands for at least one zero group (RFC 4291 2.2). */
  if (gap < 0 ? n != 8 : n > 7)
    return -1;
  memset(out, 0, 16);
  for (size_t k = 0; k < n; k++) {
    size_t at = gap >= 0 && k >= (size_t)gap ? k + 8 - n : k;

    out[2 * at] = (uint8_t)(g[k] >> 8);
    out[2 * at + 1] = (uint8_t)g[k];
  }
  return 0;
}

size_t hop_put_dec(char *out, unsigned v)
{
  char tmp[10];
  size_t n = 0;

  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t k = 0; k < n; k++)
    out[k] = tmp[n - 1 - k];
  return n;
}

size_t hop_ip_format(char out[HOP_IP_TEXT_BYTES], int family, const uint8_t *addr)
{
  static const char hex[] = "0123456789abcdef";
  size_t n = 0, best_at = 0, best_len = 0;

  if (family == AF_INET) {
    for (int k = 0; k < 4; k++) {
      if (k)
        out[n++] = '.';
      n += hop_put_dec(out + n, addr[k]);
    }
    out[n] = '\0';
    return n;
  }
  if (family != AF_INET6) {
    out[0] = '\0';
    return 0;
  }
  /* RFC 5952 4.2: the longest run of zero groups, two or more, the first of equals. */
  for (size_t k = 0; k < 8;) {
    size_t run = 0;

    while (k + run < 8 && addr[2 * (k + run)] == 0 && addr[2 * (k + run) + 1] == 0)
      run++;
    if (run > best_len) {
      best_at = k;
      best_len = run;
    }
    k += run ? run : 1;
  }
  if (best_len < 2)
    best_len = 0;
  for (size_t k = 0; k < 8; k++) {
    unsigned v = (unsigned)(addr[2 * k] << 8 | addr[2 * k + 1]);
    int started = 0;

    if (best_len && k == best_at) {
      out[n++] = ':';
      out[n++] = ':';
      k += best_len - 1;
      continue;
    }
    if (k && !(best_len && k == best_at + best_len))
      out[n++] = ':';
    for (int shift = 12; shift >= 0; shift -= 4) {
      unsigned d = v >> shift & 0xf;

      if (d || started || shift == 0) {
        out[n++] = hex[d];
        started = 1;
      }
    }
  }
  out[n] = '\0';
  return n;
}

/* ---- Prefixes -------------------------------------------------------------------------------- */

static void clear_host_bits(uint8_t *addr, size_t bytes, unsigned prefix)
{
  for (size_t k = 0; k < bytes; k++) {
    unsigned keep = prefix > 8 * k ? prefix - 8 * (unsigned)k : 0;

    if (keep < 8)
      addr[k] &= (uint8_t)(0xff00u >> keep);
  }
}

int hop_cidr_parse(const char *s, struct hop_cidr *out)
{
  const char *slash = strchr(s, '/');
  size_t addr_len = slash ? (size_t)(slash - s) : strlen(s);
  struct hop_cidr c;
  unsigned bits_max, prefix;

  memset(&c, 0, sizeof c);
  if (memchr(s, ':', addr_len)) {
    if (hop_ip6_parse(s, addr_len, c.addr) != 0)
      return HOP_ECIDR;
    c.family = AF_INET6;
    bits_max = 128;
  } else {
    if (hop_ip4_parse(s, addr_len, c.addr) != 0)
      return HOP_ECIDR;
    c.family = AF_INET;
    bits_max = 32;
  }
  prefix = bits_max;
  if (slash) {
    const char *d = slash + 1;
    size_t digits = strlen(d);

    if (digits == 0 || digits > 3 || (digits > 1 && d[0] == '0'))
      return HOP_ECIDR;
    prefix = 0;
    for (size_t k = 0; k < digits; k++) {
      if (d[k] < '0' || d[k] > '9')
        return HOP_ECIDR;
      prefix = prefix * 10 + (unsigned)(d[k] - '0');
    }
    if (prefix > bits_max)
      return HOP_ECIDR;
  }
  clear_host_bits(c.addr, bits_max / 8, prefix);
  if (c.family == AF_INET6 && prefix >= 96 && memcmp(c.addr, mapped_prefix, 12) == 0) {
    /* Clients in this range are matched as IPv4, so the entry must be IPv4 too. */
    memmove(c.addr, c.addr + 12, 4);
    memset(c.addr + 4, 0, 12);
    c.family = AF_INET;
    prefix -= 96;
  }
  c.prefix = (uint8_t)prefix;
  *out = c;
  return 0;
}

/* The address as the lists see it: IPv4 (4 bytes), mapped IPv6 unmapped, or IPv6 (16 bytes).
 * Returns the family, or 0 for one that never matches. */
static int match_key(const struct sockaddr *sa, uint8_t key[16])
{
  if (sa == NULL)
    return 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

    memcpy(key, &in->sin_addr, 4);
    return AF_INET;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    const uint8_t *b = in6->sin6_addr.s6_addr;

    if (memcmp(b, mapped_prefix, 12) == 0) {
      memcpy(key, b + 12, 4);
      return AF_INET;
    }
    memcpy(key, b, 16);
    return AF_INET6;
  }
  return 0;
}

static int prefix_equal(const struct hop_cidr *c, const uint8_t key[16])
{
  size_t whole = c->prefix / 8u;
  unsigned rest = c->prefix % 8u;

  if (memcmp(key, c->addr, whole) != 0)
    return 0;
  return rest == 0 || (key[whole] & (uint8_t)(0xff00u >> rest)) == c->addr[whole];
}

int hop_cidr_match(const struct hop_cidr *c, const struct sockaddr *addr)
{
  uint8_t key[16];

  return match_key(addr, key) == c->family && prefix_equal(c, key);
}

size_t hop_cidr_format(char out[HOP_CIDR_TEXT_BYTES], const struct hop_cidr *c)
{
  size_t n = hop_ip_format(out, c->family, c->addr);

  out[n++] = '/';
  n += hop_put_dec(out + n, c->prefix);
  out[n] = '\0';
  return n;
}

/* ---- Lists ----------------------------------------------------------------------------------- */

int hop_cidr_list_add(struct hop_cidr_list *l, const char *s)
{
  struct hop_cidr c;
  int rc = hop_cidr_parse(s, &c);

  if (rc < 0)
    return rc;
  if (l->len == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    struct hop_cidr *items = realloc(l->items, cap * sizeof *items);

    if (items == NULL)
      return -ENOMEM;
    l->items = items;
    l->cap = cap;
  }
  l->items[l->len++] = c;
  return 0;
}

void hop_cidr_list_free(struct hop_cidr_list *l)
{
  free(l->items);
  l->items = NULL;
  l->len = 0;
  l->cap = 0;
}

int hop_cidr_list_match(const struct hop_cidr_list *l, const struct sockaddr *addr)
{
  uint8_t key[16];
  int family;

  if (l == NULL || l->len == 0)
    return 0;
  family = match_key(addr, key);
  if (family == 0)
    return 0;
  for (size_t k = 0; k < l->len; k++)
    if (l->items[k].family == family && prefix_equal(&l->items[k], key))
      return 1;
  return 0;
}
