/* The per-session state machine, driven sans-IO (see conn_fixture.h). What the shell does to a
 * session from outside: a newer route snapshot (rebind), a route gone mid-session, and the gate
 * that holds a session until the shell opens it or refuses. */
#include "conn_fixture.h"

/* A newer snapshot before routing replaces the one given at init; after routing it cannot move
 * the session, but a server gone from it is never piped to. */
static void test_snapshot_changes(void)
{
  struct hop_route_table *none = hop_route_table_new();
  struct hop_conn_config cfg = make_cfg();
  size_t len, hs;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  struct sess s;
  char *text;

  hs = handshake_len(fx, len);
  if (!CHECK(none && hop_route_table_seal(none) == 0))
    return;
  TEST_CTX("%s", "rebind before routing");
  start(&s, &cfg);
  bytes(&s, fx, hs - 3, T0 + 1);
  hop_conn_rebind(&s.c, &s.cfg, none);
  bytes(&s, fx, len, T0 + 2);
  CHECK_EQ(0, s.connects);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);

  TEST_CTX("%s", "rebind after routing is ignored");
  start(&s, &cfg);
  bytes(&s, fx, len, T0 + 1);
  CHECK_EQ(1, s.connects);
  hop_conn_rebind(&s.c, &s.cfg, none);
  backend(&s, 0, T0 + 2);
  CHECK_EQ(1, s.pipes);

  TEST_CTX("%s", "route gone while dialling");
  start(&s, &cfg);
  bytes(&s, fx, len, T0 + 1);
  hop_conn_on_route_gone(&s.c, T0 + 2);
  drain(&s);
  CHECK_EQ(1, s.drops);
  CHECK_EQ(0, s.pipes);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_BACKEND_UNREACHABLE, s.reason);
  text = s.writes ? disconnect_text(s.write[0], s.write_len[0]) : NULL;
  CHECK(text && strstr(text, "lobby cannot be reached") != NULL);
  free(text);
  backend(&s, 0, T0 + 3);              /* the abandoned dial's result changes nothing */
  CHECK_EQ(0, s.pipes);

  TEST_CTX("%s", "route gone after the connect, before the Login Start");
  start(&s, &cfg);
  bytes(&s, fx, hs, T0 + 1);
  if (CHECK(s.connects == 1)) {       /* the connect starts with the handshake */
    backend(&s, 0, T0 + 2);
    CHECK_EQ(0, s.pipes);
    hop_conn_on_route_gone(&s.c, T0 + 3);
    drain(&s);
    CHECK_EQ(1, s.drops);
    bytes(&s, fx, len, T0 + 4);
    CHECK_EQ(0, s.pipes);
    CHECK_EQ(1, s.closes);
    CHECK_EQ(HOP_CLOSE_BACKEND_UNREACHABLE, s.reason);
  }

  TEST_CTX("%s", "route gone after the hand-off is ignored");
  start(&s, &cfg);
  bytes(&s, fx, len, T0 + 1);
  backend(&s, 0, T0 + 2);
  hop_conn_on_route_gone(&s.c, T0 + 3);
  drain(&s);
  CHECK_EQ(1, s.pipes);
  CHECK_EQ(0, s.drops);
  CHECK_EQ(2, s.n);
  TEST_CTX("%s", "");
  hop_route_table_free(none);
  free(fx);
}

/* With the gate set, conn says and does nothing once the intent is known until the shell opens
 * the gate or refuses, however the bytes were split. */
static void test_gate(void)
{
  struct hop_conn_config cfg = make_cfg();
  size_t len, slen;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  uint8_t *st = fixture("1.20.4-status.bin", &slen);
  struct sess s;

  for (size_t cut = 1; cut <= len; cut++) {
    TEST_CTX("login, opened, cut %zu", cut);
    start(&s, &cfg);
    hop_conn_set_gate(&s.c);
    bytes(&s, fx, cut, T0 + 1);
    bytes(&s, fx, len, T0 + 2);
    CHECK_EQ(0, s.n);
    CHECK(hop_conn_at_gate(&s.c));
    CHECK(s.c.ready);
    hop_conn_open_gate(&s.c, T0 + 3);
    drain(&s);
    CHECK_EQ(1, s.connects);
    backend(&s, 0, T0 + 4);
    CHECK_EQ(1, s.pipes);
    CHECK_EQ(len, s.pipe_len);
  }
  TEST_CTX("%s", "status, refused at the gate");
  start(&s, &cfg);
  hop_conn_set_gate(&s.c);
  bytes(&s, st, slen, T0 + 1);
  CHECK_EQ(0, s.n);
  CHECK(hop_conn_at_gate(&s.c));
  hop_conn_refuse(&s.c, HOP_CLOSE_RATE_LIMITED, "slow down", 0);
  drain(&s);
  CHECK_EQ(0, s.connects);
  CHECK_EQ(1, s.writes);               /* the limit MOTD, from hopper */
  CHECK(s.write_len[0] > 0 && memmem(s.write[0], s.write_len[0], "slow down", 9) != NULL);
  TEST_CTX("%s", "no gate: routes at once");
  start(&s, &cfg);
  bytes(&s, fx, len, T0 + 1);
  CHECK(!hop_conn_at_gate(&s.c));
  CHECK_EQ(1, s.connects);
  TEST_CTX("%s", "");
  free(fx);
  free(st);
}

int main(int argc, char **argv)
{
  if (conn_fixture_setup(argc, argv) != 0)
    return TEST_DONE();

  test_snapshot_changes();
  test_gate();
  hop_route_table_free(routes);
  return TEST_DONE();
}
