/* hop_proxy_parse, _detect and _encode: every v1 form, v2 commands, families and TLVs, the same
 * answer at every split point (each prefix parsed from an exact-size heap copy, so a read past it
 * is an ASan error), round trips through both encoders, and detect() on real Minecraft openings. */
#include <dirent.h>
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
static int parse_split(const uint8_t *p, size_t len, size_t cap, struct hop_proxy_header *out,
                       size_t *decided)
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

/* ---- v1 -------------------------------------------------------------------------------------- */

#define F6 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
#define A93 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

struct v1_case {
  const char *in;
  int expect;                  /* 1: the whole line parses (then trailer bytes follow); else 0/error */
  const char *src, *dst;       /* sa_text() forms; NULL for local */
  size_t decided_max;          /* if set: decided within this many bytes */
  size_t cap;                  /* 0: CAP */
};

static const struct v1_case v1_cases[] = {
  /* Good lines. */
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", 1, "192.168.0.1:56324",
    "192.168.0.11:443", 0, 0 },
  { "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n", 1, "255.255.255.255:65535",
    "255.255.255.255:65535", 0, 0 },
  { "PROXY TCP4 0.0.0.0 10.0.0.1 0 25565\r\n", 1, "0.0.0.0:0", "10.0.0.1:25565", 0, 0 },
  { "PROXY TCP6 2001:db8::1 2001:db8::2 51234 25565\r\n", 1, "[2001:db8::1]:51234",
    "[2001:db8::2]:25565", 0, 0 },
  { "PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 1 2\r\n", 1, "[2001:db8::1]:1", "[::1]:2", 0, 0 },
  { "PROXY TCP6 " F6 " " F6 " 65535 65535\r\n", 1, "[" F6 "]:65535", "[" F6 "]:65535", 0, 0 },
  { "PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 1 2\r\n", 1, "[::ffff:192.0.2.1]:1",
    "[::ffff:198.51.100.2]:2", 0, 0 },
  { "PROXY TCP6 :: :: 0 0\r\n", 1, "[::]:0", "[::]:0", 0, 0 },
  { "PROXY TCP6 1:2:3:4:5:6:7:8 1:2:3:4:5:6:1.2.3.4 7 8\r\n", 1, "[1:2:3:4:5:6:7:8]:7",
    "[1:2:3:4:5:6:102:304]:8", 0, 0 },
  { "PROXY UNKNOWN\r\n", 1, NULL, NULL, 0, 0 },
  { "PROXY UNKNOWN \r\n", 1, NULL, NULL, 0, 0 },
  { "PROXY UNKNOWN " F6 " " F6 " 65535 65535\r\n", 1, NULL, NULL, 0, 0 },      /* 107 bytes */
  { "PROXY UNKNOWN anything  at\tall, ignored\r\n", 1, NULL, NULL, 0, 0 },
  { "PROXY UNKNOWN " A93 "\r\n", HOP_EPROXYLONG, NULL, NULL, 0, 0 },           /* 109 bytes */
  { "PROXY UNKNOWN " A93 "\r", HOP_EPROXYLONG, NULL, NULL, 0, 0 },
  { "PROXY UNKNOWN " A93, HOP_EPROXYLONG, NULL, NULL, 107, 0 },               /* no CRLF */

  /* Line endings. */
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\rX", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r", 0, NULL, NULL, 0, 0 },
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443", 0, NULL, NULL, 0, 0 },
  { "PROXY UNKNOWN\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY UNKNOWN\r\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY UNKNOWN abc\ndef\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY \r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },

  /* Spaces: exactly one between fields, none after the last. */
  { "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 7, 0 },
  { "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 12, 0 },
  { "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 20, 0 },
  { "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", HOP_EPROXYV1, NULL, NULL, 28, 0 },
  { "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n", HOP_EPROXYV1, NULL, NULL, 30, 0 },
  { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", HOP_EPROXYV1, NULL, NULL, 32, 0 },
  { "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", HOP_EPROXYV1, NULL, NULL, 32, 0 },
  { " PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYSIG, NULL, NULL, 1, 0 },
  { "PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 6, 0 },
  { "PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 11, 0 },

  /* Protocol word: case and spelling. */
  { "PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 6, 0 },
  { "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 7, 0 },
  { "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 10, 0 },
  { "PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 10, 0 },
  { "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 8, 0 },
  { "PROXY UNKNOWNX\r\n", HOP_EPROXYV1, NULL, NULL, 14, 0 },
  { "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYSIG, NULL, NULL, 1, 0 },

  /* Addresses. */
  { "PROXY TCP4 256.0.0.1 10.0.0.1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 01.2.3.4 10.0.0.1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3 10.0.0.1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4.5 10.0.0.1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1..2.3 10.0.0.1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4. 10.0.0.1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1000 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4x 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 19, 0 },
  { "PROXY TCP4 ::1 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 12, 0 },
  { "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 19, 0 },
  { "PROXY TCP6 [::1] ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 12, 0 },
  { "PROXY TCP6 1::2::3 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP6 12345::1 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP6 :1 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP6 1: ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP6 ::1.2.3 ::1 1 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },

  /* Ports. */
  { "PROXY TCP4 1.2.3.4 10.0.0.1 65536 2\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 1 99999\r\n", HOP_EPROXYV1, NULL, NULL, 0, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 123456 2\r\n", HOP_EPROXYV1, NULL, NULL, 34, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 01 2\r\n", HOP_EPROXYV1, NULL, NULL, 30, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 00 2\r\n", HOP_EPROXYV1, NULL, NULL, 30, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 -1 2\r\n", HOP_EPROXYV1, NULL, NULL, 29, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 +1 2\r\n", HOP_EPROXYV1, NULL, NULL, 29, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 1a 2\r\n", HOP_EPROXYV1, NULL, NULL, 30, 0 },
  { "PROXY TCP4 1.2.3.4 10.0.0.1 0x10 2\r\n", HOP_EPROXYV1, NULL, NULL, 30, 0 },

  /* Length: a valid TCP6 line with dotted tails runs past 107 bytes. */
  { "PROXY TCP6 0:0:0:0:0:ffff:255.255.255.255 0000:0000:0000:0000:0000:ffff:255.255.255.255 "
    "65535 65535\r\n", 1, "[::ffff:255.255.255.255]:65535", "[::ffff:255.255.255.255]:65535",
    0, 0 },
  { "PROXY TCP6 0000:0000:0000:0000:0000:ffff:255.255.255.255 "
    "0000:0000:0000:0000:0000:ffff:255.255.255.255 65535 65535\r\n", HOP_EPROXYLONG, NULL, NULL,
    107, 0 },

  /* The caller's cap: this line is 47 bytes. */
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", 1, "192.168.0.1:56324",
    "192.168.0.11:443", 0, 47 },
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", HOP_EPROXYBIG, NULL, NULL, 46, 46 },
  { "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", HOP_EPROXYBIG, NULL, NULL, 20, 20 },
};

static void check_addr(const struct sockaddr_storage *ss, const char *want)
{
  char buf[80];

  CHECK_STR(want, sa_text(ss, buf));
}

static void test_v1_table(void)
{
  for (size_t i = 0; i < sizeof v1_cases / sizeof v1_cases[0]; i++) {
    const struct v1_case *c = &v1_cases[i];
    size_t n = strlen(c->in), len = n, decided;
    uint8_t *buf = malloc(n + sizeof trailer);
    struct hop_proxy_header h;
    char preview[61];
    int r;

    memcpy(preview, c->in, n < 60 ? n : 60);
    preview[n < 60 ? n : 60] = '\0';
    TEST_CTX("v1 case %zu: %s", i, preview);
    memcpy(buf, c->in, n);
    if (c->expect == 1) {
      memcpy(buf + n, trailer, sizeof trailer);
      len += sizeof trailer;
    }
    memset(&h, 0, sizeof h);
    r = parse_split(buf, len, c->cap ? c->cap : CAP, &h, &decided);
    if (c->expect == 1) {
      CHECK_EQ(n, r);
      CHECK_EQ(1, h.version);
      CHECK(h.tlv == NULL);
      CHECK_EQ(c->src == NULL, h.local);
      if (c->src) {
        check_addr(&h.src, c->src);
        check_addr(&h.dst, c->dst);
      }
    } else {
      CHECK_EQ(c->expect, r);
    }
    if (c->decided_max)
      CHECK(decided <= c->decided_max);
    free(buf);
  }
  TEST_CTX("%s", "");
}

/* Bytes no table string can hold. */
static void test_v1_odd_bytes(void)
{
  static const uint8_t nul_addr[] = "PROXY TCP4 1.2\0.3.4 5.6.7.8 1 2\r\n";
  static const uint8_t nul_unknown[] = "PROXY UNKNOWN \0\xff\x80\r\nrest";
  static const uint8_t high[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xc2\xa0\r\n";
  struct hop_proxy_header h;

  CHECK_EQ(HOP_EPROXYV1, parse_split(nul_addr, sizeof nul_addr - 1, CAP, &h, NULL));
  CHECK_EQ(19, parse_split(nul_unknown, sizeof nul_unknown - 1, CAP, &h, NULL));
  CHECK_EQ(1, h.local);
  CHECK_EQ(HOP_EPROXYV1, parse_split(high, sizeof high - 1, CAP, &h, NULL));
}

/* Every line length around the 107-byte limit, through UNKNOWN's free-form tail. */
static void test_v1_limit(void)
{
  for (size_t total = 15; total <= 112; total++) {
    uint8_t line[120];
    struct hop_proxy_header h;
    int r;

    memcpy(line, "PROXY UNKNOWN ", 14);
    memset(line + 14, 'x', sizeof line - 14);
    line[total - 2] = '\r';
    line[total - 1] = '\n';
    if (total == 15)
      line[13] = '\r';                 /* "PROXY UNKNOWN\r\n" */
    TEST_CTX("UNKNOWN line of %zu bytes", total);
    r = parse_split(line, total, CAP, &h, NULL);
    CHECK_EQ(total <= HOP_PROXY_V1_BYTES_MAX ? (int)total : HOP_EPROXYLONG, r);
    /* A cap under 107 counts the same way, with its own error. */
    r = parse_split(line, total, 60, &h, NULL);
    CHECK_EQ(total <= 60 ? (int)total : HOP_EPROXYBIG, r);
  }
  TEST_CTX("%s", "");
}

/* ---- v2 -------------------------------------------------------------------------------------- */

static void v2_head(struct tb *t, uint8_t ver_cmd, uint8_t fam, uint16_t len)
{
  tb_bytes(t, sig2, sizeof sig2);
  tb_u8(t, ver_cmd);
  tb_u8(t, fam);
  tb_u16(t, len);
}

static void v2_inet(struct tb *t, uint16_t extra)
{
  static const uint8_t a[] = { 192, 0, 2, 1, 198, 51, 100, 2, 0xc8, 0x22, 0x63, 0xdd };

  v2_head(t, 0x21, 0x11, (uint16_t)(sizeof a + extra));
  tb_bytes(t, a, sizeof a);            /* 192.0.2.1:51234 -> 198.51.100.2:25565 */
}

static void test_v2_proxy(void)
{
  struct hop_proxy_header h;
  const uint8_t *v;
  size_t vlen;

  /* TCP over IPv4, then the client's bytes. */
  {
    struct tb t = { .len = 0 };

    v2_inet(&t, 0);
    tb_bytes(&t, trailer, sizeof trailer);
    CHECK_EQ(28, parse_split(t.b, t.len, CAP, &h, NULL));
    CHECK_EQ(2, h.version);
    CHECK_EQ(0, h.local);
    check_addr(&h.src, "192.0.2.1:51234");
    check_addr(&h.dst, "198.51.100.2:25565");
    CHECK(h.tlv == t.b + 28);
    CHECK_EQ(0, h.tlv_len);
    CHECK_EQ(0, hop_proxy_tlv_find(&h, 0x02, &v, &vlen));
  }
  /* TCP over IPv6. */
  {
    struct tb t = { .len = 0 };
    uint8_t a[36] = { 0 };

    a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8, a[15] = 1;      /* 2001:db8::1 */
    a[16] = 0x20, a[17] = 0x01, a[18] = 0x0d, a[19] = 0xb8, a[31] = 2;  /* 2001:db8::2 */
    a[32] = 0xff, a[33] = 0xff, a[34] = 0x00, a[35] = 0x00;
    v2_head(&t, 0x21, 0x21, 36);
    tb_bytes(&t, a, sizeof a);
    tb_bytes(&t, trailer, sizeof trailer);
    CHECK_EQ(52, parse_split(t.b, t.len, CAP, &h, NULL));
    CHECK_EQ(0, h.local);
    check_addr(&h.src, "[2001:db8::1]:65535");
    check_addr(&h.dst, "[2001:db8::2]:0");
  }
  /* TLVs: AUTHORITY, an empty NOOP, and a NOOP padding to exactly the cap. */
  {
    struct tb t = { .len = 0 };
    size_t pad = CAP - 28 - (3 + 14) - 3 - 3;

    v2_inet(&t, (uint16_t)(CAP - 28));
    tb_u8(&t, 0x02);
    tb_u16(&t, 14);
    tb_bytes(&t, "mc.example.net", 14);
    tb_u8(&t, 0x04);
    tb_u16(&t, 0);
    tb_u8(&t, 0x04);
    tb_u16(&t, (uint16_t)pad);
    for (size_t i = 0; i < pad; i++)
      tb_u8(&t, 0);
    CHECK_EQ(CAP, t.len);
    tb_bytes(&t, trailer, sizeof trailer);
    CHECK_EQ(CAP, parse_split(t.b, t.len, CAP, &h, NULL));
    CHECK_EQ(0, h.local);
    CHECK_EQ(CAP - 28, h.tlv_len);
    CHECK_EQ(1, hop_proxy_tlv_find(&h, 0x02, &v, &vlen));
    CHECK_MEM("mc.example.net", v, vlen);
    CHECK_EQ(1, hop_proxy_tlv_find(&h, 0x04, &v, &vlen));
    CHECK_EQ(0, vlen);                 /* the first of the two */
    CHECK_EQ(0, hop_proxy_tlv_find(&h, 0x05, &v, &vlen));
    /* One byte over the cap: refused as soon as the length is in. */
    {
      size_t decided;

      CHECK_EQ(HOP_EPROXYBIG, parse_split(t.b, t.len, CAP - 1, &h, &decided));
      CHECK_EQ(16, decided);
    }
  }
}

static void test_v2_local_unspec(void)
{
  struct hop_proxy_header h;

  /* LOCAL, as a health check sends it. */
  {
    struct tb t = { .len = 0 };

    v2_head(&t, 0x20, 0x00, 0);
    tb_bytes(&t, trailer, sizeof trailer);
    CHECK_EQ(16, parse_split(t.b, t.len, CAP, &h, NULL));
    CHECK_EQ(2, h.version);
    CHECK_EQ(1, h.local);
    CHECK(h.tlv == NULL);
  }
  /* LOCAL ignores the block, family included (must not assume length 0). */
  {
    struct tb t = { .len = 0 };

    v2_head(&t, 0x20, 0xff, 5);
    tb_bytes(&t, "\x01\x02\x03\x04\x05", 5);
    CHECK_EQ(21, parse_split(t.b, t.len, CAP, &h, NULL));
    CHECK_EQ(1, h.local);
  }
  /* PROXY over UNSPEC, with and without bytes to skip. */
  for (uint16_t n = 0; n <= 40; n += 20) {
    struct tb t = { .len = 0 };

    v2_head(&t, 0x21, 0x00, n);
    for (uint16_t i = 0; i < n; i++)
      tb_u8(&t, 0xee);
    tb_bytes(&t, trailer, sizeof trailer);
    CHECK_EQ(16 + n, parse_split(t.b, t.len, CAP, &h, NULL));
    CHECK_EQ(1, h.local);
    CHECK(h.tlv == NULL);
  }
  /* UDP and UNIX fall back to UNSPEC: valid, no addresses taken, TLVs still checked. */
  {
    static const uint8_t fams[] = { 0x12, 0x22, 0x31, 0x32 };
    static const uint16_t sizes[] = { 12, 36, 216, 216 };

    for (size_t k = 0; k < 4; k++) {
      struct tb t = { .len = 0 };

      TEST_CTX("family 0x%02x", fams[k]);
      v2_head(&t, 0x21, fams[k], (uint16_t)(sizes[k] + 4));
      for (uint16_t i = 0; i < sizes[k]; i++)
        tb_u8(&t, 0x01);
      tb_bytes(&t, "\x05\x00\x01\x07", 4);      /* UNIQUE_ID, 1 byte */
      CHECK_EQ(16 + sizes[k] + 4, parse_split(t.b, t.len, CAP, &h, NULL));
      CHECK_EQ(1, h.local);
      CHECK_EQ(4, h.tlv_len);
      t.b[t.len - 2] = 2;                       /* the value now overruns */
      CHECK_EQ(HOP_EPROXYTLV, parse_split(t.b, t.len, CAP, &h, NULL));
      t.b[t.len - 2] = 1;
      CHECK_EQ(0, hop_proxy_parse(t.b, 16, CAP, &h));      /* the length covers the addresses */
    }
    TEST_CTX("%s", "");
  }
}

static void test_v2_bad(void)
{
  struct hop_proxy_header h;
  size_t decided;

  /* Signature: every byte of it matters, and the first wrong one decides. */
  for (size_t i = 0; i < 12; i++) {
    struct tb t = { .len = 0 };

    v2_inet(&t, 0);
    t.b[i] ^= 0x40;
    TEST_CTX("signature byte %zu", i);
    CHECK_EQ(HOP_EPROXYSIG, parse_split(t.b, t.len, CAP, &h, &decided));
    CHECK_EQ(i + 1, decided);
  }
  TEST_CTX("%s", "");

  /* Version 2 only; commands LOCAL and PROXY only. Decided at byte 13. */
  {
    static const uint8_t bad[] = { 0x11, 0x10, 0x31, 0xf1, 0x01, 0x22, 0x2f, 0x23 };

    for (size_t k = 0; k < sizeof bad; k++) {
      struct tb t = { .len = 0 };

      v2_inet(&t, 0);
      t.b[12] = bad[k];
      TEST_CTX("ver_cmd 0x%02x", bad[k]);
      CHECK_EQ(HOP_EPROXYVER, parse_split(t.b, t.len, CAP, &h, &decided));
      CHECK_EQ(13, decided);
    }
    TEST_CTX("%s", "");
  }

  /* Families and transports outside the spec's list, under PROXY. Decided at byte 14. */
  for (unsigned fam = 0; fam < 256; fam++) {
    struct tb t = { .len = 0 };
    int listed = fam == 0x00 || fam == 0x11 || fam == 0x12 || fam == 0x21 || fam == 0x22 ||
                 fam == 0x31 || fam == 0x32;

    v2_head(&t, 0x21, (uint8_t)fam, 300);
    for (int i = 0; i < 300; i++)
      tb_u8(&t, 0);
    TEST_CTX("family 0x%02x", fam);
    if (listed) {
      /* 300 zero bytes: addresses, then TLVs of type 0 length 0. */
      CHECK_EQ(316, parse_split(t.b, t.len, CAP, &h, NULL));
    } else {
      CHECK_EQ(HOP_EPROXYFAM, parse_split(t.b, t.len, CAP, &h, &decided));
      CHECK_EQ(14, decided);
    }
  }
  TEST_CTX("%s", "");

  /* A length shorter than the family's addresses: decided at byte 16. */
  {
    static const uint8_t fams[] = { 0x11, 0x12, 0x21, 0x22, 0x31, 0x32 };
    static const uint16_t sizes[] = { 12, 12, 36, 36, 216, 216 };

    for (size_t k = 0; k < sizeof fams; k++) {
      struct tb t = { .len = 0 };

      v2_head(&t, 0x21, fams[k], (uint16_t)(sizes[k] - 1));
      for (int i = 0; i < sizes[k] - 1; i++)
        tb_u8(&t, 0);
      TEST_CTX("short family 0x%02x", fams[k]);
      CHECK_EQ(HOP_EPROXYLEN, parse_split(t.b, t.len, CAP, &h, &decided));
      CHECK_EQ(16, decided);
    }
    TEST_CTX("%s", "");
  }

  /* TLVs that do not fit: a partial TLV header, a value past the end. */
  for (uint16_t extra = 1; extra <= 2; extra++) {
    struct tb t = { .len = 0 };

    v2_inet(&t, extra);
    for (uint16_t i = 0; i < extra; i++)
      tb_u8(&t, 0x04);
    TEST_CTX("TLV header of %u bytes", extra);
    CHECK_EQ(HOP_EPROXYTLV, parse_split(t.b, t.len, CAP, &h, NULL));
  }
  for (uint16_t vlen = 0; vlen < 10; vlen++) {
    struct tb t = { .len = 0 };

    v2_inet(&t, (uint16_t)(3 + 5 + 3 + 2));
    tb_bytes(&t, "\x02\x00\x05hello", 8);
    tb_u8(&t, 0x04);
    tb_u16(&t, vlen);                  /* only 2 bytes of value follow */
    tb_bytes(&t, "\x00\x00", 2);
    TEST_CTX("second TLV claims %u", vlen);
    CHECK_EQ(vlen == 2 ? 41 : HOP_EPROXYTLV, parse_split(t.b, t.len, CAP, &h, NULL));
  }
  TEST_CTX("%s", "");

  /* Lengths beyond the cap, up to the format's largest. */
  {
    struct tb t = { .len = 0 };

    v2_head(&t, 0x21, 0x11, 0xffff);
    CHECK_EQ(HOP_EPROXYBIG, hop_proxy_parse(t.b, t.len, CAP, &h));
    CHECK_EQ(HOP_EPROXYBIG, hop_proxy_parse(t.b, t.len, HOP_PROXY_V2_BYTES_MAX - 1, &h));
    CHECK_EQ(0, hop_proxy_parse(t.b, t.len, HOP_PROXY_V2_BYTES_MAX, &h));
    v2_head(&t, 0x20, 0x00, 600);      /* LOCAL is capped too */
    CHECK_EQ(HOP_EPROXYBIG, hop_proxy_parse(t.b + 16, 16, CAP, &h));
  }
}

/* The largest header the format allows: 16 + 65535 bytes, TLVs to the brim. */
static void test_v2_largest(void)
{
  size_t total = HOP_PROXY_V2_BYTES_MAX;
  uint8_t *p = malloc(total);
  struct hop_proxy_header h;
  size_t off = 28;

  memcpy(p, sig2, 12);
  p[12] = 0x21;
  p[13] = 0x11;
  p[14] = 0xff;
  p[15] = 0xff;
  memset(p + 16, 7, 12);
  while (off < total) {
    size_t n = total - off - 3 < 1000 ? total - off - 3 : 1000;

    p[off] = (uint8_t)(off & 0x3f);
    p[off + 1] = (uint8_t)(n >> 8);
    p[off + 2] = (uint8_t)n;
    memset(p + off + 3, 0, n);
    off += 3 + n;
  }
  CHECK_EQ((int)total, hop_proxy_parse(p, total, HOP_PROXY_V2_BYTES_MAX, &h));
  CHECK_EQ(0, hop_proxy_parse(p, total - 1, HOP_PROXY_V2_BYTES_MAX, &h));
  CHECK_EQ(total - 28, h.tlv_len);
  free(p);
}

/* ---- detect ---------------------------------------------------------------------------------- */

static void test_detect(void)
{
  static const char v1[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";

  CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect(NULL, 0));
  for (size_t k = 0; k < 5; k++)
    CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect((const uint8_t *)v1, k));
  for (size_t k = 5; k < sizeof v1; k++)
    CHECK_EQ(HOP_PROXY_V1, hop_proxy_detect((const uint8_t *)v1, k));
  for (size_t k = 0; k < 12; k++)
    CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect(sig2, k));
  CHECK_EQ(HOP_PROXY_V2, hop_proxy_detect(sig2, 12));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"PROXz", 5));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"\r\n\r\n\x01", 5));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"\xfe", 1));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"G", 1));
  /* Frame lengths 13 and 80 start like a header; the packet id 0x00 that follows does not. */
  CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect((const uint8_t *)"\x0d", 1));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"\x0d\x00", 2));
  CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect((const uint8_t *)"P", 1));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"P\x00", 2));
}

/* Every captured and constructed Minecraft opening is "not PROXY" by its second byte at most,
 * and stays so however much more arrives. */
static void test_detect_fixtures(const char *fixtures)
{
  char dir[1024];
  DIR *d;
  struct dirent *e;
  int files = 0;

  snprintf(dir, sizeof dir, "%s/handshakes", fixtures);
  d = opendir(dir);
  CHECK(d != NULL);
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name), len = 0, k;
    uint8_t *p;
    struct hop_proxy_header h;
    int bad = 0;

    if (n < 4 || strcmp(e->d_name + n - 4, ".bin") != 0)
      continue;
    p = read_fixture(fixtures, "handshakes", e->d_name, &len);
    CHECK(p != NULL);
    if (p == NULL)
      continue;
    TEST_CTX("fixture %s", e->d_name);
    files++;
    for (k = 0; k <= len && hop_proxy_detect(p, k) == HOP_PROXY_MORE; k++)
      ;
    if (len == 0) {
      CHECK_EQ(1, k);                  /* empty.bin: nothing to judge yet */
    } else {
      CHECK(k <= 2);
      for (size_t m = k; m <= len; m++)
        bad += hop_proxy_detect(p, m) != HOP_PROXY_NO;
      CHECK_EQ(0, bad);
      CHECK_EQ(HOP_EPROXYSIG, hop_proxy_parse(p, len, CAP, &h));
    }
    free(p);
  }
  closedir(d);
  TEST_CTX("%s", "");
  CHECK(files >= 50);
}

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

int main(int argc, char **argv)
{
  test_v1_table();
  test_v1_odd_bytes();
  test_v1_limit();
  test_v2_proxy();
  test_v2_local_unspec();
  test_v2_bad();
  test_v2_largest();
  test_detect();
  test_detect_fixtures(fixtures_dir(argc, argv));
  test_encode_table();
  test_round_trip_random();
  test_errors();
  return TEST_DONE();
}
