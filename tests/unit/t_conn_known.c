/* The per-session state machine, driven sans-IO (see conn_fixture.h). Hosts with a route: connect,
 * the replayed opening piped at every split, and backend failures (refused, connect timeout)
 * answered for the server. */
#include "conn_fixture.h"

/* ---- Known hosts ---------------------------------------------------------------------------- */

static void test_known_pipe(void)
{
  static const char *const files[] = { "1.20.4-login.bin", "1.7.10-login.bin", "1.19-login.bin",
                                       "1.20.4-status.bin", "forge-fml2-1.16.5-login.bin",
                                       "tcpshield-1.20.4-login.bin", "transfer-1.21.4-login.bin",
                                       "trailing-dot-1.20.4-status.bin" };

  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    size_t len;
    uint8_t *fx = fixture(files[f], &len);
    struct hop_conn_config cfg = make_cfg();
    size_t ready = strstr(files[f], "status") ? handshake_len(fx, len) : len;

    for (size_t cut = 0; cut <= len; cut++) {
      for (int early = 0; early <= 1; early++) {
        struct sess s;

        TEST_CTX("%s cut %zu backend %s", files[f], cut, early ? "early" : "late");
        start(&s, &cfg);
        bytes(&s, fx, cut, T0 + 10);
        CHECK_EQ(0, s.writes);
        CHECK_EQ(0, s.pipes);
        CHECK(s.connects <= 1);
        if (early && s.connects == 1) {
          CHECK_EQ(T0 + 10 + CONNECT_MS, hop_conn_deadline(&s.c));
          backend(&s, 0, T0 + 15);
          /* Connected before the opening is whole: the pipe waits for it (a status opening
           * is whole with its handshake; a login needs its Login Start). */
          CHECK_EQ(cut >= ready ? 1 : 0, s.pipes);
          if (s.pipes)
            CHECK_EQ(cut, s.pipe_len);     /* everything fed so far, no more */
        }
        bytes(&s, fx, len, T0 + 20);
        CHECK_EQ(1, s.connects);
        CHECK_EQ(s.kinds[0], HOP_ACT_CONNECT);
        if (!early || s.pipes == 0)
          backend(&s, 0, T0 + 30);
        CHECK_EQ(1, s.pipes);
        CHECK(s.pipe_bytes == fx);
        CHECK_EQ(early && cut >= ready ? cut : len, s.pipe_len);
        CHECK_EQ(0, s.writes);
        CHECK_EQ(0, s.closes);
        CHECK_EQ(HOP_CONN_PIPED, s.c.state);
        CHECK(s.c.server != NULL && strcmp(s.c.server->id, "lobby") == 0);
        /* The relay owns the session now: conn asks for no timer and says nothing more. */
        CHECK_EQ(UINT64_MAX, hop_conn_deadline(&s.c));
        timer(&s, UINT64_MAX - 1);
        eof(&s, T0 + 40);
        CHECK_EQ(2, s.n);                    /* only CONNECT and PIPE, ever */
      }
    }
    free(fx);
  }
  TEST_CTX("%s", "");
}

/* Bytes that arrive while the backend connect is in flight are replayed too. */
static void test_pipe_includes_late_bytes(void)
{
  size_t len;
  uint8_t *fx = fixture("1.20.4-status.bin", &len);
  uint8_t buf[64];
  const uint8_t ping[] = { 0x09, 0x01, 1, 2, 3, 4, 5, 6, 7, 8 };
  struct hop_conn_config cfg = make_cfg();
  struct sess s;

  memcpy(buf, fx, len);
  memcpy(buf + len, ping, sizeof ping);
  start(&s, &cfg);
  bytes(&s, buf, len, T0 + 1);
  CHECK_EQ(1, s.connects);
  bytes(&s, buf, len + sizeof ping, T0 + 2);
  backend(&s, 0, T0 + 3);
  CHECK_EQ(1, s.pipes);
  CHECK_EQ(len + sizeof ping, s.pipe_len);
  CHECK_EQ(0, s.writes);
  free(fx);
}

static void test_backend_failure(void)
{
  struct hop_conn_config cfg = make_cfg();
  size_t len;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  struct sess s;
  char *text;

  /* Login: refused connect -> Disconnect naming the server, then backend_unreachable. */
  start(&s, &cfg);
  bytes(&s, fx, len, T0 + 1);
  CHECK_EQ(1, s.connects);
  backend(&s, REFUSED, T0 + 2);
  CHECK_EQ(0, s.pipes);
  CHECK_EQ(1, s.writes);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_BACKEND_UNREACHABLE, s.reason);
  CHECK_EQ(HOP_ACT_CLOSE, s.kinds[s.n - 1]);
  text = disconnect_text(s.write[0], s.write_len[0]);
  CHECK_STR("lobby cannot be reached \"now\".", text);
  free(text);
  poke_after_close(&s, fx, len);

  /* Failure reported before the Login Start is in: the answer waits for it. */
  {
    size_t hs = handshake_len(fx, len);

    start(&s, &cfg);
    bytes(&s, fx, hs, T0 + 1);
    if (s.connects == 1) {
      backend(&s, REFUSED, T0 + 2);
      CHECK_EQ(0, s.closes);
    }
    bytes(&s, fx, len, T0 + 3);
    if (s.connects == 1 && s.closes == 0)
      backend(&s, REFUSED, T0 + 4);
    CHECK_EQ(1, s.connects);
    CHECK_EQ(1, s.writes);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_BACKEND_UNREACHABLE, s.reason);
  }

  /* Connect timeout: the deadline is the connect's, and the answer is the unreachable one. */
  start(&s, &cfg);
  bytes(&s, fx, len, T0 + 100);
  CHECK_EQ(1, s.connects);
  CHECK_EQ(T0 + 100 + CONNECT_MS, hop_conn_deadline(&s.c));
  timer(&s, T0 + 100 + CONNECT_MS - 1);
  CHECK_EQ(0, s.closes);
  timer(&s, T0 + 100 + CONNECT_MS);
  CHECK_EQ(1, s.writes);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_CONNECT_TIMEOUT, s.reason);
  text = s.writes ? disconnect_text(s.write[0], s.write_len[0]) : NULL;
  CHECK_STR("lobby cannot be reached \"now\".", text);
  free(text);
  /* The late connect result changes nothing: no pipe after a close. */
  backend(&s, 0, T0 + 100 + CONNECT_MS + 1);
  CHECK_EQ(0, s.pipes);
  poke_after_close(&s, fx, len);
  free(fx);

  /* Status: the unreachable MOTD after the request, Pong after the Ping, then close. */
  {
    size_t slen;
    uint8_t *st = fixture("1.20.4-status.bin", &slen);
    uint8_t buf[64];
    const uint8_t ping[] = { 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 42 };

    memcpy(buf, st, slen);
    memcpy(buf + slen, ping, sizeof ping);
    start(&s, &cfg);
    bytes(&s, buf, slen, T0 + 1);
    backend(&s, REFUSED, T0 + 2);
    CHECK_EQ(1, s.writes);
    CHECK_EQ(0, s.closes);
    if (s.writes)
      check_status_response(s.write[0], s.write_len[0], "lobby is offline", 765);
    bytes(&s, buf, slen + sizeof ping, T0 + 3);
    CHECK_EQ(2, s.writes);
    CHECK_BYTES(ping, sizeof ping, s.write[1], s.write_len[1]);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_BACKEND_UNREACHABLE, s.reason);
    free(st);
  }
}

int main(int argc, char **argv)
{
  if (conn_fixture_setup(argc, argv) != 0)
    return TEST_DONE();

  test_known_pipe();
  test_pipe_includes_late_bytes();
  test_backend_failure();
  hop_route_table_free(routes);
  return TEST_DONE();
}
