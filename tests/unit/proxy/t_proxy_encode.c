/* hop_proxy_encode, _encode_v1 and _encode_v2: exact output and HOP_ENOSPACE at every cap, each
 * parsed back at every split point; 20,000 random round trips in both versions; and the PROXY
 * error codes in err.h's table. */
#include "proxy_fixture.h"

/* ---- encode ---------------------------------------------------------------------------------- */

struct enc_case {
  const char *src, *dst;       /* NULL: no address */
  uint16_t sport, dport;
  const char *v1;              /* the exact line */
  uint8_t v2_fam;              /* 0x00 means LOCAL */
  const char *src_back, *dst_back;   /* sa_text() after parsing; NULL for local */
};

static const struct enc_case enc_cases[] = {
  { "192.0.2.1", "198.51.100.2", 51234, 25565,
    "PROXY TCP4 192.0.2.1 198.51.100.2 51234 25565\r\n", 0x11,
    "192.0.2.1:51234", "198.51.100.2:25565" },
  { "0.0.0.0", "255.255.255.255", 0, 65535,
    "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", 0x11,
    "0.0.0.0:0", "255.255.255.255:65535" },
  { "2001:db8::1", "2001:db8:0:1:1:1:1:1", 1, 2,
    "PROXY TCP6 2001:db8::1 2001:db8:0:1:1:1:1:1 1 2\r\n", 0x21,
    "[2001:db8::1]:1", "[2001:db8:0:1:1:1:1:1]:2" },
  { "2001:db8:0:0:1:0:0:1", "::", 80, 443,
    "PROXY TCP6 2001:db8::1:0:0:1 :: 80 443\r\n", 0x21,
    "[2001:db8::1:0:0:1]:80", "[::]:443" },
  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    65535, 65535, "PROXY TCP6 " F6 " " F6 " 65535 65535\r\n", 0x21,
    "[" F6 "]:65535", "[" F6 "]:65535" },
  /* A dual-stack listener: both sides IPv4-mapped, sent as plain IPv4. */
  { "::ffff:192.0.2.1", "::ffff:198.51.100.2", 51234, 25565,
    "PROXY TCP4 192.0.2.1 198.51.100.2 51234 25565\r\n", 0x11,
    "192.0.2.1:51234", "198.51.100.2:25565" },
  /* Mixed families: the IPv4 side is mapped into IPv6, as HAProxy does. */
  { "192.0.2.1", "2001:db8::2", 51234, 25565,
    "PROXY TCP6 ::ffff:c000:201 2001:db8::2 51234 25565\r\n", 0x21,
    "[::ffff:192.0.2.1]:51234", "[2001:db8::2]:25565" },
  { "2001:db8::1", "::ffff:198.51.100.2", 51234, 25565,
    "PROXY TCP6 2001:db8::1 ::ffff:c633:6402 51234 25565\r\n", 0x21,
    "[2001:db8::1]:51234", "[::ffff:198.51.100.2]:25565" },
  /* No addresses: UNKNOWN and LOCAL. */
  { NULL, "198.51.100.2", 0, 25565, "PROXY UNKNOWN\r\n", 0x00, NULL, NULL },
  { "192.0.2.1", NULL, 1, 0, "PROXY UNKNOWN\r\n", 0x00, NULL, NULL },
  { NULL, NULL, 0, 0, "PROXY UNKNOWN\r\n", 0x00, NULL, NULL },
};

static void test_encode_table(void)
{
  for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++) {
    const struct enc_case *c = &enc_cases[i];
    struct sockaddr_storage s, d;
    const struct sockaddr *sp = NULL, *dp = NULL;
    uint8_t out[HOP_PROXY_ENCODE_BYTES_MAX + 8];
    struct hop_proxy_header h;
    size_t v1_len = strlen(c->v1), v2_len;
    int r;

    TEST_CTX("encode case %zu", i);
    if (c->src) {
      CHECK_EQ(0, sa_make(&s, c->src, c->sport));
      sp = (const struct sockaddr *)&s;
    }
    if (c->dst) {
      CHECK_EQ(0, sa_make(&d, c->dst, c->dport));
      dp = (const struct sockaddr *)&d;
    }

    r = hop_proxy_encode_v1(out, sizeof out, sp, dp);
    CHECK_BYTES(c->v1, v1_len, out, r > 0 ? (size_t)r : 0);
    CHECK_EQ(r, hop_proxy_encode(out, sizeof out, 1, sp, dp));
    CHECK_EQ(r, parse_split(out, (size_t)r, CAP, &h, NULL));
    CHECK_EQ(c->src_back == NULL, h.local);
    if (c->src_back) {
      check_addr(&h.src, c->src_back);
      check_addr(&h.dst, c->dst_back);
    }
    for (size_t cap = 0; cap <= v1_len; cap++)
      CHECK_EQ(cap < v1_len ? HOP_ENOSPACE : (int)v1_len, hop_proxy_encode_v1(out, cap, sp, dp));

    r = hop_proxy_encode_v2(out, sizeof out, sp, dp);
    v2_len = c->v2_fam == 0x11 ? 28 : c->v2_fam == 0x21 ? 52 : 16;
    CHECK_EQ(v2_len, r);
    CHECK_EQ(r, hop_proxy_encode(out, sizeof out, 2, sp, dp));
    CHECK_BYTES(sig2, 12, out, 12);
    CHECK_EQ(c->v2_fam ? 0x21 : 0x20, out[12]);
    CHECK_EQ(c->v2_fam, out[13]);
    CHECK_EQ(v2_len - 16, out[14] << 8 | out[15]);
    CHECK_EQ(r, parse_split(out, (size_t)r, CAP, &h, NULL));
    CHECK_EQ(c->src_back == NULL, h.local);
    if (c->src_back) {
      check_addr(&h.src, c->src_back);
      check_addr(&h.dst, c->dst_back);
    }
    for (size_t cap = 0; cap <= v2_len; cap++)
      CHECK_EQ(cap < v2_len ? HOP_ENOSPACE : (int)v2_len, hop_proxy_encode_v2(out, cap, sp, dp));
    CHECK_EQ(HOP_EPROXYVER, hop_proxy_encode(out, sizeof out, 3, sp, dp));
  }
  TEST_CTX("%s", "");

  /* A family neither encoder can carry becomes UNKNOWN / LOCAL. */
  {
    struct sockaddr_storage u, d;
    uint8_t out[HOP_PROXY_ENCODE_BYTES_MAX];

    memset(&u, 0, sizeof u);
    u.ss_family = AF_UNIX;
    sa_make(&d, "192.0.2.1", 25565);
    CHECK_EQ(15, hop_proxy_encode_v1(out, sizeof out, (struct sockaddr *)&u,
                                     (struct sockaddr *)&d));
    CHECK_EQ(16, hop_proxy_encode_v2(out, sizeof out, (struct sockaddr *)&d,
                                     (struct sockaddr *)&u));
    CHECK_EQ(0x20, out[12]);
  }
}

static void random_addr(uint32_t *x, struct sockaddr_storage *ss)
{
  uint32_t r = xs_next(x);
  uint16_t port = (uint16_t)xs_next(x);
  char ip[64];

  if (r % 3 == 0) {
    snprintf(ip, sizeof ip, "%u.%u.%u.%u", xs_next(x) & 0xff, xs_next(x) & 0xff,
             xs_next(x) & 0xff, xs_next(x) & 0xff);
  } else {
    /* Groups that are often zero, so "::" lands in every position; sometimes mapped IPv4. */
    unsigned g[8];

    for (int k = 0; k < 8; k++)
      g[k] = xs_next(x) % 3 ? 0 : xs_next(x) & 0xffff;
    if (r % 7 == 0) {
      g[0] = g[1] = g[2] = g[3] = g[4] = 0;
      g[5] = 0xffff;
    }
    snprintf(ip, sizeof ip, "%x:%x:%x:%x:%x:%x:%x:%x", g[0], g[1], g[2], g[3], g[4], g[5], g[6],
             g[7]);
  }
  sa_make(ss, ip, port);
}

/* What a parsed header should say for an encoded pair: unmapped when both sides are IPv4. */
static void expected_text(const struct sockaddr_storage *a, const struct sockaddr_storage *b,
                          char *ta, char *tb_)
{
  struct sockaddr_storage x = *a, y = *b;
  int a4 = 0, b4 = 0;

  for (int k = 0; k < 2; k++) {
    struct sockaddr_storage *ss = k ? &y : &x;
    int *is4 = k ? &b4 : &a4;

    if (ss->ss_family == AF_INET) {
      *is4 = 1;
    } else {
      struct sockaddr_in6 in6;

      memcpy(&in6, ss, sizeof in6);
      *is4 = IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr);
    }
  }
  for (int k = 0; k < 2; k++) {
    struct sockaddr_storage *ss = k ? &y : &x;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;

    memset(&in, 0, sizeof in);
    memset(&in6, 0, sizeof in6);
    if (a4 && b4 && ss->ss_family == AF_INET6) {
      memcpy(&in6, ss, sizeof in6);
      in.sin_family = AF_INET;
      in.sin_port = in6.sin6_port;
      memcpy(&in.sin_addr, in6.sin6_addr.s6_addr + 12, 4);
      memset(ss, 0, sizeof *ss);
      memcpy(ss, &in, sizeof in);
    } else if (!(a4 && b4) && ss->ss_family == AF_INET) {
      memcpy(&in, ss, sizeof in);
      in6.sin6_family = AF_INET6;
      in6.sin6_port = in.sin_port;
      in6.sin6_addr.s6_addr[10] = 0xff;
      in6.sin6_addr.s6_addr[11] = 0xff;
      memcpy(in6.sin6_addr.s6_addr + 12, &in.sin_addr, 4);
      memset(ss, 0, sizeof *ss);
      memcpy(ss, &in6, sizeof in6);
    }
  }
  sa_text(&x, ta);
  sa_text(&y, tb_);
}

static void test_round_trip_random(void)
{
  uint32_t x = 0x9e3779b9u;
  int bad = 0;

  for (int i = 0; i < 20000; i++) {
    struct sockaddr_storage s, d;
    struct hop_proxy_header h;
    uint8_t out[HOP_PROXY_ENCODE_BYTES_MAX];
    char want_s[80], want_d[80], got_s[80], got_d[80];

    random_addr(&x, &s);
    random_addr(&x, &d);
    expected_text(&s, &d, want_s, want_d);
    for (int version = 1; version <= 2; version++) {
      int n = hop_proxy_encode(out, sizeof out, version, (struct sockaddr *)&s,
                               (struct sockaddr *)&d);
      int r = n > 0 ? hop_proxy_parse(out, (size_t)n, CAP, &h) : n;

      if (r != n || n <= 0 || h.local || strcmp(want_s, sa_text(&h.src, got_s)) != 0 ||
          strcmp(want_d, sa_text(&h.dst, got_d)) != 0) {
        if (bad++ < 5)
          printf("# round trip v%d: %s %s -> %d/%d %s %s\n", version, want_s, want_d, n, r,
                 got_s, got_d);
      }
    }
  }
  CHECK_EQ(0, bad);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_errors(void)
{
  int codes[] = { HOP_EPROXYSIG, HOP_EPROXYV1, HOP_EPROXYLONG, HOP_EPROXYVER, HOP_EPROXYFAM,
                  HOP_EPROXYLEN, HOP_EPROXYTLV, HOP_EPROXYBIG, HOP_ECIDR };

  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    CHECK(codes[i] <= -1100 && codes[i] >= -1119);
    CHECK(hop_err_text(codes[i]) != NULL);            /* one table for every code */
    CHECK(hop_err_name(codes[i]) != NULL);
  }
  CHECK_STR("EPROXYSIG", hop_err_name(HOP_EPROXYSIG));
  CHECK(hop_err_text(0) == NULL);
}

int main(void)
{
  test_encode_table();
  test_round_trip_random();
  test_errors();
  return TEST_DONE();
}
