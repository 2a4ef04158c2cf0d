/* Address text and CIDR lists: hop_ip4/6_parse and hop_ip_format against libc's inet_pton and
 * inet_ntop, prefix parse tables, match tables at the edge prefixes (/0, /1, /31, /32, /127,
 * /128) with IPv4-mapped clients, lists, and a randomised check against a bit-by-bit matcher. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop/cidr.h"
#include "hop/proxy.h"
#include "pputil.h"
#include "test.h"

/* ---- Address text ---------------------------------------------------------------------------- */

struct ip_case {
  const char *in;
  int family;                  /* AF_INET, AF_INET6, or 0 when both parsers refuse it */
  const char *canon;           /* hop_ip_format of the parsed bytes */
};

static const struct ip_case ip_cases[] = {
  { "0.0.0.0", AF_INET, "0.0.0.0" },
  { "255.255.255.255", AF_INET, "255.255.255.255" },
  { "192.0.2.7", AF_INET, "192.0.2.7" },
  { "10.0.0.1", AF_INET, "10.0.0.1" },
  { "256.0.0.0", 0, NULL },
  { "01.0.0.0", 0, NULL },
  { "1.00.0.0", 0, NULL },
  { "1.2.3", 0, NULL },
  { "1.2.3.4.", 0, NULL },
  { ".1.2.3.4", 0, NULL },
  { "1.2.3.4.5", 0, NULL },
  { "1..3.4", 0, NULL },
  { "1.2.3.0004", 0, NULL },
  { "1.2.3.-4", 0, NULL },
  { " 1.2.3.4", 0, NULL },
  { "1.2.3.4 ", 0, NULL },
  { "", 0, NULL },
  { "::", AF_INET6, "::" },
  { "::1", AF_INET6, "::1" },
  { "1::", AF_INET6, "1::" },
  { "2001:db8::1", AF_INET6, "2001:db8::1" },
  { "2001:DB8:0:0:0:0:0:1", AF_INET6, "2001:db8::1" },
  { "2001:0db8:0000:0000:0000:0000:0000:0001", AF_INET6, "2001:db8::1" },
  { "2001:db8:0:1:1:1:1:1", AF_INET6, "2001:db8:0:1:1:1:1:1" },       /* one zero: no "::" */
  { "2001:0:0:1:0:0:0:1", AF_INET6, "2001:0:0:1::1" },                /* the longer run */
  { "2001:db8:0:0:1:0:0:1", AF_INET6, "2001:db8::1:0:0:1" },          /* the first of equals */
  { "0:0:0:0:0:0:0:0", AF_INET6, "::" },
  { "1:0:0:0:0:0:0:0", AF_INET6, "1::" },
  { "0:0:0:0:0:0:0:1", AF_INET6, "::1" },
  { "1:2:3:4:5:6:7::", AF_INET6, "1:2:3:4:5:6:7:0" },
  { "::2:3:4:5:6:7:8", AF_INET6, "0:2:3:4:5:6:7:8" },
  { "::ffff:192.0.2.1", AF_INET6, "::ffff:c000:201" },
  { "::192.0.2.1", AF_INET6, "::c000:201" },
  { "1:2:3:4:5:6:1.2.3.4", AF_INET6, "1:2:3:4:5:6:102:304" },
  { "1:2:3:4:5::1.2.3.4", AF_INET6, "1:2:3:4:5:0:102:304" },
  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" },
  { ":", 0, NULL },
  { ":::", 0, NULL },
  { ":1", 0, NULL },
  { "1:", 0, NULL },
  { "1::2::3", 0, NULL },
  { "12345::", 0, NULL },
  { "g::", 0, NULL },
  { "1:2:3:4:5:6:7:8:9", 0, NULL },
  { "1:2:3:4:5:6:7", 0, NULL },
  { "1:2:3:4:5:6:7:8::", 0, NULL },
  { "::1:2:3:4:5:6:7:8", 0, NULL },
  { "1:2:3:4:5:6:7::8", 0, NULL },
  { "1:2:3:4:5:6:7:1.2.3.4", 0, NULL },
  { "::1.2.3", 0, NULL },
  { "::1.2.3.4.5", 0, NULL },
  { "::01.2.3.4", 0, NULL },
  { "::1.2.3.4:5", 0, NULL },
  { "fe80::1%eth0", 0, NULL },
  { "[::1]", 0, NULL },
  { " ::1", 0, NULL },
};

static void test_ip_table(void)
{
  for (size_t i = 0; i < sizeof ip_cases / sizeof ip_cases[0]; i++) {
    const struct ip_case *c = &ip_cases[i];
    uint8_t a[16], ref[16];
    char text[HOP_IP_TEXT_BYTES];
    size_t n = strlen(c->in);
    int r4 = hop_ip4_parse(c->in, n, a);
    int r6;

    TEST_CTX("ip \"%s\"", c->in);
    CHECK_EQ(c->family == AF_INET ? 0 : -1, r4);
    CHECK_EQ(inet_pton(AF_INET, c->in, ref) == 1 ? 0 : -1, r4);
    if (r4 == 0) {
      CHECK_BYTES(ref, 4, a, 4);
      CHECK_EQ(strlen(c->canon), hop_ip_format(text, AF_INET, a));
      CHECK_STR(c->canon, text);
    }
    r6 = hop_ip6_parse(c->in, n, a);
    CHECK_EQ(c->family == AF_INET6 ? 0 : -1, r6);
    CHECK_EQ(inet_pton(AF_INET6, c->in, ref) == 1 ? 0 : -1, r6);
    if (r6 == 0) {
      CHECK_BYTES(ref, 16, a, 16);
      CHECK_EQ(strlen(c->canon), hop_ip_format(text, AF_INET6, a));
      CHECK_STR(c->canon, text);
    }
  }
  TEST_CTX("%s", "");
  {
    char text[HOP_IP_TEXT_BYTES];
    uint8_t a[16] = { 0 };

    CHECK_EQ(0, hop_ip_format(text, AF_UNIX, a));
    CHECK_STR("", text);
  }
}

/* Random strings over the address alphabet, parsed by us and by libc: the same verdict and
 * bytes. Then random addresses (zero runs everywhere) through format and back. */
static void test_ip_random(void)
{
  static const char alphabet[] = "0123456789abcdefABCDEF:.::..0000";
  uint32_t x = 12345;
  int bad = 0, valid = 0;

  for (int i = 0; i < 300000; i++) {
    char s[48];
    size_t n = xs_next(&x) % 46;
    uint8_t a[16], ref[16];
    int mine, libc;

    for (size_t k = 0; k < n; k++)
      s[k] = alphabet[xs_next(&x) % (sizeof alphabet - 1)];
    s[n] = '\0';
    mine = hop_ip6_parse(s, n, a);
    libc = inet_pton(AF_INET6, s, ref) == 1 ? 0 : -1;
    valid += mine == 0;
    if (mine != libc || (mine == 0 && memcmp(a, ref, 16) != 0)) {
      if (bad++ < 5)
        printf("# ip6 \"%s\": ours %d, libc %d\n", s, mine, libc);
    }
    mine = hop_ip4_parse(s, n, a);
    libc = inet_pton(AF_INET, s, ref) == 1 ? 0 : -1;
    if (mine != libc || (mine == 0 && memcmp(a, ref, 4) != 0)) {
      if (bad++ < 5)
        printf("# ip4 \"%s\": ours %d, libc %d\n", s, mine, libc);
    }
  }
  CHECK_EQ(0, bad);
  CHECK(valid > 100);                  /* the alphabet does reach valid addresses */

  bad = 0;
  for (int i = 0; i < 100000; i++) {
    uint8_t a[16], back[16];
    char text[HOP_IP_TEXT_BYTES], ref[INET6_ADDRSTRLEN];
    size_t n;

    for (int k = 0; k < 8; k++) {
      uint32_t r = xs_next(&x);
      uint16_t g = r % 2 ? 0 : (uint16_t)(r >> 8 & (r % 3 ? 0xffff : 0xf));

      a[2 * k] = (uint8_t)(g >> 8);
      a[2 * k + 1] = (uint8_t)g;
    }
    n = hop_ip_format(text, AF_INET6, a);
    if (n != strlen(text) || hop_ip6_parse(text, n, back) != 0 || memcmp(a, back, 16) != 0)
      bad++;
    /* glibc writes a dotted tail where the first 80 bits are zero and the next 16 are
     * 0 or ffff; elsewhere it follows RFC 5952 as we do. */
    inet_ntop(AF_INET6, a, ref, sizeof ref);
    if (!(memcmp(a, "\0\0\0\0\0\0\0\0\0\0", 10) == 0 &&
          ((a[10] == 0 && a[11] == 0) || (a[10] == 0xff && a[11] == 0xff))) &&
        strcmp(text, ref) != 0) {
      if (bad++ < 5)
        printf("# format: ours %s, libc %s\n", text, ref);
    }
  }
  CHECK_EQ(0, bad);
}

/* ---- Prefix parsing -------------------------------------------------------------------------- */

struct cidr_case {
  const char *in;
  const char *canon;           /* NULL: HOP_ECIDR */
  int family;
};

static const struct cidr_case cidr_cases[] = {
  { "10.0.0.0/8", "10.0.0.0/8", AF_INET },
  { "10.1.2.3/8", "10.0.0.0/8", AF_INET },            /* host bits cleared */
  { "192.0.2.7", "192.0.2.7/32", AF_INET },
  { "192.0.2.7/32", "192.0.2.7/32", AF_INET },
  { "0.0.0.0/0", "0.0.0.0/0", AF_INET },
  { "255.255.255.255/0", "0.0.0.0/0", AF_INET },
  { "192.0.2.255/25", "192.0.2.128/25", AF_INET },
  { "1.2.3.5/31", "1.2.3.4/31", AF_INET },
  { "255.255.255.255/1", "128.0.0.0/1", AF_INET },
  { "2001:db8::/32", "2001:db8::/32", AF_INET6 },
  { "2001:DB8:ffff::/33", "2001:db8:8000::/33", AF_INET6 },
  { "2001:db8::1", "2001:db8::1/128", AF_INET6 },
  { "::1/128", "::1/128", AF_INET6 },
  { "::/0", "::/0", AF_INET6 },
  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
    AF_INET6 },
  { "ffff::/1", "8000::/1", AF_INET6 },
  /* Inside ::ffff:0:0/96: stored as the IPv4 prefix it names. */
  { "::ffff:10.0.0.0/104", "10.0.0.0/8", AF_INET },
  { "::ffff:0:0/96", "0.0.0.0/0", AF_INET },
  { "::ffff:192.0.2.7", "192.0.2.7/32", AF_INET },
  { "::ffff:c000:207/128", "192.0.2.7/32", AF_INET },
  { "::ffff:0:0/95", "::fffe:0:0/95", AF_INET6 },     /* wider than the mapped range */
  { "::192.0.2.7", "::c000:207/128", AF_INET6 },      /* IPv4-compatible is not mapped */
  { "", NULL, 0 },
  { "/8", NULL, 0 },
  { "10.0.0.0/", NULL, 0 },
  { "10.0.0.0/33", NULL, 0 },
  { "10.0.0.0/100", NULL, 0 },
  { "10.0.0.0/1000", NULL, 0 },
  { "::/129", NULL, 0 },
  { "10.0.0.0/08", NULL, 0 },
  { "10.0.0.0/00", NULL, 0 },
  { "10.0.0.0/-1", NULL, 0 },
  { "10.0.0.0/+8", NULL, 0 },
  { "10.0.0.0/8 ", NULL, 0 },
  { " 10.0.0.0/8", NULL, 0 },
  { "10.0.0.0 /8", NULL, 0 },
  { "10.0.0/8", NULL, 0 },
  { "10.0.0.0/8/8", NULL, 0 },
  { "01.0.0.0/8", NULL, 0 },
  { "10.0.0.256", NULL, 0 },
  { "2001:db8::/32x", NULL, 0 },
  { "fe80::1%eth0", NULL, 0 },
  { "fe80::1%eth0/64", NULL, 0 },
  { "[::1]/128", NULL, 0 },
  { "localhost", NULL, 0 },
  { "*", NULL, 0 },
};

static void test_cidr_parse(void)
{
  for (size_t i = 0; i < sizeof cidr_cases / sizeof cidr_cases[0]; i++) {
    const struct cidr_case *c = &cidr_cases[i];
    struct hop_cidr cidr, again;
    char text[HOP_CIDR_TEXT_BYTES];
    int r;

    TEST_CTX("cidr \"%s\"", c->in);
    memset(&cidr, 0x5a, sizeof cidr);
    r = hop_cidr_parse(c->in, &cidr);
    if (c->canon == NULL) {
      CHECK_EQ(HOP_ECIDR, r);
      continue;
    }
    CHECK_EQ(0, r);
    CHECK_EQ(c->family, cidr.family);
    CHECK_EQ(strlen(c->canon), hop_cidr_format(text, &cidr));
    CHECK_STR(c->canon, text);
    /* The canonical text reads back to the same entry. */
    CHECK_EQ(0, hop_cidr_parse(text, &again));
    CHECK(memcmp(&cidr, &again, sizeof cidr) == 0);
    if (cidr.family == AF_INET)
      CHECK(memcmp(cidr.addr + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0);
  }
  TEST_CTX("%s", "");
}

/* ---- Matching -------------------------------------------------------------------------------- */

struct match_case {
  const char *cidr;
  const char *addr;
  int match;
};

static const struct match_case match_cases[] = {
  { "10.0.0.0/8", "10.0.0.0", 1 },
  { "10.0.0.0/8", "10.255.255.255", 1 },
  { "10.0.0.0/8", "11.0.0.0", 0 },
  { "10.0.0.0/8", "9.255.255.255", 0 },
  { "10.0.0.0/8", "::ffff:10.1.2.3", 1 },             /* a dual-stack listener's view */
  { "10.0.0.0/8", "::ffff:11.0.0.1", 0 },
  { "10.0.0.0/8", "::10.1.2.3", 0 },                  /* IPv4-compatible: not mapped */
  { "10.0.0.0/8", "2001:db8::1", 0 },
  { "0.0.0.0/0", "1.2.3.4", 1 },
  { "0.0.0.0/0", "0.0.0.0", 1 },
  { "0.0.0.0/0", "255.255.255.255", 1 },
  { "0.0.0.0/0", "::ffff:1.2.3.4", 1 },
  { "0.0.0.0/0", "::1", 0 },
  { "0.0.0.0/0", "2001:db8::1", 0 },
  { "128.0.0.0/1", "128.0.0.0", 1 },
  { "128.0.0.0/1", "255.1.1.1", 1 },
  { "128.0.0.0/1", "127.255.255.255", 0 },
  { "1.2.3.4/31", "1.2.3.4", 1 },
  { "1.2.3.4/31", "1.2.3.5", 1 },
  { "1.2.3.4/31", "1.2.3.6", 0 },
  { "1.2.3.4/31", "1.2.3.3", 0 },
  { "192.0.2.7", "192.0.2.7", 1 },
  { "192.0.2.7", "192.0.2.6", 0 },
  { "192.0.2.7", "192.0.2.8", 0 },
  { "192.0.2.7", "::ffff:192.0.2.7", 1 },
  { "192.0.2.7", "::ffff:192.0.2.6", 0 },
  { "192.0.2.128/25", "192.0.2.128", 1 },
  { "192.0.2.128/25", "192.0.2.255", 1 },
  { "192.0.2.128/25", "192.0.2.127", 0 },
  { "2001:db8::/32", "2001:db8::", 1 },
  { "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
  { "2001:db8::/32", "2001:db9::", 0 },
  { "2001:db8::/32", "2001:db7:ffff::", 0 },
  { "2001:db8::/32", "10.0.0.1", 0 },
  { "2001:db8:8000::/33", "2001:db8:8000::1", 1 },
  { "2001:db8:8000::/33", "2001:db8:7fff:ffff::", 0 },
  { "::/0", "::", 1 },
  { "::/0", "::1", 1 },
  { "::/0", "2001:db8::1", 1 },
  { "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
  { "::/0", "1.2.3.4", 0 },                           /* IPv6 entries never match IPv4 */
  { "::/0", "::ffff:1.2.3.4", 0 },                    /* ... however the socket shows it */
  { "::1", "::1", 1 },
  { "::1", "::", 0 },
  { "::1", "::2", 0 },
  { "::1", "127.0.0.1", 0 },
  { "fe80::/10", "fe80::1", 1 },
  { "fe80::/10", "febf:ffff::", 1 },
  { "fe80::/10", "fec0::", 0 },
  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd", 0 },
  { "2001:db8::1/128", "2001:db8::1", 1 },
  { "2001:db8::1/128", "2001:db8::1:0", 0 },
  { "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
  { "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", 1 },
  { "::ffff:10.0.0.0/104", "11.0.0.0", 0 },
  { "::ffff:0:0/96", "1.2.3.4", 1 },
  { "::ffff:0:0/96", "::ffff:1.2.3.4", 1 },
  { "::ffff:0:0/96", "::1", 0 },
  { "::ffff:0:0/95", "::fffe:1.2.3.4", 1 },
  { "::ffff:0:0/95", "1.2.3.4", 0 },                  /* IPv6 entry: IPv6 clients only */
};

static void test_cidr_match(void)
{
  for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
    const struct match_case *c = &match_cases[i];
    struct hop_cidr cidr;
    struct sockaddr_storage ss;
    struct hop_cidr_list l = HOP_CIDR_LIST_INIT;

    TEST_CTX("%s ~ %s", c->cidr, c->addr);
    CHECK_EQ(0, hop_cidr_parse(c->cidr, &cidr));
    CHECK_EQ(0, sa_make(&ss, c->addr, 25565));
    CHECK_EQ(c->match, hop_cidr_match(&cidr, (struct sockaddr *)&ss));
    CHECK_EQ(0, hop_cidr_list_add(&l, c->cidr));
    CHECK_EQ(c->match, hop_cidr_list_match(&l, (struct sockaddr *)&ss));
    hop_cidr_list_free(&l);
  }
  TEST_CTX("%s", "");

  /* Families that are neither IPv4 nor IPv6, and no address at all, never match. */
  {
    struct hop_cidr any;
    struct sockaddr_storage u;
    struct hop_cidr_list l = HOP_CIDR_LIST_INIT;

    memset(&u, 0, sizeof u);
    u.ss_family = AF_UNIX;
    CHECK_EQ(0, hop_cidr_parse("0.0.0.0/0", &any));
    CHECK_EQ(0, hop_cidr_match(&any, (struct sockaddr *)&u));
    CHECK_EQ(0, hop_cidr_match(&any, NULL));
    CHECK_EQ(0, hop_cidr_list_add(&l, "0.0.0.0/0"));
    CHECK_EQ(0, hop_cidr_list_add(&l, "::/0"));
    CHECK_EQ(0, hop_cidr_list_match(&l, (struct sockaddr *)&u));
    CHECK_EQ(0, hop_cidr_list_match(&l, NULL));
    hop_cidr_list_free(&l);
  }
}

static void test_lists(void)
{
  struct hop_cidr_list l = HOP_CIDR_LIST_INIT;
  struct sockaddr_storage ss;

  /* Empty and NULL lists trust no one. */
  sa_make(&ss, "127.0.0.1", 1);
  CHECK_EQ(0, hop_cidr_list_match(&l, (struct sockaddr *)&ss));
  CHECK_EQ(0, hop_cidr_list_match(NULL, (struct sockaddr *)&ss));

  CHECK_EQ(0, hop_cidr_list_add(&l, "10.0.0.0/8"));
  CHECK_EQ(0, hop_cidr_list_add(&l, "2001:db8::/32"));
  CHECK_EQ(0, hop_cidr_list_add(&l, "192.0.2.7"));
  CHECK_EQ(HOP_ECIDR, hop_cidr_list_add(&l, "192.0.2.0/33"));
  CHECK_EQ(3, l.len);                  /* a bad entry leaves the list as it was */
  {
    static const struct { const char *ip; int match; } probes[] = {
      { "10.20.30.40", 1 }, { "::ffff:10.20.30.40", 1 }, { "2001:db8::5", 1 },
      { "192.0.2.7", 1 }, { "192.0.2.8", 0 }, { "2001:db9::", 0 }, { "127.0.0.1", 0 },
    };

    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
      TEST_CTX("probe %s", probes[i].ip);
      sa_make(&ss, probes[i].ip, 1);
      CHECK_EQ(probes[i].match, hop_cidr_list_match(&l, (struct sockaddr *)&ss));
    }
    TEST_CTX("%s", "");
  }
  hop_cidr_list_free(&l);
  CHECK_EQ(0, l.len);
  CHECK(l.items == NULL);
  CHECK_EQ(0, hop_cidr_list_match(&l, (struct sockaddr *)&ss));

  /* Growth past the first allocation; reuse after free. */
  for (int i = 0; i < 300; i++) {
    char s[32];

    snprintf(s, sizeof s, "198.51.%d.%d", i / 256, i % 256);
    CHECK_EQ(0, hop_cidr_list_add(&l, s));
  }
  CHECK_EQ(300, l.len);
  {
    int bad = 0;

    for (int i = 0; i < 600; i++) {
      char s[32];

      snprintf(s, sizeof s, "198.51.%d.%d", i / 256, i % 256);
      sa_make(&ss, s, 1);
      bad += hop_cidr_list_match(&l, (struct sockaddr *)&ss) != (i < 300);
    }
    CHECK_EQ(0, bad);
  }
  hop_cidr_list_free(&l);
  hop_cidr_list_free(&l);              /* twice is harmless */
}

/* A bit-by-bit reference: the first `prefix` bits of a and b agree. */
static int ref_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
  for (unsigned bit = 0; bit < prefix; bit++)
    if ((a[bit / 8] >> (7 - bit % 8) & 1) != (b[bit / 8] >> (7 - bit % 8) & 1))
      return 0;
  return 1;
}

/* Random entries against random clients, many of them near the entry: our matcher against the
 * reference, clients shown both as IPv4 and as mapped IPv6. */
static void test_match_random(void)
{
  uint32_t x = 777;
  int bad = 0;

  for (int i = 0; i < 200000; i++) {
    int v4 = xs_next(&x) % 2;
    unsigned bits = v4 ? 32 : 128, prefix = xs_next(&x) % (bits + 1);
    uint8_t net[16], addr[16];
    char text[HOP_CIDR_TEXT_BYTES + 8], ip[HOP_IP_TEXT_BYTES];
    struct hop_cidr c;
    struct sockaddr_storage ss;
    int want;

    for (int k = 0; k < 16; k++)
      net[k] = (uint8_t)xs_next(&x);
    if (!v4 && xs_next(&x) % 8 == 0)
      memcpy(net, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);   /* IPv4-compatible space, not mapped */
    memcpy(addr, net, 16);
    /* Flip one bit somewhere, or none: near misses at every prefix length. */
    if (xs_next(&x) % 4) {
      unsigned bit = xs_next(&x) % bits;

      addr[bit / 8] ^= (uint8_t)(0x80 >> bit % 8);
    }
    hop_ip_format(ip, v4 ? AF_INET : AF_INET6, net);
    snprintf(text, sizeof text, "%s/%u", ip, prefix);
    if (hop_cidr_parse(text, &c) != 0) {
      bad++;
      continue;
    }
    want = ref_prefix_equal(addr, net, prefix);
    hop_ip_format(ip, v4 ? AF_INET : AF_INET6, addr);
    if (!v4 && memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
      continue;                        /* a mapped client is IPv4: the tables cover it */
    sa_make(&ss, ip, 1);
    bad += hop_cidr_match(&c, (struct sockaddr *)&ss) != want;
    if (v4) {
      char mapped[HOP_IP_TEXT_BYTES + 8];

      snprintf(mapped, sizeof mapped, "::ffff:%s", ip);
      sa_make(&ss, mapped, 1);
      bad += hop_cidr_match(&c, (struct sockaddr *)&ss) != want;
    }
  }
  CHECK_EQ(0, bad);
}

int main(void)
{
  test_ip_table();
  test_ip_random();
  test_cidr_parse();
  test_cidr_match();
  test_lists();
  test_match_random();
  return TEST_DONE();
}
