/* hop_login_parse for every Login Start layout, with and without the optional parts, and the
 * malformed variants: every truncation, trailing bytes, long names, wrong packet ids.
 *   <= 758 name | 759 name, sig? | 760 name, sig?, uuid? | 761-763 name, uuid? | >= 764 name, uuid */
#include <stdint.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "test.h"
#include "tutil.h"

static const uint8_t uuid_a[16] = { 0x77, 0xca, 0xe0, 0xff, 0x71, 0xba, 0x39, 0xba,
                                    0xb8, 0x0c, 0x74, 0x42, 0x86, 0x07, 0xdf, 0xcc };

enum opt { OPT_ABSENT, OPT_PRESENT, OPT_NONE };   /* NONE: the layout has no such field */

struct variant {
  int32_t protocol;
  enum opt sig;
  enum opt uuid;                       /* for >= 764 PRESENT means the bare 16 bytes */
};

static void build(struct tb *body, const struct variant *v, const char *name, size_t key_len,
                  size_t sig_len)
{
  body->len = 0;
  tb_u8(body, 0x00);
  tb_str(body, name);
  if (v->sig != OPT_NONE) {
    tb_u8(body, v->sig == OPT_PRESENT);
    if (v->sig == OPT_PRESENT) {
      tb_i64(body, 1700000000000LL);
      tb_varint(body, (int32_t)key_len);
      for (size_t i = 0; i < key_len; i++)
        tb_u8(body, (uint8_t)(i * 7));
      tb_varint(body, (int32_t)sig_len);
      for (size_t i = 0; i < sig_len; i++)
        tb_u8(body, (uint8_t)(i * 13));
    }
  }
  if (v->uuid != OPT_NONE) {
    if (v->protocol < 764)
      tb_u8(body, v->uuid == OPT_PRESENT);
    if (v->uuid == OPT_PRESENT)
      tb_bytes(body, uuid_a, 16);
  }
}

static int parse(const struct tb *body, size_t len, int32_t protocol, struct hop_login *out)
{
  struct hop_frame f = { body->b, len };

  return hop_login_parse(&f, protocol, out);
}

static const struct variant variants[] = {
  { 5,   OPT_NONE, OPT_NONE },
  { 47,  OPT_NONE, OPT_NONE },
  { 340, OPT_NONE, OPT_NONE },
  { 754, OPT_NONE, OPT_NONE },
  { 758, OPT_NONE, OPT_NONE },
  { 759, OPT_ABSENT, OPT_NONE },
  { 759, OPT_PRESENT, OPT_NONE },
  { 760, OPT_ABSENT, OPT_ABSENT },
  { 760, OPT_ABSENT, OPT_PRESENT },
  { 760, OPT_PRESENT, OPT_ABSENT },
  { 760, OPT_PRESENT, OPT_PRESENT },
  { 761, OPT_NONE, OPT_ABSENT },
  { 761, OPT_NONE, OPT_PRESENT },
  { 762, OPT_NONE, OPT_ABSENT },
  { 762, OPT_NONE, OPT_PRESENT },
  { 763, OPT_NONE, OPT_ABSENT },
  { 763, OPT_NONE, OPT_PRESENT },
  { 764, OPT_NONE, OPT_PRESENT },
  { 765, OPT_NONE, OPT_PRESENT },
  { 769, OPT_NONE, OPT_PRESENT },
  { 775, OPT_NONE, OPT_PRESENT },
};

static void test_layouts(void)
{
  static const char *const names[] = { "Steve_123", "a", "ABCDEFGHIJKLMNOP",
                                       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                       "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                       "\xc3\xa9\xc3\xa9" };   /* 16 x U+00E9: 32 bytes */

  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
    const struct variant *v = &variants[i];

    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
      struct tb body;
      struct hop_login lg;
      char uuid[37];

      TEST_CTX("protocol %d sig %d uuid %d name %zu", (int)v->protocol, v->sig, v->uuid, n);
      build(&body, v, names[n], 294, 256);
      memset(&lg, 0x5a, sizeof lg);
      CHECK_EQ(0, parse(&body, body.len, v->protocol, &lg));
      CHECK_MEM(names[n], lg.name.ptr, lg.name.len);
      CHECK((const uint8_t *)lg.name.ptr == body.b + 2);   /* points into the packet */
      CHECK_EQ(v->uuid == OPT_PRESENT, lg.has_uuid);
      if (v->uuid == OPT_PRESENT && lg.has_uuid) {
        hop_uuid_format(lg.uuid, uuid);
        CHECK_STR("77cae0ff-71ba-39ba-b80c-74428607dfcc", uuid);
      }

      /* Every truncation of the body is malformed (the frame is complete: nothing to wait for). */
      for (size_t cut = 0; cut < body.len; cut++) {
        TEST_CTX("protocol %d sig %d uuid %d name %zu cut %zu", (int)v->protocol, v->sig,
                 v->uuid, n, cut);
        CHECK_EQ(HOP_ELOGIN, parse(&body, cut, v->protocol, &lg));
      }

      /* One trailing byte, whatever its value. */
      TEST_CTX("protocol %d sig %d uuid %d name %zu trailing", (int)v->protocol, v->sig,
               v->uuid, n);
      tb_u8(&body, 0x00);
      CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, v->protocol, &lg));
      body.b[body.len - 1] = 0x01;
      CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, v->protocol, &lg));
    }
  }
  TEST_CTX("%s", "");
}

/* Names over 16 characters, by ASCII and by multi-byte characters; wrong ids; bad blobs. */
static void test_malformed(void)
{
  for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
    const struct variant *v = &variants[i];
    struct tb body;
    struct hop_login lg;

    TEST_CTX("protocol %d sig %d uuid %d", (int)v->protocol, v->sig, v->uuid);
    build(&body, v, "ABCDEFGHIJKLMNOPQ", 10, 10);             /* 17 characters */
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, v->protocol, &lg));
    build(&body, v, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 10, 10);
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, v->protocol, &lg));
    build(&body, v, "Steve\xff", 10, 10);                       /* not UTF-8 */
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, v->protocol, &lg));

    build(&body, v, "Steve", 10, 10);
    body.b[0] = 0x01;                                           /* not Login Start */
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, v->protocol, &lg));
    body.b[0] = 0x02;
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, v->protocol, &lg));
  }
  TEST_CTX("%s", "");

  /* A name length far over the limit, and a negative one. */
  {
    struct tb body = { .len = 0 };
    struct hop_login lg;

    tb_u8(&body, 0x00);
    tb_varint(&body, 100000);
    tb_bytes(&body, "abc", 3);
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, 47, &lg));
    body.len = 0;
    tb_u8(&body, 0x00);
    tb_varint(&body, -3);
    tb_bytes(&body, "abc", 3);
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, 47, &lg));
  }

  /* 759/760 signature blobs with negative or overlong lengths. */
  for (int32_t protocol = 759; protocol <= 760; protocol++) {
    struct tb body = { .len = 0 };
    struct hop_login lg;

    TEST_CTX("protocol %d negative key", (int)protocol);
    tb_u8(&body, 0x00);
    tb_str(&body, "Steve");
    tb_u8(&body, 1);
    tb_i64(&body, 0);
    tb_varint(&body, -1);
    tb_varint(&body, 0);
    if (protocol == 760)
      tb_u8(&body, 0);
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, protocol, &lg));

    TEST_CTX("protocol %d key past the end", (int)protocol);
    body.len = 0;
    tb_u8(&body, 0x00);
    tb_str(&body, "Steve");
    tb_u8(&body, 1);
    tb_i64(&body, 0);
    tb_varint(&body, 1000);
    tb_bytes(&body, "abcd", 4);
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, protocol, &lg));
  }
  TEST_CTX("%s", "");

  /* The layout is the handshake's protocol's: a 764 body under 763 rules (bool then uuid) and
   * a 758 body under 764 rules both fail. */
  {
    struct variant v764 = { 764, OPT_NONE, OPT_PRESENT };
    struct variant v758 = { 758, OPT_NONE, OPT_NONE };
    struct tb body;
    struct hop_login lg;

    build(&body, &v764, "Steve", 0, 0);
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, 763, &lg));
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, 758, &lg));
    build(&body, &v758, "Steve", 0, 0);
    CHECK_EQ(HOP_ELOGIN, parse(&body, body.len, 764, &lg));
    CHECK_EQ(0, parse(&body, body.len, 759 - 1, &lg));
  }
}

static void test_uuid_format(void)
{
  uint8_t u[16];
  char out[40];

  memset(out, 'Z', sizeof out);
  hop_uuid_format(uuid_a, out);
  CHECK_STR("77cae0ff-71ba-39ba-b80c-74428607dfcc", out);
  CHECK_EQ('Z', out[37]);
  for (int i = 0; i < 16; i++)
    u[i] = (uint8_t)(i * 0x11);
  hop_uuid_format(u, out);
  CHECK_STR("00112233-4455-6677-8899-aabbccddeeff", out);
  memset(u, 0xff, sizeof u);
  hop_uuid_format(u, out);
  CHECK_STR("ffffffff-ffff-ffff-ffff-ffffffffffff", out);
}

int main(void)
{
  test_layouts();
  test_malformed();
  test_uuid_format();
  return TEST_DONE();
}
