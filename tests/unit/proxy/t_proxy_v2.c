/* hop_proxy_parse on PROXY v2: PROXY over IPv4 and IPv6 with TLVs, LOCAL and UNSPEC (UDP and
 * UNIX included), bad signatures, versions, commands, families and lengths, and the largest
 * header the format allows; each at every split point (see proxy_fixture.h). */
#include "proxy_fixture.h"

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

int main(void)
{
  test_v2_proxy();
  test_v2_local_unspec();
  test_v2_bad();
  test_v2_largest();
  return TEST_DONE();
}
