/* What every provider does the same way: turn a routes document into a published snapshot,
 * remember the real status of running servers, and release itself. */
#include <stdlib.h>
#include <string.h>

#include "hop/log.h"
#include "hop/metrics.h"
#include "hop/snapshot.h"
#include "hop/store.h"
#include "outbox.h"
#include "provider.h"

static const char *cached_status(const struct hop_provider *p, const char *id)
{
  for (size_t i = 0; i < p->cache_len; i++)
    if (strcmp(p->cache[i].id, id) == 0)
      return p->cache[i].json;
  return NULL;
}

int hop_provider_publish(struct hop_provider *p, char *doc, const char *name)
{
  char err[HOP_CONFIG_ERR_BYTES];
  struct hop_route_table *t = NULL;
  struct hop_snapshot *snap;
  struct hop_logline l;
  int changed, rc = hop_routes_parse(name, doc, strlen(doc), p->source, &t, err, sizeof err);

  if (rc < 0) {
    hop_log_msg(HOP_LOG_ERROR, "routes_rejected", err);
    if (doc != p->doc)
      free(doc);
    return rc;
  }
  for (size_t i = 0; i < hop_route_table_servers(t); i++) {
    struct hop_server *s = hop_route_table_edit(t, (int)i);
    const char *json = cached_status(p, s->id);

    s->last_status = json ? strdup(json) : NULL;
  }
  hop_routes_build_status(t, &p->settings->cfg.conn);
  if ((rc = hop_farmctl_sync(p->fc, t)) < 0 || !(snap = hop_snapshot_new(p->settings, t))) {
    hop_route_table_free(t);
    if (doc != p->doc)
      free(doc);
    hop_log_msg(HOP_LOG_ERROR, "routes_rejected", "out of memory");
    return rc < 0 ? rc : -1;
  }
  hop_snapshot_publish(snap);
  changed = !p->doc || strcmp(doc, p->doc) != 0;
  if (doc != p->doc) {
    free(p->doc);
    p->doc = doc;
  }
  p->ready = 1;
  hop_metrics_set_ready(1);   /* a snapshot is loaded (ignored once draining) */
  /* our own state writes come back through the store: only real changes are news */
  if (hop_log_begin(&l, changed ? HOP_LOG_INFO : HOP_LOG_DEBUG, "routes_loaded")) {
    hop_log_str(&l, "source", name);
    hop_log_int(&l, "servers", (int64_t)hop_route_table_servers(t));
    hop_log_end(&l);
  }
  return 0;
}

struct status_save {
  struct hop_store_status x;
};

static void on_status_saved(struct hop_store_job *job)
{
  struct status_save *s = (struct status_save *)job;

  if (job->status < 0)
    hop_log_msg(HOP_LOG_WARN, "status_cache_failed", job->err);
  hop_store_status_clear(&s->x);
  free(s);
}

void hop_provider_status_seen(void *ctx, const char *id, const char *json)
{
  struct hop_provider *p = ctx;
  struct status_save *save = NULL;
  struct status_entry *grown;
  size_t i;

  for (i = 0; i < p->cache_len && strcmp(p->cache[i].id, id) != 0; i++)
    ;
  if (i < p->cache_len && strcmp(p->cache[i].json, json) == 0)
    return;                    /* unchanged: nothing to save or rebuild */
  if (i == p->cache_len) {
    if (!(grown = realloc(p->cache, (p->cache_len + 1) * sizeof *grown)))
      return;
    p->cache = grown;
    p->cache[i].id = strdup(id);
    p->cache[i].json = NULL;
    p->cache_len++;
  }
  free(p->cache[i].json);
  p->cache[i].json = strdup(json);
  if (p->store && (save = calloc(1, sizeof *save)) &&
      hop_store_status_prepare_save(&save->x, id, json) == 0) {
    save->x.job.done = on_status_saved;
    if (hop_store_submit(p->store, &save->x.job) < 0)
      on_status_saved(&save->x.job);
  } else if (save) {
    free(save);
  }
  if (p->doc && !p->stopping)  /* the answers for this server now carry its real favicon */
    hop_provider_publish(p, p->doc, p->source == HOP_ROUTES_API ? "api" : "sqlite");
}

void hop_provider_log_event(void *ctx, const char *json)
{
  struct hop_logline l;

  (void)ctx;
  if (hop_log_begin(&l, HOP_LOG_INFO, "event")) {
    hop_log_str(&l, "event", json);
    hop_log_end(&l);
  }
}

int hop_provider_ready(const struct hop_provider *p)
{
  return p->ready;
}

void hop_provider_common_free(struct hop_provider *p)
{
  for (size_t i = 0; i < p->cache_len; i++) {
    free(p->cache[i].id);
    free(p->cache[i].json);
  }
  free(p->cache);
  free(p->doc);
  free(p->base_url);
  free(p->token);
  free(p->etag);
  free(p->procs);
  hop_settings_unref(p->settings);
}

void hop_provider_reload(struct hop_provider *p, struct hop_settings *settings)
{
  hop_settings_ref(settings);
  hop_settings_unref(p->settings);
  p->settings = settings;
  p->refresh_s = settings->cfg.api_refresh_s;
  p->timeout_ms = settings->cfg.api_timeout_ms;
  if (p->doc)                  /* new answers and limits apply to the routes we have */
    hop_provider_publish(p, p->doc, p->source == HOP_ROUTES_API ? "api" : "sqlite");
  if (p->source == HOP_ROUTES_API)
    hop_provider_api_reload(p);
  else if (!p->stopping)
    uv_timer_start(&p->timer, p->refresh_cb, 0, 0);   /* and ask the source again now */
}

void hop_provider_stop(struct hop_provider *p)
{
  p->stopping = 1;
  for (size_t i = 0; i < p->procs_len; i++)
    if (p->procs[i].cmd) {
      hop_command_detach(p->procs[i].cmd);   /* servers we started keep running */
      free(p->procs[i].ctx);
      p->procs[i].cmd = NULL;
      p->procs[i].ctx = NULL;
    }
  if (p->outbox)
    hop_outbox_free(p->outbox);
  p->outbox = NULL;
  if (p->http)
    hop_http_free(p->http);
  p->http = NULL;
  uv_close((uv_handle_t *)&p->timer, NULL);
}

void hop_provider_free(struct hop_provider *p)
{
  hop_provider_common_free(p);
  free(p);
}
