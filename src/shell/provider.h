/* Shared innards of the providers. Private to src/shell. */
#ifndef HOP_SHELL_PROVIDER_H
#define HOP_SHELL_PROVIDER_H

#include <stdint.h>

#include <uv.h>

#include "hop/commands.h"
#include "hop/config.h"
#include "hop/farmctl.h"
#include "hop/fetcher.h"
#include "hop/http.h"
#include "hop/provider.h"

struct status_entry {
  char *id;
  char *json;
};

struct proc {                  /* a start_cmd still running, or a stop_cmd */
  char id[65];
  struct hop_command *cmd;
  int stopping;                /* we asked it to stop: its exit completes the stop */
  int is_stop_cmd;
  void *ctx;                   /* the exit callback's argument, freed if we stop first */
};

struct hop_provider {
  enum hop_routes_source source;
  uv_loop_t *loop;
  struct hop_store *store;
  struct hop_farmctl *fc;
  struct hop_settings *settings;
  char *doc;                   /* the last good routes document */
  struct status_entry *cache;  /* last real status per server */
  size_t cache_len;
  int ready;
  int stopping;                /* shutting down: callbacks only release what they hold */
  uv_timer_t timer;            /* sqlite: change poll; api: next fetch */
  uv_timer_cb refresh_cb;      /* what the timer runs: ask the source now */
  /* sqlite */
  uint64_t version;
  int polling;
  struct proc *procs;
  size_t procs_len;
  /* api */
  struct hop_http *http;
  char *base_url;
  char *token;
  char *etag;
  uint32_t refresh_s;
  uint32_t timeout_ms;         /* api: each request */
  struct hop_fetcher fetcher;  /* when to fetch, and the calls' retries (src/control/fetcher.c) */
  uint64_t rng;
  struct hop_outbox *outbox;
  char replica[33];            /* this replica's id (from the store), in start/stop calls */
};

/* Parses `doc`, attaches the status cache, syncs the farm and publishes. Keeps `doc` on success
 * (takes it over either way). Returns 0 or a negative code (logged). */
int hop_provider_publish(struct hop_provider *p, char *doc, const char *name);

/* Remembers a server's real status (and saves it in the store). */
void hop_provider_status_seen(void *ctx, const char *id, const char *json);

/* Logs an event (for providers with no control plane to send it to). */
void hop_provider_log_event(void *ctx, const char *json);

void hop_provider_common_free(struct hop_provider *p);

/* New settings for the API provider: the refresh changes and the routes are fetched at once. */
void hop_provider_api_reload(struct hop_provider *p);

#endif
