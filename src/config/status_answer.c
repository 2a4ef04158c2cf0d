/* What hopper answers in the server list for a managed server that is not running: built once
 * per route table, off the loops, from the server's options and the last real status it saw. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/config.h"

/* players.max and favicon from the last real status answer, where the options leave them. */
static void from_last_status(const struct hop_server *s, int32_t *players_max, const char **fav,
                             cJSON **doc)
{
  const cJSON *players, *max, *favicon;

  *doc = s->last_status ? cJSON_Parse(s->last_status) : NULL;
  players = cJSON_GetObjectItemCaseSensitive(*doc, "players");
  max = cJSON_GetObjectItemCaseSensitive(players, "max");
  favicon = cJSON_GetObjectItemCaseSensitive(*doc, "favicon");
  if (*players_max < 0 && cJSON_IsNumber(max) && max->valuedouble >= 0 &&
      max->valuedouble < 1e9)
    *players_max = (int32_t)max->valuedouble;
  if (!*fav && cJSON_IsString(favicon) &&
      strncmp(favicon->valuestring, "data:image/png;base64,", 22) == 0)
    *fav = favicon->valuestring;
}

/* `},"players":{"max":M,"online":0},"description":D[,"favicon":"F"]}` */
static char *build_tail(const char *description, const char *motd, int32_t players_max,
                        const char *favicon)
{
  cJSON *o = cJSON_CreateObject(), *players, *desc;
  char *json, *tail = NULL;
  size_t len;

  if (!o)
    return NULL;
  players = cJSON_AddObjectToObject(o, "players");
  cJSON_AddNumberToObject(players, "max", players_max);
  cJSON_AddNumberToObject(players, "online", 0);
  desc = description ? cJSON_Parse(description) : NULL;
  if (!desc && (desc = cJSON_CreateObject()))
    cJSON_AddStringToObject(desc, "text", motd ? motd : "");
  cJSON_AddItemToObject(o, "description", desc);
  if (favicon)
    cJSON_AddStringToObject(o, "favicon", favicon);
  json = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!json)
    return NULL;
  len = strlen(json);          /* "{...}" -> "},...}": the head closes "version" */
  tail = malloc(len + 2);
  if (tail) {
    tail[0] = '}';
    tail[1] = ',';
    memcpy(tail + 2, json + 1, len);
  }
  free(json);
  return tail;
}

int hop_routes_build_status(struct hop_route_table *t, const struct hop_conn_config *cc)
{
  for (size_t i = 0; i < hop_route_table_servers(t); i++) {
    struct hop_server *s = hop_route_table_edit(t, (int)i);
    int32_t players_max = s->status.players_max;
    const char *favicon = s->status.favicon;
    cJSON *doc;

    if (!s->managed)
      continue;
    from_last_status(s, &players_max, &favicon, &doc);
    if (players_max < 0)
      players_max = cc->players_max;
    for (int st = 0; st < HOP_STATES; st++) {
      free(s->status.tail[st]);
      s->status.tail[st] = build_tail(s->status.description[st], cc->state_motd[st],
                                      players_max, favicon);
      s->status.tail_len[st] = s->status.tail[st] ? strlen(s->status.tail[st]) : 0;
    }
    cJSON_Delete(doc);
  }
  return 0;
}
