/* The control plane's HTTP client against real loopback servers (see http_fixture.h).
 * Everything short of a plain 200: statuses reported as they are (500, 302 not followed),
 * timeouts, the response size cap, replies that are not HTTP, refused connects, TLS verification,
 * and requests refused at the call. */
#include "http_fixture.h"

/* ---- Scenarios --------------------------------------------------------------------------- */

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

int main(int argc, char **argv)
{
  int rc = http_fixture_begin(argc, argv);

  if (rc != 0)
    return rc;

  test_statuses();
  test_timeout();
  test_too_large();
  test_not_http();
  test_refused();
  test_tls_verification();
  test_bad_requests();

  http_fixture_end();
  return TEST_DONE();
}
