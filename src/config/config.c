/* The config file -> struct hop_config. Every value is copied out; no cJSON outlives a call. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/config.h"
#include "hop/err.h"
#include "hop/farm.h"
#include "json_path.h"
#include "server_spec.h"

#define CONFIG_BYTES_MAX (64u << 20)

enum text_slot { TEXT_UNKNOWN_MOTD, TEXT_UNKNOWN_DISCONNECT, TEXT_UNREACHABLE_MOTD,
                 TEXT_UNREACHABLE_DISCONNECT, TEXT_VERSION_NAME,
                 TEXT_SLEEPING_MOTD, TEXT_STARTING_MOTD, TEXT_RUNNING_MOTD, TEXT_STOPPING_MOTD,
                 TEXT_FAILED_MOTD, TEXT_STARTING_DISCONNECT, TEXT_FAILED_DISCONNECT,
                 TEXT_REFUSED_COOLDOWN, TEXT_REFUSED_QUOTA, TEXT_REFUSED_NOT_ALLOWED,
                 TEXT_REFUSED_NO_AUTOSTART, TEXT_SLOTS };

static const char *const text_defaults[] = {
  [TEXT_UNKNOWN_MOTD] = "\xc2\xa7" "cNo server at {host}",
  [TEXT_UNKNOWN_DISCONNECT] = "There is no server at {host}.",
  [TEXT_UNREACHABLE_MOTD] = "\xc2\xa7" "cServer offline",
  [TEXT_UNREACHABLE_DISCONNECT] = "{server} cannot be reached right now. Try again in a moment.",
  [TEXT_VERSION_NAME] = "hopper",
  [TEXT_SLEEPING_MOTD] = "\xc2\xa7" "7Asleep \xe2\x80\x93 join to wake it up",
  [TEXT_STARTING_MOTD] = "\xc2\xa7" "eStarting\xe2\x80\xa6 join to wait",
  [TEXT_RUNNING_MOTD] = "\xc2\xa7" "aOnline",
  [TEXT_STOPPING_MOTD] = "\xc2\xa7" "6Stopping\xe2\x80\xa6",
  [TEXT_FAILED_MOTD] = "\xc2\xa7" "cCould not start \xe2\x80\x93 try again later",
  [TEXT_STARTING_DISCONNECT] = "{server} is starting. Please rejoin in about {eta} seconds.",
  [TEXT_FAILED_DISCONNECT] = "{server} could not be started. Please try again later.",
  [TEXT_REFUSED_COOLDOWN] = "{server} was just stopped or could not start. Please try again in "
                            "a few seconds.",
  [TEXT_REFUSED_QUOTA] = "Too many servers were started from your address. Try again later.",
  [TEXT_REFUSED_NOT_ALLOWED] = "You are not allowed to start {server}.",
  [TEXT_REFUSED_NO_AUTOSTART] = "{server} is offline.",
};

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

/* ---- Sections ---------------------------------------------------------------------------- */

static int ip_literal(const char *host)
{
  unsigned char addr[sizeof(struct in6_addr)];

  return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static int parse_listen(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "listen"), *e;
  const char *fallback = "0.0.0.0:25565";
  int i = 0;

  if (v && !cJSON_IsArray(v))
    return jp_fail(jp, "listen", "expected an array of \"host:port\" strings");
  c->listen = calloc(v ? (size_t)cJSON_GetArraySize(v) + 1 : 1, sizeof *c->listen);
  if (!c->listen)
    return -ENOMEM;
  if (!v || cJSON_GetArraySize(v) == 0) {
    c->listen[c->listen_len++] = strdup(fallback);
    return 0;
  }
  cJSON_ArrayForEach(e, v) {
    char at[JP_PATH_BYTES], host[256];
    uint16_t port;

    jp_index(at, "listen", i++);
    if (!cJSON_IsString(e) || hop_endpoint_parse(e->valuestring, host, sizeof host, &port, 1))
      return jp_fail(jp, at, "expected \"host:port\" or \"[v6]:port\"");
    if (!ip_literal(host))
      return jp_fail(jp, at, "expected an IP address to listen on, not \"%s\"", host);
    c->listen[c->listen_len++] = strdup(e->valuestring);
  }
  return 0;
}

static int parse_servers(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  c->routes = hop_route_table_new();
  if (!c->routes)
    return -ENOMEM;
  if (!cJSON_GetObjectItemCaseSensitive(root, "servers") && c->provider == HOP_PROVIDER_STATIC)
    return jp_fail(jp, "servers", "required with provider \"static\"");
  return hop_servers_parse(jp, root, c->routes, HOP_SPEC_STRICT | HOP_SPEC_FILES);
}

static int parse_timeouts(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  static const char *const keys[] = { "handshake", "connect", "idle", NULL };
  const cJSON *t = NULL;
  int err;

  if ((err = jp_object(jp, "", root, "timeouts_ms", &t)) || !t)
    return err;
  if ((err = jp_only_keys(jp, "timeouts_ms", t, keys)) ||
      (err = jp_uint(jp, "timeouts_ms", t, "handshake", 50, 600000, &c->conn.timeout_ms_handshake))
      || (err = jp_uint(jp, "timeouts_ms", t, "connect", 50, 600000, &c->conn.timeout_ms_connect))
      || (err = jp_uint(jp, "timeouts_ms", t, "idle", 0, 86400000, &c->timeout_ms_idle)))
    return err;
  return 0;
}

/* An array of addresses or CIDRs at `path` (absent or null: none) into `list`. */
static int parse_cidrs(const struct jp *jp, const char *path, const cJSON *v,
                       struct hop_cidr_list *list)
{
  const cJSON *e;
  int i = 0, err;

  if (!v || cJSON_IsNull(v))
    return 0;
  if (!cJSON_IsArray(v))
    return jp_fail(jp, path, "expected an array of CIDRs");
  cJSON_ArrayForEach(e, v) {
    char at[JP_PATH_BYTES];

    jp_index(at, path, i++);
    if (!cJSON_IsString(e))
      return jp_fail(jp, at, "expected a string");
    err = hop_cidr_list_add(list, e->valuestring);
    if (err == -ENOMEM)
      return err;
    if (err)
      return jp_fail(jp, at, "expected an address or CIDR (\"10.0.0.0/8\", \"2001:db8::/32\")");
  }
  return 0;
}

/* limits.ban: strikes within a window earn a temporary ban (docs/bans.md). */
static int parse_ban(const struct jp *jp, const cJSON *limits, struct hop_config *c)
{
  static const char *const keys[] = { "strikes", "window_s", "duration_s", "exempt", NULL };
  const cJSON *b = NULL;
  int err;

  if ((err = jp_object(jp, "limits", limits, "ban", &b)) || !b)
    return err;
  if ((err = jp_only_keys(jp, "limits.ban", b, keys)) ||
      (err = jp_uint(jp, "limits.ban", b, "strikes", 0, 1000000, &c->limits.ban_strikes)) ||
      (err = jp_uint(jp, "limits.ban", b, "window_s", 1, 86400, &c->limits.ban_window_s)) ||
      (err = jp_uint(jp, "limits.ban", b, "duration_s", 1, 31536000, &c->limits.ban_s)))
    return err;
  return parse_cidrs(jp, "limits.ban.exempt", cJSON_GetObjectItemCaseSensitive(b, "exempt"),
                     &c->limits.ban_exempt);
}

static int parse_limits(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  static const char *const keys[] = { "preread_bytes_max", "address_bytes_max", "sessions_max",
                                      "sessions_per_ip_max", "status_per_s", "status_burst",
                                      "login_per_s", "login_burst", "deny", "silent", "text",
                                      "ban", NULL };
  const cJSON *l = NULL;
  const char *text = NULL;
  uint32_t preread = (uint32_t)c->conn.preread_bytes_max;
  uint32_t address = (uint32_t)c->conn.address_bytes_max;
  int err;

  if ((err = jp_object(jp, "", root, "limits", &l)) || !l)
    return err;
  if ((err = jp_only_keys(jp, "limits", l, keys)) ||
      (err = jp_uint(jp, "limits", l, "preread_bytes_max", 256, 65536, &preread)) ||
      (err = jp_uint(jp, "limits", l, "address_bytes_max", 255, 32767, &address)) ||
      (err = jp_uint(jp, "limits", l, "sessions_max", 0, 10000000, &c->limits.sessions_max)) ||
      (err = jp_uint(jp, "limits", l, "sessions_per_ip_max", 0, 1000000,
                     &c->limits.sessions_per_ip_max)) ||
      (err = jp_uint(jp, "limits", l, "status_per_s", 0, 1000000, &c->limits.status_per_s)) ||
      (err = jp_uint(jp, "limits", l, "status_burst", 1, 1000000, &c->limits.status_burst)) ||
      (err = jp_uint(jp, "limits", l, "login_per_s", 0, 1000000, &c->limits.login_per_s)) ||
      (err = jp_uint(jp, "limits", l, "login_burst", 1, 1000000, &c->limits.login_burst)) ||
      (err = jp_bool(jp, "limits", l, "silent", &c->limits.silent)) ||
      (err = jp_string(jp, "limits", l, "text", HOP_TEXT_BYTES_MAX, &text)))
    return err;
  if (text) {
    free(c->limits.text);
    if (!(c->limits.text = strdup(text)))
      return -ENOMEM;
  }
  if ((err = parse_cidrs(jp, "limits.deny", cJSON_GetObjectItemCaseSensitive(l, "deny"),
                         &c->limits.deny)) ||
      (err = parse_ban(jp, l, c)))
    return err;
  if (address > preread)
    return jp_fail(jp, "limits.address_bytes_max", "larger than limits.preread_bytes_max");
  c->conn.preread_bytes_max = preread;
  c->conn.address_bytes_max = address;
  return 0;
}

/* Reads one answer text into its slot (a template with {host} and {server}). */
static int parse_text(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
                      struct hop_config *c, enum text_slot slot)
{
  const char *s = NULL;
  int err = jp_string(jp, path, obj, key, HOP_TEXT_BYTES_MAX, &s);

  if (err || !s)
    return err;
  free(c->texts[slot]);
  c->texts[slot] = strdup(s);
  return c->texts[slot] ? 0 : -ENOMEM;
}

/* answers.<state>: the MOTD for servers in that state and, for some, the Disconnect. */
static int parse_state_answers(const struct jp *jp, const cJSON *a, struct hop_config *c)
{
  static const char *const states[] = { "sleeping", "starting", "running", "stopping", "failed" };
  static const char *const keys[] = { "motd", "disconnect", NULL };
  static const char *const refused_keys[] = { "cooldown", "quota", "not_allowed", "no_autostart",
                                              NULL };
  const cJSON *o, *r = NULL;
  char at[JP_PATH_BYTES];
  int err;

  for (int i = 0; i < 5; i++) {
    o = NULL;
    jp_key(at, "answers", states[i]);
    if ((err = jp_object(jp, "answers", a, states[i], &o)))
      return err;
    if (!o)
      continue;
    if ((err = jp_only_keys(jp, at, o, keys)) ||
        (err = parse_text(jp, at, o, "motd", c, (enum text_slot)(TEXT_SLEEPING_MOTD + i))))
      return err;
    if (i == 1 && (err = parse_text(jp, at, o, "disconnect", c, TEXT_STARTING_DISCONNECT)))
      return err;
    if (i == 4 && (err = parse_text(jp, at, o, "disconnect", c, TEXT_FAILED_DISCONNECT)))
      return err;
  }
  if ((err = jp_object(jp, "answers", a, "refused", &r)) || !r)
    return err;
  if ((err = jp_only_keys(jp, "answers.refused", r, refused_keys)))
    return err;
  for (int i = 0; refused_keys[i]; i++)
    if ((err = parse_text(jp, "answers.refused", r, refused_keys[i], c,
                          (enum text_slot)(TEXT_REFUSED_COOLDOWN + i))))
      return err;
  return 0;
}

static int parse_answers(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  static const char *const keys[] = { "unknown_host", "unreachable", "version_name",
                                      "players_max", "sleeping", "starting", "running",
                                      "stopping", "failed", "refused", NULL };
  static const char *const unknown_keys[] = { "status", "motd", "disconnect", NULL };
  static const char *const unreachable_keys[] = { "motd", "disconnect", NULL };
  static const char *const status_modes[] = { "motd", "drop", NULL };
  const cJSON *a = NULL, *u = NULL, *r = NULL;
  uint32_t players_max = 0;
  int mode = 0, err;

  if ((err = jp_object(jp, "", root, "answers", &a)) || !a)
    return err;
  if ((err = jp_only_keys(jp, "answers", a, keys)) ||
      (err = parse_text(jp, "answers", a, "version_name", c, TEXT_VERSION_NAME)) ||
      (err = jp_uint(jp, "answers", a, "players_max", 0, 1000000, &players_max)) ||
      (err = jp_object(jp, "answers", a, "unknown_host", &u)) ||
      (err = jp_object(jp, "answers", a, "unreachable", &r)))
    return err;
  c->conn.players_max = (int32_t)players_max;
  if (u && ((err = jp_only_keys(jp, "answers.unknown_host", u, unknown_keys)) ||
            (err = jp_enum(jp, "answers.unknown_host", u, "status", status_modes, &mode)) ||
            (err = parse_text(jp, "answers.unknown_host", u, "motd", c, TEXT_UNKNOWN_MOTD)) ||
            (err = parse_text(jp, "answers.unknown_host", u, "disconnect", c,
                              TEXT_UNKNOWN_DISCONNECT))))
    return err;
  c->conn.unknown_status = (enum hop_unknown_status)mode;
  if ((err = parse_state_answers(jp, a, c)))
    return err;
  if (r && ((err = jp_only_keys(jp, "answers.unreachable", r, unreachable_keys)) ||
            (err = parse_text(jp, "answers.unreachable", r, "motd", c, TEXT_UNREACHABLE_MOTD)) ||
            (err = parse_text(jp, "answers.unreachable", r, "disconnect", c,
                              TEXT_UNREACHABLE_DISCONNECT))))
    return err;
  return 0;
}

static int parse_proxies(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "trusted_proxies");
  int err;

  if ((err = jp_bool(jp, "", root, "proxy_protocol_required", &c->proxy_required)))
    return err;
  return parse_cidrs(jp, "trusted_proxies", v, &c->trusted_proxies);
}

static int parse_farm(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  static const char *const keys[] = { "probe_interval_ms", "wake_quota", "wake_quota_window_s",
                                      "hold_keepalive_ms", "hold_silent_max_ms", NULL };
  const cJSON *f = NULL;
  int err;

  if ((err = jp_object(jp, "", root, "farm", &f)) || !f)
    return err;
  if ((err = jp_only_keys(jp, "farm", f, keys)) ||
      (err = jp_uint(jp, "farm", f, "probe_interval_ms", 100, 60000,
                     &c->farm.probe_interval_ms)) ||
      (err = jp_uint(jp, "farm", f, "wake_quota", 0, 1000000, &c->farm.wake_quota)) ||
      (err = jp_uint(jp, "farm", f, "wake_quota_window_s", 1, 86400,
                     &c->farm.wake_quota_window_s)) ||
      (err = jp_uint(jp, "farm", f, "hold_keepalive_ms", 1000, 25000,
                     &c->conn.hold_keepalive_ms)) ||
      (err = jp_uint(jp, "farm", f, "hold_silent_max_ms", 1000, 28000,
                     &c->conn.hold_silent_max_ms)))
    return err;
  return 0;
}

/* store, api, admin and log: checked now so that a typo fails early. */
static int parse_surroundings(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  static const char *const store_keys[] = { "path", NULL };
  static const char *const api_keys[] = { "base_url", "token_file", "refresh_s", "timeout_ms",
                                          "events_batch", "outbox_max_events", NULL };
  static const char *const admin_keys[] = { "listen", NULL };
  static const char *const log_keys[] = { "format", "level", NULL };
  static const char *const formats[] = { "logfmt", "json", NULL };
  static const char *const levels[] = { "debug", "info", "warn", "error", NULL };
  const cJSON *store = NULL, *api = NULL, *admin = NULL, *log = NULL;
  const char *store_path = NULL, *base_url = NULL, *token_file = NULL, *admin_listen = NULL;
  int format = 0, level = 1, err;

  if ((err = jp_object(jp, "", root, "store", &store)) ||
      (err = jp_object(jp, "", root, "api", &api)) ||
      (err = jp_object(jp, "", root, "admin", &admin)) ||
      (err = jp_object(jp, "", root, "log", &log)))
    return err;
  if ((store && ((err = jp_only_keys(jp, "store", store, store_keys)) ||
                 (err = jp_string(jp, "store", store, "path", 4096, &store_path)))) ||
      (api && ((err = jp_only_keys(jp, "api", api, api_keys)) ||
               (err = jp_string(jp, "api", api, "base_url", 2048, &base_url)) ||
               (err = jp_string(jp, "api", api, "token_file", 4096, &token_file)) ||
               (err = jp_uint(jp, "api", api, "refresh_s", 1, 86400, &c->api_refresh_s)) ||
               (err = jp_uint(jp, "api", api, "timeout_ms", 100, 120000, &c->api_timeout_ms)) ||
               (err = jp_uint(jp, "api", api, "events_batch", 1, 10000, &c->api_events_batch)) ||
               (err = jp_uint(jp, "api", api, "outbox_max_events", 100, 100000000,
                              &c->api_outbox_max)))) ||
      (admin && ((err = jp_only_keys(jp, "admin", admin, admin_keys)) ||
                 (err = jp_string(jp, "admin", admin, "listen", 300, &admin_listen)))) ||
      (log && ((err = jp_only_keys(jp, "log", log, log_keys)) ||
               (err = jp_enum(jp, "log", log, "format", formats, &format)) ||
               (err = jp_enum(jp, "log", log, "level", levels, &level)))))
    return err;
  if (admin_listen) {
    char host[256];
    uint16_t port;

    if (hop_endpoint_parse(admin_listen, host, sizeof host, &port, 1) || !ip_literal(host))
      return jp_fail(jp, "admin.listen", "expected \"ip:port\" or \"[v6]:port\"");
  }
  c->log_format = (enum hop_log_format)format;
  c->log_level = (enum hop_log_level)level;
  if (store_path && !(c->store_path = strdup(store_path)))
    return -ENOMEM;
  c->api_base_url = dup_or_null(base_url);
  c->api_token_file = dup_or_null(token_file);
  c->admin_listen = dup_or_null(admin_listen);
  return 0;
}

static int parse_top(const struct jp *jp, const cJSON *root, struct hop_config *c)
{
  static const char *const keys[] = { "listen", "workers", "provider", "servers",
                                      "default_server", "timeouts_ms", "drain_s", "limits",
                                      "answers", "farm", "store", "api", "admin", "log",
                                      "trusted_proxies", "proxy_protocol_required", NULL };
  static const char *const providers[] = { "static", "sqlite", "api", NULL };
  uint32_t workers = 0;
  int provider = HOP_PROVIDER_STATIC, err;

  if (!cJSON_IsObject(root))
    return jp_fail(jp, "", "expected a JSON object at the top level");
  if ((err = jp_only_keys(jp, "", root, keys)) ||
      (err = jp_uint(jp, "", root, "workers", 0, 1024, &workers)) ||
      (err = jp_uint(jp, "", root, "drain_s", 0, 86400, &c->drain_s)) ||
      (err = jp_enum(jp, "", root, "provider", providers, &provider)))
    return err;
  c->workers = (int)workers;
  c->provider = (enum hop_provider_kind)provider;
  if ((err = parse_listen(jp, root, c)) || (err = parse_timeouts(jp, root, c)) ||
      (err = parse_limits(jp, root, c)) || (err = parse_answers(jp, root, c)) ||
      (err = parse_farm(jp, root, c)) || (err = parse_proxies(jp, root, c)) ||
      (err = parse_surroundings(jp, root, c)) || (err = parse_servers(jp, root, c)))
    return err;
  if (c->provider == HOP_PROVIDER_API && !c->api_base_url)
    return jp_fail(jp, "api.base_url", "required with provider \"api\"");
  if (c->provider != HOP_PROVIDER_STATIC && hop_route_table_servers(c->routes) > 0)
    return jp_fail(jp, "servers", "servers come from the %s provider, not from this file",
                   c->provider == HOP_PROVIDER_API ? "api" : "sqlite");
  return 0;
}

/* ---- Entry points ------------------------------------------------------------------------ */

static int set_defaults(struct hop_config *c)
{
  memset(c, 0, sizeof *c);
  c->provider = HOP_PROVIDER_STATIC;
  c->drain_s = 30;
  c->api_refresh_s = 10;
  c->api_timeout_ms = 10000;
  c->api_events_batch = 500;
  c->api_outbox_max = 100000;
  c->log_level = HOP_LOG_INFO;
  c->conn.preread_bytes_max = HOP_PREREAD_BYTES_MAX;
  c->conn.address_bytes_max = HOP_ADDRESS_BYTES_MAX;
  c->conn.timeout_ms_handshake = 5000;
  c->conn.timeout_ms_connect = 5000;
  c->proxy_required = 1;
  c->limits.status_burst = 20;
  c->limits.login_burst = 5;
  c->limits.ban_window_s = 60;
  c->limits.ban_s = 600;
  if (!(c->limits.text = strdup("Too many connections from your address. Try again in a "
                                "moment.")))
    return -ENOMEM;
  c->conn.hold_keepalive_ms = 10000;    /* well inside the vanilla client's 30 s read timeout */
  c->conn.hold_silent_max_ms = 25000;
  c->farm.probe_interval_ms = 1000;
  c->farm.wake_quota = 3;
  c->farm.wake_quota_window_s = 600;
  c->farm.wake_quota_ips_max = 4096;
  for (size_t i = 0; i < sizeof c->texts / sizeof c->texts[0]; i++)
    if (!(c->texts[i] = strdup(text_defaults[i])))
      return -ENOMEM;
  return 0;
}

static void bind_texts(struct hop_config *c)
{
  c->conn.unknown_motd = c->texts[TEXT_UNKNOWN_MOTD];
  c->conn.unknown_disconnect = c->texts[TEXT_UNKNOWN_DISCONNECT];
  c->conn.unreachable_motd = c->texts[TEXT_UNREACHABLE_MOTD];
  c->conn.unreachable_disconnect = c->texts[TEXT_UNREACHABLE_DISCONNECT];
  c->conn.version_name = c->texts[TEXT_VERSION_NAME];
  for (int i = 0; i < HOP_STATES; i++)
    c->conn.state_motd[i] = c->texts[TEXT_SLEEPING_MOTD + i];
  c->conn.starting_disconnect = c->texts[TEXT_STARTING_DISCONNECT];
  c->conn.failed_disconnect = c->texts[TEXT_FAILED_DISCONNECT];
  for (int i = 0; i < HOP_REFUSALS; i++)
    c->conn.refused_disconnect[i] = c->texts[TEXT_REFUSED_COOLDOWN + i];
}

/* Deployment details from the environment, as Kubernetes and systemd users expect; each
 * replaces its config value and is validated as if it were in the file:
 * HOPPER_LISTEN (comma-separated), HOPPER_WORKERS, HOPPER_ADMIN_LISTEN, HOPPER_STORE_PATH,
 * HOPPER_API_BASE_URL, HOPPER_LOG_FORMAT, HOPPER_LOG_LEVEL. Secrets have their own variables
 * (HOPPER_API_TOKEN, HOPPER_API_TOKEN_FILE) and never enter the config. */
struct env_applied {
  const char *var[8];          /* variables that replaced a value */
  const char *path[8];         /* ... at these JSON paths */
  size_t len;
};

static void env_note(struct env_applied *env, const char *var, const char *path)
{
  if (env->len < sizeof env->var / sizeof env->var[0]) {
    env->var[env->len] = var;
    env->path[env->len++] = path;
  }
}

static cJSON *env_overrides(cJSON *root, struct env_applied *env)
{
  static const struct { const char *var, *section, *key, *path; } map[] = {
    { "HOPPER_WORKERS", NULL, "workers", "workers" },
    { "HOPPER_ADMIN_LISTEN", "admin", "listen", "admin.listen" },
    { "HOPPER_STORE_PATH", "store", "path", "store.path" },
    { "HOPPER_API_BASE_URL", "api", "base_url", "api.base_url" },
    { "HOPPER_LOG_FORMAT", "log", "format", "log.format" },
    { "HOPPER_LOG_LEVEL", "log", "level", "log.level" },
  };
  const char *listen = getenv("HOPPER_LISTEN");

  if (!cJSON_IsObject(root))
    return root;
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    const char *v = getenv(map[i].var);
    cJSON *obj = root, *val;

    if (!v || !*v)
      continue;
    if (map[i].section) {
      obj = cJSON_GetObjectItemCaseSensitive(root, map[i].section);
      if (!cJSON_IsObject(obj)) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, map[i].section);
        obj = cJSON_AddObjectToObject(root, map[i].section);
      }
    }
    val = strcmp(map[i].key, "workers") == 0 ? cJSON_Parse(v) : cJSON_CreateString(v);
    if (!val)
      val = cJSON_CreateString(v);   /* not a number: validation says so */
    cJSON_DeleteItemFromObjectCaseSensitive(obj, map[i].key);
    cJSON_AddItemToObject(obj, map[i].key, val);
    env_note(env, map[i].var, map[i].path);
  }
  if (listen && *listen) {
    cJSON *arr = cJSON_CreateArray();
    char *copy = strdup(listen), *save = NULL;

    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
      cJSON_AddItemToArray(arr, cJSON_CreateString(t));
    free(copy);
    cJSON_DeleteItemFromObjectCaseSensitive(root, "listen");
    cJSON_AddItemToObject(root, "listen", arr);
    env_note(env, "HOPPER_LISTEN", "listen");
  }
  return root;
}

/* A value from the environment is wrong: say which variable set it, since the file is fine. */
static void blame_env(const struct jp *jp, const struct env_applied *env)
{
  size_t name = strlen(jp->name);
  const char *at = strncmp(jp->err, jp->name, name) == 0 && jp->err[name] == ':'
                     ? jp->err + name : NULL;   /* "name: path: message" */

  for (size_t i = 0; at && i < env->len; i++) {
    size_t n = strlen(env->path[i]);

    if (strncmp(at + 2, env->path[i], n) == 0 && (at[2 + n] == ':' || at[2 + n] == '[')) {
      size_t len = strlen(jp->err);

      snprintf(jp->err + len, jp->err_bytes - len, " (set by %s)", env->var[i]);
      return;
    }
  }
}

int hop_config_parse(const char *name, const char *json, size_t json_len, struct hop_config *out,
                     char *err, size_t err_bytes)
{
  struct jp jp = { name, err, err_bytes };
  struct env_applied env = { .len = 0 };
  const char *end = NULL;
  cJSON *root;
  int rc = set_defaults(out);

  if (rc)
    goto done;
  root = cJSON_ParseWithLengthOpts(json, json_len, &end, 0);
  if (!root) {
    size_t at = end && end >= json ? (size_t)(end - json) : 0;
    int line = 1;

    for (size_t i = 0; i < at && i < json_len; i++)
      line += json[i] == '\n';
    rc = jp_fail(&jp, "", "not valid JSON (near line %d, byte %zu)", line, at);
    goto done;
  }
  while (end && end < json + json_len && (*end == ' ' || *end == '\t' || *end == '\n' ||
                                          *end == '\r'))
    end++;
  if (end && end < json + json_len) {      /* a NUL is not the end of a file either */
    cJSON_Delete(root);
    rc = jp_fail(&jp, "", "unexpected bytes after the JSON document (byte %zu)",
                 (size_t)(end - json));
    goto done;
  }
  rc = parse_top(&jp, env_overrides(root, &env), out);
  if (rc == HOP_ECONFIG)
    blame_env(&jp, &env);
  cJSON_Delete(root);
  bind_texts(out);
done:
  if (rc == -ENOMEM)
    jp_fail(&jp, "", "out of memory");
  if (rc)
    hop_config_free(out);
  return rc;
}

int hop_config_load(const char *path, struct hop_config *out, char *err, size_t err_bytes)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0;
  int rc;

  memset(out, 0, sizeof *out);
  if (!f) {
    rc = -errno;
    snprintf(err, err_bytes, "%s: cannot open: %s", path, strerror(errno));
    return rc;
  }
  buf = malloc(CONFIG_BYTES_MAX + 1);
  if (buf)
    len = fread(buf, 1, CONFIG_BYTES_MAX + 1, f);
  if (!buf || ferror(f) || len > CONFIG_BYTES_MAX) {
    snprintf(err, err_bytes, "%s: cannot read (or larger than %u bytes)", path, CONFIG_BYTES_MAX);
    rc = HOP_ECONFIG;
  } else {
    rc = hop_config_parse(path, buf, len, out, err, err_bytes);
  }
  fclose(f);
  free(buf);
  return rc;
}

void hop_config_free(struct hop_config *c)
{
  for (size_t i = 0; i < c->listen_len; i++)
    free(c->listen[i]);
  free(c->listen);
  hop_route_table_free(c->routes);
  for (size_t i = 0; i < sizeof c->texts / sizeof c->texts[0]; i++)
    free(c->texts[i]);
  free(c->store_path);
  free(c->api_base_url);
  free(c->api_token_file);
  free(c->admin_listen);
  hop_cidr_list_free(&c->trusted_proxies);
  hop_cidr_list_free(&c->limits.deny);
  hop_cidr_list_free(&c->limits.ban_exempt);
  free(c->limits.text);
  memset(c, 0, sizeof *c);
}

int hop_routes_parse(const char *name, const char *json, size_t json_len,
                     enum hop_routes_source source, struct hop_route_table **out, char *err,
                     size_t err_bytes)
{
  static const char *const keys[] = { "revision", "default_server", "servers", NULL };
  struct jp jp = { name, err, err_bytes };
  int flags = HOP_SPEC_MANAGED |
              (source == HOP_ROUTES_EMBEDDED ? HOP_SPEC_STRICT | HOP_SPEC_COMMANDS | HOP_SPEC_FILES
                                             : 0);
  struct hop_route_table *t;
  cJSON *root = cJSON_ParseWithLength(json, json_len);
  int rc;

  *out = NULL;
  if (!root)
    return jp_fail(&jp, "", "not valid JSON");
  if (!cJSON_IsObject(root) || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "servers")))
    rc = jp_fail(&jp, "servers", "expected an array of servers");
  else if (source == HOP_ROUTES_EMBEDDED && (rc = jp_only_keys(&jp, "", root, keys)))
    ;
  else if (!(t = hop_route_table_new()))
    rc = -ENOMEM;
  else if ((rc = hop_servers_parse(&jp, root, t, flags)))
    hop_route_table_free(t);
  else
    *out = t;
  cJSON_Delete(root);
  if (rc == -ENOMEM)
    jp_fail(&jp, "", "out of memory");
  return rc;
}
