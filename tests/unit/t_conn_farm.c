/* The session core with managed servers: status answered for the state, wake, kick, hold with
 * Login Plugin Request keepalives whose answers are swallowed and never replayed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/conn.h"
#include "hop/config.h"
#include "hop/err.h"
#include "test.h"

#define T0 1000000u

static const char *fixtures;
static uint8_t scratch[HOP_CONN_OUT_BYTES];

static struct hop_conn_config cfg_make(void)
{
  struct hop_conn_config c = {
    .preread_bytes_max = HOP_PREREAD_BYTES_MAX, .address_bytes_max = HOP_ADDRESS_BYTES_MAX,
    .timeout_ms_handshake = 5000, .timeout_ms_connect = 5000,
    .unknown_motd = "unknown", .unknown_disconnect = "unknown {host}",
    .unreachable_motd = "offline", .unreachable_disconnect = "unreachable {server}",
    .version_name = "hopper", .players_max = 0,
    .state_motd = { "zzz sleeping", "starting up", "running", "stopping", "broken" },
    .starting_disconnect = "{server} starts, rejoin in {eta} s",
    .failed_disconnect = "{server} failed",
    .refused_disconnect = { "cooldown", "quota {server}", "not allowed", "no autostart" },
    .hold_keepalive_ms = 10000, .hold_silent_max_ms = 25000,
  };
  return c;
}

/* A table with one managed server "lobby" for play.example.com in `state`. */
static struct hop_route_table *table_make(enum hop_state state, enum hop_join join)
{
  struct hop_route_table *t = hop_route_table_new();
  int idx = hop_route_table_add_server(t, "lobby", "127.0.0.1:1", "127.0.0.1", 1);
  char err[256];
  struct hop_server *s = hop_route_table_edit(t, idx);
  struct hop_conn_config cc = cfg_make();

  hop_route_table_add_host(t, idx, "play.example.com", err, sizeof err);
  s->managed = 1;
  s->policy.join = join;
  atomic_store(&s->state, (int)state);
  hop_route_table_seal(t);
  hop_routes_build_status(t, &cc);
  return t;
}

static uint8_t *fixture(const char *name, size_t *len)
{
  char path[512];
  FILE *f;
  uint8_t *buf = malloc(8192);

  snprintf(path, sizeof path, "%s/handshakes/%s", fixtures, name);
  f = fopen(path, "rb");
  *len = f ? fread(buf, 1, 8192, f) : 0;
  if (f)
    fclose(f);
  return buf;
}

/* All actions of the last event, flattened; writes concatenated into `out`. */
struct rec {
  int kinds[16];
  int n;
  uint8_t out[16384];
  size_t out_len;
  size_t pipe_len;
  enum hop_close reason;
};

static void drain(struct hop_conn *c, struct rec *r)
{
  struct hop_action a;

  memset(r, 0, sizeof *r);
  while (hop_conn_next_action(c, &a)) {
    r->kinds[r->n++] = a.kind;
    if (a.kind == HOP_ACT_WRITE) {
      memcpy(r->out + r->out_len, a.bytes, a.len);
      r->out_len += a.len;
      for (int i = 0; i < HOP_ACTION_BUFS - 1 && a.more[i]; i++) {
        memcpy(r->out + r->out_len, a.more[i], a.more_len[i]);
        r->out_len += a.more_len[i];
      }
    }
    if (a.kind == HOP_ACT_PIPE)
      r->pipe_len = a.len;
    if (a.kind == HOP_ACT_CLOSE)
      r->reason = a.reason;
  }
}

static int has(const struct rec *r, int kind)
{
  for (int i = 0; i < r->n; i++)
    if (r->kinds[i] == kind)
      return 1;
  return 0;
}

/* The JSON string inside the first frame of r->out (Disconnect or Status Response). */
static char *first_string(const struct rec *r)
{
  struct hop_frame f;
  struct hop_reader rd;
  struct hop_str s;
  int32_t id;
  char *out;

  if (hop_frame_parse(r->out, r->out_len, 1 << 20, &f) <= 0)
    return NULL;
  rd = hop_reader_make(f.body, f.body_len);
  if (hop_read_varint(&rd, &id) || hop_read_string(&rd, 1 << 20, &s))
    return NULL;
  out = malloc(s.len + 1);
  memcpy(out, s.ptr, s.len);
  out[s.len] = '\0';
  return out;
}

static void test_status_for_state(void)
{
  size_t len;
  uint8_t *fx = fixture("1.20.4-status.bin", &len);
  const uint8_t ping[] = { 0x09, 0x01, 1, 2, 3, 4, 5, 6, 7, 8 };
  uint8_t buf[256];
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_HOLD);
  struct hop_conn c;
  struct rec r;
  char *json;
  cJSON *doc;

  memcpy(buf, fx, len);
  memcpy(buf + len, ping, sizeof ping);
  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, buf, len, T0 + 1);
  drain(&c, &r);
  CHECK(!has(&r, HOP_ACT_CONNECT));
  CHECK(!has(&r, HOP_ACT_WAKE));       /* a status ping never wakes a server */
  CHECK(has(&r, HOP_ACT_WRITE));
  json = first_string(&r);
  doc = json ? cJSON_Parse(json) : NULL;
  if (!CHECK(doc != NULL)) {
    fprintf(stderr, "status json: %s\n", json ? json : "(none)");
    free(json);
    hop_route_table_free(t);
    free(fx);
    return;
  }
  CHECK_EQ(765, (long long)cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "version"),
                                                "protocol")->valuedouble);
  CHECK_STR("zzz sleeping", cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "description"),
                                                "text")->valuestring);
  CHECK_EQ(0, (long long)cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "players"),
                                              "online")->valuedouble);
  cJSON_Delete(doc);
  free(json);
  hop_conn_on_bytes(&c, buf, len + sizeof ping, T0 + 2);
  drain(&c, &r);
  CHECK(has(&r, HOP_ACT_WRITE) && has(&r, HOP_ACT_CLOSE));
  CHECK_EQ(HOP_CLOSE_SERVER_NOT_RUNNING, r.reason);
  CHECK_EQ(10, (long long)r.out_len);
  CHECK_BYTES(ping + 2, 8, r.out + 2, 8);
  hop_route_table_free(t);
  free(fx);
}

static void test_kick(void)
{
  size_t len;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_KICK);
  struct hop_conn c;
  struct rec r;
  char *json;

  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, fx, len, T0 + 1);
  drain(&c, &r);
  CHECK_EQ(1, r.n);
  CHECK_EQ(HOP_ACT_WAKE, r.kinds[0]);
  hop_conn_on_wake(&c, HOP_WAKE_STARTED, 42, T0 + 2);
  drain(&c, &r);
  CHECK_EQ(HOP_CLOSE_SERVER_STARTING, r.reason);
  json = first_string(&r);
  CHECK(json && strstr(json, "lobby starts, rejoin in 42 s") != NULL);
  free(json);
  hop_route_table_free(t);
  free(fx);
}

static void test_refused(void)
{
  size_t len;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_HOLD);
  struct hop_conn c;
  struct rec r;
  char *json;

  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, fx, len, T0 + 1);
  drain(&c, &r);
  hop_conn_on_wake(&c, HOP_WAKE_REFUSED_QUOTA, 0, T0 + 2);
  drain(&c, &r);
  CHECK_EQ(HOP_CLOSE_WAKE_REFUSED, r.reason);
  json = first_string(&r);
  CHECK(json && strstr(json, "quota lobby") != NULL);
  free(json);
  hop_route_table_free(t);
  free(fx);
}

/* Hold: keepalives go out, their answers are swallowed, the replay is the opening only. */
static void test_hold_then_ready(void)
{
  size_t len, blen;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  uint8_t buf[512];
  const uint8_t answer[] = { 0x03, 0x02, 0x00, 0x00 };   /* Login Plugin Response id 0, false */
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_HOLD);
  struct hop_conn c;
  struct rec r;

  memcpy(buf, fx, len);
  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, buf, len, T0 + 1);
  drain(&c, &r);
  hop_conn_on_wake(&c, HOP_WAKE_STARTED, 30, T0 + 2);
  drain(&c, &r);
  CHECK_EQ(0, r.n);                    /* held: nothing said yet */
  CHECK_EQ(HOP_CONN_HOLD, c.state);
  CHECK_EQ_U(T0 + 2 + 10000, hop_conn_deadline(&c));
  hop_conn_on_timer(&c, T0 + 2 + 10000);
  drain(&c, &r);
  CHECK_EQ(1, r.n);
  CHECK_EQ(HOP_ACT_WRITE, r.kinds[0]);
  CHECK(r.out_len > 3 && r.out[1] == 0x04);   /* Login Plugin Request */
  CHECK(memmem(r.out, r.out_len, "hopper:hold", 11) != NULL);
  CHECK_EQ_U(T0 + 2 + 20000, hop_conn_deadline(&c));
  /* the client's answer arrives in two pieces and is swallowed */
  memcpy(buf + len, answer, 2);
  blen = hop_conn_compact(&c, buf, len + 2);
  CHECK_EQ(len + 2, blen);             /* incomplete: kept for now */
  hop_conn_on_bytes(&c, buf, blen, T0 + 10100);
  memcpy(buf + len + 2, answer + 2, 2);
  blen = hop_conn_compact(&c, buf, len + 4);
  CHECK_EQ(len, blen);                 /* whole: gone */
  hop_conn_on_bytes(&c, buf, blen, T0 + 10101);
  drain(&c, &r);
  CHECK_EQ(0, r.n);
  hop_conn_on_server_state(&c, HOP_STATE_RUNNING, T0 + 15000);
  drain(&c, &r);
  CHECK_EQ(1, r.n);
  CHECK_EQ(HOP_ACT_CONNECT, r.kinds[0]);
  hop_conn_on_backend(&c, 0, T0 + 15001);
  drain(&c, &r);
  CHECK(has(&r, HOP_ACT_PIPE));
  CHECK_EQ(len, r.pipe_len);           /* the Handshake and Login Start, nothing of ours */
  hop_route_table_free(t);
  free(fx);
}

/* A keepalive answer half-arrived when the backend connects: pipe only once it is whole. */
static void test_hold_partial_answer_at_connect(void)
{
  size_t len, blen;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  uint8_t buf[512];
  const uint8_t answer[] = { 0x03, 0x02, 0x00, 0x00 };
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_HOLD);
  struct hop_conn c;
  struct rec r;

  memcpy(buf, fx, len);
  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, buf, len, T0 + 1);
  drain(&c, &r);
  hop_conn_on_wake(&c, HOP_WAKE_JOINED, 30, T0 + 2);
  hop_conn_on_timer(&c, T0 + 10002);
  drain(&c, &r);
  memcpy(buf + len, answer, 3);
  blen = hop_conn_compact(&c, buf, len + 3);
  hop_conn_on_bytes(&c, buf, blen, T0 + 10003);
  hop_conn_on_server_state(&c, HOP_STATE_RUNNING, T0 + 10004);
  hop_conn_on_backend(&c, 0, T0 + 10005);
  drain(&c, &r);
  CHECK(!has(&r, HOP_ACT_PIPE));
  memcpy(buf + len + 3, answer + 3, 1);
  blen = hop_conn_compact(&c, buf, len + 4);
  CHECK_EQ(len, blen);
  hop_conn_on_bytes(&c, buf, blen, T0 + 10006);
  drain(&c, &r);
  CHECK(has(&r, HOP_ACT_PIPE));
  CHECK_EQ(len, r.pipe_len);
  hop_route_table_free(t);
  free(fx);
}

/* Ready while a keepalive is unanswered: its answer must not reach the backend, so wait for it
 * (bounded: a client that never answers is piped after a short wait). */
static void test_hold_unanswered_keepalive(void)
{
  size_t len, blen;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  uint8_t buf[512];
  const uint8_t answer[] = { 0x03, 0x02, 0x00, 0x00 };
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_HOLD);
  struct hop_conn c;
  struct rec r;

  for (int never = 0; never <= 1; never++) {
    TEST_CTX("never answers %d", never);
    memcpy(buf, fx, len);
    hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
    hop_conn_on_bytes(&c, buf, len, T0 + 1);
    hop_conn_on_wake(&c, HOP_WAKE_STARTED, 30, T0 + 2);
    hop_conn_on_timer(&c, T0 + 10002);          /* keepalive out */
    drain(&c, &r);
    CHECK(has(&r, HOP_ACT_WRITE));
    hop_conn_on_server_state(&c, HOP_STATE_RUNNING, T0 + 10003);
    hop_conn_on_backend(&c, 0, T0 + 10004);
    drain(&c, &r);
    CHECK(!has(&r, HOP_ACT_PIPE));
    if (!never) {
      memcpy(buf + len, answer, sizeof answer);
      blen = hop_conn_compact(&c, buf, len + sizeof answer);
      CHECK_EQ(len, blen);
      hop_conn_on_bytes(&c, buf, blen, T0 + 10050);
    } else {
      CHECK(hop_conn_deadline(&c) <= T0 + 10003 + 3000);
      hop_conn_on_timer(&c, hop_conn_deadline(&c));
    }
    drain(&c, &r);
    CHECK(has(&r, HOP_ACT_PIPE));
    CHECK_EQ(len, r.pipe_len);
  }
  hop_route_table_free(t);
  free(fx);
}

static void test_hold_old_client_and_failure(void)
{
  size_t len;
  uint8_t *fx = fixture("1.12.2-login.bin", &len), *fx2;
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_HOLD);
  struct hop_conn c;
  struct rec r;
  char *json;

  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, fx, len, T0 + 1);
  drain(&c, &r);
  hop_conn_on_wake(&c, HOP_WAKE_STARTED, 30, T0 + 2);
  drain(&c, &r);
  CHECK_EQ_U(T0 + 2 + 25000, hop_conn_deadline(&c));   /* no keepalive before 1.13 */
  hop_conn_on_timer(&c, T0 + 2 + 25000);
  drain(&c, &r);
  CHECK_EQ(HOP_CLOSE_SERVER_STARTING, r.reason);
  json = first_string(&r);
  CHECK(json && strstr(json, "rejoin") != NULL);
  free(json);

  fx2 = fixture("1.20.4-login.bin", &len);
  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, fx2, len, T0 + 1);
  drain(&c, &r);
  hop_conn_on_wake(&c, HOP_WAKE_STARTED, 30, T0 + 2);
  hop_conn_on_server_state(&c, HOP_STATE_FAILED, T0 + 5000);
  drain(&c, &r);
  CHECK_EQ(HOP_CLOSE_START_FAILED, r.reason);
  json = first_string(&r);
  CHECK(json && strstr(json, "lobby failed") != NULL);
  free(json);

  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
  hop_conn_on_bytes(&c, fx2, len, T0 + 1);
  hop_conn_on_wake(&c, HOP_WAKE_STARTED, 30, T0 + 2);
  hop_conn_on_eof(&c, T0 + 3);
  drain(&c, &r);
  CHECK_EQ(HOP_CLOSE_EARLY_EOF, r.reason);
  hop_route_table_free(t);
  free(fx);
  free(fx2);
}

/* The server leaves the routes while its login waits for the wake or is held: the player is told
 * at once, as for an unknown host, instead of waiting out the hold for a state that never comes. */
static void test_hold_server_removed(void)
{
  size_t len;
  uint8_t *fx = fixture("1.20.4-login.bin", &len);
  struct hop_conn_config cc = cfg_make();
  struct hop_route_table *t = table_make(HOP_STATE_SLEEPING, HOP_JOIN_HOLD);
  struct hop_conn c;
  struct rec r;
  char *json;

  for (int held = 0; held <= 1; held++) {
    hop_conn_init(&c, &cc, t, scratch, sizeof scratch, T0);
    hop_conn_on_bytes(&c, fx, len, T0 + 1);
    drain(&c, &r);
    CHECK(has(&r, HOP_ACT_WAKE));
    if (held) {
      hop_conn_on_wake(&c, HOP_WAKE_STARTED, 30, T0 + 2);
      drain(&c, &r);
      CHECK_EQ(HOP_CONN_HOLD, c.state);
    } else {
      CHECK_EQ(HOP_CONN_WAKING, c.state);
    }
    hop_conn_on_route_gone(&c, T0 + 3000);
    drain(&c, &r);
    CHECK_EQ(HOP_CLOSE_NO_ROUTE, r.reason);
    CHECK(!has(&r, HOP_ACT_CONNECT));
    json = first_string(&r);
    CHECK(json && strstr(json, "unknown play.example.com") != NULL);
    free(json);
    CHECK_EQ(HOP_CONN_CLOSED, c.state);
    hop_conn_on_server_state(&c, HOP_STATE_RUNNING, T0 + 4000);   /* too late: nothing */
    drain(&c, &r);
    CHECK_EQ(0, r.n);
  }
  hop_route_table_free(t);
  free(fx);
}

int main(int argc, char **argv)
{
  fixtures = argc > 1 ? argv[1] : "fixtures";
  test_status_for_state();
  test_kick();
  test_refused();
  test_hold_then_ready();
  test_hold_partial_answer_at_connect();
  test_hold_unanswered_keepalive();
  test_hold_old_client_and_failure();
  test_hold_server_removed();
  return TEST_DONE();
}
