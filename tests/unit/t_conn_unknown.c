/* The per-session state machine, driven sans-IO (see conn_fixture.h). Hosts with no route: the
 * Disconnect and status answers conn writes itself, at every split. */
#include "conn_fixture.h"

/* ---- Unknown hosts -------------------------------------------------------------------------- */

static void test_unknown_login(void)
{
  static const char *const files[] = { "1.20.4-login-port25577.bin", "1.8.9-login-port25577.bin",
                                       "26.1-login-port25577.bin" };

  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    size_t len;
    uint8_t *fx = fixture(files[f], &len);
    struct hop_conn_config cfg = make_cfg();

    /* Split at every offset; the DROP setting concerns status only. */
    for (int drop = 0; drop <= 1; drop++) {
      cfg.unknown_status = drop ? HOP_UNKNOWN_STATUS_DROP : HOP_UNKNOWN_STATUS_MOTD;
      for (size_t cut = 0; cut <= len; cut++) {
        struct sess s;
        char *text;

        TEST_CTX("%s drop %d cut %zu", files[f], drop, cut);
        start(&s, &cfg);
        CHECK_EQ(0, s.n);
        bytes(&s, fx, cut, T0 + 10);
        if (cut < len)
          CHECK_EQ(0, s.n);
        bytes(&s, fx, len, T0 + 20);
        CHECK_EQ(0, s.connects);
        CHECK_EQ(1, s.writes);
        CHECK_EQ(1, s.closes);
        CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
        CHECK_EQ(2, s.n);
        CHECK(s.n >= 2 && s.kinds[0] == HOP_ACT_WRITE && s.kinds[1] == HOP_ACT_CLOSE);
        text = disconnect_text(s.write[0], s.write_len[0]);
        CHECK_STR("There is no server at mc.example.net.", text);
        free(text);
        if (cut == 0)
          poke_after_close(&s, fx, len);
      }
    }
    free(fx);
  }
  TEST_CTX("%s", "");
}

static void test_unknown_status(void)
{
  size_t len, hs;
  uint8_t *fx = fixture("1.20.4-status-port25577.bin", &len);
  uint8_t buf[256];
  const uint8_t ping[] = { 0x09, 0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
  struct hop_conn_config cfg = make_cfg();

  hs = handshake_len(fx, len);
  memcpy(buf, fx, len);
  memcpy(buf + len, ping, sizeof ping);

  for (size_t cut = 0; cut <= len + sizeof ping; cut++) {
    struct sess s;
    int writes_before;

    TEST_CTX("status cut %zu", cut);
    start(&s, &cfg);
    bytes(&s, buf, cut, T0 + 5);
    /* Nothing is said before the Status Request is whole; the Response comes once it is. */
    CHECK_EQ(cut >= len + sizeof ping ? 2 : cut >= len ? 1 : 0, s.writes);
    CHECK_EQ(0, s.connects);
    CHECK_EQ(cut == len + sizeof ping ? 1 : 0, s.closes);
    if (cut < len) {
      bytes(&s, buf, len, T0 + 6);
      CHECK_EQ(1, s.writes);
      CHECK_EQ(0, s.closes);
    }
    if (s.writes >= 1)
      check_status_response(s.write[0], s.write_len[0], "\xc2\xa7" "cNo server at mc.example.net",
                            765);
    writes_before = s.writes;
    bytes(&s, buf, len + sizeof ping, T0 + 7);
    CHECK_EQ(2, s.writes);
    (void)writes_before;
    if (s.writes == 2)
      CHECK_BYTES(ping, sizeof ping, s.write[1], s.write_len[1]);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
    CHECK_EQ(HOP_ACT_CLOSE, s.kinds[s.n - 1]);
    CHECK_EQ(HOP_INTENT_STATUS, hop_conn_intent(&s.c));
    if (cut == hs)
      poke_after_close(&s, buf, len + sizeof ping);
  }
  TEST_CTX("%s", "");

  /* A second Status Request, or another packet, is not a status exchange. */
  {
    struct sess s;
    uint8_t b2[256];

    memcpy(b2, fx, len);
    memcpy(b2 + len, "\x01\x00", 2);
    start(&s, &cfg);
    bytes(&s, b2, len + 2, T0 + 1);
    CHECK_EQ(1, s.writes);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_BAD_STATUS, s.reason);

    memcpy(b2 + len, "\x02\x05\x00", 3);
    start(&s, &cfg);
    bytes(&s, b2, len + 3, T0 + 1);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_BAD_STATUS, s.reason);
  }

  /* The client hangs up after the Response: one close, still no_route. */
  {
    struct sess s;

    start(&s, &cfg);
    bytes(&s, fx, len, T0 + 1);
    eof(&s, T0 + 2);
    CHECK_EQ(1, s.writes);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
  }
  /* Or stays silent: the handshake deadline still ends it, once. */
  {
    struct sess s;

    start(&s, &cfg);
    bytes(&s, fx, len, T0 + 1);
    CHECK(hop_conn_deadline(&s.c) <= T0 + HS_MS);
    timer(&s, T0 + HS_MS);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(0, s.after_close);
  }

  /* With unknown_host.status = drop: a silent close, no bytes written, at any split. */
  cfg.unknown_status = HOP_UNKNOWN_STATUS_DROP;
  for (size_t cut = 0; cut <= len; cut++) {
    struct sess s;

    TEST_CTX("drop cut %zu", cut);
    start(&s, &cfg);
    bytes(&s, fx, cut, T0 + 5);
    bytes(&s, fx, len, T0 + 6);
    CHECK_EQ(0, s.writes);
    CHECK_EQ(0, s.connects);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
  }
  TEST_CTX("%s", "");
  free(fx);
}

/* A hostile host name full of characters that JSON must escape still gets its Disconnect. */
static void test_unknown_login_hostile_host(void)
{
  struct tb t = { .len = 0 };
  struct tb body = { .len = 0 };
  char addr[253];
  struct sess s;
  struct hop_conn_config cfg = make_cfg();
  char *text;

  memset(addr, 0x01, sizeof addr);
  tb_handshake(&t, 765, addr, sizeof addr, 25565, 2);
  tb_u8(&body, 0x00);
  tb_str(&body, "Steve");
  tb_bytes(&body, "0123456789abcdef", 16);
  tb_frame(&t, &body);
  start(&s, &cfg);
  bytes(&s, t.b, t.len, T0 + 1);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
  CHECK_EQ(1, s.writes);
  text = s.writes ? disconnect_text(s.write[0], s.write_len[0]) : NULL;
  CHECK(text != NULL && strncmp(text, "There is no server at ", 22) == 0);
  CHECK(text != NULL && strlen(text) > 22 + 200 && text[strlen(text) - 1] == '.');
  for (size_t i = 0; text && text[i]; i++)
    if ((unsigned char)text[i] < 0x20 && !CHECK(!"control character in the answer"))
      break;
  free(text);
}

int main(int argc, char **argv)
{
  if (conn_fixture_setup(argc, argv) != 0)
    return TEST_DONE();

  test_unknown_login();
  test_unknown_status();
  test_unknown_login_hostile_host();
  hop_route_table_free(routes);
  return TEST_DONE();
}
