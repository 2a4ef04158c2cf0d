/* The control plane's HTTP client against real loopback servers (see http_fixture.h).
 * Headers: ETags and If-None-Match (200, 304, a stale tag, odd header case and padding, no ETag)
 * and bearer auth (200, 401 on a wrong or missing token). */
#include "http_fixture.h"

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

int main(int argc, char **argv)
{
  int rc = http_fixture_begin(argc, argv);

  if (rc != 0)
    return rc;

  test_etag_and_conditional();
  test_bearer();

  http_fixture_end();
  return TEST_DONE();
}
