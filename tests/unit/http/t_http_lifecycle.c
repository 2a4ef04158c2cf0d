/* The control plane's HTTP client against real loopback servers (see http_fixture.h).
 * Many requests and the client's lifetime: 50 concurrent requests, 20 chained through one cached
 * connection, and cancellation by hop_http_free() (from a timer, before the loop ever ran, and
 * from inside a completion callback): every callback exactly once, never synchronously. */
#include "http_fixture.h"

/* ---- Scenarios --------------------------------------------------------------------------- */

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

int main(int argc, char **argv)
{
  int rc = http_fixture_begin(argc, argv);

  if (rc != 0)
    return rc;

  test_concurrent();
  test_chain();
  test_free_in_flight();
  test_free_in_callback();

  http_fixture_end();
  return TEST_DONE();
}
