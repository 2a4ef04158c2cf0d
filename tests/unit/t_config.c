/* hop_config_parse / hop_config_load: defaults, the documented example, and bad documents whose
 * error must name the file and the JSON path. Plus hop_endpoint_parse. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hop/config.h"
#include "hop/err.h"
#include "hop/route.h"
#include "test.h"

#define NAME "conf/test.json"

static int parse(const char *json, struct hop_config *c, char *err)
{
  err[0] = '\0';
  return hop_config_parse(NAME, json, strlen(json), c, err, HOP_CONFIG_ERR_BYTES);
}

static const char *lookup(const struct hop_config *c, const char *host)
{
  const struct hop_server *s = c->routes ? hop_route_lookup(c->routes, host, strlen(host)) : NULL;

  return s ? s->id : "(none)";
}

#define MIN_SERVERS "\"servers\": [ { \"id\": \"lobby\", \"hosts\": [\"lobby.example.com\"], " \
                    "\"backend\": \"127.0.0.1:25566\" } ]"

static void test_minimal_defaults(void)
{
  struct hop_config c;
  char err[HOP_CONFIG_ERR_BYTES];
  int rc = parse("{" MIN_SERVERS "}", &c, err);

  if (!CHECK_EQ(0, rc)) {
    printf("# %s\n", err);
    return;
  }
  CHECK_EQ(1, c.listen_len);
  CHECK_STR("0.0.0.0:25565", c.listen_len ? c.listen[0] : NULL);
  CHECK_EQ(0, c.workers);
  CHECK_EQ(HOP_PROVIDER_STATIC, c.provider);
  CHECK_EQ(5000, c.conn.timeout_ms_handshake);
  CHECK_EQ(5000, c.conn.timeout_ms_connect);
  CHECK_EQ(0, c.timeout_ms_idle);
  CHECK_EQ(30, c.drain_s);
  CHECK_EQ(4096, c.conn.preread_bytes_max);
  CHECK_EQ(1024, c.conn.address_bytes_max);
  CHECK_EQ(HOP_UNKNOWN_STATUS_MOTD, c.conn.unknown_status);
  CHECK_STR("\xc2\xa7" "cNo server at {host}", c.conn.unknown_motd);
  CHECK_STR("There is no server at {host}.", c.conn.unknown_disconnect);
  CHECK_STR("\xc2\xa7" "cServer offline", c.conn.unreachable_motd);
  CHECK_STR("{server} cannot be reached right now. Try again in a moment.",
            c.conn.unreachable_disconnect);
  CHECK_STR("hopper", c.conn.version_name);
  CHECK_EQ(0, c.conn.players_max);
  CHECK_EQ(HOP_LOG_LOGFMT, c.log_format);
  CHECK_EQ(HOP_LOG_INFO, c.log_level);
  CHECK(c.routes != NULL);
  CHECK_STR("lobby", lookup(&c, "lobby.example.com"));
  CHECK_STR("(none)", lookup(&c, "other.example.com"));
  {
    const struct hop_server *s = c.routes ? hop_route_table_find_id(c.routes, "lobby") : NULL;

    CHECK(s != NULL);
    if (s) {
      CHECK_STR("127.0.0.1:25566", s->backend);
      CHECK_STR("127.0.0.1", s->backend_host);
      CHECK_EQ(25566, s->backend_port);
    }
  }
  hop_config_free(&c);
}

/* The example in docs/config.md, verbatim apart from escaping. */
static const char doc_example[] =
  "{\n"
  "  \"listen\": [\"0.0.0.0:25565\", \"[::]:25565\"],\n"
  "  \"workers\": 0,\n"
  "  \"provider\": \"static\",\n"
  "  \"servers\": [\n"
  "    { \"id\": \"lobby\", \"hosts\": [\"lobby.example.com\", \"*.lobby.example.com\"], "
  "\"backend\": \"127.0.0.1:25566\" }\n"
  "  ],\n"
  "  \"default_server\": null,\n"
  "  \"timeouts_ms\": { \"handshake\": 5000, \"connect\": 5000, \"idle\": 0 },\n"
  "  \"drain_s\": 30,\n"
  "  \"limits\": { \"preread_bytes_max\": 4096, \"address_bytes_max\": 1024 },\n"
  "  \"answers\": {\n"
  "    \"version_name\": \"hopper\",\n"
  "    \"players_max\": 0,\n"
  "    \"unknown_host\": { \"status\": \"motd\", \"motd\": \"\xc2\xa7" "cNo server at {host}\", "
  "\"disconnect\": \"There is no server at {host}.\" },\n"
  "    \"unreachable\": { \"motd\": \"\xc2\xa7" "cServer offline\", \"disconnect\": \"{server} "
  "cannot be reached right now. Try again in a moment.\" }\n"
  "  },\n"
  "  \"store\": { \"path\": \"var/hopper.db\" },\n"
  "  \"api\": { \"base_url\": \"http://127.0.0.1:8080\", \"token_file\": "
  "\"/run/secrets/hopper-token\", \"refresh_s\": 10 },\n"
  "  \"admin\": { \"listen\": \"127.0.0.1:9565\" },\n"
  "  \"log\": { \"format\": \"logfmt\", \"level\": \"info\" }\n"
  "}\n";

static void test_doc_example(void)
{
  struct hop_config c;
  char err[HOP_CONFIG_ERR_BYTES];
  int rc = parse(doc_example, &c, err);

  if (!CHECK_EQ(0, rc)) {
    printf("# %s\n", err);
    return;
  }
  CHECK_EQ(2, c.listen_len);
  CHECK_STR("[::]:25565", c.listen_len == 2 ? c.listen[1] : NULL);
  CHECK_STR("lobby", lookup(&c, "lobby.example.com"));
  CHECK_STR("lobby", lookup(&c, "eu.lobby.example.com"));
  CHECK_STR("(none)", lookup(&c, "example.com"));
  CHECK_STR("var/hopper.db", c.store_path);
  CHECK_STR("http://127.0.0.1:8080", c.api_base_url);
  CHECK_STR("/run/secrets/hopper-token", c.api_token_file);
  CHECK_EQ(10, c.api_refresh_s);
  CHECK_STR("127.0.0.1:9565", c.admin_listen);
  hop_config_free(&c);
}

static void test_values(void)
{
  struct hop_config c;
  char err[HOP_CONFIG_ERR_BYTES];
  int rc = parse("{ \"listen\": [\"127.0.0.1:0\"], \"workers\": 3, " MIN_SERVERS ", "
                 "\"default_server\": \"lobby\", "
                 "\"timeouts_ms\": { \"handshake\": 1234, \"connect\": 777, \"idle\": 60000 }, "
                 "\"drain_s\": 5, "
                 "\"limits\": { \"preread_bytes_max\": 8192, \"address_bytes_max\": 300 }, "
                 "\"answers\": { \"version_name\": \"gw\", \"players_max\": 99, "
                 "  \"unknown_host\": { \"status\": \"drop\", \"motd\": \"m {host}\", "
                 "                      \"disconnect\": \"d {host}\" }, "
                 "  \"unreachable\": { \"motd\": \"um {server}\", \"disconnect\": \"ud\" } }, "
                 "\"log\": { \"format\": \"json\", \"level\": \"warn\" } }", &c, err);

  if (!CHECK_EQ(0, rc)) {
    printf("# %s\n", err);
    return;
  }
  CHECK_STR("127.0.0.1:0", c.listen_len ? c.listen[0] : NULL);    /* port 0 for listeners */
  CHECK_EQ(3, c.workers);
  CHECK_EQ(1234, c.conn.timeout_ms_handshake);
  CHECK_EQ(777, c.conn.timeout_ms_connect);
  CHECK_EQ(60000, c.timeout_ms_idle);
  CHECK_EQ(5, c.drain_s);
  CHECK_EQ(8192, c.conn.preread_bytes_max);
  CHECK_EQ(300, c.conn.address_bytes_max);
  CHECK_STR("gw", c.conn.version_name);
  CHECK_EQ(99, c.conn.players_max);
  CHECK_EQ(HOP_UNKNOWN_STATUS_DROP, c.conn.unknown_status);
  CHECK_STR("m {host}", c.conn.unknown_motd);
  CHECK_STR("d {host}", c.conn.unknown_disconnect);
  CHECK_STR("um {server}", c.conn.unreachable_motd);
  CHECK_STR("ud", c.conn.unreachable_disconnect);
  CHECK_EQ(HOP_LOG_JSON, c.log_format);
  CHECK_EQ(HOP_LOG_WARN, c.log_level);
  CHECK_STR("lobby", lookup(&c, "anything.else"));                /* default_server */
  hop_config_free(&c);

  /* Several servers with wildcards; backends with names and IPv6. */
  rc = parse("{ \"servers\": ["
             " { \"id\": \"a\", \"hosts\": [\"*.example.com\", \"Example.COM.\"], "
             "   \"backend\": \"mc-a.internal:25565\" },"
             " { \"id\": \"b\", \"hosts\": [\"*.b.example.com\"], \"backend\": \"[::1]:25577\" } ] }",
             &c, err);
  if (CHECK_EQ(0, rc)) {
    const struct hop_server *b = hop_route_table_find_id(c.routes, "b");

    CHECK_STR("a", lookup(&c, "example.com"));
    CHECK_STR("a", lookup(&c, "x.example.com"));
    CHECK_STR("b", lookup(&c, "x.b.example.com"));
    CHECK(b != NULL && strcmp(b->backend_host, "::1") == 0 && b->backend_port == 25577);
    hop_config_free(&c);
  } else {
    printf("# %s\n", err);
  }
}

struct bad {
  const char *json;
  const char *path;            /* must appear in the error */
  const char *also;            /* and this, when set */
};

#define S0 "{ \"id\": \"a\", \"hosts\": [\"a.example.com\"], \"backend\": \"127.0.0.1:1\" }"
#define S1 "{ \"id\": \"b\", \"hosts\": [\"b.example.com\"], \"backend\": \"127.0.0.1:2\" }"

static const struct bad bads[] = {
  { "{ \"servers\": [" S0 ", { \"id\": \"b\", \"hosts\": [\"b.x\"], \"backend\": \"nope\" } ] }",
    "servers[1].backend", NULL },
  { "{ \"servers\": [" S0 ", { \"id\": \"b\", \"hosts\": [\"b.x\"], \"backend\": \"h:0\" } ] }",
    "servers[1].backend", NULL },
  { "{ \"servers\": [" S0 ", { \"id\": \"b\", \"hosts\": [\"b.x\"], \"backend\": \"h:65536\" } ] }",
    "servers[1].backend", NULL },
  { "{ \"servers\": [" S0 ", { \"id\": \"b\", \"hosts\": [\"b.x\"], \"backend\": 25565 } ] }",
    "servers[1].backend", NULL },
  { "{ \"servers\": [" S0 ", { \"id\": \"b\", \"hosts\": [\"b.x\"] } ] }",
    "servers[1].backend", NULL },
  { "{ \"servers\": [ { \"id\": \"a\", \"hostz\": [\"a.b\"], \"backend\": \"h:1\" } ] }",
    "servers[0].hostz", NULL },
  { "{ \"servers\": [ { \"hosts\": [\"a.b\"], \"backend\": \"h:1\" } ] }",
    "servers[0]", NULL },
  { "{ \"servers\": [ { \"id\": \"a\", \"hosts\": [], \"backend\": \"h:1\" } ] }",
    "servers[0].hosts", NULL },
  { "{ \"servers\": [ { \"id\": \"a\", \"hosts\": [\"ok.b\", \"a.*.b\"], \"backend\": \"h:1\" } ] }",
    "servers[0].hosts[1]", NULL },
  { "{ \"servers\": [ { \"id\": \"a\", \"hosts\": [\"ok.b\", 7], \"backend\": \"h:1\" } ] }",
    "servers[0].hosts[1]", NULL },
  { "{ \"servers\": [" S0 ", { \"id\": \"b\", \"hosts\": [\"b.x\", \"A.Example.com.\"], "
    "\"backend\": \"h:1\" } ] }", "servers[1].hosts[1]", "\"a\"" },
  { "{ \"servers\": [" S0 ", " S1 ", { \"id\": \"a\", \"hosts\": [\"c.x\"], \"backend\": \"h:1\" } ] }",
    "servers[2].id", "\"a\"" },
  { "{ \"servers\": [" S0 "], \"default_server\": \"nope\" }", "default_server", "nope" },
  { "{ \"servers\": [" S0 "], \"default_server\": 3 }", "default_server", NULL },
  { "{ \"servers\": [" S0 "], \"timeouts_ms\": { \"handshake\": \"5000\" } }",
    "timeouts_ms.handshake", NULL },
  { "{ \"servers\": [" S0 "], \"timeouts_ms\": { \"handshake\": -1 } }",
    "timeouts_ms.handshake", NULL },
  { "{ \"servers\": [" S0 "], \"timeouts_ms\": { \"handshake\": 1.5 } }",
    "timeouts_ms.handshake", NULL },
  { "{ \"servers\": [" S0 "], \"timeouts_ms\": { \"handshake\": 1e300 } }",
    "timeouts_ms.handshake", NULL },
  { "{ \"servers\": [" S0 "], \"timeouts_ms\": { \"connect\": -1e300 } }",
    "timeouts_ms.connect", NULL },
  { "{ \"servers\": [" S0 "], \"timeouts_ms\": { \"handshak\": 5000 } }",
    "timeouts_ms.handshak", NULL },
  { "{ \"servers\": [" S0 "], \"timeouts_ms\": 5000 }", "timeouts_ms", NULL },
  { "{ \"servers\": [" S0 "], \"listen\": [\"bad\"] }", "listen[0]", NULL },
  { "{ \"servers\": [" S0 "], \"listen\": [\"127.0.0.1:1\", \"127.0.0.1\"] }", "listen[1]", NULL },
  { "{ \"servers\": [" S0 "], \"listen\": [5] }", "listen[0]", NULL },
  { "{ \"servers\": [" S0 "], \"listen\": \"0.0.0.0:25565\" }", "listen", NULL },
  { "{ \"servers\": [" S0 "], \"workers\": true }", "workers", NULL },
  { "{ \"servers\": [" S0 "], \"workers\": -2 }", "workers", NULL },
  { "{ \"servers\": [" S0 "], \"workers\": 1e300 }", "workers", NULL },
  { "{ \"servers\": [" S0 "], \"drain_s\": \"30\" }", "drain_s", NULL },
  { "{ \"servers\": [" S0 "], \"provider\": \"nope\" }", "provider", NULL },
  { "{ \"servers\": [" S0 "], \"limits\": { \"preread_bytes_max\": 100 } }",
    "limits.preread_bytes_max", NULL },
  { "{ \"servers\": [" S0 "], \"limits\": { \"preread_bytes_max\": 1000000 } }",
    "limits.preread_bytes_max", NULL },
  { "{ \"servers\": [" S0 "], \"answers\": { \"unknown_host\": { \"status\": \"maybe\" } } }",
    "answers.unknown_host.status", NULL },
  { "{ \"servers\": [" S0 "], \"answers\": { \"unknown_host\": { \"motdd\": \"x\" } } }",
    "answers.unknown_host.motdd", NULL },
  { "{ \"servers\": [" S0 "], \"answers\": { \"unreachable\": { \"disconnect\": 1 } } }",
    "answers.unreachable.disconnect", NULL },
  { "{ \"servers\": [" S0 "], \"answers\": { \"players_max\": -1 } }",
    "answers.players_max", NULL },
  { "{ \"servers\": [" S0 "], \"log\": { \"level\": \"verbose\" } }", "log.level", NULL },
  { "{ \"servers\": [" S0 "], \"log\": { \"format\": \"xml\" } }", "log.format", NULL },
  { "{ \"servers\": [" S0 "], \"log\": { \"colour\": true } }", "log.colour", NULL },
  { "{ \"servers\": [" S0 "], \"admin\": { \"listen\": \"nope\" } }", "admin.listen", NULL },
  { "{ \"servers\": [" S0 "], \"api\": { \"refresh_s\": 0 } }", "api.refresh_s", NULL },
  { "{ \"servers\": [" S0 "], \"store\": { \"path\": 1 } }", "store.path", NULL },
  { "{ \"servers\": [" S0 "], \"surprise\": 1 }", "surprise", NULL },
  { "{ \"servers\": {} }", "servers", NULL },
  { "{ }", "servers", NULL },
  { "[]", NULL, NULL },
  { "", NULL, NULL },
  { "{ \"servers\": [" S0 "] ", NULL, NULL },                  /* unterminated */
  { "{ \"servers\": [" S0 "] } }", NULL, NULL },               /* a stray brace after it */
  { "{ \"servers\": [" S0 "] } {}", NULL, NULL },              /* two documents */
  { "{ \"servers\": [" S0 "] } x", NULL, NULL },
};

static void test_bad(void)
{
  for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
    struct hop_config c;
    char err[HOP_CONFIG_ERR_BYTES];
    int rc;

    TEST_CTX("bad %zu: %s", i, bads[i].path ? bads[i].path : bads[i].json);
    memset(&c, 0x5a, sizeof c);
    rc = parse(bads[i].json, &c, err);
    CHECK_EQ(HOP_ECONFIG, rc);
    if (rc == 0) {
      hop_config_free(&c);
      continue;
    }
    CHECK(strncmp(err, NAME ": ", strlen(NAME) + 2) == 0);    /* the file first */
    if (bads[i].path && !CHECK(strstr(err, bads[i].path) != NULL))
      printf("# err: %s\n", err);
    if (bads[i].also && !CHECK(strstr(err, bads[i].also) != NULL))
      printf("# err: %s\n", err);
    CHECK(strchr(err, '\n') == NULL);                           /* one line */
  }
  TEST_CTX("%s", "");

  /* A text over 512 bytes. */
  {
    char json[2048], text[600];
    struct hop_config c;
    char err[HOP_CONFIG_ERR_BYTES];

    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    snprintf(json, sizeof json, "{ \"servers\": [" S0 "], \"answers\": { \"unknown_host\": "
             "{ \"disconnect\": \"%s\" } } }", text);
    CHECK_EQ(HOP_ECONFIG, parse(json, &c, err));
    CHECK(strstr(err, "answers.unknown_host.disconnect") != NULL);
    text[512] = '\0';
    snprintf(json, sizeof json, "{ \"servers\": [" S0 "], \"answers\": { \"unknown_host\": "
             "{ \"disconnect\": \"%s\" } } }", text);
    CHECK_EQ(0, parse(json, &c, err));
    hop_config_free(&c);
  }

  /* json_len is honoured: bytes after it are not part of the document. */
  {
    static const char doc[] = "{ \"servers\": [" S0 "] }garbage";
    struct hop_config c;
    char err[HOP_CONFIG_ERR_BYTES];
    int rc = hop_config_parse(NAME, doc, sizeof doc - 1 - 7, &c, err, sizeof err);

    CHECK_EQ(0, rc);
    if (rc == 0)
      hop_config_free(&c);
    else
      printf("# %s\n", err);
  }

  /* A tiny error buffer is not overrun and stays terminated. */
  {
    struct hop_config c;
    char err[16];

    memset(err, 'Z', sizeof err);
    CHECK_EQ(HOP_ECONFIG, hop_config_parse(NAME, "{}", 2, &c, err, 8));
    CHECK(memchr(err, '\0', 8) != NULL);
    CHECK_EQ('Z', err[8]);
  }
}

static void test_load(void)
{
  char path[] = "/tmp/hop-t-config-XXXXXX";
  char err[HOP_CONFIG_ERR_BYTES];
  struct hop_config c;
  int fd = mkstemp(path), rc;
  FILE *f;

  if (!CHECK(fd >= 0))
    return;
  f = fdopen(fd, "w");
  fputs("{ \"servers\": [" S0 "],\n  \"drain_s\": \"x\" }\n", f);
  fclose(f);
  rc = hop_config_load(path, &c, err, sizeof err);
  CHECK_EQ(HOP_ECONFIG, rc);
  CHECK(strncmp(err, path, strlen(path)) == 0);
  CHECK(strstr(err, "drain_s") != NULL);

  f = fopen(path, "w");
  fputs("{ \"servers\": [" S0 "] }\n", f);
  fclose(f);
  rc = hop_config_load(path, &c, err, sizeof err);
  CHECK_EQ(0, rc);
  if (rc == 0) {
    CHECK_STR("a", lookup(&c, "a.example.com"));
    hop_config_free(&c);
  }
  unlink(path);

  rc = hop_config_load("/nonexistent/hopper.json", &c, err, sizeof err);
  CHECK_EQ(-ENOENT, rc);
  CHECK(strstr(err, "/nonexistent/hopper.json") != NULL);
}

static void test_endpoint(void)
{
  static const struct {
    const char *s;
    int zero_ok;
    int ok;
    const char *host;
    int port;
  } cases[] = {
    { "127.0.0.1:25565", 0, 1, "127.0.0.1", 25565 },
    { "mc.example.com:1", 0, 1, "mc.example.com", 1 },
    { "[::1]:25565", 0, 1, "::1", 25565 },
    { "[2001:db8::7]:65535", 0, 1, "2001:db8::7", 65535 },
    { "0.0.0.0:0", 1, 1, "0.0.0.0", 0 },
    { "0.0.0.0:0", 0, 0, NULL, 0 },
    { "host:65536", 1, 0, NULL, 0 },
    { "host:99999999999999999999", 1, 0, NULL, 0 },
    { "host:-1", 1, 0, NULL, 0 },
    { "host:+1", 1, 0, NULL, 0 },
    { "host: 1", 1, 0, NULL, 0 },
    { "host:1x", 1, 0, NULL, 0 },
    { "host:", 1, 0, NULL, 0 },
    { "host", 1, 0, NULL, 0 },
    { ":25565", 1, 0, NULL, 0 },
    { "", 1, 0, NULL, 0 },
    { "::1:25565", 1, 0, NULL, 0 },               /* IPv6 needs brackets */
    { "[::1]", 1, 0, NULL, 0 },
    { "[::1]25565", 1, 0, NULL, 0 },
    { "[]:25565", 1, 0, NULL, 0 },
    { "[::1:25565", 1, 0, NULL, 0 },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char host[64];
    uint16_t port = 4242;
    int rc;

    TEST_CTX("endpoint \"%s\" zero_ok %d", cases[i].s, cases[i].zero_ok);
    rc = hop_endpoint_parse(cases[i].s, host, sizeof host, &port, cases[i].zero_ok);
    if (cases[i].ok) {
      CHECK_EQ(0, rc);
      CHECK_STR(cases[i].host, rc == 0 ? host : NULL);
      CHECK_EQ(cases[i].port, port);
    } else {
      CHECK_EQ(HOP_ECONFIG, rc);
    }
  }
  TEST_CTX("%s", "");
  {
    char small[5];
    uint16_t port;

    CHECK_EQ(HOP_ECONFIG, hop_endpoint_parse("12345:1", small, sizeof small, &port, 0));
    CHECK_EQ(0, hop_endpoint_parse("1234:1", small, sizeof small, &port, 0));
    CHECK_STR("1234", small);
  }
}

int main(void)
{
  test_minimal_defaults();
  test_doc_example();
  test_values();
  test_bad();
  test_load();
  test_endpoint();
  return TEST_DONE();
}
