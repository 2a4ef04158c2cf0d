/* The control plane's HTTP client against real loopback servers (server.py): statuses, bodies,
 * ETags, bearer auth, POST, timeouts, caps, non-HTTP replies, refused connects, TLS
 * verification, concurrency, and cancellation by hop_http_free(). Every callback is counted, and
 * every loop must end with uv_loop_close() == 0.
 *
 * argv[1] = python3, argv[2] = server.py. Exit 77 (skip) if the server cannot be started. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hop/http.h"
#include "test.h"

#define WATCHDOG_MS 20000      /* a scenario that runs longer has hung */
#define CAP_DEFAULT 65536

static int port_http, port_junk, port_empty, port_closed, port_tls;
static int in_send;            /* set around hop_http_send: a callback seeing it ran synchronously */
static int pending;            /* callbacks still expected in the current scenario */
static uv_loop_t *cur_loop;    /* the scenario's loop, stopped when `pending` reaches 0 */

/* libuv runs timers before it polls, so a loop iteration whose callbacks all came from curl's
 * timer would then block in the poll; stopping the loop ends the wait at once. */
static void one_done(void)
{
  if (--pending == 0 && cur_loop)
    uv_stop(cur_loop);
}

/* ---- Test server ------------------------------------------------------------------------- */

static pid_t server_pid = -1;
static int server_stdin = -1;

static int server_start(const char *python, const char *script)
{
  int in[2], out[2];
  char line[256];
  FILE *f;

  if (pipe(in) < 0 || pipe(out) < 0)
    return -1;
  server_pid = fork();
  if (server_pid < 0)
    return -1;
  if (server_pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    execl(python, python, script, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  server_stdin = in[1];
  f = fdopen(out[0], "r");
  if (!f)
    return -1;
  if (!fgets(line, sizeof line, f) ||
      sscanf(line, "READY http=%d junk=%d empty=%d closed=%d tls=%d", &port_http, &port_junk,
             &port_empty, &port_closed, &port_tls) != 5) {
    fclose(f);
    return -1;
  }
  fclose(f);
  return 0;
}

static void server_stop(void)
{
  int st;

  if (server_stdin >= 0)
    close(server_stdin);     /* the server exits on EOF */
  if (server_pid > 0)
    waitpid(server_pid, &st, 0);
}

/* ---- Recording callbacks ----------------------------------------------------------------- */

struct result {
  int calls;
  int sync_calls;              /* callbacks that ran inside hop_http_send */
  int status;
  char *error;
  char *body;
  size_t body_len;
  int body_nul;                /* body[body_len] was '\0' */
  char *etag;
};

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void result_clear(struct result *r)
{
  free(r->error);
  free(r->body);
  free(r->etag);
  memset(r, 0, sizeof *r);
}

static void on_result(void *arg, const struct hop_http_response *res)
{
  struct result *r = arg;

  r->calls++;
  if (in_send)
    r->sync_calls++;
  free(r->error);
  free(r->body);
  free(r->etag);
  r->status = res->status;
  r->error = dup_or_null(res->error);
  r->body_nul = res->body && res->body[res->body_len] == '\0';
  r->body = malloc(res->body_len + 1);
  if (r->body && res->body) {
    memcpy(r->body, res->body, res->body_len);
    r->body[res->body_len] = '\0';
  }
  r->body_len = res->body_len;
  r->etag = dup_or_null(res->etag);
  one_done();
}

/* ---- A loop per scenario ----------------------------------------------------------------- */

struct env {
  uv_loop_t loop;
  uv_timer_t watchdog;
  struct hop_http *h;
  int hung;
};

static void on_watchdog(uv_timer_t *t)
{
  struct env *e = t->data;

  e->hung = 1;
  uv_stop(&e->loop);
}

static void env_open(struct env *e)
{
  memset(e, 0, sizeof *e);
  CHECK_EQ(0, uv_loop_init(&e->loop));
  CHECK_EQ(0, uv_timer_init(&e->loop, &e->watchdog));
  e->watchdog.data = e;
  CHECK_EQ(0, hop_http_new(&e->loop, &e->h));
  pending = 0;
  cur_loop = &e->loop;
}

/* Runs the loop until every expected callback has run. */
static void env_wait(struct env *e)
{
  uv_timer_start(&e->watchdog, on_watchdog, WATCHDOG_MS, 0);
  while (pending > 0 && !e->hung)
    uv_run(&e->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&e->watchdog);
  CHECK(!e->hung);
  CHECK_EQ(0, pending);
}

/* Frees the client (if the scenario did not), lets the close callbacks run, closes the loop. */
static void env_close(struct env *e)
{
  int spins = 0;

  if (e->h)
    hop_http_free(e->h);
  e->h = NULL;
  uv_close((uv_handle_t *)&e->watchdog, NULL);
  while (uv_run(&e->loop, UV_RUN_NOWAIT) && spins < 100000)
    spins++;
  if (!CHECK_EQ(0, uv_loop_close(&e->loop)))
    uv_print_all_handles(&e->loop, stdout);
}

static int send_req(struct hop_http *h, const struct hop_http_request *req, struct result *r)
{
  int rc;

  in_send = 1;
  rc = hop_http_send(h, req, on_result, r);
  in_send = 0;
  if (rc == 0)
    pending++;
  return rc;
}

static struct hop_http_request get(const char *url)
{
  return (struct hop_http_request){ .method = "GET", .url = url, .timeout_ms = 5000,
                                    .response_bytes_max = CAP_DEFAULT };
}

static const char *url(char *buf, size_t n, const char *scheme, int port, const char *path)
{
  snprintf(buf, n, "%s://127.0.0.1:%d%s", scheme, port, path);
  return buf;
}

/* One request, run to completion on its own loop. */
static void fetch(const struct hop_http_request *req, struct result *r)
{
  struct env e;

  memset(r, 0, sizeof *r);
  env_open(&e);
  CHECK_EQ(0, send_req(e.h, req, r));
  env_wait(&e);
  env_close(&e);
  CHECK_EQ(1, r->calls);
  CHECK_EQ(0, r->sync_calls);
  CHECK(r->body_nul);
}

/* ---- Scenarios --------------------------------------------------------------------------- */

static void test_etag_and_conditional(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_http, "/etag"));
  struct result r;

  TEST_CTX("GET /etag");
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_MEM("hello etag", r.body, r.body_len);
  CHECK_STR("\"v1\"", r.etag);
  CHECK(r.error == NULL);
  result_clear(&r);

  TEST_CTX("GET /etag If-None-Match matches");
  req.if_none_match = "\"v1\"";
  fetch(&req, &r);
  CHECK_EQ(304, r.status);
  CHECK_EQ(0, r.body_len);
  CHECK_STR("\"v1\"", r.etag);
  result_clear(&r);

  TEST_CTX("GET /etag If-None-Match stale");
  req.if_none_match = "\"v0\"";
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_MEM("hello etag", r.body, r.body_len);
  result_clear(&r);

  TEST_CTX("ETag header name in odd case, value padded");
  req = get(url(u, sizeof u, "http", port_http, "/etag-odd"));
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_STR("W/\"x y\"", r.etag);
  result_clear(&r);

  TEST_CTX("no ETag");
  req = get(url(u, sizeof u, "http", port_http, "/noetag"));
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK(r.etag == NULL);
  CHECK_MEM("plain", r.body, r.body_len);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_bearer(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_http, "/auth"));
  struct result r;

  TEST_CTX("bearer ok");
  req.bearer = "sekret";
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_MEM("authorized", r.body, r.body_len);
  result_clear(&r);

  TEST_CTX("bearer wrong");
  req.bearer = "guess";
  fetch(&req, &r);
  CHECK_EQ(401, r.status);
  CHECK_MEM("denied", r.body, r.body_len);
  result_clear(&r);

  TEST_CTX("bearer missing");
  req.bearer = NULL;
  fetch(&req, &r);
  CHECK_EQ(401, r.status);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_post(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_http, "/echo"));
  struct result r;
  static const char nul_body[] = { '{', '\0', '}' };
  size_t big_len = 200000;
  char *big = malloc(big_len);

  req.method = "POST";
  TEST_CTX("POST echo");
  req.body = "{\"hello\":\"world\"}";
  req.body_len = strlen(req.body);
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_MEM("{\"hello\":\"world\"}", r.body, r.body_len);
  result_clear(&r);

  TEST_CTX("POST body with a NUL: length, not strlen");
  req.body = nul_body;
  req.body_len = sizeof nul_body;
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_BYTES(nul_body, sizeof nul_body, r.body, r.body_len);
  result_clear(&r);

  TEST_CTX("POST without a body");
  req.body = NULL;
  req.body_len = 0;
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_EQ(0, r.body_len);
  result_clear(&r);

  TEST_CTX("POST 200 kB, no Expect: 100-continue");
  if (big) {
    for (size_t i = 0; i < big_len; i++)
      big[i] = (char)('a' + i % 26);
    req.url = url(u, sizeof u, "http", port_http, "/post-meta");
    req.body = big;
    req.body_len = big_len;
    fetch(&req, &r);
    CHECK_EQ(200, r.status);
    CHECK_MEM("ct=application/json expect=- len=200000", r.body, r.body_len);
    result_clear(&r);

    req.url = url(u, sizeof u, "http", port_http, "/echo");
    req.response_bytes_max = big_len;
    fetch(&req, &r);
    CHECK_EQ(200, r.status);
    CHECK_BYTES(big, big_len, r.body, r.body_len);
    result_clear(&r);
  }
  free(big);
  TEST_CTX("%s", "");
}

static void test_statuses(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_http, "/500"));
  struct result r;

  TEST_CTX("500 is reported as it is");
  fetch(&req, &r);
  CHECK_EQ(500, r.status);
  CHECK_MEM("boom", r.body, r.body_len);
  CHECK(r.error == NULL);
  result_clear(&r);

  TEST_CTX("302 is not followed");
  req.url = url(u, sizeof u, "http", port_http, "/redirect");
  fetch(&req, &r);
  CHECK_EQ(302, r.status);
  CHECK_MEM("moved", r.body, r.body_len);
  CHECK(r.etag == NULL);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_timeout(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_http, "/hang?s=10"));
  struct result r;
  uint64_t t0 = uv_hrtime(), ms;

  TEST_CTX("hang past the timeout");
  req.timeout_ms = 300;
  fetch(&req, &r);
  ms = (uv_hrtime() - t0) / 1000000;
  CHECK_EQ(UV_ETIMEDOUT, r.status);
  CHECK_STR("timeout", r.error);
  CHECK_EQ(0, r.body_len);
  CHECK(ms < 5000);            /* sanity only: far below the server's 10 s */
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_too_large(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_http, "/big?n=1000"));
  struct result r;

  req.response_bytes_max = 1000;
  TEST_CTX("body exactly at the cap");
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_EQ(1000, r.body_len);
  result_clear(&r);

  TEST_CTX("Content-Length one past the cap");
  req.url = url(u, sizeof u, "http", port_http, "/big?n=1001");
  fetch(&req, &r);
  CHECK_EQ(UV_E2BIG, r.status);
  CHECK_STR("response too large", r.error);
  CHECK_EQ(0, r.body_len);
  result_clear(&r);

  TEST_CTX("chunked at the cap");
  req.url = url(u, sizeof u, "http", port_http, "/big-chunked?n=1000");
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_EQ(1000, r.body_len);
  result_clear(&r);

  TEST_CTX("chunked far past the cap (write callback refuses)");
  req.url = url(u, sizeof u, "http", port_http, "/big-chunked?n=100000");
  fetch(&req, &r);
  CHECK_EQ(UV_E2BIG, r.status);
  CHECK_STR("response too large", r.error);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_not_http(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_junk, "/"));
  struct result r;

  TEST_CTX("junk bytes then close");
  fetch(&req, &r);
  CHECK_EQ(UV_EPROTO, r.status);
  CHECK_STR("invalid HTTP response", r.error);
  result_clear(&r);

  TEST_CTX("close without a byte");
  req.url = url(u, sizeof u, "http", port_empty, "/");
  fetch(&req, &r);
  CHECK_EQ(UV_EPROTO, r.status);
  CHECK_STR("empty reply", r.error);
  result_clear(&r);

  TEST_CTX("https to a plain HTTP server");
  req.url = url(u, sizeof u, "https", port_http, "/etag");
  fetch(&req, &r);
  CHECK(r.status < 0);
  CHECK(r.error != NULL);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_refused(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_closed, "/"));
  struct result r;

  TEST_CTX("connection refused");
  fetch(&req, &r);
  CHECK_EQ(UV_ECONNREFUSED, r.status);
  CHECK_STR("connection refused", r.error);
  result_clear(&r);
  TEST_CTX("%s", "");
}

/* Names go through curl's threaded resolver (IP literals and "localhost" do not). */
static void test_resolve(void)
{
  char u[128 + 256], host[256];
  struct hop_http_request req = get("http://nonexistent.invalid/");
  struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
  struct result r;
  int loopback = 0;

  TEST_CTX("unresolvable name");
  req.timeout_ms = 3000;
  fetch(&req, &r);
  CHECK(r.status == UV_EAI_NONAME || r.status == UV_ETIMEDOUT);
  CHECK(r.error != NULL);
  result_clear(&r);

  /* This machine's own name, when /etc/hosts maps it to 127.0.0.1 (the server binds there). */
  if (gethostname(host, sizeof host) == 0 && getaddrinfo(host, NULL, &hints, &ai) == 0) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ai->ai_addr;

    loopback = ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK;
    freeaddrinfo(ai);
  }
  if (!loopback) {
    printf("# hostname does not resolve to 127.0.0.1: resolver round trip not tested\n");
    TEST_CTX("%s", "");
    return;
  }
  TEST_CTX("GET through the resolver (%s)", host);
  snprintf(u, sizeof u, "http://%s:%d/etag", host, port_http);
  req = get(u);
  fetch(&req, &r);
  CHECK_EQ(200, r.status);
  CHECK_MEM("hello etag", r.body, r.body_len);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_tls_verification(void)
{
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "https", port_tls, "/etag"));
  struct result r;

  TEST_CTX("self-signed certificate is rejected");
  fetch(&req, &r);
  CHECK_EQ(UV_EPROTO, r.status);
  CHECK_STR("TLS certificate verification failed", r.error);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_bad_requests(void)
{
  char u[128];
  struct env e;
  struct result r = { 0 };
  struct hop_http_request ok = get(url(u, sizeof u, "http", port_http, "/etag"));
  struct hop_http_request req;

  env_open(&e);
  req = ok; req.method = "PUT";
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.method = NULL;
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.url = "ftp://127.0.0.1/x";
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.url = "file:///etc/passwd";
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.timeout_ms = 0;
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.response_bytes_max = 0;
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.bearer = "tok\r\nX-Evil: 1";
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.if_none_match = "\"v1\"\nX: y";
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.body = "{}"; req.body_len = 2;          /* a GET with a body */
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  req = ok; req.method = "POST"; req.body = NULL; req.body_len = 3;
  CHECK_EQ(UV_EINVAL, send_req(e.h, &req, &r));
  CHECK_EQ(UV_EINVAL, hop_http_send(e.h, &ok, NULL, NULL));
  CHECK_EQ(0, r.calls);
  CHECK_EQ(0, pending);

  /* A URL curl cannot parse is accepted here and fails on the loop, never inside hop_http_send(). */
  TEST_CTX("malformed URL fails asynchronously");
  req = ok; req.url = "http://[::1/x";
  CHECK_EQ(0, send_req(e.h, &req, &r));
  CHECK_EQ(0, r.calls);
  env_wait(&e);
  CHECK_EQ(1, r.calls);
  CHECK_EQ(0, r.sync_calls);
  CHECK(r.status < 0);
  CHECK(r.error != NULL);
  env_close(&e);
  result_clear(&r);
  TEST_CTX("%s", "");
}

static void test_concurrent(void)
{
  enum { N = 50 };
  static struct result rs[N];
  static char urls[N][128];
  struct env e;
  int ok = 1;

  env_open(&e);
  for (int i = 0; i < N; i++) {
    char path[64];
    struct hop_http_request req;

    snprintf(path, sizeof path, "/n?i=%d&ms=50", i);
    req = get(url(urls[i], sizeof urls[i], "http", port_http, path));
    CHECK_EQ(0, send_req(e.h, &req, &rs[i]));
  }
  env_wait(&e);
  env_close(&e);
  for (int i = 0; i < N; i++) {
    char want[16];

    snprintf(want, sizeof want, "%d", i);
    TEST_CTX("concurrent request %d", i);
    ok &= CHECK_EQ(1, rs[i].calls);
    ok &= CHECK_EQ(0, rs[i].sync_calls);
    ok &= CHECK_EQ(200, rs[i].status);
    ok &= CHECK_MEM(want, rs[i].body, rs[i].body_len);
    result_clear(&rs[i]);
  }
  TEST_CTX("%s", "");
  CHECK(ok);
}

/* Each callback sends the next request: sequential reuse of the cached connection. */
struct chain {
  struct hop_http *h;
  char url[128];
  int left;
  int calls;
  int failures;
};

static void on_chain(void *arg, const struct hop_http_response *res)
{
  struct chain *c = arg;
  struct hop_http_request req = get(c->url);

  c->calls++;
  one_done();
  if (in_send || res->status != 200)
    c->failures++;
  if (--c->left > 0) {
    in_send = 1;
    if (hop_http_send(c->h, &req, on_chain, c) == 0)
      pending++;
    else
      c->failures++;
    in_send = 0;
  }
}

static void test_chain(void)
{
  struct env e;
  struct chain c = { .left = 20 };
  struct hop_http_request req;

  env_open(&e);
  c.h = e.h;
  url(c.url, sizeof c.url, "http", port_http, "/etag");
  req = get(c.url);
  CHECK_EQ(0, hop_http_send(e.h, &req, on_chain, &c));
  pending++;
  env_wait(&e);
  env_close(&e);
  CHECK_EQ(20, c.calls);
  CHECK_EQ(0, c.failures);
}

/* hop_http_free with requests in flight: each is cancelled once, inside the free. */
static int in_free;
static int cancelled_inside_free;

static void on_cancel_count(void *arg, const struct hop_http_response *res)
{
  on_result(arg, res);
  if (in_free)
    cancelled_inside_free++;
}

static void on_free_timer(uv_timer_t *t)
{
  struct env *e = t->data;

  in_free = 1;
  hop_http_free(e->h);
  in_free = 0;
  e->h = NULL;
  uv_close((uv_handle_t *)t, NULL);
}

static void test_free_in_flight(void)
{
  enum { N = 10 };
  struct result rs[N];
  struct env e;
  uv_timer_t t;
  char u[128];
  struct hop_http_request req = get(url(u, sizeof u, "http", port_http, "/hang?s=10"));

  TEST_CTX("free after the requests reached the server");
  memset(rs, 0, sizeof rs);
  cancelled_inside_free = 0;
  req.timeout_ms = 15000;
  env_open(&e);
  for (int i = 0; i < N; i++) {
    in_send = 1;
    CHECK_EQ(0, hop_http_send(e.h, &req, on_cancel_count, &rs[i]));
    in_send = 0;
    pending++;
  }
  uv_timer_init(&e.loop, &t);
  t.data = &e;
  uv_timer_start(&t, on_free_timer, 300, 0);
  env_wait(&e);
  CHECK(e.h == NULL);
  env_close(&e);
  CHECK_EQ(N, cancelled_inside_free);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(1, rs[i].calls);
    CHECK_EQ(0, rs[i].sync_calls);
    CHECK_EQ(UV_ECANCELED, rs[i].status);
    CHECK_STR("cancelled", rs[i].error);
    CHECK(rs[i].body_nul);
    result_clear(&rs[i]);
  }

  TEST_CTX("free before the loop ever ran");
  cancelled_inside_free = 0;
  env_open(&e);
  for (int i = 0; i < N; i++) {
    in_send = 1;
    CHECK_EQ(0, hop_http_send(e.h, &req, on_cancel_count, &rs[i]));
    in_send = 0;
    pending++;
  }
  in_free = 1;
  hop_http_free(e.h);
  in_free = 0;
  e.h = NULL;
  CHECK_EQ(0, pending);
  env_close(&e);
  CHECK_EQ(N, cancelled_inside_free);
  for (int i = 0; i < N; i++) {
    CHECK_EQ(1, rs[i].calls);
    CHECK_EQ(UV_ECANCELED, rs[i].status);
    result_clear(&rs[i]);
  }

  TEST_CTX("free with nothing in flight, idle connections cached");
  env_open(&e);
  req = get(url(u, sizeof u, "http", port_http, "/etag"));
  CHECK_EQ(0, send_req(e.h, &req, &rs[0]));
  CHECK_EQ(0, send_req(e.h, &req, &rs[1]));
  env_wait(&e);
  env_close(&e);
  CHECK_EQ(200, rs[0].status);
  CHECK_EQ(200, rs[1].status);
  result_clear(&rs[0]);
  result_clear(&rs[1]);

  TEST_CTX("free of a client that never sent");
  env_open(&e);
  env_close(&e);
  TEST_CTX("%s", "");
}

/* hop_http_free from inside a completion callback, with others in flight. */
struct reentry {
  struct env *e;
  struct result done;          /* the request whose callback frees */
  struct result others[3];
  int send_rc_in_cancel;
  int frees_nested;
};

static struct reentry *reentry;

static void on_other(void *arg, const struct hop_http_response *res)
{
  struct hop_http_request req = get("http://127.0.0.1:1/");

  on_result(arg, res);
  /* The client is being freed: new work is refused, a second free is a no-op. */
  reentry->send_rc_in_cancel = hop_http_send(reentry->e->h, &req, on_result, arg);
  hop_http_free(reentry->e->h);
}

static void on_first(void *arg, const struct hop_http_response *res)
{
  struct reentry *re = arg;

  on_result(&re->done, res);
  hop_http_free(re->e->h);     /* the others are cancelled right here */
  for (int i = 0; i < 3; i++)
    re->frees_nested += re->others[i].calls;
  /* h stays valid until its close callbacks: the test only forgets it after this callback. */
}

static void test_free_in_callback(void)
{
  struct env e;
  struct reentry re;
  char u1[128], u2[128];
  struct hop_http_request fast = get(url(u1, sizeof u1, "http", port_http, "/etag"));
  struct hop_http_request slow = get(url(u2, sizeof u2, "http", port_http, "/hang?s=10"));

  memset(&re, 0, sizeof re);
  reentry = &re;
  env_open(&e);
  re.e = &e;
  slow.timeout_ms = 15000;
  in_send = 1;
  CHECK_EQ(0, hop_http_send(e.h, &fast, on_first, &re));
  for (int i = 0; i < 3; i++)
    CHECK_EQ(0, hop_http_send(e.h, &slow, on_other, &re.others[i]));
  in_send = 0;
  pending = 4;
  env_wait(&e);
  e.h = NULL;                  /* freed by on_first */
  env_close(&e);
  CHECK_EQ(1, re.done.calls);
  CHECK_EQ(200, re.done.status);
  CHECK_EQ(3, re.frees_nested);
  CHECK_EQ(UV_ECANCELED, re.send_rc_in_cancel);
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(1, re.others[i].calls);
    CHECK_EQ(UV_ECANCELED, re.others[i].status);
    CHECK_STR("cancelled", re.others[i].error);
    result_clear(&re.others[i]);
  }
  result_clear(&re.done);
}

static void test_async_dns(void)
{
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

  printf("# libcurl %s, %s, AsynchDNS %s\n", v->version, v->ssl_version ? v->ssl_version : "no TLS",
         (v->features & CURL_VERSION_ASYNCHDNS) ? "yes" : "no");
  CHECK(v->features & CURL_VERSION_ASYNCHDNS);   /* name lookups must not block the loop */
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s PYTHON3 server.py\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* Proxies from the environment would swallow loopback requests. */
  setenv("no_proxy", "*", 1);
  setenv("NO_PROXY", "*", 1);
  if (server_start(argv[1], argv[2]) < 0) {
    printf("# cannot start %s %s: skipped\n", argv[1], argv[2]);
    server_stop();
    return 77;
  }

  test_async_dns();
  test_etag_and_conditional();
  test_bearer();
  test_post();
  test_statuses();
  test_timeout();
  test_too_large();
  test_not_http();
  test_refused();
  test_tls_verification();
  test_resolve();
  test_bad_requests();
  test_concurrent();
  test_chain();
  test_free_in_flight();
  test_free_in_callback();

  server_stop();
  curl_global_cleanup();       /* balances hop_http's one curl_global_init, for LeakSanitizer */
  return TEST_DONE();
}
