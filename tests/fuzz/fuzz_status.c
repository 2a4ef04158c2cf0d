/* A backend's status answer, from the wire to the answer hopper gives while the server sleeps.
 * Byte 0 picks the server's own status options (bits 0-1) and the config's players_max (bit 2);
 * the rest is what the probe read: a Status Response frame (hop_frame_parse, packet id 0,
 * hop_read_string), whose JSON becomes the server's last_status in a one-server table. Every
 * tail hop_routes_build_status builds must be valid JSON behind `{"version":{...,"protocol":1`,
 * with players.max and favicon taken from the options first, else from the backend's answer
 * (players.max only as a number in [0, 1e9), favicon only as a PNG data URI), else defaults. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/config.h"
#include "hop/proto.h"
#include "hop/route.h"

#define RESPONSE_MAX (256 * 1024)      /* as src/control/probe.c reads it */
#define PNG "data:image/png;base64,"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SERVER "{\"servers\":[{\"id\":\"s\",\"hosts\":[\"s.example.com\"]," \
               "\"backend\":\"127.0.0.1:25566\",\"state\":\"sleeping\""
static const char *const docs[4] = {
  SERVER "}]}",
  SERVER ",\"status\":{\"max_players\":7}}]}",
  SERVER ",\"status\":{\"favicon\":\"" PNG "AAAA\"}}]}",
  SERVER ",\"status\":{\"sleeping\":{\"text\":\"z\",\"color\":\"gray\"},\"starting\":\"s\","
  "\"max_players\":0,\"favicon\":\"" PNG "QUJD\"}}]}",
};

static void check_tail(const char *tail, size_t tail_len, double want_max, const char *want_fav)
{
  static const char head[] = "{\"version\":{\"name\":\"x\",\"protocol\":1";
  const cJSON *version, *players, *max, *online, *desc, *fav;
  const char *end = NULL;
  char *doc;
  cJSON *j;

  if (!tail || strlen(tail) != tail_len || !(doc = malloc(sizeof head + tail_len)))
    abort();
  memcpy(doc, head, sizeof head - 1);
  memcpy(doc + sizeof head - 1, tail, tail_len + 1);
  j = cJSON_ParseWithOpts(doc, &end, 1);
  if (!j)
    abort();                           /* not JSON, or bytes after it */
  version = cJSON_GetObjectItemCaseSensitive(j, "version");
  players = cJSON_GetObjectItemCaseSensitive(j, "players");
  max = cJSON_GetObjectItemCaseSensitive(players, "max");
  online = cJSON_GetObjectItemCaseSensitive(players, "online");
  desc = cJSON_GetObjectItemCaseSensitive(j, "description");
  fav = cJSON_GetObjectItemCaseSensitive(j, "favicon");
  if (cJSON_GetArraySize(version) != 2 || !cJSON_IsNumber(max) || max->valuedouble != want_max ||
      !cJSON_IsNumber(online) || online->valuedouble != 0 || !cJSON_IsObject(desc))
    abort();
  if (want_fav ? !cJSON_IsString(fav) || strcmp(fav->valuestring, want_fav) != 0 : fav != NULL)
    abort();
  cJSON_Delete(j);
  free(doc);
}

/* What the answer must carry, from the options, else the backend's JSON, else the config. */
static void expect(const struct hop_server *s, const char *json, int32_t cc_max, double *max,
                   char **fav)
{
  cJSON *last = cJSON_Parse(json);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(last,
                                                                                     "players"),
                                                    "max");
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(last, "favicon");

  if (s->status.players_max >= 0)
    *max = s->status.players_max;
  else if (cJSON_IsNumber(m) && m->valuedouble >= 0 && m->valuedouble < 1e9)
    *max = (int32_t)m->valuedouble;
  else
    *max = cc_max;
  *fav = NULL;
  if (s->status.favicon)
    *fav = strdup(s->status.favicon);
  else if (cJSON_IsString(f) && strncmp(f->valuestring, PNG, strlen(PNG)) == 0)
    *fav = strdup(f->valuestring);
  cJSON_Delete(last);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const char *const motd[HOP_STATES] = { "asleep", "starting", "online", "stopping",
                                                "failed" };
  const char *doc;
  struct hop_conn_config cc;
  struct hop_route_table *t;
  struct hop_server *s;
  struct hop_frame f;
  struct hop_reader r;
  struct hop_str json;
  char err[HOP_CONFIG_ERR_BYTES], *copy, *fav;
  double max;
  int32_t id;
  int n;

  if (size < 1)
    return 0;
  n = hop_frame_parse(data + 1, size - 1, RESPONSE_MAX, &f);
  if (n <= 0)
    return 0;
  if ((size_t)n > size - 1 || f.body + f.body_len != data + 1 + n)
    abort();
  r = hop_reader_make(f.body, f.body_len);
  if (hop_read_varint(&r, &id) != 0 || id != 0x00 ||
      hop_read_string(&r, RESPONSE_MAX, &json) != 0 || json.len <= 1 || json.ptr[0] != '{')
    return 0;                          /* the probe reports a failure */
  if (json.ptr < (const char *)f.body || json.ptr + json.len > (const char *)f.body + f.body_len)
    abort();

  doc = docs[data[0] & 3];
  if (hop_routes_parse("fuzz", doc, strlen(doc), HOP_ROUTES_API, &t, err, sizeof err) != 0)
    abort();
  memset(&cc, 0, sizeof cc);
  cc.players_max = data[0] & 4 ? 20 : 0;
  for (int i = 0; i < HOP_STATES; i++)
    cc.state_motd[i] = motd[i];
  if (!(copy = malloc(json.len + 1)))
    abort();
  memcpy(copy, json.ptr, json.len);   /* as the probe hands it on: NUL-terminated */
  copy[json.len] = '\0';
  s = hop_route_table_edit(t, 0);
  s->last_status = copy;               /* the table frees it */
  expect(s, copy, cc.players_max, &max, &fav);
  if (hop_routes_build_status(t, &cc) != 0)
    abort();
  for (int st = 0; st < HOP_STATES; st++)
    check_tail(s->status.tail[st], s->status.tail_len[st], max, fav);
  free(fav);
  hop_route_table_free(t);
  return 0;
}
