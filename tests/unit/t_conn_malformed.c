/* The per-session state machine, driven sans-IO (see conn_fixture.h). Malformed openings and the
 * caps from config, each closing with its reason; and the error-to-close-reason table. */
#include "conn_fixture.h"

/* ---- Malformed input ------------------------------------------------------------------------ */

static void test_malformed(void)
{
  static const struct {
    const char *file;
    enum hop_close reason;
  } cases[] = {
    { "malformed-varint-6-bytes.bin",           HOP_CLOSE_BAD_VARINT },
    { "malformed-negative-length.bin",          HOP_CLOSE_BAD_FRAME_LENGTH },
    { "malformed-zero-length.bin",              HOP_CLOSE_BAD_FRAME_LENGTH },
    { "malformed-length-2097152.bin",           HOP_CLOSE_FRAME_TOO_LARGE },
    { "malformed-first-packet-id-1.bin",        HOP_CLOSE_NOT_HANDSHAKE },
    { "malformed-handshake-short-frame.bin",    HOP_CLOSE_BAD_HANDSHAKE },
    { "malformed-handshake-trailing-bytes.bin", HOP_CLOSE_BAD_HANDSHAKE },
    { "malformed-next-state-7.bin",             HOP_CLOSE_BAD_NEXT_STATE },
    { "malformed-address-300.bin",              HOP_CLOSE_BAD_ADDRESS },
  };
  struct hop_conn_config cfg = make_cfg();

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len;
    uint8_t *fx = fixture(cases[i].file, &len);

    for (size_t cut = 0; cut <= len; cut++) {
      struct sess s;

      TEST_CTX("%s cut %zu", cases[i].file, cut);
      start(&s, &cfg);
      bytes(&s, fx, cut, T0 + 1);
      if (!s.closes)
        bytes(&s, fx, len, T0 + 2);
      CHECK_EQ(1, s.closes);
      CHECK_EQ(cases[i].reason, s.reason);
      CHECK_EQ(0, s.connects);
      CHECK_EQ(0, s.pipes);
      CHECK_EQ(0, s.writes);           /* none of these reached the login state */
      if (cut == len)
        poke_after_close(&s, fx, len);
    }
    free(fx);
  }
  TEST_CTX("%s", "");

  /* Truncated handshake, then EOF: early_eof; without EOF: the handshake timeout. Never a
   * connect. The empty connection likewise. */
  {
    size_t len;
    uint8_t *fx = fixture("malformed-truncated-handshake.bin", &len);
    struct sess s;

    start(&s, &cfg);
    bytes(&s, fx, len, T0 + 1);
    CHECK_EQ(0, s.n);
    eof(&s, T0 + 2);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_EARLY_EOF, s.reason);
    CHECK_EQ(0, s.connects);
    poke_after_close(&s, fx, len);

    start(&s, &cfg);
    bytes(&s, fx, len, T0 + 1);
    timer(&s, T0 + HS_MS);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_HANDSHAKE_TIMEOUT, s.reason);
    CHECK_EQ(0, s.connects);

    start(&s, &cfg);
    eof(&s, T0 + 1);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_EARLY_EOF, s.reason);
    CHECK_EQ(0, s.writes);
    free(fx);
  }

  /* A bad Login Start to a known host: refused with a Disconnect, the connect abandoned, and
   * a connect result arriving afterwards ignored. */
  {
    struct tb t = { .len = 0 }, body = { .len = 0 };
    struct sess s;
    char *text;

    tb_handshake(&t, 765, "play.example.com", 16, 25565, 2);
    tb_u8(&body, 0x00);
    tb_str(&body, "ABCDEFGHIJKLMNOPQ");
    tb_bytes(&body, "0123456789abcdef", 16);
    tb_frame(&t, &body);
    start(&s, &cfg);
    bytes(&s, t.b, t.len, T0 + 1);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_BAD_LOGIN_START, s.reason);
    CHECK_EQ(1, s.writes);
    text = s.writes ? disconnect_text(s.write[0], s.write_len[0]) : NULL;
    CHECK(text != NULL && text[0] != '\0');
    free(text);
    CHECK_EQ(s.connects, s.drops);     /* a connect, if started, is abandoned */
    CHECK_EQ(0, s.pipes);
    poke_after_close(&s, t.b, t.len);
  }

  /* The preread cap and the address cap come from the config. */
  {
    struct hop_conn_config small = make_cfg();
    size_t len;
    uint8_t *fx = fixture("1.20.4-login.bin", &len);
    struct sess s;

    small.preread_bytes_max = 40;      /* the handshake (24) fits, the Login Start does not */
    start(&s, &small);
    bytes(&s, fx, 40, T0 + 1);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_FRAME_TOO_LARGE, s.reason);
    CHECK_EQ(0, s.pipes);
    CHECK_EQ(s.connects, s.drops);

    small = make_cfg();
    small.address_bytes_max = 15;      /* "play.example.com" is 16 */
    start(&s, &small);
    bytes(&s, fx, len, T0 + 1);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_BAD_ADDRESS, s.reason);
    CHECK_EQ(0, s.connects);
    free(fx);
  }
}

/* ---- Close reasons -------------------------------------------------------------------------- */

static void test_close_table(void)
{
  static const struct {
    int err;
    enum hop_close reason;
    const char *name;
  } map[] = {
    { HOP_EVARINT,   HOP_CLOSE_BAD_VARINT,       "bad_varint" },
    { HOP_EFRAMELEN, HOP_CLOSE_BAD_FRAME_LENGTH, "bad_frame_length" },
    { HOP_EFRAMEBIG, HOP_CLOSE_FRAME_TOO_LARGE,  "frame_too_large" },
    { HOP_EPREREAD,  HOP_CLOSE_FRAME_TOO_LARGE,  "frame_too_large" },
    { HOP_ENOTHS,    HOP_CLOSE_NOT_HANDSHAKE,    "not_handshake" },
    { HOP_ESHORT,    HOP_CLOSE_BAD_HANDSHAKE,    "bad_handshake" },
    { HOP_ETRAILING, HOP_CLOSE_BAD_HANDSHAKE,    "bad_handshake" },
    { HOP_ESTATE,    HOP_CLOSE_BAD_NEXT_STATE,   "bad_next_state" },
    { HOP_EADDRESS,  HOP_CLOSE_BAD_ADDRESS,      "bad_address" },
    { HOP_ELOGIN,    HOP_CLOSE_BAD_LOGIN_START,  "bad_login_start" },
    { HOP_ELEGACY,   HOP_CLOSE_BAD_LEGACY,       "bad_legacy" },
    { HOP_ESTATUS,   HOP_CLOSE_BAD_STATUS,       "bad_status" },
  };

  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    TEST_CTX("%s", hop_err_name(map[i].err) ? hop_err_name(map[i].err) : "?");
    CHECK_EQ(map[i].reason, hop_close_from_err(map[i].err));
    CHECK_STR(map[i].name, hop_close_name(map[i].reason));
  }
  TEST_CTX("%s", "");
  CHECK_STR("none", hop_close_name(HOP_CLOSE_NONE));
  CHECK_STR("client_closed", hop_close_name(HOP_CLOSE_CLIENT_CLOSED));
  CHECK_STR("handshake_timeout", hop_close_name(HOP_CLOSE_HANDSHAKE_TIMEOUT));
  CHECK_STR("no_route", hop_close_name(HOP_CLOSE_NO_ROUTE));
  CHECK_STR("backend_unreachable", hop_close_name(HOP_CLOSE_BACKEND_UNREACHABLE));
  CHECK_STR("internal", hop_close_name(HOP_CLOSE_INTERNAL));
  CHECK(hop_close_name(HOP_CLOSE_COUNT) != NULL);     /* out of range is not a crash */

  /* Every reason has a distinct name; every error code a text and a name. */
  for (int a = 0; a < HOP_CLOSE_COUNT; a++)
    for (int b = a + 1; b < HOP_CLOSE_COUNT; b++)
      if (strcmp(hop_close_name((enum hop_close)a), hop_close_name((enum hop_close)b)) == 0)
        CHECK(!"duplicate close name");
  for (int e = -1001; e >= -1016; e--) {
    TEST_CTX("err %d", e);
    CHECK(hop_err_text(e) != NULL && hop_err_name(e) != NULL);
  }
  TEST_CTX("%s", "");
  CHECK(hop_err_text(-1) == NULL);
  CHECK(hop_err_name(-3008) == NULL);
  CHECK_STR("EVARINT", hop_err_name(HOP_EVARINT));
  CHECK_STR("status", hop_intent_name(HOP_INTENT_STATUS));
  CHECK_STR("login", hop_intent_name(HOP_INTENT_LOGIN));
  CHECK_STR("transfer", hop_intent_name(HOP_INTENT_TRANSFER));
  CHECK_STR("legacy", hop_intent_name(HOP_INTENT_LEGACY));
}

int main(int argc, char **argv)
{
  if (conn_fixture_setup(argc, argv) != 0)
    return TEST_DONE();

  test_malformed();
  test_close_table();
  hop_route_table_free(routes);
  return TEST_DONE();
}
