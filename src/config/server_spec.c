/* One server: id, hosts, backend, and the options that say how hopper speaks and acts for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/config.h"
#include "hop/err.h"
#include "server_spec.h"

#define ID_BYTES_MAX        64
#define FAVICON_BYTES_MAX   (48 * 1024)    /* a 64x64 PNG as a data URI is usually under 16 KiB */
#define CMD_ARG_BYTES_MAX   4096

static const char favicon_prefix[] = "data:image/png;base64,";

/* In enum hop_state order. */
static const char *const state_names[HOP_STATES + 1] = { "sleeping", "starting", "running",
                                                         "stopping", "failed", NULL };

/* ---- Pieces ------------------------------------------------------------------------------- */

static int id_ok(const char *id)
{
  if (!*id)
    return 0;
  for (; *id; id++)
    if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z') || (*id >= '0' && *id <= '9')
          || *id == '-' || *id == '_' || *id == '.'))
      return 0;
  return 1;
}

static int parse_hosts(const struct jp *jp, const char *path, const cJSON *srv, int idx,
                       struct hop_route_table *t)
{
  const cJSON *hosts = cJSON_GetObjectItemCaseSensitive(srv, "hosts"), *h;
  char at[JP_PATH_BYTES];
  int i = 0;

  jp_key(at, path, "hosts");
  if (!cJSON_IsArray(hosts) || cJSON_GetArraySize(hosts) == 0)
    return jp_fail(jp, at, "expected a non-empty array of host names");
  cJSON_ArrayForEach(h, hosts) {
    char hat[JP_PATH_BYTES], msg[HOP_CONFIG_ERR_BYTES];
    int err;

    jp_index(hat, at, i++);
    if (!cJSON_IsString(h))
      return jp_fail(jp, hat, "expected a string");
    err = hop_route_table_add_host(t, idx, h->valuestring, msg, sizeof msg);
    if (err == HOP_ECONFIG)
      return jp_fail(jp, hat, "%s", msg);
    if (err)
      return err;
  }
  return 0;
}

/* A MOTD: a plain string or a JSON text component object; stored as a component. */
static int parse_motd(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
                      char **out, char **plain)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  char at[JP_PATH_BYTES];
  cJSON *wrap = NULL;

  if (!v || cJSON_IsNull(v))
    return 0;
  jp_key(at, path, key);
  {
    const cJSON *text = cJSON_IsString(v) ? v : cJSON_GetObjectItemCaseSensitive(v, "text");

    if (cJSON_IsString(text) && !(*plain = strdup(text->valuestring)))
      return -ENOMEM;
  }
  if (cJSON_IsString(v)) {
    if (strlen(v->valuestring) > HOP_TEXT_BYTES_MAX)
      return jp_fail(jp, at, "longer than %d bytes", HOP_TEXT_BYTES_MAX);
    wrap = cJSON_CreateObject();
    if (!wrap || !cJSON_AddStringToObject(wrap, "text", v->valuestring)) {
      cJSON_Delete(wrap);
      return -ENOMEM;
    }
    v = wrap;
  } else if (!cJSON_IsObject(v)) {
    return jp_fail(jp, at, "expected a string or a JSON text component object");
  }
  *out = cJSON_PrintUnformatted(v);
  cJSON_Delete(wrap);
  return *out ? 0 : -ENOMEM;
}

static char *base64(const unsigned char *p, size_t n)
{
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc(sizeof favicon_prefix + (n + 2) / 3 * 4);
  size_t o = sizeof favicon_prefix - 1;

  if (!out)
    return NULL;
  memcpy(out, favicon_prefix, o);
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0)
                 | (i + 2 < n ? p[i + 2] : 0);

    out[o++] = tab[v >> 18 & 63];
    out[o++] = tab[v >> 12 & 63];
    out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? tab[v & 63] : '=';
  }
  out[o] = '\0';
  return out;
}

/* A favicon: a PNG data URI, or (from operator files) the path of a PNG file. */
static int parse_favicon(const struct jp *jp, const char *path, const char *value, int flags,
                         char **out)
{
  static const unsigned char png_magic[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  unsigned char buf[FAVICON_BYTES_MAX / 4 * 3];
  size_t n;
  FILE *f;

  if (strncmp(value, favicon_prefix, sizeof favicon_prefix - 1) == 0) {
    if (strlen(value) > FAVICON_BYTES_MAX)
      return jp_fail(jp, path, "favicon larger than %d bytes", FAVICON_BYTES_MAX);
    *out = strdup(value);
    return *out ? 0 : -ENOMEM;
  }
  if (!(flags & HOP_SPEC_FILES))
    return jp_fail(jp, path, "expected a \"%s...\" data URI", favicon_prefix);
  f = fopen(value, "rb");
  if (!f)
    return jp_fail(jp, path, "cannot open \"%s\": %s", value, strerror(errno));
  n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  if (n < 8 || memcmp(buf, png_magic, 8) != 0 || n == sizeof buf)
    return jp_fail(jp, path, "\"%s\" is not a PNG file under %zu bytes", value, sizeof buf);
  *out = base64(buf, n);
  return *out ? 0 : -ENOMEM;
}

static int parse_status(const struct jp *jp, const char *path, const cJSON *srv, int flags,
                        struct hop_server *s)
{
  static const char *const keys[] = { "sleeping", "starting", "running", "stopping", "failed",
                                      "max_players", "favicon", NULL };
  const cJSON *st = NULL;
  const char *favicon = NULL;
  char at[JP_PATH_BYTES], fat[JP_PATH_BYTES];
  uint32_t max = 0;
  int err;

  if ((err = jp_object(jp, path, srv, "status", &st)) || !st)
    return err;
  jp_key(at, path, "status");
  if ((flags & HOP_SPEC_STRICT) && (err = jp_only_keys(jp, at, st, keys)))
    return err;
  for (int i = 0; i < HOP_STATES; i++)
    if ((err = parse_motd(jp, at, st, state_names[i], &s->status.description[i],
                          &s->status.motd_plain[i])))
      return err;
  if ((err = jp_uint(jp, at, st, "max_players", 0, 1000000, &max)) ||
      (err = jp_string(jp, at, st, "favicon", FAVICON_BYTES_MAX, &favicon)))
    return err;
  if (cJSON_GetObjectItemCaseSensitive(st, "max_players"))
    s->status.players_max = (int32_t)max;
  jp_key(fat, at, "favicon");
  return favicon ? parse_favicon(jp, fat, favicon, flags, &s->status.favicon) : 0;
}

static int parse_lifecycle(const struct jp *jp, const char *path, const cJSON *srv,
                           struct hop_server *s)
{
  static const char *const joins[] = { "kick", "hold", NULL };
  struct hop_farm_policy *p = &s->policy;
  int join = (int)p->join, state = HOP_STATE_SLEEPING, err;

  if ((err = jp_enum(jp, path, srv, "state", state_names, &state)) ||
      (err = jp_bool(jp, path, srv, "auto_start", &p->auto_start)) ||
      (err = jp_enum(jp, path, srv, "join", joins, &join)) ||
      (err = jp_uint(jp, path, srv, "idle_stop_s", 0, 31536000, &p->idle_stop_s)) ||
      (err = jp_uint(jp, path, srv, "min_online_s", 0, 31536000, &p->min_online_s)) ||
      (err = jp_uint(jp, path, srv, "start_timeout_s", 1, 86400, &p->start_timeout_s)) ||
      (err = jp_uint(jp, path, srv, "ready_grace_ms", 0, 600000, &p->ready_grace_ms)) ||
      (err = jp_uint(jp, path, srv, "cooldown_s", 0, 86400, &p->cooldown_s)) ||
      (err = jp_strv(jp, path, srv, "wake_allow", HOP_NAME_BYTES_MAX, 0, &s->wake_allow_store)))
    return err;
  p->join = (enum hop_join)join;
  p->wake_allow = (const char *const *)s->wake_allow_store;
  atomic_store(&s->state, state);
  s->managed = 1;
  return 0;
}

/* ---- A server ----------------------------------------------------------------------------- */

static const char *const keys_static[] = { "id", "hosts", "backend", "proxy_protocol", "status",
                                           NULL };
static const char *const keys_managed[] = { "id", "hosts", "backend", "proxy_protocol", "status",
                                            "state", "auto_start", "join", "idle_stop_s",
                                            "min_online_s", "start_timeout_s", "ready_grace_ms",
                                            "cooldown_s", "wake_allow", "start_cmd", "stop_cmd",
                                            NULL };

int hop_server_spec_parse(const struct jp *jp, const char *path, const cJSON *srv,
                          struct hop_route_table *t, int flags)
{
  static const char *const proxies[] = { "none", "v1", "v2", NULL };
  const char *id = NULL, *backend = NULL;
  char at[JP_PATH_BYTES], host[256];
  struct hop_server *s;
  uint16_t port;
  int idx, proxy = HOP_PROXY_SEND_NONE, err;

  if (!cJSON_IsObject(srv))
    return jp_fail(jp, path, "expected an object");
  if ((flags & HOP_SPEC_STRICT) &&
      (err = jp_only_keys(jp, path, srv, (flags & HOP_SPEC_MANAGED) ? keys_managed : keys_static)))
    return err;
  if ((err = jp_string(jp, path, srv, "id", ID_BYTES_MAX, &id)) ||
      (err = jp_string(jp, path, srv, "backend", 300, &backend)) ||
      (err = jp_enum(jp, path, srv, "proxy_protocol", proxies, &proxy)))
    return err;
  jp_key(at, path, "id");
  if (!id || !id_ok(id))
    return jp_fail(jp, at, "expected an id of letters, digits, '-', '_' or '.'");
  jp_key(at, path, "backend");
  if (!backend || hop_endpoint_parse(backend, host, sizeof host, &port, 0))
    return jp_fail(jp, at, "expected \"host:port\" or \"[v6]:port\"");
  idx = hop_route_table_add_server(t, id, backend, host, port);
  if (idx == HOP_ECONFIG) {
    jp_key(at, path, "id");
    return jp_fail(jp, at, "server id \"%s\" is used twice", id);
  }
  if (idx < 0)
    return idx;
  s = hop_route_table_edit(t, idx);
  s->proxy_protocol = (enum hop_proxy_protocol)proxy;
  if ((err = parse_hosts(jp, path, srv, idx, t)) || (err = parse_status(jp, path, srv, flags, s)))
    return err;
  if (!(flags & HOP_SPEC_MANAGED))
    return 0;
  if ((err = parse_lifecycle(jp, path, srv, s)))
    return err;
  if (!(flags & HOP_SPEC_COMMANDS))
    return 0;
  if ((err = jp_strv(jp, path, srv, "start_cmd", CMD_ARG_BYTES_MAX, 1, &s->start_cmd)) ||
      (err = jp_strv(jp, path, srv, "stop_cmd", CMD_ARG_BYTES_MAX, 1, &s->stop_cmd)))
    return err;
  return 0;
}

int hop_servers_parse(const struct jp *jp, const cJSON *root, struct hop_route_table *t,
                      int flags)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "servers"), *srv;
  const char *def = NULL;
  int i = 0, err;

  if (v && !cJSON_IsArray(v) && !cJSON_IsNull(v))
    return jp_fail(jp, "servers", "expected an array");
  cJSON_ArrayForEach(srv, v) {
    char at[JP_PATH_BYTES];

    jp_index(at, "servers", i++);
    if ((err = hop_server_spec_parse(jp, at, srv, t, flags)))
      return err;
  }
  if ((err = jp_string(jp, "", root, "default_server", ID_BYTES_MAX, &def)))
    return err;
  if (def && hop_route_table_set_default(t, def))
    return jp_fail(jp, "default_server", "no server has id \"%s\"", def);
  return hop_route_table_seal(t);
}
