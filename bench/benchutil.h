/* Shared helpers for hop-sink and hop-loadgen: Minecraft framing, listening sockets, argument parsing.
 * Header-only (static functions), so each tool stays one translation unit. Loopback benchmarking only. */
#ifndef HOP_BENCHUTIL_H
#define HOP_BENCHUTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#define BENCH_MARKER      0x4bu          /* the sink's one-byte answer to Handshake + Login Start */
#define BENCH_PROTOCOL    765            /* 1.20.4: Login Start is name + UUID */
#define BENCH_PREREAD_MAX 1024u          /* the sink refuses openings larger than this */

/* Per-connection behaviour, chosen by the loadgen through the Login Start player name. */
enum bench_kind { BENCH_ECHO = 0, BENCH_SOURCE = 1, BENCH_DISCARD = 2 };

#define BENCH_NAME_ECHO    "hb_echo"     /* echo every byte back (setup, rr, idle) */
#define BENCH_NAME_SOURCE  "hb_down"     /* send bytes as fast as the client reads them */
#define BENCH_NAME_DISCARD "hb_up"       /* count bytes until EOF, then answer the count (8 bytes BE) */

static inline size_t bench_varint_encode(uint8_t *out, uint32_t v)
{
  size_t n = 0;
  do {
    uint8_t b = (uint8_t)(v & 0x7fu);
    v >>= 7;
    if (v != 0)
      b |= 0x80u;
    out[n++] = b;
  } while (v != 0);
  return n;
}

/* Returns bytes consumed (1..5), 0 if more input is needed, -1 if malformed. */
static inline int bench_varint_decode(const uint8_t *p, size_t len, uint32_t *out)
{
  uint32_t v = 0;
  for (size_t i = 0; i < 5; i++) {
    if (i >= len)
      return 0;
    v |= (uint32_t)(p[i] & 0x7fu) << (7 * i);
    if ((p[i] & 0x80u) == 0) {
      *out = v;
      return (int)i + 1;
    }
  }
  return -1;
}

/* Parses one frame header at p. Returns header bytes (>0) with *body_len set, 0 if more input is needed,
 * -1 if malformed. */
static inline int bench_frame_header(const uint8_t *p, size_t len, uint32_t *body_len)
{
  int n = bench_varint_decode(p, len, body_len);
  if (n > 0 && (*body_len == 0 || *body_len > BENCH_PREREAD_MAX))
    return -1;
  return n;
}

/* Builds Handshake (next state 2) + Login Start (protocol 765: name, UUID) into out (>= 128 bytes).
 * Returns the total length. */
static inline size_t bench_opening(uint8_t *out, const char *address, uint16_t port, const char *player)
{
  uint8_t body[512];
  size_t n = 0, total = 0;
  size_t alen = strlen(address), plen = strlen(player);

  if (alen > 255)
    alen = 255;
  if (plen > 16)
    plen = 16;

  body[n++] = 0x00;                                   /* Handshake */
  n += bench_varint_encode(body + n, BENCH_PROTOCOL);
  n += bench_varint_encode(body + n, (uint32_t)alen);
  memcpy(body + n, address, alen);
  n += alen;
  body[n++] = (uint8_t)(port >> 8);
  body[n++] = (uint8_t)(port & 0xffu);
  body[n++] = 0x02;                                   /* next state: login */
  total += bench_varint_encode(out + total, (uint32_t)n);
  memcpy(out + total, body, n);
  total += n;

  n = 0;
  body[n++] = 0x00;                                   /* Login Start */
  n += bench_varint_encode(body + n, (uint32_t)plen);
  memcpy(body + n, player, plen);
  n += plen;
  for (int i = 0; i < 16; i++)                        /* a fixed offline-style UUID */
    body[n++] = (uint8_t)(0x10 + i);
  total += bench_varint_encode(out + total, (uint32_t)n);
  memcpy(out + total, body, n);
  total += n;
  return total;
}

/* Parses "HOST:PORT" or a bare port (host 127.0.0.1) into an IPv4 sockaddr. Returns 0 or -1. */
static inline int bench_parse_addr(const char *s, struct sockaddr_in *out)
{
  char host[64];
  const char *colon = strrchr(s, ':');
  const char *port_s = s;
  char *end = NULL;
  long port;

  if (colon != NULL) {
    size_t hl = (size_t)(colon - s);
    if (hl == 0 || hl >= sizeof host)
      return -1;
    memcpy(host, s, hl);
    host[hl] = '\0';
    port_s = colon + 1;
  } else {
    strcpy(host, "127.0.0.1");
  }
  errno = 0;
  port = strtol(port_s, &end, 10);
  if (errno != 0 || end == port_s || *end != '\0' || port < 0 || port > 65535)
    return -1;
  return uv_ip4_addr(host, (int)port, out) == 0 ? 0 : -1;
}

static inline long bench_parse_long(const char *name, const char *s, long min, long max)
{
  char *end = NULL;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    fprintf(stderr, "%s: expected an integer in %ld..%ld, got '%s'\n", name, min, max, s);
    exit(2);
  }
  return v;
}

static inline double bench_parse_double(const char *name, const char *s, double min, double max)
{
  char *end = NULL;
  double v;
  errno = 0;
  v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    fprintf(stderr, "%s: expected a number in %g..%g, got '%s'\n", name, min, max, s);
    exit(2);
  }
  return v;
}

/* Exits 2 with a message unless a value follows argv[*i]; returns it and advances *i. */
static inline const char *bench_arg_value(int argc, char **argv, int *i)
{
  if (*i + 1 >= argc) {
    fprintf(stderr, "%s: missing value\n", argv[*i]);
    exit(2);
  }
  *i += 1;
  return argv[*i];
}

static inline void bench_die_uv(const char *what, int rc)
{
  fprintf(stderr, "%s: %s\n", what, uv_strerror(rc));
  exit(1);
}

#endif
