/* Shared by the tests of the per-session state machine (src/conn) that t_conn.c once held
 * (t_conn_unknown, _known, _deadline, _legacy, _malformed, _rebind): the config builder, a
 * session that records every action, answer decoders, fixture loading and the route table every
 * test routes against. Each test is its own program, so the globals are per test. conn is driven
 * sans-IO: bytes, EOF, backend results and timer ticks in; actions and one deadline out. Every
 * session must end with exactly one CLOSE, and nothing may follow it. */
#ifndef HOP_CONN_FIXTURE_H
#define HOP_CONN_FIXTURE_H

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

static inline struct hop_conn_config make_cfg(void)
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

static inline void drain(struct sess *s)
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

static inline void start(struct sess *s, const struct hop_conn_config *cfg)
{
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  hop_conn_init(&s->c, &s->cfg, routes, s->answer, sizeof s->answer, T0);
  drain(s);
}

static inline void bytes(struct sess *s, const uint8_t *buf, size_t len, uint64_t now)
{
  hop_conn_on_bytes(&s->c, buf, len, now);
  drain(s);
}

static inline void backend(struct sess *s, int status, uint64_t now)
{
  hop_conn_on_backend(&s->c, status, now);
  drain(s);
}

static inline void timer(struct sess *s, uint64_t now)
{
  hop_conn_on_timer(&s->c, now);
  drain(s);
}

static inline void eof(struct sess *s, uint64_t now)
{
  hop_conn_on_eof(&s->c, now);
  drain(s);
}

/* After a CLOSE nothing else may come out, whatever happens next. */
static inline void poke_after_close(struct sess *s, const uint8_t *buf, size_t len)
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
static inline char *disconnect_text(const uint8_t *p, size_t len)
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
static inline void check_status_response(const uint8_t *p, size_t len, const char *motd,
                                         int protocol)
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

static inline uint8_t *fixture(const char *name, size_t *len)
{
  uint8_t *p = read_fixture(fx_dir, "handshakes", name, len);

  if (!p) {
    printf("# missing fixture %s\n", name);
    exit(1);
  }
  return p;
}

static inline size_t handshake_len(const uint8_t *p, size_t len)
{
  int32_t flen = 0;
  size_t a = tvarint(p, len, &flen);

  return a + (size_t)flen;
}

/* Fixtures from argv[1]; "lobby" at 127.0.0.1:25566 for play.example.com and *.lobby.net.
 * Returns 0, or -1 (with the failed checks counted) when the table cannot be built. */
static inline int conn_fixture_setup(int argc, char **argv)
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
    return -1;
  return 0;
}

#endif
