/* hop_routes_parse: a routes document, from the control-plane API (untrusted: it comes over the
 * network) or from hopper's own store. Byte 0 picks the source (bit 0: embedded, else API); the
 * rest is the document. A rejection builds nothing and says why in one NUL-terminated line that
 * starts with the name. An accepted table is all managed servers; every exact host finds its
 * server and every wildcard matches a name under it; the status answers built for it are valid
 * JSON behind hopper's head; hosts outside it find a server of the table or none. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/config.h"
#include "hop/err.h"
#include "hop/route.h"

#define NAME "fuzz/routes"
#define CANARY 0xa5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The head hopper writes before a tail: `{"version":{"name":...,"protocol":<client's>`. */
static void check_tail(const char *tail, size_t tail_len)
{
  static const char head[] = "{\"version\":{\"name\":\"x\",\"protocol\":1";
  const cJSON *players, *max, *desc;
  const char *end = NULL;
  char *doc;
  cJSON *j;

  if (!tail || strlen(tail) != tail_len || !(doc = malloc(sizeof head + tail_len)))
    abort();
  memcpy(doc, head, sizeof head - 1);
  memcpy(doc + sizeof head - 1, tail, tail_len + 1);
  j = cJSON_ParseWithOpts(doc, &end, 1);
  if (!j)
    abort();
  players = cJSON_GetObjectItemCaseSensitive(j, "players");
  max = cJSON_GetObjectItemCaseSensitive(players, "max");
  desc = cJSON_GetObjectItemCaseSensitive(j, "description");
  if (!cJSON_IsNumber(max) || max->valuedouble < 0 || !cJSON_IsObject(desc))
    abort();
  cJSON_Delete(j);
  free(doc);
}

static int in_table(const struct hop_route_table *t, const struct hop_server *s)
{
  for (size_t i = 0; i < hop_route_table_servers(t); i++)
    if (hop_route_table_server(t, i) == s)
      return 1;
  return s == NULL;
}

static void check_table(struct hop_route_table *t)
{
  static const char *const motd[HOP_STATES] = { "asleep", "starting", "online", "stopping",
                                                "failed" };
  static const char *const others[] = { "survival.example.com", "x.survival.example.com",
                                        "lobby.example.com", "example.com", "a", "" };
  struct hop_conn_config cc;

  memset(&cc, 0, sizeof cc);
  cc.players_max = 20;
  cc.version_name = "hopper";
  for (int i = 0; i < HOP_STATES; i++)
    cc.state_motd[i] = motd[i];
  if (hop_routes_build_status(t, &cc) != 0)
    abort();
  for (size_t i = 0; i < hop_route_table_servers(t); i++) {
    const struct hop_server *s = hop_route_table_server(t, i);

    if (!s->managed || s->hosts_len == 0 || hop_route_table_find_id(t, s->id) != s)
      abort();
    for (int st = 0; st < HOP_STATES; st++)
      check_tail(s->status.tail[st], s->status.tail_len[st]);
    for (size_t h = 0; h < s->hosts_len; h++) {
      const char *p = s->hosts[h];
      char under[HOP_HOST_BYTES_MAX + 3];

      if (p[0] != '*') {
        if (hop_route_lookup(t, p, strlen(p)) != s)
          abort();
        continue;
      }
      under[0] = 'x';                  /* "*.suffix" -> "x.suffix" */
      strcpy(under + 1, p + 1);
      if (!hop_route_lookup(t, under, strlen(under)))
        abort();
    }
  }
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    if (!in_table(t, hop_route_lookup(t, others[i], strlen(others[i]))))
      abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  enum hop_routes_source source;
  struct hop_route_table *t = (struct hop_route_table *)1;
  char err[HOP_CONFIG_ERR_BYTES + 16];
  const char *nul;
  int rc;

  if (size < 1)
    return 0;
  source = data[0] & 1 ? HOP_ROUTES_EMBEDDED : HOP_ROUTES_API;
  memset(err, CANARY, sizeof err);
  rc = hop_routes_parse(NAME, (const char *)data + 1, size - 1, source, &t, err,
                        HOP_CONFIG_ERR_BYTES);
  if (rc == 0) {
    if (!t)
      abort();
    check_table(t);
    hop_route_table_free(t);
    return 0;
  }
  if ((rc != HOP_ECONFIG && rc != -ENOMEM) || t != NULL)
    abort();
  if (rc != HOP_ECONFIG)
    return 0;                          /* out of memory: the message is not promised */
  nul = memchr(err, '\0', HOP_CONFIG_ERR_BYTES);
  if (!nul || strncmp(err, NAME ": ", strlen(NAME ": ")) != 0)
    abort();
  for (size_t i = HOP_CONFIG_ERR_BYTES; i < sizeof err; i++)
    if ((uint8_t)err[i] != CANARY)
      abort();
  return 0;
}
