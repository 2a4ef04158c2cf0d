/* Host normalisation and the route table: precedence, order independence, defaults, and the
 * patterns and duplicates a config must be refused for. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "hop/route.h"
#include "test.h"

/* ---- Normalisation -------------------------------------------------------------------------- */

struct norm_case {
  const char *raw;
  size_t raw_len;              /* 0: strlen(raw) */
  const char *want;            /* NULL: HOP_EADDRESS */
};

#define RAW(s) s, sizeof(s) - 1

static const struct norm_case norm_cases[] = {
  { RAW("Play.Example.COM."), "play.example.com" },
  { RAW("play.example.com"), "play.example.com" },
  { RAW("a.b\0FML\0"), "a.b" },
  { RAW("a.b\0FML2\0"), "a.b" },
  { RAW("a.b\0FML3\0"), "a.b" },
  { RAW("A.B.\0FORGE"), "a.b" },
  { RAW("x.y///1.2.3.4:5///123"), "x.y" },
  { RAW("x.y///1.2.3.4:5///123///c2lnbmF0dXJl"), "x.y" },
  { RAW("x.y//z"), "x.y//z" },                 /* two slashes are not a forwarding tail */
  { RAW("x.y/"), "x.y/" },
  { RAW("x.y\\\\foo"), "x.y" },
  { RAW("x.y\\foo"), "x.y" },
  { RAW("host..."), "host" },
  { RAW("host.\0.x"), "host" },
  { RAW("X.Y\\a///b\0c"), "x.y" },               /* the earliest cut wins */
  { RAW("x.y\0a///b"), "x.y" },
  { RAW("x.y///a\0b"), "x.y" },
  { RAW(""), "" },
  { RAW("."), "" },
  { RAW("\0FML\0"), "" },
  { RAW("///x"), "" },
  { RAW("@[`{AZaz09"), "@[`{azaz09" },         /* only A-Z change */
  { RAW("\xc3\x84" "B.c"), "\xc3\x84" "b.c" },    /* non-ASCII bytes pass through */
  { RAW("MiXeD-CaSe_1.Example.Org"), "mixed-case_1.example.org" },
};

static void test_normalize(void)
{
  char out[HOP_HOST_BYTES_MAX + 1];

  for (size_t i = 0; i < sizeof norm_cases / sizeof norm_cases[0]; i++) {
    const struct norm_case *c = &norm_cases[i];
    int n;

    TEST_CTX("normalize case %zu", i);
    memset(out, 'Q', sizeof out);
    n = hop_host_normalize(c->raw, c->raw_len, out, sizeof out);
    if (!c->want) {
      CHECK_EQ(HOP_EADDRESS, n);
      continue;
    }
    CHECK_EQ(strlen(c->want), n);
    CHECK_STR(c->want, out);
  }
  TEST_CTX("%s", "");

  /* The raw length is honoured: bytes after it are never looked at. */
  {
    int n = hop_host_normalize("ab.cdXYZ", 5, out, sizeof out);

    CHECK_EQ(5, n);
    CHECK_STR("ab.cd", out);
    n = hop_host_normalize("ab.//", 4, out, sizeof out);    /* "//" then end: no "///" */
    CHECK_EQ(4, n);
    CHECK_STR("ab./", out);
  }

  /* 253 bytes fit HOP_HOST_BYTES_MAX + 1; 254 do not. Trailing dots are trimmed first. */
  {
    char raw[400];

    memset(raw, 'H', sizeof raw);
    CHECK_EQ(253, hop_host_normalize(raw, 253, out, sizeof out));
    CHECK_EQ(253, strlen(out));
    CHECK_EQ('h', out[252]);
    CHECK_EQ(HOP_EADDRESS, hop_host_normalize(raw, 254, out, sizeof out));
    CHECK_EQ(HOP_EADDRESS, hop_host_normalize(raw, 300, out, sizeof out));
    memset(raw + 253, '.', 20);
    CHECK_EQ(253, hop_host_normalize(raw, 273, out, sizeof out));
    memcpy(raw + 100, "///", 3);
    CHECK_EQ(100, hop_host_normalize(raw, 400, out, sizeof out));
  }

  /* A smaller output buffer: the result must fit out_cap - 1. */
  {
    char small[4];

    CHECK_EQ(3, hop_host_normalize("ABC", 3, small, sizeof small));
    CHECK_STR("abc", small);
    CHECK_EQ(HOP_EADDRESS, hop_host_normalize("ABCD", 4, small, sizeof small));
    CHECK_EQ(3, hop_host_normalize("ABC.\0D", 6, small, sizeof small));
    CHECK_EQ(0, hop_host_normalize("", 0, small, 1));
    CHECK_STR("", small);
  }
}

/* ---- Tables --------------------------------------------------------------------------------- */

struct route {
  const char *server;
  const char *pattern;
};

static const char *const server_ids[] = { "lobby", "survival", "creative", "fallback" };

/* Builds a table with the four servers and `routes` added in the given order. */
static struct hop_route_table *build(const struct route *routes, const size_t *order, size_t n,
                                     const char *dflt)
{
  struct hop_route_table *t = hop_route_table_new();
  char err[256];

  if (!t)
    return NULL;
  for (size_t i = 0; i < 4; i++) {
    char backend[32];

    snprintf(backend, sizeof backend, "10.0.0.%zu:25565", i + 1);
    if (hop_route_table_add_server(t, server_ids[i], backend, "10.0.0.1", 25565) != (int)i) {
      hop_route_table_free(t);
      return NULL;
    }
  }
  for (size_t i = 0; i < n; i++) {
    const struct route *r = &routes[order ? order[i] : i];
    size_t idx = 0;

    while (strcmp(server_ids[idx], r->server) != 0)
      idx++;
    err[0] = '\0';
    if (hop_route_table_add_host(t, (int)idx, r->pattern, err, sizeof err) != 0) {
      printf("# add_host %s: %s\n", r->pattern, err);
      hop_route_table_free(t);
      return NULL;
    }
  }
  if (dflt && hop_route_table_set_default(t, dflt) != 0) {
    hop_route_table_free(t);
    return NULL;
  }
  if (hop_route_table_seal(t) != 0) {
    hop_route_table_free(t);
    return NULL;
  }
  return t;
}

static const char *lookup_id(const struct hop_route_table *t, const char *host)
{
  const struct hop_server *s = hop_route_lookup(t, host, strlen(host));

  return s ? s->id : "(none)";
}

static const struct route routes[] = {
  { "lobby",    "*.example.com" },
  { "survival", "*.survival.example.com" },
  { "creative", "creative.survival.example.com" },
  { "lobby",    "Example.COM." },
  { "survival", "*.b.c.survival.example.com" },
  { "creative", "play.example.net" },
};
#define ROUTES_N (sizeof routes / sizeof routes[0])

struct expect_lookup {
  const char *host;
  const char *want;            /* server id, or "(none)" */
};

static const struct expect_lookup expected[] = {
  { "example.com", "lobby" },                            /* exact */
  { "a.example.com", "lobby" },                          /* wildcard */
  { "a.b.example.com", "lobby" },                        /* a wildcard covers deeper names */
  { "survival.example.com", "lobby" },                   /* "*.survival..." needs a label */
  { "x.survival.example.com", "survival" },              /* longer suffix beats shorter */
  { "y.x.survival.example.com", "survival" },
  { "creative.survival.example.com", "creative" },       /* exact beats every wildcard */
  { "a.creative.survival.example.com", "survival" },     /* exact names do not cover children */
  { "b.c.survival.example.com", "survival" },
  { "a.b.c.survival.example.com", "survival" },          /* the longest of three wildcards */
  { "z.a.b.c.survival.example.com", "survival" },
  { "badexample.com", "(none)" },                        /* suffix on a label boundary only */
  { "com", "(none)" },
  { "example.co", "(none)" },
  { "play.example.net", "creative" },
  { "x.play.example.net", "(none)" },
  { "example.net", "(none)" },
  { "", "(none)" },
};
#define EXPECTED_N (sizeof expected / sizeof expected[0])

static void check_table(const struct hop_route_table *t, const char *dflt, const char *ctx)
{
  for (size_t i = 0; i < EXPECTED_N; i++) {
    const char *want = expected[i].want;

    if (strcmp(want, "(none)") == 0 && dflt)
      want = dflt;
    TEST_CTX("%s: %s", ctx, expected[i].host);
    CHECK_STR(want, lookup_id(t, expected[i].host));
  }
}

static int next_permutation(size_t *a, size_t n)
{
  size_t i = n - 1, j = n - 1;

  while (i > 0 && a[i - 1] >= a[i])
    i--;
  if (i == 0)
    return 0;
  while (a[j] <= a[i - 1])
    j--;
  { size_t tmp = a[i - 1]; a[i - 1] = a[j]; a[j] = tmp; }
  for (size_t l = i, r = n - 1; l < r; l++, r--) {
    size_t tmp = a[l];

    a[l] = a[r];
    a[r] = tmp;
  }
  return 1;
}

static void test_precedence(void)
{
  size_t order[ROUTES_N];
  size_t perms = 0;

  for (size_t i = 0; i < ROUTES_N; i++)
    order[i] = i;
  /* Every insertion order (720) gives the same answers. */
  do {
    struct hop_route_table *t = build(routes, order, ROUTES_N, NULL);
    char ctx[64];

    snprintf(ctx, sizeof ctx, "permutation %zu", perms);
    TEST_CTX("%s", ctx);
    if (!CHECK(t != NULL))
      break;
    check_table(t, NULL, ctx);
    hop_route_table_free(t);
    perms++;
  } while (next_permutation(order, ROUTES_N));
  TEST_CTX("%s", "");
  CHECK_EQ(720, perms);

  /* With a default server, every miss falls back to it; hits are unchanged. */
  {
    struct hop_route_table *t = build(routes, NULL, ROUTES_N, "fallback");

    if (CHECK(t != NULL)) {
      check_table(t, "fallback", "default");
      hop_route_table_free(t);
    }
    TEST_CTX("%s", "");
  }

  /* host_len is honoured: the bytes after it are not part of the name. */
  {
    struct hop_route_table *t = build(routes, NULL, ROUTES_N, NULL);
    const struct hop_server *s;

    if (CHECK(t != NULL)) {
      s = hop_route_lookup(t, "play.example.netXYZ", 16);
      CHECK_STR("creative", s ? s->id : NULL);
      s = hop_route_lookup(t, "a.example.com.evil", 13);
      CHECK_STR("lobby", s ? s->id : NULL);
      s = hop_route_lookup(t, "example.comm", 11);
      CHECK_STR("lobby", s ? s->id : NULL);
      s = hop_route_lookup(t, "example.com", 10);
      CHECK(s == NULL);
      hop_route_table_free(t);
    }
  }
}

static void test_servers(void)
{
  struct hop_route_table *t = hop_route_table_new();
  char err[256];
  const struct hop_server *s;

  if (!CHECK(t != NULL))
    return;
  CHECK_EQ(0, hop_route_table_add_server(t, "a", "mc.internal:25566", "mc.internal", 25566));
  CHECK_EQ(1, hop_route_table_add_server(t, "b", "[::1]:25567", "::1", 25567));
  CHECK_EQ(HOP_ECONFIG, hop_route_table_add_server(t, "a", "x:1", "x", 1));
  CHECK_EQ(2, hop_route_table_add_server(t, "c", "x:1", "x", 1));
  CHECK_EQ(3, hop_route_table_servers(t));

  s = hop_route_table_server(t, 1);
  if (CHECK(s != NULL)) {
    CHECK_STR("b", s->id);
    CHECK_STR("[::1]:25567", s->backend);
    CHECK_STR("::1", s->backend_host);
    CHECK_EQ(25567, s->backend_port);
  }
  CHECK(hop_route_table_server(t, 3) == NULL);
  s = hop_route_table_find_id(t, "c");
  CHECK(s != NULL && s == hop_route_table_server(t, 2));
  CHECK(hop_route_table_find_id(t, "d") == NULL);
  CHECK(hop_route_table_find_id(t, "") == NULL);

  /* Patterns are stored normalised. */
  CHECK_EQ(0, hop_route_table_add_host(t, 0, "Lobby.Example.COM.", err, sizeof err));
  CHECK_EQ(0, hop_route_table_add_host(t, 0, "*.Lobby.Example.com", err, sizeof err));
  s = hop_route_table_server(t, 0);
  if (CHECK(s != NULL && s->hosts_len == 2)) {
    CHECK_STR("lobby.example.com", s->hosts[0]);
    CHECK_STR("*.lobby.example.com", s->hosts[1]);
  }

  /* Duplicates across servers, after normalisation, name the server that has the host. */
  err[0] = '\0';
  CHECK_EQ(HOP_ECONFIG, hop_route_table_add_host(t, 1, "lobby.example.com", err, sizeof err));
  CHECK(strstr(err, "\"a\"") != NULL || strstr(err, " a") != NULL);
  CHECK(strstr(err, "lobby.example.com") != NULL);
  err[0] = '\0';
  CHECK_EQ(HOP_ECONFIG, hop_route_table_add_host(t, 2, "LOBBY.example.com.", err, sizeof err));
  CHECK(strstr(err, "\"a\"") != NULL || strstr(err, " a") != NULL);
  err[0] = '\0';
  CHECK_EQ(HOP_ECONFIG, hop_route_table_add_host(t, 1, "*.lobby.example.com", err, sizeof err));
  CHECK(strstr(err, "\"a\"") != NULL || strstr(err, " a") != NULL);
  /* An exact name and a wildcard over the same suffix are different patterns. */
  CHECK_EQ(0, hop_route_table_add_host(t, 1, "*.lobby.example.com.x", err, sizeof err));
  CHECK_EQ(0, hop_route_table_add_host(t, 1, "x.lobby.example.com", err, sizeof err));

  /* Bad patterns: each refused with a reason. */
  {
    static const char *const bad[] = { "*", "a.*.b", "*.", "", " ", "a b", "play.example.com ",
                                       "*.*.example.com", "**.example.com", "*example.com",
                                       "a..b", ".a.b", "*..b", "a/b",
                                       "x\tb", "exa*mple.com" };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      TEST_CTX("bad pattern \"%s\"", bad[i]);
      err[0] = '\0';
      CHECK_EQ(HOP_ECONFIG, hop_route_table_add_host(t, 2, bad[i], err, sizeof err));
      CHECK(err[0] != '\0');
    }
    TEST_CTX("%s", "");
    s = hop_route_table_server(t, 2);
    CHECK(s != NULL && s->hosts_len == 0);           /* nothing half-added */
  }

  /* A refused pattern leaves the table as it was. */
  CHECK(hop_route_table_seal(t) == 0);
  s = hop_route_lookup(t, "lobby.example.com", 17);
  CHECK_STR("a", s ? s->id : NULL);
  s = hop_route_lookup(t, "x.lobby.example.com", 19);
  CHECK_STR("b", s ? s->id : NULL);
  s = hop_route_lookup(t, "y.lobby.example.com", 19);
  CHECK_STR("a", s ? s->id : NULL);

  /* Defaults. */
  CHECK_EQ(HOP_ECONFIG, hop_route_table_set_default(t, "nope"));
  CHECK(hop_route_lookup(t, "unknown.net", 11) == NULL);
  hop_route_table_free(t);

  t = hop_route_table_new();
  if (CHECK(t != NULL)) {
    CHECK_EQ(0, hop_route_table_add_server(t, "only", "h:1", "h", 1));
    CHECK_EQ(0, hop_route_table_set_default(t, "only"));
    CHECK_EQ(0, hop_route_table_seal(t));
    s = hop_route_lookup(t, "anything.at.all", 15);
    CHECK_STR("only", s ? s->id : NULL);
    s = hop_route_lookup(t, "", 0);
    CHECK_STR("only", s ? s->id : NULL);
    hop_route_table_free(t);
  }
  hop_route_table_free(NULL);
}

/* Many servers and hosts: every host finds its own server (no hash collisions mixing them). */
static void test_many(void)
{
  struct hop_route_table *t = hop_route_table_new();
  char id[32], host[64], err[128];
  size_t wrong = 0;

  if (!CHECK(t != NULL))
    return;
  for (int i = 0; i < 500; i++) {
    int idx;

    snprintf(id, sizeof id, "s%d", i);
    idx = hop_route_table_add_server(t, id, "h:1", "h", 1);
    if (idx != i)
      wrong++;
    snprintf(host, sizeof host, "srv%d.example.org", i);
    if (hop_route_table_add_host(t, idx, host, err, sizeof err) != 0)
      wrong++;
    snprintf(host, sizeof host, "*.w%d.example.org", i);
    if (hop_route_table_add_host(t, idx, host, err, sizeof err) != 0)
      wrong++;
  }
  CHECK_EQ(0, wrong);
  CHECK_EQ(0, hop_route_table_seal(t));
  for (int i = 0; i < 500; i++) {
    const struct hop_server *s;

    snprintf(id, sizeof id, "s%d", i);
    snprintf(host, sizeof host, "srv%d.example.org", i);
    s = hop_route_lookup(t, host, strlen(host));
    if (!s || strcmp(s->id, id) != 0)
      wrong++;
    snprintf(host, sizeof host, "p.q.w%d.example.org", i);
    s = hop_route_lookup(t, host, strlen(host));
    if (!s || strcmp(s->id, id) != 0)
      wrong++;
    if (hop_route_table_find_id(t, id) != hop_route_table_server(t, (size_t)i))
      wrong++;
  }
  CHECK_EQ(0, wrong);
  CHECK(hop_route_lookup(t, "w1.example.org", 14) == NULL);
  hop_route_table_free(t);
}

int main(void)
{
  test_normalize();
  test_precedence();
  test_servers();
  test_many();
  return TEST_DONE();
}
