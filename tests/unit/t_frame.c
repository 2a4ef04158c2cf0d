/* hop_frame_parse: length limits, and a too-long length refused before its body arrives. */
#include <stdint.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "test.h"
#include "tutil.h"

static void test_good(void)
{
  struct tb t = { .len = 0 };
  struct tb body = { .len = 0 };
  struct hop_frame f;

  tb_bytes(&body, "\x00\x01\x02\x03", 4);
  tb_frame(&t, &body);
  tb_u8(&t, 0x99);                     /* the next frame's first byte: not consumed */

  memset(&f, 0, sizeof f);
  CHECK_EQ(5, hop_frame_parse(t.b, t.len, 1024, &f));
  CHECK(f.body == t.b + 1);
  CHECK_EQ(4, f.body_len);
  for (size_t cut = 0; cut < 5; cut++) {
    TEST_CTX("cut %zu", cut);
    CHECK_EQ(0, hop_frame_parse(t.b, cut, 1024, &f));
  }
  TEST_CTX("%s", "");

  /* Exactly body_max is allowed; one more is not. */
  CHECK_EQ(5, hop_frame_parse(t.b, t.len, 4, &f));
  CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(t.b, t.len, 3, &f));
  CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(t.b, 1, 3, &f));   /* decided from the length alone */

  /* A 2-byte length prefix. */
  {
    struct tb big = { .len = 0 };
    struct tb t2 = { .len = 0 };

    for (int i = 0; i < 300; i++)
      tb_u8(&big, (uint8_t)i);
    tb_frame(&t2, &big);
    CHECK_EQ(2, t2.len - 300);
    CHECK_EQ(302, hop_frame_parse(t2.b, t2.len, 300, &f));
    CHECK(f.body == t2.b + 2);
    CHECK_EQ(300, f.body_len);
    CHECK_EQ(0, hop_frame_parse(t2.b, 301, 300, &f));
    CHECK_EQ(0, hop_frame_parse(t2.b, 1, 300, &f));
    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(t2.b, 2, 299, &f));
  }
}

static void test_bad_lengths(void)
{
  struct hop_frame f;

  /* Zero: a frame with no packet id. */
  {
    const uint8_t p[] = { 0x00, 0x00, 0x00 };

    CHECK_EQ(HOP_EFRAMELEN, hop_frame_parse(p, 1, 4096, &f));
    CHECK_EQ(HOP_EFRAMELEN, hop_frame_parse(p, sizeof p, 4096, &f));
  }
  /* Negative: -1 and INT32_MIN. */
  {
    const uint8_t m1[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00 };
    const uint8_t min[] = { 0x80, 0x80, 0x80, 0x80, 0x08 };

    CHECK_EQ(HOP_EFRAMELEN, hop_frame_parse(m1, 5, 4096, &f));
    CHECK_EQ(HOP_EFRAMELEN, hop_frame_parse(m1, sizeof m1, 4096, &f));
    CHECK_EQ(HOP_EFRAMELEN, hop_frame_parse(min, sizeof min, 4096, &f));
    for (size_t cut = 0; cut < 5; cut++)
      CHECK_EQ(0, hop_frame_parse(m1, cut, 4096, &f));
  }
  /* 2097152 = 80 80 80 01: over the protocol's 3-byte limit, refused with no body in hand even
   * when the caller's own limit is larger. */
  {
    const uint8_t p[] = { 0x80, 0x80, 0x80, 0x01 };

    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, 4, 4096, &f));
    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, 4, 16u << 20, &f));
    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, 4, SIZE_MAX, &f));
  }
  /* 2097151 = ff ff 7f is the largest legal length: with a large enough body_max it waits. */
  {
    const uint8_t p[] = { 0xff, 0xff, 0x7f, 0x00 };

    CHECK_EQ(0, hop_frame_parse(p, sizeof p, 16u << 20, &f));
    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, sizeof p, 4096, &f));
    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, 3, 2097150, &f));
  }
  /* INT32_MAX as a length. */
  {
    const uint8_t p[] = { 0xff, 0xff, 0xff, 0xff, 0x07 };

    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, sizeof p, SIZE_MAX, &f));
  }
  /* Over body_max, refused before the body arrives (one byte of body present). */
  {
    const uint8_t p[] = { 0x80, 0x02, 0x00 };        /* 256 */

    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, 2, 255, &f));
    CHECK_EQ(HOP_EFRAMEBIG, hop_frame_parse(p, 3, 255, &f));
    CHECK_EQ(0, hop_frame_parse(p, 3, 256, &f));
  }
  /* A six-byte length. */
  {
    const uint8_t p[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00 };

    CHECK_EQ(HOP_EVARINT, hop_frame_parse(p, 5, 4096, &f));
    CHECK_EQ(HOP_EVARINT, hop_frame_parse(p, sizeof p, 4096, &f));
  }
}

int main(void)
{
  test_good();
  test_bad_lengths();
  return TEST_DONE();
}
