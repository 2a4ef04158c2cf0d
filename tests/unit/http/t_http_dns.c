/* The control plane's HTTP client against real loopback servers (see http_fixture.h).
 * Name resolution: libcurl must have the threaded resolver (AsynchDNS), an unresolvable name
 * fails, and the machine's own name resolves when it maps to 127.0.0.1. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include "http_fixture.h"

/* ---- Scenarios --------------------------------------------------------------------------- */

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

static void test_async_dns(void)
{
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

  printf("# libcurl %s, %s, AsynchDNS %s\n", v->version, v->ssl_version ? v->ssl_version : "no TLS",
         (v->features & CURL_VERSION_ASYNCHDNS) ? "yes" : "no");
  CHECK(v->features & CURL_VERSION_ASYNCHDNS);   /* name lookups must not block the loop */
}

int main(int argc, char **argv)
{
  int rc = http_fixture_begin(argc, argv);

  if (rc != 0)
    return rc;

  test_async_dns();
  test_resolve();

  http_fixture_end();
  return TEST_DONE();
}
