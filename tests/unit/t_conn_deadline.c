/* The per-session state machine, driven sans-IO (see conn_fixture.h). The handshake deadline: set
 * at accept, never moved by trickling bytes, fired once. */
#include "conn_fixture.h"

/* ---- Deadlines ------------------------------------------------------------------------------ */

static void test_handshake_deadline(void)
{
  struct hop_conn_config cfg = make_cfg();
  size_t len;
  uint8_t *fx = fixture("1.20.4-login-port25577.bin", &len);
  size_t hs = handshake_len(fx, len);
  struct sess s;

  /* Bytes trickling in never move the deadline set at accept. */
  start(&s, &cfg);
  CHECK_EQ(T0 + HS_MS, hop_conn_deadline(&s.c));
  for (size_t k = 1; k < hs; k++) {
    bytes(&s, fx, k, T0 + 100 * k);
    TEST_CTX("trickle %zu", k);
    CHECK_EQ(T0 + HS_MS, hop_conn_deadline(&s.c));
  }
  TEST_CTX("%s", "");
  timer(&s, T0 + HS_MS - 1);
  CHECK_EQ(0, s.n);
  timer(&s, T0 + HS_MS);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_HANDSHAKE_TIMEOUT, s.reason);
  CHECK_EQ(0, s.connects);
  poke_after_close(&s, fx, len);

  /* A timer that fires late still closes, once. */
  start(&s, &cfg);
  bytes(&s, fx, 3, T0 + 1);
  timer(&s, T0 + HS_MS + 12345);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_HANDSHAKE_TIMEOUT, s.reason);

  /* Silence from the start: the same. */
  start(&s, &cfg);
  timer(&s, T0 + HS_MS);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(0, s.writes);
  CHECK_EQ(HOP_CLOSE_HANDSHAKE_TIMEOUT, s.reason);

  /* A known host whose Login Start never comes: routed, connected, still timed out at the
   * accept deadline; no pipe. */
  free(fx);
  fx = fixture("1.20.4-login.bin", &len);
  hs = handshake_len(fx, len);
  start(&s, &cfg);
  bytes(&s, fx, hs + 2, T0 + 4000);
  if (s.connects)
    backend(&s, 0, T0 + 4001);
  CHECK_EQ(0, s.pipes);
  CHECK_EQ(T0 + HS_MS, hop_conn_deadline(&s.c));
  timer(&s, T0 + HS_MS);
  CHECK_EQ(0, s.pipes);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_HANDSHAKE_TIMEOUT, s.reason);
  poke_after_close(&s, fx, len);
  free(fx);
}

int main(int argc, char **argv)
{
  if (conn_fixture_setup(argc, argv) != 0)
    return TEST_DONE();

  test_handshake_deadline();
  hop_route_table_free(routes);
  return TEST_DONE();
}
