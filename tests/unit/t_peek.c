/* hop_peek_feed on constructed openings: modern frames whose length byte is 0xFE (not legacy
 * pings), the preread and address caps, bad Login Starts, and hop_legacy_scan directly. */
#include <stdint.h>
#include <string.h>

#include "hop/conn.h"
#include "hop/err.h"
#include "hop/peek.h"
#include "hop/proto.h"
#include "test.h"
#include "tutil.h"

static const uint8_t steve_uuid[16] = { 0x77, 0xca, 0xe0, 0xff, 0x71, 0xba, 0x39, 0xba,
                                        0xb8, 0x0c, 0x74, 0x42, 0x86, 0x07, 0xdf, 0xcc };

/* Login Start for protocol >= 764: name, uuid. */
static void tb_login_764(struct tb *t, const char *name)
{
  struct tb body = { .len = 0 };

  tb_u8(&body, 0x00);
  tb_str(&body, name);
  tb_bytes(&body, steve_uuid, 16);
  tb_frame(t, &body);
}

/* A fresh parser: feeds p[0..cut) (unless cut < 0), then all of p; returns the last result. */
static int peek_all(const uint8_t *p, size_t len, size_t bytes_max, size_t addr_max, int cut,
                    struct hop_peek *pk)
{
  int r;

  hop_peek_init(pk, bytes_max, addr_max);
  if (cut >= 0) {
    r = hop_peek_feed(pk, p, (size_t)cut);
    if (r < 0 || r == HOP_PEEK_LEGACY)
      return r;
  }
  return hop_peek_feed(pk, p, len);
}

/* A modern frame's length VarInt starts with 0xFE for lengths 254, 382, 510, ...: a handshake
 * that long (a TCPShield-style tail keeps the routed host short) must parse as modern at every
 * split point. Only the first one or two bytes alone may look like a pending legacy ping. */
static void test_fe_length_frames(void)
{
  int seen_fe01 = 0, seen_fe02 = 0;

  for (int32_t body_len = 250; body_len <= 400; body_len++) {
    struct tb t = { .len = 0 };
    char addr[512];
    size_t addr_len = (size_t)body_len - 6 - 2;     /* id, protocol(2), port(2), state(1) */
    static const char head[] = "a.Example.com///203.0.113.9:51234///";

    memset(addr, 'x', addr_len);
    memcpy(addr, head, sizeof head - 1);
    tb_handshake(&t, 765, addr, addr_len, 25565, 2);
    if (!CHECK_EQ(body_len, t.len - 2))
      return;
    seen_fe01 += t.b[0] == 0xfe && t.b[1] == 0x01;
    seen_fe02 += t.b[0] == 0xfe && t.b[1] == 0x02;
    tb_login_764(&t, "Steve_123");

    for (size_t cut = 0; cut <= t.len; cut++) {
      struct hop_peek pk;
      int r1, r2;

      TEST_CTX("body %d cut %zu", (int)body_len, cut);
      hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
      r1 = hop_peek_feed(&pk, t.b, cut);
      CHECK_EQ(cut == t.len ? HOP_PEEK_DONE : HOP_PEEK_MORE, r1);
      if (cut >= 3 || (cut == 2 && t.b[1] != 0x01))
        CHECK_EQ(0, pk.legacy_pending);
      if (cut == 1 || (cut == 2 && t.b[1] == 0x01))
        CHECK_EQ(t.b[0] == 0xfe, pk.legacy_pending);
      r2 = hop_peek_feed(&pk, t.b, t.len);
      CHECK_EQ(HOP_PEEK_DONE, r2);
      CHECK_EQ(0, pk.legacy_pending);
      CHECK_MEM("a.example.com", pk.hs.host, pk.hs.host_len);
      CHECK_EQ(addr_len, pk.hs.address.len);
      CHECK_EQ(HOP_INTENT_LOGIN, pk.hs.intent);
      CHECK_MEM("Steve_123", pk.login.name.ptr, pk.login.name.len);
      CHECK_EQ(t.len, pk.pos);
      /* A settle after a modern frame has begun is not a legacy ping. */
      CHECK_EQ(HOP_PEEK_MORE, hop_peek_settle(&pk));
    }
  }
  TEST_CTX("%s", "");
  CHECK_EQ(1, seen_fe01);              /* 254 */
  CHECK_EQ(1, seen_fe02);              /* 382 */
}

/* The status handshake alone is enough: DONE without waiting for the Status Request. */
static void test_status_done_early(void)
{
  struct tb t = { .len = 0 };
  struct hop_peek pk;
  size_t hs;

  tb_handshake(&t, 47, "Status.Example.com", 18, 25565, 1);
  hs = t.len;
  hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
  CHECK_EQ(HOP_PEEK_MORE, hop_peek_feed(&pk, t.b, hs - 1));
  CHECK_EQ(0, pk.have_handshake);
  CHECK_EQ(HOP_PEEK_DONE, hop_peek_feed(&pk, t.b, hs));
  CHECK_EQ(1, pk.have_handshake);
  CHECK_EQ(0, pk.have_login);
  CHECK_EQ(HOP_INTENT_STATUS, pk.hs.intent);
  CHECK_EQ(hs, pk.pos);
  CHECK_MEM("status.example.com", pk.hs.host, pk.hs.host_len);
  tb_u8(&t, 0x01);
  tb_u8(&t, 0x00);
  CHECK_EQ(HOP_PEEK_DONE, hop_peek_feed(&pk, t.b, t.len));
  CHECK_EQ(hs, pk.pos);
}

/* A login needs its Login Start; have_handshake says routing can start before it. */
static void test_login_waits(void)
{
  struct tb t = { .len = 0 };
  struct hop_peek pk;
  size_t hs;

  tb_handshake(&t, 765, "play.example.com", 16, 25565, 3);
  hs = t.len;
  tb_login_764(&t, "Alex");
  hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
  CHECK_EQ(HOP_PEEK_MORE, hop_peek_feed(&pk, t.b, hs));
  CHECK_EQ(1, pk.have_handshake);
  CHECK_EQ(0, pk.have_login);
  CHECK_EQ(HOP_INTENT_TRANSFER, pk.hs.intent);
  CHECK_EQ(HOP_PEEK_MORE, hop_peek_feed(&pk, t.b, t.len - 1));
  CHECK_EQ(HOP_PEEK_DONE, hop_peek_feed(&pk, t.b, t.len));
  CHECK_EQ(1, pk.have_login);
  CHECK_MEM("Alex", pk.login.name.ptr, pk.login.name.len);

  /* Bytes after the Login Start are not part of it. */
  {
    size_t end = t.len;

    tb_bytes(&t, "\x02\x03\x00", 3);
    hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
    CHECK_EQ(HOP_PEEK_DONE, hop_peek_feed(&pk, t.b, t.len));
    CHECK_EQ(end, pk.pos);
  }
}

static void test_next_states(void)
{
  for (int next = -1; next <= 8; next++) {
    struct tb t = { .len = 0 };
    struct hop_peek pk;
    int r;

    TEST_CTX("next state %d", next);
    tb_handshake(&t, 765, "a.b", 3, 1, next);
    tb_login_764(&t, "Alex");
    r = peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX, -1, &pk);
    if (next >= 1 && next <= 3)
      CHECK_EQ(HOP_PEEK_DONE, r);
    else
      CHECK_EQ(HOP_ESTATE, r);
  }
  TEST_CTX("%s", "");
}

/* The preread cap: a complete opening of exactly bytes_max is fine; one byte more never is. */
static void test_preread_cap(void)
{
  struct tb t = { .len = 0 };
  char name[17];
  size_t cap;

  tb_handshake(&t, 765, "play.example.com", 16, 25565, 2);
  memset(name, 'n', 12);
  name[12] = '\0';
  tb_login_764(&t, name);
  cap = t.len;

  for (size_t cut = 0; cut <= t.len; cut++) {
    struct hop_peek pk;

    TEST_CTX("exact cap, cut %zu", cut);
    CHECK_EQ(HOP_PEEK_DONE, peek_all(t.b, t.len, cap, HOP_ADDRESS_BYTES_MAX, (int)cut, &pk));
  }

  /* One character more in the name: the opening is cap + 1 bytes. */
  t.len = 0;
  tb_handshake(&t, 765, "play.example.com", 16, 25565, 2);
  memset(name, 'n', 13);
  name[13] = '\0';
  tb_login_764(&t, name);
  CHECK_EQ(cap + 1, t.len);
  for (size_t cut = 0; cut <= t.len; cut++) {
    struct hop_peek pk;
    int r;

    TEST_CTX("cap + 1, cut %zu", cut);
    hop_peek_init(&pk, cap, HOP_ADDRESS_BYTES_MAX);
    r = hop_peek_feed(&pk, t.b, cut);
    CHECK(r == HOP_PEEK_MORE || r == HOP_EPREREAD || r == HOP_EFRAMEBIG);
    if (r < 0)
      continue;
    r = hop_peek_feed(&pk, t.b, t.len);
    CHECK(r == HOP_EPREREAD || r == HOP_EFRAMEBIG);
  }

  /* A handshake alone larger than the cap, refused as soon as its length is known. */
  {
    struct tb big = { .len = 0 };
    char addr[600];
    struct hop_peek pk;
    int r;

    memset(addr, 'h', sizeof addr);
    tb_handshake(&big, 765, addr, sizeof addr, 25565, 2);
    hop_peek_init(&pk, 256, HOP_ADDRESS_BYTES_MAX);
    r = hop_peek_feed(&pk, big.b, 2);
    TEST_CTX("%s", "handshake over cap");
    CHECK(r == HOP_EPREREAD || r == HOP_EFRAMEBIG);
  }
  TEST_CTX("%s", "");
}

/* The raw address cap and the 253-byte normalised host. */
static void test_address_caps(void)
{
  char addr[1100];
  struct hop_peek pk;

  /* Raw cap: address_bytes_max is allowed, one more is not. */
  for (size_t n = 18; n <= 22; n++) {
    struct tb t = { .len = 0 };
    int r;

    memset(addr, 'a', n);
    memcpy(addr, "ab.c///", 7);
    tb_handshake(&t, 47, addr, n, 25565, 1);
    TEST_CTX("raw address %zu, cap 20", n);
    r = peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 20, -1, &pk);
    if (n <= 20) {
      CHECK_EQ(HOP_PEEK_DONE, r);
      CHECK_MEM("ab.c", pk.hs.host, pk.hs.host_len);
    } else {
      CHECK_EQ(HOP_EADDRESS, r);
    }
  }

  /* The default raw cap, 1024, with a short routed host. */
  for (size_t n = 1023; n <= 1025; n++) {
    struct tb t = { .len = 0 };
    int r;

    memset(addr, '9', n);
    memcpy(addr, "mc.example.net///", 17);
    tb_handshake(&t, 47, addr, n, 25565, 1);
    TEST_CTX("raw address %zu, default cap", n);
    r = peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX, -1, &pk);
    CHECK_EQ(n <= 1024 ? HOP_PEEK_DONE : HOP_EADDRESS, r);
  }

  /* Normalised host: 253 bytes fit, 254 do not (trailing dots and markers do not count). */
  for (size_t n = 252; n <= 255; n++) {
    struct tb t = { .len = 0 };
    int r;

    for (size_t i = 0; i < n; i++)
      addr[i] = (i % 10 == 9) ? '.' : 'A';
    addr[n - 1] = 'z';
    memcpy(addr + n, "..\0FML\0", 7);
    tb_handshake(&t, 340, addr, n + 7, 25565, 1);
    TEST_CTX("host %zu", n);
    r = peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX, -1, &pk);
    if (n <= 253) {
      CHECK_EQ(HOP_PEEK_DONE, r);
      CHECK_EQ(n, pk.hs.host_len);
      CHECK_EQ(n, strlen(pk.hs.host));
      CHECK_EQ('a', pk.hs.host[0]);
      CHECK_EQ(n + 7, pk.hs.address.len);
    } else {
      CHECK_EQ(HOP_EADDRESS, r);
    }
  }

  /* An empty address routes as "" (the default server decides). */
  {
    struct tb t = { .len = 0 };

    tb_handshake(&t, 47, "", 0, 25565, 1);
    TEST_CTX("%s", "empty address");
    CHECK_EQ(HOP_PEEK_DONE, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 64, -1, &pk));
    CHECK_EQ(0, pk.hs.host_len);
    CHECK_EQ(0, pk.hs.address.len);
  }
  TEST_CTX("%s", "");
}

/* Handshake fields that do not fit or trail, built by hand. */
static void test_bad_handshakes(void)
{
  struct hop_peek pk;

  /* Port cut in half inside a correctly framed packet. */
  {
    struct tb body = { .len = 0 }, t = { .len = 0 };

    tb_u8(&body, 0x00);
    tb_varint(&body, 765);
    tb_str(&body, "a.b");
    tb_u8(&body, 0x63);
    tb_frame(&t, &body);
    CHECK_EQ(HOP_ESHORT, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 64, -1, &pk));
  }
  /* Address length pointing past the frame. */
  {
    struct tb body = { .len = 0 }, t = { .len = 0 };

    tb_u8(&body, 0x00);
    tb_varint(&body, 765);
    tb_varint(&body, 40);
    tb_bytes(&body, "a.b", 3);
    tb_u16(&body, 25565);
    tb_u8(&body, 1);
    tb_frame(&t, &body);
    CHECK_EQ(HOP_ESHORT, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 64, -1, &pk));
  }
  /* One trailing byte. */
  {
    struct tb body = { .len = 0 }, t = { .len = 0 };

    tb_u8(&body, 0x00);
    tb_varint(&body, 765);
    tb_str(&body, "a.b");
    tb_u16(&body, 25565);
    tb_u8(&body, 1);
    tb_u8(&body, 0);
    tb_frame(&t, &body);
    CHECK_EQ(HOP_ETRAILING, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 64, -1, &pk));
  }
  /* Packet id 0x02 and a 2-byte packet id 0x80 0x00 (not 0x00). */
  {
    struct tb t = { .len = 0 };

    tb_bytes(&t, "\x05\x02\x01\x00\x00\x01", 6);
    CHECK_EQ(HOP_ENOTHS, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 64, -1, &pk));
    t.len = 0;
    tb_bytes(&t, "\x07\x80\x01\x01\x00\x00\x00\x01", 8);
    CHECK_EQ(HOP_ENOTHS, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 64, -1, &pk));
  }
  /* A protocol VarInt that runs to six bytes inside the frame. */
  {
    struct tb t = { .len = 0 };

    tb_bytes(&t, "\x0a\x00\x80\x80\x80\x80\x80\x01\x00\x00\x01", 11);
    CHECK_EQ(HOP_EVARINT, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 64, -1, &pk));
  }
}

/* A bad Login Start after a good handshake is HOP_ELOGIN, only once the frame is whole. */
static void test_bad_login_via_peek(void)
{
  struct tb t = { .len = 0 };
  struct hop_peek pk;
  size_t hs;

  tb_handshake(&t, 765, "play.example.com", 16, 25565, 2);
  hs = t.len;
  tb_login_764(&t, "ABCDEFGHIJKLMNOPQ");           /* 17 characters */
  for (size_t cut = 0; cut <= t.len; cut++) {
    int r;

    TEST_CTX("cut %zu", cut);
    hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
    r = hop_peek_feed(&pk, t.b, cut);
    CHECK_EQ(cut == t.len ? HOP_ELOGIN : HOP_PEEK_MORE, r);
    CHECK_EQ(cut >= hs, pk.have_handshake);
    if (r == HOP_PEEK_MORE)
      CHECK_EQ(HOP_ELOGIN, hop_peek_feed(&pk, t.b, t.len));
  }
  TEST_CTX("%s", "");

  /* The Login Start layout follows the handshake's protocol: a 764+ body under protocol 47
   * trails 16 bytes. */
  t.len = 0;
  tb_handshake(&t, 47, "play.example.com", 16, 25565, 2);
  tb_login_764(&t, "Alex");
  CHECK_EQ(HOP_ELOGIN, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 1024, -1, &pk));
  /* A status request (0x00, empty) where a login expects Login Start. */
  t.len = 0;
  tb_handshake(&t, 47, "play.example.com", 16, 25565, 2);
  tb_bytes(&t, "\x01\x00", 2);
  CHECK_EQ(HOP_ELOGIN, peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 1024, -1, &pk));
  /* A zero-length second frame. */
  t.len = 0;
  tb_handshake(&t, 47, "play.example.com", 16, 25565, 2);
  tb_u8(&t, 0x00);
  {
    int r = peek_all(t.b, t.len, HOP_PREREAD_BYTES_MAX, 1024, -1, &pk);

    CHECK(r == HOP_EFRAMELEN || r == HOP_ELOGIN);
  }
}

/* ---- hop_legacy_scan ------------------------------------------------------------------------ */

static void tb_utf16(struct tb *t, const char *ascii)
{
  for (const char *p = ascii; *p; p++)
    tb_u16(t, (uint16_t)(unsigned char)*p);
}

static void tb_legacy16(struct tb *t, int proto, const char *host, int32_t port)
{
  tb_bytes(t, "\xfe\x01\xfa", 3);
  tb_u16(t, 11);
  tb_utf16(t, "MC|PingHost");
  tb_u16(t, (uint16_t)(7 + 2 * strlen(host)));
  tb_u8(t, (uint8_t)proto);
  tb_u16(t, (uint16_t)strlen(host));
  tb_utf16(t, host);
  tb_u16(t, (uint16_t)((uint32_t)port >> 16));
  tb_u16(t, (uint16_t)port);
}

static void test_legacy_scan(void)
{
  struct hop_legacy lg;
  struct tb t = { .len = 0 };

  CHECK_EQ(HOP_LEGACY_AMBIGUOUS, hop_legacy_scan((const uint8_t *)"\xfe", 1, &lg));
  CHECK_EQ(HOP_LEGACY_BETA, lg.form);
  CHECK_EQ(1, lg.bytes);
  CHECK_EQ(HOP_LEGACY_AMBIGUOUS, hop_legacy_scan((const uint8_t *)"\xfe\x01", 2, &lg));
  CHECK_EQ(HOP_LEGACY_14, lg.form);
  CHECK_EQ(2, lg.bytes);
  CHECK_EQ(HOP_LEGACY_NO, hop_legacy_scan((const uint8_t *)"\xfe\x01\x00", 3, &lg));
  CHECK_EQ(HOP_LEGACY_NO, hop_legacy_scan((const uint8_t *)"\xfe\x02", 2, &lg));
  CHECK_EQ(HOP_LEGACY_NO, hop_legacy_scan((const uint8_t *)"\xfe\x02\x00", 3, &lg));

  tb_legacy16(&t, 78, "Play.Example.COM.", 25565);
  for (size_t cut = 3; cut < t.len; cut++) {
    int r = hop_legacy_scan(t.b, cut, &lg);

    TEST_CTX("1.6 cut %zu", cut);
    CHECK_EQ(HOP_LEGACY_MORE, r);
  }
  TEST_CTX("%s", "");
  CHECK_EQ(HOP_LEGACY_YES, hop_legacy_scan(t.b, t.len, &lg));
  CHECK_EQ(HOP_LEGACY_16, lg.form);
  CHECK_EQ(78, lg.protocol);
  CHECK_EQ(25565, lg.port);
  CHECK_MEM("play.example.com", lg.host, lg.host_len);
  CHECK_EQ(t.len, lg.bytes);
  /* Bytes after a complete ping do not change it. */
  {
    size_t ping = t.len;

    tb_u8(&t, 0x42);
    CHECK_EQ(HOP_LEGACY_YES, hop_legacy_scan(t.b, t.len, &lg));
    CHECK_EQ(ping, lg.bytes);
  }

  /* A wrong channel name. */
  t.len = 0;
  tb_bytes(&t, "\xfe\x01\xfa", 3);
  tb_u16(&t, 11);
  tb_utf16(&t, "MC|PingHosx");
  tb_u16(&t, 7 + 2);
  tb_u8(&t, 78);
  tb_u16(&t, 1);
  tb_utf16(&t, "a");
  tb_u16(&t, 0);
  tb_u16(&t, 25565);
  CHECK_EQ(HOP_ELEGACY, hop_legacy_scan(t.b, t.len, &lg));
  /* A wrong channel length. */
  t.len = 0;
  tb_bytes(&t, "\xfe\x01\xfa\x00\x0c", 5);
  CHECK_EQ(HOP_ELEGACY, hop_legacy_scan(t.b, t.len, &lg));
  /* Data length that disagrees with the host length. */
  t.len = 0;
  tb_bytes(&t, "\xfe\x01\xfa", 3);
  tb_u16(&t, 11);
  tb_utf16(&t, "MC|PingHost");
  tb_u16(&t, 7 + 4);
  tb_u8(&t, 78);
  tb_u16(&t, 1);
  tb_utf16(&t, "ab");
  tb_u16(&t, 0);
  tb_u16(&t, 25565);
  CHECK_EQ(HOP_ELEGACY, hop_legacy_scan(t.b, t.len, &lg));

  /* Through the peek: a 1.6 ping with a bad channel is HOP_ELEGACY. */
  {
    struct hop_peek pk;
    struct tb bad = { .len = 0 };

    tb_bytes(&bad, "\xfe\x01\xfa\x00\x0b\x00\x4d\x00\x43\x00\x7c\x00\x51", 13);
    CHECK_EQ(HOP_ELEGACY, peek_all(bad.b, bad.len, HOP_PREREAD_BYTES_MAX, 1024, -1, &pk));
  }
}

int main(void)
{
  test_fe_length_frames();
  test_status_done_early();
  test_login_waits();
  test_next_states();
  test_preread_cap();
  test_address_caps();
  test_bad_handshakes();
  test_bad_login_via_peek();
  test_legacy_scan();
  return TEST_DONE();
}
