/* The per-session state machine, driven sans-IO (see conn_fixture.h). Legacy (pre-Netty) pings:
 * the FE settle time, Beta and 1.4 kicks, 1.6 pings with a host. */
#include "conn_fixture.h"

/* ---- Legacy pings --------------------------------------------------------------------------- */

/* Decodes a kick into UTF-16 units; returns the unit count or -1. */
static int kick_units(const uint8_t *p, size_t len, uint16_t *units)
{
  size_t n;

  if (len < 3 || p[0] != 0xff)
    return -1;
  n = (size_t)(p[1] << 8 | p[2]);
  if (len != 3 + 2 * n)
    return -1;
  for (size_t i = 0; i < n; i++)
    units[i] = (uint16_t)(p[3 + 2 * i] << 8 | p[4 + 2 * i]);
  return (int)n;
}

static int count_units(const uint16_t *u, int n, uint16_t c)
{
  int k = 0;

  for (int i = 0; i < n; i++)
    k += u[i] == c;
  return k;
}

static void test_legacy(void)
{
  struct hop_conn_config cfg = make_cfg();
  uint16_t units[1024];
  struct sess s;
  int n;

  /* FE: silence for the settle time makes it a Beta ping: kick + close(no_route). */
  start(&s, &cfg);
  bytes(&s, (const uint8_t *)"\xfe", 1, T0 + 500);
  CHECK_EQ(0, s.n);
  CHECK_EQ(T0 + 500 + HOP_LEGACY_SETTLE_MS, hop_conn_deadline(&s.c));
  timer(&s, T0 + 500 + HOP_LEGACY_SETTLE_MS - 1);
  CHECK_EQ(0, s.n);
  timer(&s, T0 + 500 + HOP_LEGACY_SETTLE_MS);
  CHECK_EQ(1, s.writes);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
  CHECK_EQ(HOP_INTENT_LEGACY, hop_conn_intent(&s.c));
  n = s.writes ? kick_units(s.write[0], s.write_len[0], units) : -1;
  CHECK(n > 0);
  /* "motd§online§max": Beta clients split at '§', so the MOTD's own "§c" must not survive. */
  CHECK_EQ(2, count_units(units, n, 0x00a7));
  CHECK_EQ(0, count_units(units, n, 0x0000));
  CHECK(n >= 4 && units[0] == 'N' && units[n - 4] == 0x00a7 && units[n - 3] == '0' &&
        units[n - 2] == 0x00a7 && units[n - 1] == '7');
  poke_after_close(&s, (const uint8_t *)"\xfe", 1);

  /* FE 01 then EOF: a 1.4 ping at once, "§1\0...". */
  start(&s, &cfg);
  bytes(&s, (const uint8_t *)"\xfe", 1, T0 + 1);
  bytes(&s, (const uint8_t *)"\xfe\x01", 2, T0 + 200);
  CHECK_EQ(T0 + 200 + HOP_LEGACY_SETTLE_MS, hop_conn_deadline(&s.c));   /* silence since 01 */
  eof(&s, T0 + 201);
  CHECK_EQ(1, s.writes);
  CHECK_EQ(1, s.closes);
  CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
  n = s.writes ? kick_units(s.write[0], s.write_len[0], units) : -1;
  CHECK(n >= 2 && units[0] == 0x00a7 && units[1] == '1');
  CHECK_EQ(5, count_units(units, n > 0 ? n : 0, 0x0000));

  /* FE then more bytes of a modern frame: no kick, and the settle deadline is gone. */
  {
    struct tb t = { .len = 0 };
    char addr[246];

    memset(addr, 'z', sizeof addr);
    memcpy(addr, "mc.example.net///", 17);
    tb_handshake(&t, 765, addr, sizeof addr, 25565, 1);    /* frame length 254: FE 01 */
    CHECK_EQ(0xfe, t.b[0]);
    CHECK_EQ(0x01, t.b[1]);
    tb_bytes(&t, "\x01\x00", 2);
    start(&s, &cfg);
    bytes(&s, t.b, 2, T0 + 1);
    CHECK_EQ(T0 + 1 + HOP_LEGACY_SETTLE_MS, hop_conn_deadline(&s.c));
    bytes(&s, t.b, 3, T0 + 100);
    CHECK_EQ(T0 + HS_MS, hop_conn_deadline(&s.c));
    timer(&s, T0 + 1 + HOP_LEGACY_SETTLE_MS);
    CHECK_EQ(0, s.n);
    bytes(&s, t.b, t.len, T0 + 2000);
    CHECK_EQ(1, s.writes);                               /* the unknown-host status answer */
    CHECK_EQ(0, s.closes);
    if (s.writes)
      check_status_response(s.write[0], s.write_len[0],
                            "\xc2\xa7" "cNo server at mc.example.net", 765);
  }

  /* 1.6 pings carry the host: unknown -> kick naming it, known -> connect and pipe. */
  {
    size_t len;
    uint8_t *fx = fixture("legacy-fe01fa-1.6.4-port25577.bin", &len);
    char motd[64];
    int k = 0;

    for (size_t cut = 0; cut <= len; cut++) {
      TEST_CTX("1.6 unknown cut %zu", cut);
      start(&s, &cfg);
      bytes(&s, fx, cut, T0 + 1);
      bytes(&s, fx, len, T0 + 2);
      CHECK_EQ(1, s.writes);
      CHECK_EQ(1, s.closes);
      CHECK_EQ(HOP_CLOSE_NO_ROUTE, s.reason);
      CHECK_EQ(0, s.connects);
    }
    TEST_CTX("%s", "");
    n = s.writes ? kick_units(s.write[0], s.write_len[0], units) : -1;
    CHECK(n > 0);
    /* The fourth field is the MOTD. */
    for (int i = 0, field = 0; i < n && k < 63; i++) {
      if (units[i] == 0) {
        field++;
        continue;
      }
      if (field == 3)
        motd[k++] = units[i] < 0x80 ? (char)units[i] : units[i] == 0xa7 ? '$' : '?';
    }
    motd[k] = '\0';
    CHECK_STR("$cNo server at mc.example.net", motd);
    free(fx);

    fx = fixture("legacy-fe01fa-1.6.4.bin", &len);
    start(&s, &cfg);
    bytes(&s, fx, len, T0 + 1);
    CHECK_EQ(1, s.connects);
    backend(&s, 0, T0 + 2);
    CHECK_EQ(1, s.pipes);
    CHECK_EQ(len, s.pipe_len);
    CHECK_EQ(0, s.writes);
    free(fx);
  }
}

int main(int argc, char **argv)
{
  if (conn_fixture_setup(argc, argv) != 0)
    return TEST_DONE();

  test_legacy();
  hop_route_table_free(routes);
  return TEST_DONE();
}
