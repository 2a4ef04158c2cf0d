/* hop_proxy_parse on PROXY v1: every form and its malformed variants (line endings, spaces,
 * protocol words, addresses, ports, the cap), bytes no table string can hold, and every line
 * length around the 107-byte limit; each at every split point (see proxy_fixture.h). */
#include "proxy_fixture.h"

/* ---- v1 -------------------------------------------------------------------------------------- */

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

int main(void)
{
  test_v1_table();
  test_v1_odd_bytes();
  test_v1_limit();
  return TEST_DONE();
}
