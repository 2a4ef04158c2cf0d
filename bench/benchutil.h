/* Shared helpers for hop-sink, hop-loadgen and hop-attack: Minecraft framing, the opening packets, argument
 * parsing, latency samples, closing. Header-only (static inline functions): no library to link; hop-loadgen
 * includes it from loadgen.h in both of its files.
 * Loopback benchmarking only. */
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

/* Writes body[0..n) framed (VarInt length first) at out. Returns the bytes written. */
static inline size_t bench_frame(uint8_t *out, const uint8_t *body, size_t n)
{
  size_t h = bench_varint_encode(out, (uint32_t)n);
  memcpy(out + h, body, n);
  return h + n;
}

/* Builds a framed Handshake (protocol 765, address cut to 255 bytes) into out (>= 270 bytes); next_state is
 * 1 (status) or 2 (login). Returns its length. */
static inline size_t bench_handshake(uint8_t *out, const char *address, uint16_t port, uint8_t next_state)
{
  uint8_t body[512];
  size_t n = 0, alen = strlen(address);

  if (alen > 255)
    alen = 255;
  body[n++] = 0x00;                                   /* Handshake */
  n += bench_varint_encode(body + n, BENCH_PROTOCOL);
  n += bench_varint_encode(body + n, (uint32_t)alen);
  memcpy(body + n, address, alen);
  n += alen;
  body[n++] = (uint8_t)(port >> 8);
  body[n++] = (uint8_t)(port & 0xffu);
  body[n++] = next_state;
  return bench_frame(out, body, n);
}

/* Builds Handshake (next state 2) + Login Start (protocol 765: name, UUID) into out (>= 320 bytes).
 * Returns the total length. */
static inline size_t bench_opening(uint8_t *out, const char *address, uint16_t port, const char *player)
{
  uint8_t body[64];
  size_t n = 0, total = bench_handshake(out, address, port, 0x02);
  size_t plen = strlen(player);

  if (plen > 16)
    plen = 16;
  body[n++] = 0x00;                                   /* Login Start */
  n += bench_varint_encode(body + n, (uint32_t)plen);
  memcpy(body + n, player, plen);
  n += plen;
  for (int i = 0; i < 16; i++)                        /* a fixed offline-style UUID */
    body[n++] = (uint8_t)(0x10 + i);
  return total + bench_frame(out + total, body, n);
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

/* The tools aim at 127.0.0.0/8 only. */
static inline int bench_is_loopback(const struct sockaddr_in *a)
{
  return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
}

/* Returns the index of s in choices (NULL-terminated); else exits 2 with "NAME: expected a, b or c". */
static inline int bench_parse_choice(const char *name, const char *s, const char *const *choices)
{
  int n = 0;
  for (; choices[n] != NULL; n++)
    if (strcmp(s, choices[n]) == 0)
      return n;
  fprintf(stderr, "%s: expected ", name);
  for (int i = 0; i < n; i++)
    fprintf(stderr, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", choices[i]);
  fputc('\n', stderr);
  exit(2);
}

typedef void bench_usage_fn(FILE *f);

/* Wrong use: the usage on stderr, exit 2. */
static inline _Noreturn void bench_usage_error(bench_usage_fn *usage)
{
  usage(stderr);
  exit(2);
}

/* An argument that no option of the tool took: --help / -h prints the usage and exits 0, anything else
 * is wrong use. */
static inline _Noreturn void bench_arg_other(const char *a, bench_usage_fn *usage)
{
  if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    usage(stdout);
    exit(0);
  }
  fprintf(stderr, "unknown argument: %s\n", a);
  bench_usage_error(usage);
}

/* Latency samples in ns. Growing stops at max samples (or when memory runs out): later ones are dropped
 * rather than ending the run. */
struct bench_lat {
  uint64_t *v;
  size_t n;
  size_t cap;
};

static inline void bench_lat_record(struct bench_lat *l, uint64_t ns, size_t max)
{
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 65536;
    uint64_t *v;
    if (cap > max)
      return;
    v = realloc(l->v, cap * sizeof *v);
    if (v == NULL)
      return;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = ns;
}

static inline int bench_cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static inline void bench_lat_sort(struct bench_lat *l)
{
  if (l->n > 0)
    qsort(l->v, l->n, sizeof *l->v, bench_cmp_u64);
}

/* The q quantile (0..1) of sorted samples, in microseconds; 0 without samples. */
static inline double bench_lat_pct_us(const struct bench_lat *l, double q)
{
  if (l->n == 0)
    return 0.0;
  return (double)l->v[(size_t)(q * (double)(l->n - 1) + 0.5)] / 1000.0;
}

/* This process's CPU time (user + system) in milliseconds, -1 if unknown: the scripts use it to check for
 * foreign load. */
static inline long long bench_cpu_ms(void)
{
  uv_rusage_t ru;
  if (uv_getrusage(&ru) != 0)
    return -1;
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
         (long long)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* Closes tcp with RST when reset (no TIME_WAIT on our side), else with FIN. uv_tcp_close_reset leaves the
 * handle open when SO_LINGER cannot be set (no socket yet, shut down): then a plain close. */
static inline void bench_close_tcp(uv_tcp_t *tcp, int reset, uv_close_cb cb)
{
  if (!reset || uv_tcp_close_reset(tcp, cb) != 0)
    uv_close((uv_handle_t *)tcp, cb);
}

static inline void bench_die_uv(const char *what, int rc)
{
  fprintf(stderr, "%s: %s\n", what, uv_strerror(rc));
  exit(1);
}

#endif
