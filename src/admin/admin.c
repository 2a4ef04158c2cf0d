/* libmicrohttpd on its own thread: Debian packages it, it is small and well kept, and it keeps
 * HTTP parsing out of hopper's own code (docs/admin.md says why in more words). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <uv.h>

#include "hop/admin.h"
#include "hop/bans.h"
#include "hop/config.h"
#include "hop/farm.h"
#include "hop/log.h"
#include "hop/metrics.h"
#include "hop/snapshot.h"

struct hop_admin {
  struct MHD_Daemon *d;
};

/* The current snapshot's servers with their states and live sessions. */
static char *servers_json(size_t *len)
{
  struct hop_snapshot *snap = hop_snapshot_current();
  cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "servers");
  char *json;

  cJSON_AddBoolToObject(root, "ready", hop_metrics_ready());
  for (size_t i = 0; snap && i < hop_route_table_servers(snap->routes); i++) {
    const struct hop_server *s = hop_route_table_server(snap->routes, i);
    cJSON *o = cJSON_CreateObject(), *hosts = cJSON_AddArrayToObject(o, "hosts");

    cJSON_AddStringToObject(o, "id", s->id);
    for (size_t h = 0; h < s->hosts_len; h++)
      cJSON_AddItemToArray(hosts, cJSON_CreateString(s->hosts[h]));
    cJSON_AddStringToObject(o, "backend", s->backend);
    cJSON_AddStringToObject(o, "state", hop_state_name((enum hop_state)atomic_load(&s->state)));
    cJSON_AddBoolToObject(o, "managed", s->managed);
    cJSON_AddNumberToObject(o, "sessions", (double)hop_metrics_server_live(s->id));
    cJSON_AddItemToArray(arr, o);
  }
  hop_snapshot_unref(snap);
  json = cJSON_Print(root);
  cJSON_Delete(root);
  *len = json ? strlen(json) : 0;
  return json;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len)
{
  struct MHD_Response *r;
  enum MHD_Result rc;

  if (!body)
    return MHD_NO;
  r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", type);
  MHD_add_response_header(r, "Cache-Control", "no-store");
  rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *s)
{
  return reply(c, status, "text/plain", strdup(s), strlen(s));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_len, void **state)
{
  size_t len = 0;
  char *body;

  (void)cls;
  (void)version;
  (void)upload;
  if (!*state) {               /* first call: headers only; answer on the next */
    *state = c;
    return MHD_YES;
  }
  if (*upload_len)
    return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "no body\n");
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
    return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
  if (strcmp(url, "/metrics") == 0) {
    body = hop_metrics_render(&len);
    return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", body, len);
  }
  if (strcmp(url, "/healthz") == 0)
    return reply_text(c, MHD_HTTP_OK, "ok\n");
  if (strcmp(url, "/readyz") == 0)
    return hop_metrics_ready() ? reply_text(c, MHD_HTTP_OK, "ready\n")
                               : reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
  if (strcmp(url, "/servers") == 0) {
    body = servers_json(&len);
    return reply(c, MHD_HTTP_OK, "application/json", body, len);
  }
  if (strcmp(url, "/bans") == 0) {
    body = hop_bans_json(&len);
    return reply(c, MHD_HTTP_OK, "application/json", body, len);
  }
  return reply_text(c, MHD_HTTP_NOT_FOUND,
                    "not found: /metrics /healthz /readyz /servers /bans\n");
}

int hop_admin_start(const char *listen, struct hop_admin **out, char *err, size_t err_bytes)
{
  union { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; } addr;
  struct hop_admin *a = calloc(1, sizeof *a);
  const union MHD_DaemonInfo *info;
  /* AUTO picks epoll (or poll): select() cannot take a descriptor above FD_SETSIZE, and with
   * thousands of players connected every new admin socket is one (found by bench/attack). */
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  char host[256], shown[300];
  uint16_t port;
  struct hop_logline l;

  if (!a)
    return -ENOMEM;
  if (hop_endpoint_parse(listen, host, sizeof host, &port, 1) < 0 ||
      (uv_ip4_addr(host, port, &addr.in) != 0 && uv_ip6_addr(host, port, &addr.in6) != 0)) {
    snprintf(err, err_bytes, "admin.listen %s: expected an IP address and port", listen);
    free(a);
    return -EINVAL;
  }
  if (addr.sa.sa_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  a->d = MHD_start_daemon(flags, port, NULL, NULL, on_request, NULL,
                          MHD_OPTION_SOCK_ADDR, &addr.sa,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                          MHD_OPTION_END);
  if (!a->d) {
    snprintf(err, err_bytes, "admin.listen %s: cannot listen (in use?)", listen);
    free(a);
    return -EADDRINUSE;
  }
  info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(shown, sizeof shown, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
           info ? info->port : port);
  if (hop_log_begin(&l, HOP_LOG_INFO, "admin_listening")) {
    hop_log_str(&l, "addr", shown);
    hop_log_end(&l);
  }
  *out = a;
  return 0;
}

void hop_admin_stop(struct hop_admin *a)
{
  if (!a)
    return;
  MHD_stop_daemon(a->d);
  free(a);
}
