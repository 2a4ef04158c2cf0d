/* The PROXY stage of the session core, at every split point: trusted peers' headers are used and
 * never replayed; untrusted peers' headers, missing required ones and malformed ones close. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/conn.h"
#include "test.h"

static uint8_t scratch[HOP_CONN_OUT_BYTES];
static const char *fixtures;

static struct hop_conn_config cfg_make(void)
{
  struct hop_conn_config c = {
    .preread_bytes_max = HOP_PREREAD_BYTES_MAX, .address_bytes_max = HOP_ADDRESS_BYTES_MAX,
    .timeout_ms_handshake = 5000, .timeout_ms_connect = 5000,
    .unknown_motd = "u", .unknown_disconnect = "u", .unreachable_motd = "x",
    .unreachable_disconnect = "x", .version_name = "hopper",
  };
  return c;
}

static size_t load(const char *name, uint8_t *buf, size_t cap)
{
  char path[512];
  FILE *f;
  size_t n;

  snprintf(path, sizeof path, "%s/handshakes/%s", fixtures, name);
  f = fopen(path, "rb");
  n = f ? fread(buf, 1, cap, f) : 0;
  if (f)
    fclose(f);
  return n;
}

struct result {
  int pipes, closes;
  enum hop_close reason;
  const uint8_t *pipe;
  size_t pipe_len;
};

static void drain(struct hop_conn *c, struct result *r)
{
  struct hop_action a;

  while (hop_conn_next_action(c, &a)) {
    if (a.kind == HOP_ACT_PIPE) {
      r->pipes++;
      r->pipe = a.bytes;
      r->pipe_len = a.len;
    } else if (a.kind == HOP_ACT_CLOSE) {
      r->closes++;
      r->reason = a.reason;
    } else if (a.kind == HOP_ACT_CONNECT) {
      hop_conn_on_backend(c, 0, 2);
    }
  }
}

/* Feeds buf split at `cut`, with a connected backend; returns what happened. */
static struct result run(struct hop_route_table *t, enum hop_proxy_mode mode, const uint8_t *buf,
                         size_t len, size_t cut)
{
  struct hop_conn_config cc = cfg_make();
  struct hop_conn c;
  struct result r = { 0 };

  hop_conn_init(&c, &cc, t, scratch, sizeof scratch, 1);
  hop_conn_set_proxy(&c, mode);
  hop_conn_on_bytes(&c, buf, cut, 1);
  drain(&c, &r);
  if (!r.closes && !r.pipes) {
    hop_conn_on_bytes(&c, buf, len, 2);
    drain(&c, &r);
  }
  if (r.pipes && c.have_proxy_src) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&c.proxy_src;

    CHECK_EQ(51234, ntohs(in->sin_port));
  }
  return r;
}

int main(int argc, char **argv)
{
  struct hop_route_table *t = hop_route_table_new();
  int idx = hop_route_table_add_server(t, "lobby", "127.0.0.1:1", "127.0.0.1", 1);
  const char v1[] = "PROXY TCP4 203.0.113.9 192.0.2.1 51234 25565\r\n";
  uint8_t fx[512], with_v1[1024], bad[1024];
  char err[128];
  size_t n, n1, nb;

  fixtures = argc > 1 ? argv[1] : "fixtures";
  hop_route_table_add_host(t, idx, "play.example.com", err, sizeof err);
  hop_route_table_seal(t);
  n = load("1.20.4-login.bin", fx, sizeof fx);
  CHECK(n > 0);
  memcpy(with_v1, v1, sizeof v1 - 1);
  memcpy(with_v1 + sizeof v1 - 1, fx, n);
  n1 = sizeof v1 - 1 + n;
  memcpy(bad, "PROXY TCP4 203.0.113.999 192.0.2.1 1 2\r\n", 41);
  memcpy(bad + 41, fx, n);
  nb = 41 + n;

  for (size_t cut = 0; cut <= n1; cut++) {
    struct result r;

    TEST_CTX("cut %zu", cut);
    r = run(t, HOP_PROXY_ACCEPT, with_v1, n1, cut);
    CHECK_EQ(1, r.pipes);
    CHECK_EQ(n, r.pipe_len);                         /* the header is not replayed */
    CHECK(r.pipe && memcmp(r.pipe, fx, n) == 0);
    r = run(t, HOP_PROXY_REQUIRE, with_v1, n1, cut);
    CHECK_EQ(1, r.pipes);
    r = run(t, HOP_PROXY_REFUSE, with_v1, n1, cut);
    CHECK_EQ(0, r.pipes);
    CHECK_EQ(HOP_CLOSE_PROXY_UNTRUSTED, r.reason);
    if (cut <= n) {
      r = run(t, HOP_PROXY_REQUIRE, fx, n, cut);
      CHECK_EQ(0, r.pipes);
      CHECK_EQ(HOP_CLOSE_PROXY_MISSING, r.reason);
      r = run(t, HOP_PROXY_ACCEPT, fx, n, cut);
      CHECK_EQ(1, r.pipes);
      CHECK_EQ(n, r.pipe_len);
      r = run(t, HOP_PROXY_REFUSE, fx, n, cut);
      CHECK_EQ(1, r.pipes);
    }
    if (cut <= nb) {
      r = run(t, HOP_PROXY_ACCEPT, bad, nb, cut);
      CHECK_EQ(0, r.pipes);
      CHECK_EQ(HOP_CLOSE_PROXY_MALFORMED, r.reason);
    }
  }
  hop_route_table_free(t);
  return TEST_DONE();
}
