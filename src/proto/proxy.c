/* PROXY protocol v1 and v2 (haproxy doc/proxy-protocol.txt).
 *   v1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF, at most 107 bytes;
 *       or "PROXY UNKNOWN" and anything up to CRLF.
 *   v2: 0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A, ver<<4|cmd, family<<4|transport, u16 length,
 *       then `length` bytes: addresses, ports, TLVs (type, u16 length, value).
 * Both are parsed statelessly from the start of the buffer on every call: a header is at most a
 * few hundred bytes (the caller's cap), and rescanning keeps "same answer at every split" a
 * property of one pure function rather than of saved state. */
#include <string.h>

#include "hop/cidr.h"
#include "hop/err.h"
#include "hop/proxy.h"

#define V2_HEADER_BYTES 16
#define V2_INET_BYTES   12             /* 2 x 4-byte address, 2 x port */
#define V2_INET6_BYTES  36             /* 2 x 16-byte address, 2 x port */
#define V2_UNIX_BYTES   216            /* 2 x 108-byte path */
#define V2_CMD_LOCAL    0x0
#define V2_CMD_PROXY    0x1

static const uint8_t v2_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };
static const char v1_sig[] = "PROXY";


int hop_proxy_detect(const uint8_t *p, size_t len)
{
  int v1 = 1, v2 = 1;

  for (size_t i = 0; i < len && (v1 || v2); i++) {
    if (v1 && p[i] != (uint8_t)v1_sig[i])
      v1 = 0;
    else if (v1 && i + 1 == sizeof v1_sig - 1)
      return HOP_PROXY_V1;
    if (v2 && p[i] != v2_sig[i])
      v2 = 0;
    else if (v2 && i + 1 == sizeof v2_sig)
      return HOP_PROXY_V2;
  }
  return v1 || v2 ? HOP_PROXY_MORE : HOP_PROXY_NO;
}

static void set_inet(struct sockaddr_storage *ss, const uint8_t addr[4], uint16_t port)
{
  struct sockaddr_in in;
  uint8_t port_be[2] = { (uint8_t)(port >> 8), (uint8_t)port };

  memset(&in, 0, sizeof in);
  in.sin_family = AF_INET;
  memcpy(&in.sin_port, port_be, 2);
  memcpy(&in.sin_addr, addr, 4);
  memset(ss, 0, sizeof *ss);
  memcpy(ss, &in, sizeof in);
}

static void set_inet6(struct sockaddr_storage *ss, const uint8_t addr[16], uint16_t port)
{
  struct sockaddr_in6 in6;
  uint8_t port_be[2] = { (uint8_t)(port >> 8), (uint8_t)port };

  memset(&in6, 0, sizeof in6);
  in6.sin6_family = AF_INET6;
  memcpy(&in6.sin6_port, port_be, 2);
  memcpy(in6.sin6_addr.s6_addr, addr, 16);
  memset(ss, 0, sizeof *ss);
  memcpy(ss, &in6, sizeof in6);
}

/* ---- v1 -------------------------------------------------------------------------------------- */

enum v1_proto { V1_NONE, V1_TCP4, V1_TCP6, V1_UNKNOWN };

#define V1_FIELDS     6                /* PROXY, protocol, src, dst, sport, dport */
#define V1_IP4_CHARS  15               /* 255.255.255.255 */
#define V1_IP6_CHARS  45               /* ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 */

static const char *const v1_protos[] = { NULL, "TCP4", "TCP6", "UNKNOWN" };

/* 0..65535 in decimal, no leading zero. Returns 0 or -1. */
static int parse_port(const char *s, size_t n, uint16_t *out)
{
  unsigned v = 0;

  if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  if (v > 65535)
    return -1;
  *out = (uint16_t)v;
  return 0;
}

static int all_in(const char *s, size_t n, const char *set)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\0' || strchr(set, s[i]) == NULL)
      return 0;
  return 1;
}

/* Checks field `idx` of a TCP4/TCP6 line (or the first two of any line). A complete field (a
 * space or the CR follows it) must be valid; an incomplete one must be a prefix that could still
 * become valid, judged by its bytes and length. The check of a complete field is stricter than
 * that of any of its prefixes, which keeps the answer the same at every split. */
static int v1_field_ok(size_t idx, enum v1_proto proto, const char *f, size_t n, int complete)
{
  uint8_t addr[16];
  uint16_t port;

  switch (idx) {
  case 0:
    return complete ? n == 5 && memcmp(f, v1_sig, 5) == 0 : n <= 5 && memcmp(f, v1_sig, n) == 0;
  case 1:
    for (int k = V1_TCP4; k <= V1_UNKNOWN; k++) {
      size_t want = strlen(v1_protos[k]);

      if (complete ? n == want && memcmp(f, v1_protos[k], n) == 0
                   : n <= want && memcmp(f, v1_protos[k], n) == 0)
        return 1;
    }
    return 0;
  case 2:
  case 3:
    if (proto == V1_TCP4)
      return complete ? hop_ip4_parse(f, n, addr) == 0
                      : n <= V1_IP4_CHARS && all_in(f, n, "0123456789.");
    return complete ? hop_ip6_parse(f, n, addr) == 0
                    : n <= V1_IP6_CHARS && all_in(f, n, "0123456789abcdefABCDEF:.");
  case 4:
  case 5:
    return complete ? parse_port(f, n, &port) == 0
                    : n <= 5 && all_in(f, n, "0123456789") && !(n > 1 && f[0] == '0');
  default:
    return 0;                          /* a seventh field: an extra or trailing space */
  }
}

static int parse_v1(const uint8_t *p, size_t len, size_t bytes_max, struct hop_proxy_header *out)
{
  size_t limit = bytes_max < HOP_PROXY_V1_BYTES_MAX ? bytes_max : HOP_PROXY_V1_BYTES_MAX;
  size_t n = len < limit ? len : limit;
  size_t end = 0, start = 0, nf = 0;
  size_t off[V1_FIELDS], flen[V1_FIELDS];
  const char *s = (const char *)p;
  enum v1_proto proto = V1_NONE;
  int too_long = limit < HOP_PROXY_V1_BYTES_MAX ? HOP_EPROXYBIG : HOP_EPROXYLONG;
  struct hop_proxy_header h;

  while (end < n && p[end] != '\r' && p[end] != '\n')
    end++;

  /* Fields end at a space, or at the CR/LF once it is here. */
  for (size_t i = 0; i <= end; i++) {
    int complete = i < end || end < n;

    if (i < end && p[i] != ' ')
      continue;
    if (proto == V1_UNKNOWN)
      break;                           /* the spec: ignore the rest of an UNKNOWN line */
    if (!v1_field_ok(nf, proto, s + start, i - start, complete))
      return HOP_EPROXYV1;
    if (nf == 1 && complete)
      for (int k = V1_TCP4; k <= V1_UNKNOWN; k++)
        if (i - start == strlen(v1_protos[k]) && memcmp(s + start, v1_protos[k], i - start) == 0)
          proto = (enum v1_proto)k;
    off[nf] = start;
    flen[nf++] = i - start;
    start = i + 1;
  }

  if (end == n)
    return len >= limit ? too_long : 0;
  if (proto != V1_UNKNOWN && nf != V1_FIELDS)
    return HOP_EPROXYV1;               /* the line ended early */
  if (p[end] == '\n')
    return HOP_EPROXYV1;               /* a bare LF must not end the line */
  if (end + 1 >= limit)
    return too_long;                   /* the LF would be byte limit + 1 */
  if (end + 1 == len)
    return 0;
  if (p[end + 1] != '\n')
    return HOP_EPROXYV1;               /* a bare CR must not end it either */

  memset(&h, 0, sizeof h);
  h.version = 1;
  if (proto == V1_UNKNOWN) {
    h.local = 1;
  } else {
    uint8_t src[16], dst[16];
    uint16_t sport = 0, dport = 0;

    parse_port(s + off[4], flen[4], &sport);
    parse_port(s + off[5], flen[5], &dport);
    if (proto == V1_TCP4) {
      hop_ip4_parse(s + off[2], flen[2], src);
      hop_ip4_parse(s + off[3], flen[3], dst);
      set_inet(&h.src, src, sport);
      set_inet(&h.dst, dst, dport);
    } else {
      hop_ip6_parse(s + off[2], flen[2], src);
      hop_ip6_parse(s + off[3], flen[3], dst);
      set_inet6(&h.src, src, sport);
      set_inet6(&h.dst, dst, dport);
    }
  }
  *out = h;
  return (int)end + 2;
}

/* ---- v2 -------------------------------------------------------------------------------------- */

static uint16_t be16(const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* Bytes of the address block for a family/transport byte the spec lists, or -1 if it is not one. */
static int v2_addr_bytes(uint8_t fam)
{
  switch (fam) {
  case 0x00: return 0;
  case 0x11: case 0x12: return V2_INET_BYTES;
  case 0x21: case 0x22: return V2_INET6_BYTES;
  case 0x31: case 0x32: return V2_UNIX_BYTES;
  default: return -1;
  }
}

static int parse_v2(const uint8_t *p, size_t len, size_t bytes_max, struct hop_proxy_header *out)
{
  struct hop_proxy_header h;
  size_t total, off;
  uint8_t cmd, fam;
  int addr_bytes;

  if (len < 13)
    return 0;
  cmd = p[12] & 0x0f;
  if (p[12] >> 4 != 2 || (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY))
    return HOP_EPROXYVER;
  if (len < 14)
    return 0;
  fam = p[13];
  /* LOCAL discards the block, family included (spec 2.2), so only PROXY judges it. */
  addr_bytes = cmd == V2_CMD_PROXY ? v2_addr_bytes(fam) : 0;
  if (addr_bytes < 0)
    return HOP_EPROXYFAM;
  if (len < V2_HEADER_BYTES)
    return 0;
  total = V2_HEADER_BYTES + (size_t)be16(p + 14);
  if (total > bytes_max)
    return HOP_EPROXYBIG;              /* refused now, not after the rest arrives */
  if (total - V2_HEADER_BYTES < (size_t)addr_bytes)
    return HOP_EPROXYLEN;
  if (len < total)
    return 0;

  memset(&h, 0, sizeof h);
  h.version = 2;
  h.local = 1;                         /* LOCAL and UNSPEC: keep the real endpoints */
  if (cmd == V2_CMD_PROXY && fam != 0x00) {
    off = V2_HEADER_BYTES + (size_t)addr_bytes;
    h.tlv = p + off;
    h.tlv_len = total - off;
    while (off < total) {
      if (total - off < 3 || total - off - 3 < be16(p + off + 1))
        return HOP_EPROXYTLV;
      off += 3 + (size_t)be16(p + off + 1);
    }
    /* UDP and UNIX fall back to UNSPEC (spec 2.2): valid, but hopper proxies TCP only. */
    if (fam == 0x11) {
      h.local = 0;
      set_inet(&h.src, p + 16, be16(p + 24));
      set_inet(&h.dst, p + 20, be16(p + 26));
    } else if (fam == 0x21) {
      h.local = 0;
      set_inet6(&h.src, p + 16, be16(p + 48));
      set_inet6(&h.dst, p + 32, be16(p + 50));
    }
  }
  *out = h;
  return (int)total;
}

int hop_proxy_parse(const uint8_t *p, size_t len, size_t bytes_max, struct hop_proxy_header *out)
{
  switch (hop_proxy_detect(p, len)) {
  case HOP_PROXY_MORE: return 0;
  case HOP_PROXY_V1: return parse_v1(p, len, bytes_max, out);
  case HOP_PROXY_V2: return parse_v2(p, len, bytes_max, out);
  default: return HOP_EPROXYSIG;
  }
}

int hop_proxy_tlv_find(const struct hop_proxy_header *h, uint8_t type, const uint8_t **value,
                       size_t *value_len)
{
  size_t off = 0;

  if (h->tlv == NULL)
    return 0;
  while (h->tlv_len - off >= 3) {
    size_t n = be16(h->tlv + off + 1);

    if (h->tlv_len - off - 3 < n)
      return 0;                        /* not from hop_proxy_parse; never read past it */
    if (h->tlv[off] == type) {
      *value = h->tlv + off + 3;
      *value_len = n;
      return 1;
    }
    off += 3 + n;
  }
  return 0;
}

/* ---- Encode ---------------------------------------------------------------------------------- */

struct endpoint {
  int family;                          /* AF_INET (addr[0..4)) or AF_INET6 */
  uint8_t addr[16];
  uint16_t port;
};

/* Reads `sa` with IPv4-mapped IPv6 unmapped. Returns 0, or -1 for NULL or another family. */
static int endpoint_of(const struct sockaddr *sa, struct endpoint *e)
{
  static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  uint8_t port_be[2];

  if (sa == NULL)
    return -1;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

    e->family = AF_INET;
    memcpy(e->addr, &in->sin_addr, 4);
    memcpy(port_be, &in->sin_port, 2);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    const uint8_t *b = in6->sin6_addr.s6_addr;
    int is_mapped = memcmp(b, mapped, 12) == 0;

    e->family = is_mapped ? AF_INET : AF_INET6;
    memcpy(e->addr, is_mapped ? b + 12 : b, is_mapped ? 4 : 16);
    memcpy(port_be, &in6->sin6_port, 2);
  } else {
    return -1;
  }
  e->port = be16(port_be);
  return 0;
}

static void map_to_v6(struct endpoint *e)
{
  if (e->family != AF_INET)
    return;
  memmove(e->addr + 12, e->addr, 4);
  memset(e->addr, 0, 10);
  e->addr[10] = 0xff;
  e->addr[11] = 0xff;
  e->family = AF_INET6;
}

/* Both endpoints in one family, or -1 when a header cannot carry them (UNKNOWN / LOCAL). */
static int endpoints(const struct sockaddr *src, const struct sockaddr *dst, struct endpoint *s,
                     struct endpoint *d)
{
  if (endpoint_of(src, s) != 0 || endpoint_of(dst, d) != 0)
    return -1;
  if (s->family != d->family) {
    map_to_v6(s);
    map_to_v6(d);
  }
  return s->family;
}

int hop_proxy_encode_v1(uint8_t *out, size_t cap, const struct sockaddr *src,
                        const struct sockaddr *dst)
{
  char line[HOP_PROXY_ENCODE_BYTES_MAX];
  struct endpoint s, d;
  int family = endpoints(src, dst, &s, &d);
  size_t n;

  if (family < 0) {
    memcpy(line, "PROXY UNKNOWN\r\n", 15);
    n = 15;
  } else {
    memcpy(line, family == AF_INET ? "PROXY TCP4 " : "PROXY TCP6 ", 11);
    n = 11;
    n += hop_ip_format(line + n, family, s.addr);
    line[n++] = ' ';
    n += hop_ip_format(line + n, family, d.addr);
    line[n++] = ' ';
    n += hop_put_dec(line + n, s.port);
    line[n++] = ' ';
    n += hop_put_dec(line + n, d.port);
    line[n++] = '\r';
    line[n++] = '\n';
  }
  if (n > cap)
    return HOP_ENOSPACE;
  memcpy(out, line, n);
  return (int)n;
}

int hop_proxy_encode_v2(uint8_t *out, size_t cap, const struct sockaddr *src,
                        const struct sockaddr *dst)
{
  struct endpoint s, d;
  int family = endpoints(src, dst, &s, &d);
  size_t alen = family == AF_INET ? 4 : 16;
  size_t body = family < 0 ? 0 : 2 * alen + 4;

  if (cap < V2_HEADER_BYTES + body)
    return HOP_ENOSPACE;
  memcpy(out, v2_sig, sizeof v2_sig);
  out[12] = (uint8_t)(0x20 | (family < 0 ? V2_CMD_LOCAL : V2_CMD_PROXY));
  out[13] = family < 0 ? 0x00 : family == AF_INET ? 0x11 : 0x21;
  out[14] = (uint8_t)(body >> 8);
  out[15] = (uint8_t)body;
  if (family >= 0) {
    uint8_t *a = out + V2_HEADER_BYTES;

    memcpy(a, s.addr, alen);
    memcpy(a + alen, d.addr, alen);
    a[2 * alen] = (uint8_t)(s.port >> 8);
    a[2 * alen + 1] = (uint8_t)s.port;
    a[2 * alen + 2] = (uint8_t)(d.port >> 8);
    a[2 * alen + 3] = (uint8_t)d.port;
  }
  return (int)(V2_HEADER_BYTES + body);
}

int hop_proxy_encode(uint8_t *out, size_t cap, int version, const struct sockaddr *src,
                     const struct sockaddr *dst)
{
  if (version == 1)
    return hop_proxy_encode_v1(out, cap, src, dst);
  if (version == 2)
    return hop_proxy_encode_v2(out, cap, src, dst);
  return HOP_EPROXYVER;
}
