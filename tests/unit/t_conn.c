/* The per-session state machine, driven sans-IO: bytes, EOF, backend results and timer ticks in;
 * actions and one deadline out. Every session must end with exactly one CLOSE, and nothing may
 * follow it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/close.h"
#include "hop/conn.h"
#include "hop/err.h"
#include "hop/proto.h"
#include "hop/route.h"
#include "test.h"
#include "tutil.h"

#define T0 1000u                       /* accept time */
#define HS_MS 5000u
#define CONNECT_MS 2000u
#define REFUSED (-ECONNREFUSED)        /* what libuv reports on Linux */

static const char *fx_dir;
static struct hop_route_table *routes;

static struct hop_conn_config make_cfg(void)
{
  struct hop_conn_config cfg = {
    .preread_bytes_max = HOP_PREREAD_BYTES_MAX,
    .address_bytes_max = HOP_ADDRESS_BYTES_MAX,
    .timeout_ms_handshake = HS_MS,
    .timeout_ms_connect = CONNECT_MS,
    .unknown_status = HOP_UNKNOWN_STATUS_MOTD,
    .unknown_motd = "\xc2\xa7" "cNo server at {host}",
    .unknown_disconnect = "There is no server at {host}.",
    .unreachable_motd = "{server} is offline",
    .unreachable_disconnect = "{server} cannot be reached \"now\".",
    .version_name = "hopper-test",
    .players_max = 7,
  };

  return cfg;
}

/* ---- A recording session -------------------------------------------------------------------- */

#define MAX_RECORDED 16

struct sess {
  struct hop_conn c;
  uint8_t answer[HOP_CONN_OUT_BYTES];
  struct hop_conn_config cfg;
  int kinds[MAX_RECORDED];
  int n;                               /* actions seen */
  int connects, writes, pipes, closes, drops, others;
  int after_close;                     /* actions that came after the CLOSE */
  enum hop_close reason;
  uint8_t write[MAX_RECORDED][HOP_CONN_OUT_BYTES];
  size_t write_len[MAX_RECORDED];
  const uint8_t *pipe_bytes;
  size_t pipe_len;
};

static void drain(struct sess *s)
{
  struct hop_action a;

  while (hop_conn_next_action(&s->c, &a)) {
    if (s->closes)
      s->after_close++;
    if (s->n < MAX_RECORDED)
      s->kinds[s->n] = (int)a.kind;
    switch (a.kind) {
    case HOP_ACT_CONNECT:
      s->connects++;
      break;
    case HOP_ACT_WRITE:
      /* The bytes are valid until the next event: copy them now. */
      if (s->writes < MAX_RECORDED && a.len <= HOP_CONN_OUT_BYTES) {
        memcpy(s->write[s->writes], a.bytes, a.len);
        s->write_len[s->writes] = a.len;
      }
      s->writes++;
      break;
    case HOP_ACT_PIPE:
      s->pipes++;
      s->pipe_bytes = a.bytes;
      s->pipe_len = a.len;
      break;
    case HOP_ACT_DROP_BACKEND:
      s->drops++;
      break;
    case HOP_ACT_CLOSE:
      s->closes++;
      s->reason = a.reason;
      break;
    default:
      s->others++;                     /* no server here sleeps: nothing else is expected */
      CHECK_EQ(0, (int)a.kind);
      break;
    }
    s->n++;
  }
}

static void start(struct sess *s, const struct hop_conn_config *cfg)
{
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  hop_conn_init(&s->c, &s->cfg, routes, s->answer, sizeof s->answer, T0);
  drain(s);
}

static void bytes(struct sess *s, const uint8_t *buf, size_t len, uint64_t now)
{
  hop_conn_on_bytes(&s->c, buf, len, now);
  drain(s);
}

static void backend(struct sess *s, int status, uint64_t now)
{
  hop_conn_on_backend(&s->c, status, now);
  drain(s);
}

static void timer(struct sess *s, uint64_t now)
{
  hop_conn_on_timer(&s->c, now);
  drain(s);
}

static void eof(struct sess *s, uint64_t now)
{
  hop_conn_on_eof(&s->c, now);
  drain(s);
}

/* After a CLOSE nothing else may come out, whatever happens next. */
static void poke_after_close(struct sess *s, const uint8_t *buf, size_t len)
{
  int before = s->n;

  bytes(s, buf, len, T0 + 100000);
  backend(s, 0, T0 + 100001);
  timer(s, UINT64_MAX - 1);
  eof(s, T0 + 100002);
  CHECK_EQ(before, s->n);
  CHECK_EQ(0, s->after_close);
  CHECK_EQ(UINT64_MAX, hop_conn_deadline(&s->c));
}

/* The text inside a login Disconnect frame; malloc'd, or NULL. */
static char *disconnect_text(const uint8_t *p, size_t len)
{
  int32_t flen = 0, slen = 0;
  size_t a = tvarint(p, len, &flen), b;
  cJSON *root;
  const cJSON *text;
  char *out = NULL;

  if (!a || (size_t)flen != len - a || p[a] != 0x00)
    return NULL;
  b = tvarint(p + a + 1, len - a - 1, &slen);
  if (!b || (size_t)slen != len - a - 1 - b)
    return NULL;
  root = cJSON_ParseWithLength((const char *)p + a + 1 + b, (size_t)slen);
  text = cJSON_GetObjectItemCaseSensitive(root, "text");
  if (cJSON_IsString(text))
    out = strdup(text->valuestring);
  cJSON_Delete(root);
  return out;
}

/* Checks a Status Response frame: MOTD, echoed protocol, players, version name. */
static void check_status_response(const uint8_t *p, size_t len, const char *motd, int protocol)
{
  int32_t flen = 0, slen = 0;
  size_t a = tvarint(p, len, &flen), b;
  cJSON *root;
  const cJSON *v;

  if (!CHECK(a && (size_t)flen == len - a && p[a] == 0x00))
    return;
  b = tvarint(p + a + 1, len - a - 1, &slen);
  if (!CHECK(b && (size_t)slen == len - a - 1 - b))
    return;
  root = cJSON_ParseWithLength((const char *)p + a + 1 + b, (size_t)slen);
  v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "version"),
                                       "protocol");
  CHECK(cJSON_IsNumber(v) && v->valuedouble == protocol);
  v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "version"), "name");
  CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "hopper-test") == 0);
  v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "players"), "max");
  CHECK(cJSON_IsNumber(v) && v->valuedouble == 7);
  v = cJSON_GetObjectItemCaseSensitive(root, "description");
  if (cJSON_IsObject(v))
    v = cJSON_GetObjectItemCaseSensitive(v, "text");
  CHECK(cJSON_IsString(v));
  CHECK_STR(motd, cJSON_IsString(v) ? v->valuestring : NULL);
  cJSON_Delete(root);
}

static uint8_t *fixture(const char *name, size_t *len)
{
  uint8_t *p = read_fixture(fx_dir, "handshakes", name, len);

  if (!p) {
    printf("# missing fixture %s\n", name);
    exit(1);
  }
  return p;
}

static size_t handshake_len(const uint8_t *p, size_t len)
{
  int32_t flen = 0;
  size_t a = tvarint(p, len, &flen);

  return a + (size_t)flen;
}

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
  char err[256];
  int idx;

  fx_dir = fixtures_dir(argc, argv);
  routes = hop_route_table_new();
  idx = hop_route_table_add_server(routes, "lobby", "127.0.0.1:25566", "127.0.0.1", 25566);
  if (!CHECK(idx == 0) ||
      !CHECK(hop_route_table_add_host(routes, idx, "play.example.com", err, sizeof err) == 0) ||
      !CHECK(hop_route_table_add_host(routes, idx, "*.lobby.net", err, sizeof err) == 0) ||
      !CHECK(hop_route_table_seal(routes) == 0))
    return TEST_DONE();

  test_unknown_login();
  test_unknown_status();
  test_unknown_login_hostile_host();
  test_known_pipe();
  test_pipe_includes_late_bytes();
  test_backend_failure();
  test_handshake_deadline();
  test_legacy();
  test_malformed();
  test_close_table();
  test_snapshot_changes();
  test_gate();
  hop_route_table_free(routes);
  return TEST_DONE();
}
