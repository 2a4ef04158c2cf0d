/* VarInt decode/encode: round trips, boundaries, the 5-byte limit, and need-more at every cut. */
#include <stdint.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "test.h"
#include "tutil.h"

struct vector {
  int32_t value;
  uint8_t bytes[5];
  int len;
};

/* Encodings from the protocol documentation's table. */
static const struct vector vectors[] = {
  { 0,           { 0x00 }, 1 },
  { 1,           { 0x01 }, 1 },
  { 2,           { 0x02 }, 1 },
  { 127,         { 0x7f }, 1 },
  { 128,         { 0x80, 0x01 }, 2 },
  { 255,         { 0xff, 0x01 }, 2 },
  { 25565,       { 0xdd, 0xc7, 0x01 }, 3 },
  { 16383,       { 0xff, 0x7f }, 2 },
  { 16384,       { 0x80, 0x80, 0x01 }, 3 },
  { 2097151,     { 0xff, 0xff, 0x7f }, 3 },
  { 2097152,     { 0x80, 0x80, 0x80, 0x01 }, 4 },
  { 268435455,   { 0xff, 0xff, 0xff, 0x7f }, 4 },
  { 268435456,   { 0x80, 0x80, 0x80, 0x80, 0x01 }, 5 },
  { 2147483647,  { 0xff, 0xff, 0xff, 0xff, 0x07 }, 5 },
  { -1,          { 0xff, 0xff, 0xff, 0xff, 0x0f }, 5 },
  { -2147483647 - 1, { 0x80, 0x80, 0x80, 0x80, 0x08 }, 5 },
};

static void test_vectors(void)
{
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
    const struct vector *v = &vectors[i];
    uint8_t out[8];
    int32_t got = 12345;

    TEST_CTX("value %d", (int)v->value);
    memset(out, 0xaa, sizeof out);
    CHECK_EQ(v->len, hop_varint_encode(out, v->value));
    CHECK_BYTES(v->bytes, (size_t)v->len, out, (size_t)v->len);
    CHECK_EQ(0xaa, out[v->len]);                     /* wrote nothing past its count */
    CHECK_EQ(v->len, hop_varint_size(v->value));
    CHECK_EQ(v->len, hop_varint_decode(v->bytes, (size_t)v->len, &got));
    CHECK_EQ(v->value, got);

    /* Trailing bytes are not consumed. */
    memcpy(out, v->bytes, (size_t)v->len);
    out[v->len] = 0x05;
    got = 12345;
    CHECK_EQ(v->len, hop_varint_decode(out, (size_t)v->len + 1, &got));
    CHECK_EQ(v->value, got);

    /* Every truncation needs more. */
    for (int cut = 0; cut < v->len; cut++) {
      TEST_CTX("value %d cut %d", (int)v->value, cut);
      CHECK_EQ(0, hop_varint_decode(v->bytes, (size_t)cut, &got));
    }
  }
  TEST_CTX("%s", "");
}

/* Round trips over values spread through the whole range, including each 7-bit boundary. */
static void test_round_trips(void)
{
  int32_t vals[200];
  size_t n = 0;

  for (int shift = 0; shift < 31; shift++) {
    int32_t p = (int32_t)(1u << shift);

    vals[n++] = p;
    vals[n++] = p - 1;
    vals[n++] = -p;
  }
  for (uint32_t x = 0x9e3779b9u, i = 0; i < 60; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    vals[n++] = (int32_t)x;
  }
  for (size_t i = 0; i < n; i++) {
    uint8_t out[5];
    int32_t back = 0;
    int len = hop_varint_encode(out, vals[i]);
    uint32_t u = (uint32_t)vals[i];
    int expect_len = u < (1u << 7) ? 1 : u < (1u << 14) ? 2 : u < (1u << 21) ? 3
                   : u < (1u << 28) ? 4 : 5;

    TEST_CTX("value %d", (int)vals[i]);
    CHECK_EQ(expect_len, len);
    CHECK_EQ(expect_len, hop_varint_size(vals[i]));
    CHECK_EQ(len, hop_varint_decode(out, (size_t)len, &back));
    CHECK_EQ(vals[i], back);
    /* Only the last byte lacks the continuation bit. */
    for (int k = 0; k < len; k++)
      CHECK_EQ(k == len - 1 ? 0 : 0x80, out[k] & 0x80);
  }
  TEST_CTX("%s", "");
}

static void test_limits(void)
{
  int32_t got;
  /* Continuation bit on all five bytes: a sixth would be needed. Refused with 5 bytes in hand,
   * and with the sixth present too. */
  const uint8_t six[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
  const uint8_t six_ff[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f };

  CHECK_EQ(HOP_EVARINT, hop_varint_decode(six, 5, &got));
  CHECK_EQ(HOP_EVARINT, hop_varint_decode(six, 6, &got));
  CHECK_EQ(HOP_EVARINT, hop_varint_decode(six_ff, 6, &got));
  for (size_t cut = 0; cut < 5; cut++)
    CHECK_EQ(0, hop_varint_decode(six, cut, &got));

  /* Non-canonical (padded) encodings within 5 bytes are still VarInts. */
  {
    const uint8_t padded[] = { 0x81, 0x80, 0x80, 0x00 };

    got = -5;
    CHECK_EQ(4, hop_varint_decode(padded, sizeof padded, &got));
    CHECK_EQ(1, got);
  }
  /* A 5th byte carrying bits above 32 cannot be a 32-bit value. */
  {
    const uint8_t wide[] = { 0xff, 0xff, 0xff, 0xff, 0x7f };
    int r = hop_varint_decode(wide, sizeof wide, &got);

    CHECK(r == HOP_EVARINT || r == 5);               /* vanilla truncates; hopper may refuse */
  }
  /* Reading a VarInt through the reader: need-more becomes ESHORT inside a packet. */
  {
    const uint8_t p[] = { 0x80, 0x80 };
    struct hop_reader r = hop_reader_make(p, sizeof p);

    CHECK_EQ(HOP_ESHORT, hop_read_varint(&r, &got));
    CHECK_EQ(0, r.pos);
  }
  {
    struct hop_reader r = hop_reader_make(six, sizeof six);

    CHECK_EQ(HOP_EVARINT, hop_read_varint(&r, &got));
  }
  {
    const uint8_t p[] = { 0xdd, 0xc7, 0x01, 0x63, 0xdd };
    struct hop_reader r = hop_reader_make(p, sizeof p);
    uint16_t port = 0;
    uint8_t b;

    CHECK_EQ(0, hop_read_varint(&r, &got));
    CHECK_EQ(25565, got);
    CHECK_EQ(3, r.pos);
    CHECK_EQ(0, hop_read_u16(&r, &port));
    CHECK_EQ(25565, port);
    CHECK_EQ(HOP_ESHORT, hop_read_u8(&r, &b));
  }
}

/* The reader's string: length limits and bounds. */
static void test_reader_string(void)
{
  struct tb t = { .len = 0 };
  struct hop_str s;

  tb_str(&t, "hello");
  {
    struct hop_reader r = hop_reader_make(t.b, t.len);

    CHECK_EQ(0, hop_read_string(&r, 5, &s));
    CHECK_MEM("hello", s.ptr, s.len);
    CHECK_EQ(t.len, r.pos);
  }
  {
    struct hop_reader r = hop_reader_make(t.b, t.len);

    CHECK_EQ(HOP_ESTRING, hop_read_string(&r, 4, &s));
  }
  {
    struct hop_reader r = hop_reader_make(t.b, t.len - 1);

    CHECK_EQ(HOP_ESHORT, hop_read_string(&r, 64, &s));
  }
  {
    /* A negative length is never a string. */
    struct tb n = { .len = 0 };
    struct hop_reader r;

    tb_varint(&n, -1);
    tb_bytes(&n, "abcdef", 6);
    r = hop_reader_make(n.b, n.len);
    CHECK(hop_read_string(&r, 1024, &s) < 0);
  }
  {
    const uint8_t p[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
    struct hop_reader r = hop_reader_make(p, sizeof p);
    int64_t v = 0;

    CHECK_EQ(0, hop_read_i64(&r, &v));
    CHECK_EQ(0x0102030405060708LL, v);
    r = hop_reader_make(p, 7);
    CHECK_EQ(HOP_ESHORT, hop_read_i64(&r, &v));
  }
}

int main(void)
{
  test_vectors();
  test_round_trips();
  test_limits();
  test_reader_string();
  return TEST_DONE();
}
