/* The config file: one JSON document (cJSON) -> struct hop_config. Errors name the file and the
 * JSON path: `config/hopper.json: servers[3].backend: expected "host:port"`. */
#ifndef HOP_CONFIG_H
#define HOP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "hop/cidr.h"
#include "hop/conn.h"
#include "hop/route.h"

enum hop_provider_kind { HOP_PROVIDER_STATIC, HOP_PROVIDER_SQLITE, HOP_PROVIDER_API };
enum hop_log_format { HOP_LOG_LOGFMT, HOP_LOG_JSON };
enum hop_log_level { HOP_LOG_DEBUG, HOP_LOG_INFO, HOP_LOG_WARN, HOP_LOG_ERROR };

#define HOP_CONFIG_ERR_BYTES 512

struct hop_config {
  char **listen;               /* "host:port" / "[v6]:port"; port 0 = ephemeral */
  size_t listen_len;
  int workers;                 /* 0 = one per CPU */
  enum hop_provider_kind provider;
  struct hop_route_table *routes;   /* sealed; owned until handed off (set to NULL) */
  struct hop_conn_config conn;      /* strings below are owned by the config */
  uint32_t timeout_ms_idle;    /* 0 = no idle timeout */
  uint32_t drain_s;
  char *store_path;
  char *api_base_url;
  char *api_token_file;
  uint32_t api_refresh_s;
  uint32_t api_timeout_ms;     /* each control-plane request */
  uint32_t api_events_batch;   /* events per POST /v1/events */
  uint32_t api_outbox_max;     /* events kept while the API is down; beyond, dropped and counted */
  char *admin_listen;
  enum hop_log_format log_format;
  enum hop_log_level log_level;
  char *texts[16];             /* storage behind conn's answer strings */
  struct hop_farm_config farm; /* probes, wake quota */
  struct hop_limits {
    uint32_t sessions_max;             /* open sessions in all; 0 = no cap */
    uint32_t sessions_per_ip_max;      /* open sessions per client IP; 0 = no cap */
    uint32_t status_per_s, status_burst;   /* status pings per IP (token bucket); 0 = off */
    uint32_t login_per_s, login_burst;     /* logins and transfers per IP; 0 = off */
    struct hop_cidr_list deny;         /* refused at accept: one accept, one close */
    int silent;                        /* refuse without an answer */
    uint32_t ban_strikes;              /* strikes within ban_window_s that ban an IP; 0 = off */
    uint32_t ban_window_s, ban_s;      /* the window, and how long a ban lasts */
    struct hop_cidr_list ban_exempt;   /* never struck or banned */
    char *text;                        /* the answer (MOTD or Disconnect) */
  } limits;
  struct hop_cidr_list trusted_proxies;   /* peers whose PROXY headers are believed */
  int proxy_required;          /* a trusted peer must send one (default true) */
};

/* Reads and validates `path`. On failure returns HOP_ECONFIG (or a negative errno for I/O) and
 * writes one line naming the file and JSON path into `err`. On success the caller owns `out` and
 * frees it with hop_config_free. */
int hop_config_load(const char *path, struct hop_config *out, char *err, size_t err_bytes);

/* As hop_config_load, from memory; `name` is used in error messages only. */
int hop_config_parse(const char *name, const char *json, size_t json_len, struct hop_config *out,
                     char *err, size_t err_bytes);

void hop_config_free(struct hop_config *c);

/* How a routes document is read: from the control-plane API (unknown fields ignored, so the API
 * can grow) or from hopper's own store (strict, with start/stop commands and favicon files). */
enum hop_routes_source { HOP_ROUTES_API, HOP_ROUTES_EMBEDDED };

/* Parses a routes document ({"revision", "default_server", "servers": [...]}) into a sealed route
 * table whose servers all have a lifecycle. Validates the whole document: on any problem returns
 * HOP_ECONFIG with "name: JSON path: why" in `err` and builds nothing. */
int hop_routes_parse(const char *name, const char *json, size_t json_len,
                     enum hop_routes_source source, struct hop_route_table **out, char *err,
                     size_t err_bytes);

/* Builds the status answers of every managed server in `t` (after last_status is attached). */
int hop_routes_build_status(struct hop_route_table *t, const struct hop_conn_config *cc);

/* Splits "host:port" or "[v6]:port" into host (brackets removed) and port. Returns 0 or
 * HOP_ECONFIG. `port_zero_ok` allows port 0 (listeners). */
int hop_endpoint_parse(const char *s, char *host, size_t host_cap, uint16_t *port,
                       int port_zero_ok);

#endif
