/* The control plane's HTTP client against real loopback servers (see http_fixture.h).
 * POST: a JSON echo, a body holding a NUL (length, not strlen), no body, and 200 kB sent without
 * Expect: 100-continue. */
#include "http_fixture.h"

/* ---- Scenarios --------------------------------------------------------------------------- */

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

int main(int argc, char **argv)
{
  int rc = http_fixture_begin(argc, argv);

  if (rc != 0)
    return rc;

  test_post();

  http_fixture_end();
  return TEST_DONE();
}
