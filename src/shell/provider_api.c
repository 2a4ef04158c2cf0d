/* The control-plane API provider: GET {base}/v1/routes (ETag, refresh, backoff), the last good
 * document kept in SQLite, POST start/stop, and the events outbox. When to fetch and how calls
 * are retried is the pure hop_fetcher's (include/hop/fetcher.h); this file carries it out. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/log.h"
#include "hop/metrics.h"
#include "hop/snapshot.h"
#include "hop/store.h"
#include "outbox.h"
#include "provider.h"

#define ROUTES_BYTES_MAX   (64u << 20)

struct call {                  /* one start or stop call (its tries are the fetcher's) */
  struct hop_fetcher_call f;   /* first: the fetcher's actions name it */
  struct hop_provider *p;
  char id[65];
  uint32_t sessions;
  uv_timer_t retry;
};

static void send_get(struct hop_provider *p, int conditional);

/* ---- Token -------------------------------------------------------------------------------- */

/* The bearer token: HOPPER_API_TOKEN, else the file named by HOPPER_API_TOKEN_FILE or
 * api.token_file, surrounding whitespace trimmed. Never logged. */
static int read_token(const struct hop_config *cfg, char **out, char *err, size_t err_bytes)
{
  const char *env = getenv("HOPPER_API_TOKEN"), *path = getenv("HOPPER_API_TOKEN_FILE");
  char buf[4096];
  size_t n, start = 0;
  FILE *f;

  *out = NULL;
  if (env && *env)
    return (*out = strdup(env)) ? 0 : -ENOMEM;
  if (!path || !*path)
    path = cfg->api_token_file;
  if (!path)
    return 0;                  /* no token: an API on a private network may not need one */
  if (!(f = fopen(path, "rb"))) {
    snprintf(err, err_bytes, "api.token_file %s: %s", path, strerror(errno));
    return -errno;
  }
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  while (n > 0 && isspace((unsigned char)buf[n - 1]))
    buf[--n] = '\0';
  while (isspace((unsigned char)buf[start]))
    start++;
  return (*out = strdup(buf + start)) ? 0 : -ENOMEM;
}

static char *url_of(const struct hop_provider *p, const char *path)
{
  size_t n = strlen(p->base_url) + strlen(path) + 1;
  char *url = malloc(n);

  if (url)
    snprintf(url, n, "%s%s", p->base_url, path);
  return url;
}

/* ---- Routes ------------------------------------------------------------------------------- */

struct doc_job {
  struct hop_store_doc x;
  struct hop_provider *p;
};

static void on_doc_saved(struct hop_store_job *job)
{
  struct doc_job *j = (struct doc_job *)job;

  if (job->status < 0)
    hop_log_msg(HOP_LOG_WARN, "store_failed", job->err);
  hop_store_doc_clear(&j->x);
  free(j);
}

static void save_doc(struct hop_provider *p)
{
  struct doc_job *j = calloc(1, sizeof *j);
  uv_timeval64_t now;

  uv_gettimeofday(&now);
  if (!j || hop_store_doc_prepare_save(&j->x, p->doc, p->etag, now.tv_sec) < 0) {
    free(j);
    return;
  }
  j->p = p;
  j->x.job.done = on_doc_saved;
  if (hop_store_submit(p->store, &j->x.job) < 0)
    on_doc_saved(&j->x.job);
}

static int any_starting(void)
{
  struct hop_snapshot *snap = hop_snapshot_current();
  int starting = 0;

  for (size_t i = 0; snap && !starting && i < hop_route_table_servers(snap->routes); i++)
    starting = atomic_load(&hop_route_table_server(snap->routes, i)->state) == HOP_STATE_STARTING;
  hop_snapshot_unref(snap);
  return starting;
}

static uint64_t now_ms(const struct hop_provider *p)
{
  return uv_now(p->loop);
}

static uint64_t next_random(struct hop_provider *p)
{
  p->rng = p->rng * 6364136223846793005ull + 1442695040888963407ull;
  return p->rng;
}

static void on_fetch_timer(uv_timer_t *t);
static void on_retry(uv_timer_t *t);
static void send_call(struct call *c);
static void call_done(struct call *c, int ok, int status, const char *error);

/* Carries out the fetcher's actions, in order. error: the answer's, for the log lines. */
static void run(struct hop_provider *p, const struct hop_fetcher_out *out, const char *error)
{
  static const enum hop_fetch_result counts[] = {
    [HOP_FETCHER_OK] = HOP_FETCH_OK, [HOP_FETCHER_REJECTED] = HOP_FETCH_REJECTED,
    [HOP_FETCHER_NOT_MODIFIED] = HOP_FETCH_NOT_MODIFIED,
    [HOP_FETCHER_UNREACHABLE] = HOP_FETCH_UNREACHABLE,
    [HOP_FETCHER_HTTP_ERROR] = HOP_FETCH_HTTP_ERROR,
  };
  struct hop_logline l;

  for (size_t i = 0; i < out->len; i++) {
    const struct hop_fetcher_action *a = &out->a[i];
    struct call *c = (struct call *)a->call;

    switch (a->kind) {
    case HOP_FETCHER_GET:
      send_get(p, a->conditional);
      break;
    case HOP_FETCHER_ARM:
      if (!p->stopping)
        uv_timer_start(&p->timer, on_fetch_timer, a->delay_ms, 0);
      break;
    case HOP_FETCHER_COUNT:
      hop_metrics_fetch(counts[a->count]);
      break;
    case HOP_FETCHER_LOG_FAILED:
      if (hop_log_begin(&l, HOP_LOG_WARN, "routes_fetch_failed")) {
        hop_log_int(&l, "status", a->status);
        hop_log_str(&l, "err", a->status < 0 ? error : NULL);
        hop_log_end(&l);
      }
      break;
    case HOP_FETCHER_CALL_SEND:
      send_call(c);
      break;
    case HOP_FETCHER_CALL_LATER:
      uv_timer_start(&c->retry, on_retry, a->delay_ms, 0);
      break;
    case HOP_FETCHER_CALL_DONE:
      call_done(c, a->ok, a->status, error);
      break;
    }
  }
}

static void on_routes(void *arg, const struct hop_http_response *res)
{
  struct hop_provider *p = arg;
  struct hop_fetcher_out out = { 0 };
  int valid = 0;
  char *doc;

  if (p->stopping)
    return;
  if (res->status == 200 && (doc = strdup(res->body))) {
    valid = hop_provider_publish(p, doc, "api") == 0;
    if (valid) {
      free(p->etag);
      p->etag = res->etag ? strdup(res->etag) : NULL;
      save_doc(p);
    }
  }
  hop_fetcher_on_fetched(&p->fetcher, now_ms(p), res->status, valid, any_starting(),
                         next_random(p), &out);
  run(p, &out, res->error);
}

static void send_get(struct hop_provider *p, int conditional)
{
  struct hop_http_request req = { 0 };
  struct hop_fetcher_out out = { 0 };
  char *url = url_of(p, "/v1/routes");

  req.method = "GET";
  req.url = url;
  req.bearer = p->token;
  req.if_none_match = conditional ? p->etag : NULL;
  req.timeout_ms = p->timeout_ms;
  req.response_bytes_max = ROUTES_BYTES_MAX;
  if (!url || hop_http_send(p->http, &req, on_routes, p) < 0) {
    hop_fetcher_on_unsent(&p->fetcher, now_ms(p), &out);
    run(p, &out, NULL);
  }
  free(url);
}

static void on_fetch_timer(uv_timer_t *t)
{
  struct hop_provider *p = t->data;
  struct hop_fetcher_out out = { 0 };

  hop_fetcher_on_timer(&p->fetcher, now_ms(p), p->ready, &out);
  run(p, &out, NULL);
}

void hop_provider_api_reload(struct hop_provider *p)
{
  struct hop_fetcher_out out = { 0 };

  if (p->stopping)
    return;
  hop_fetcher_reload(&p->fetcher, now_ms(p), (uint64_t)p->refresh_s * 1000, &out);
  run(p, &out, NULL);
}

struct ids_job {
  struct hop_store_ids x;
  struct hop_provider *p;
};

static void on_replica(struct hop_store_job *job)
{
  struct ids_job *j = (struct ids_job *)job;

  if (job->status == 0)
    snprintf(j->p->replica, sizeof j->p->replica, "%s", j->x.replica_id);
  free(j);
}

static void on_doc_loaded(struct hop_store_job *job)
{
  struct doc_job *j = (struct doc_job *)job;
  struct hop_provider *p = j->p;

  if (job->status == 0 && j->x.body && !p->ready && !p->stopping) {
    char *doc = j->x.body;

    j->x.body = NULL;
    if (hop_provider_publish(p, doc, "stored") == 0)
      p->etag = j->x.etag ? strdup(j->x.etag) : NULL;
  }
  hop_store_doc_clear(&j->x);
  free(j);
}

/* ---- Start and stop ----------------------------------------------------------------------- */

static void on_call_closed(uv_handle_t *h)
{
  free(h->data);
}

static void on_retry(uv_timer_t *t)
{
  send_call(t->data);
}

static void on_called(void *arg, const struct hop_http_response *res)
{
  struct call *c = arg;
  struct hop_fetcher_out out = { 0 };

  if (c->p->stopping) {
    uv_close((uv_handle_t *)&c->retry, on_call_closed);
    return;
  }
  hop_fetcher_on_called(&c->p->fetcher, now_ms(c->p), &c->f, res->status, 0, &out);
  run(c->p, &out, res->error);
}

/* The call ended: logged, its result to the farm, and freed. */
static void call_done(struct call *c, int ok, int status, const char *error)
{
  struct hop_logline l;

  if (hop_log_begin(&l, ok ? HOP_LOG_INFO : HOP_LOG_WARN, c->f.stop ? "api_stop" : "api_start")) {
    hop_log_str(&l, "server", c->id);
    hop_log_int(&l, "status", status);
    hop_log_str(&l, "err", status < 0 ? error : NULL);
    hop_log_end(&l);
  }
  if (c->f.stop)
    hop_farmctl_stop_result(c->p->fc, c->id, ok);
  else
    hop_farmctl_start_result(c->p->fc, c->id, ok);
  uv_close((uv_handle_t *)&c->retry, on_call_closed);
}

static void send_call(struct call *c)
{
  struct hop_http_request req = { 0 };
  struct hop_fetcher_out out = { 0 };
  char path[160], body[200];
  char *url;

  snprintf(path, sizeof path, "/v1/servers/%s/%s", c->id, c->f.stop ? "stop" : "start");
  snprintf(body, sizeof body, "{\"replica\":\"%s\",\"sessions\":%u}", c->p->replica,
           c->sessions);
  url = url_of(c->p, path);
  req.method = "POST";
  req.url = url;
  req.bearer = c->p->token;
  req.body = body;
  req.body_len = strlen(body);
  req.timeout_ms = c->p->timeout_ms;
  req.response_bytes_max = 1 << 20;
  if (!url || hop_http_send(c->p->http, &req, on_called, c) < 0) {
    hop_fetcher_on_called(&c->p->fetcher, now_ms(c->p), &c->f, -1, 1, &out);
    run(c->p, &out, "cannot send");
  }
  free(url);
}

static void call(struct hop_provider *p, const char *id, int stop, uint32_t sessions)
{
  struct call *c = calloc(1, sizeof *c);
  struct hop_fetcher_out out = { 0 };

  if (!c) {
    if (stop)
      hop_farmctl_stop_result(p->fc, id, 0);
    else
      hop_farmctl_start_result(p->fc, id, 0);
    return;
  }
  c->p = p;
  snprintf(c->id, sizeof c->id, "%s", id);
  c->sessions = sessions;
  uv_timer_init(p->loop, &c->retry);
  c->retry.data = c;
  hop_fetcher_call(&p->fetcher, now_ms(p), &c->f, stop, &out);
  run(p, &out, NULL);
}

static void op_start(void *ctx, const char *id)
{
  call(ctx, id, 0, 0);
}

static void op_stop(void *ctx, const char *id, uint32_t sessions)
{
  call(ctx, id, 1, sessions);
}

static void op_event(void *ctx, const char *json)
{
  struct hop_provider *p = ctx;

  hop_outbox_add(p->outbox, json);
}

/* ---- Life --------------------------------------------------------------------------------- */

int hop_provider_api_new(uv_loop_t *loop, struct hop_store *store, struct hop_farmctl *fc,
                         struct hop_settings *settings, struct hop_provider **out_p, char *err,
                         size_t err_bytes)
{
  const struct hop_config *cfg = &settings->cfg;
  struct hop_provider *p = calloc(1, sizeof *p);
  struct hop_provider_ops ops = { op_start, op_stop, NULL, op_event, hop_provider_status_seen,
                                  NULL };
  struct hop_outbox_config ocfg = { 0 };
  struct hop_fetcher_config fcfg;
  struct hop_fetcher_out out = { 0 };
  struct doc_job *j;
  char *events_url;
  int rc;

  if (!p)
    return -ENOMEM;
  p->source = HOP_ROUTES_API;
  p->loop = loop;
  p->store = store;
  p->fc = fc;
  hop_settings_ref(settings);
  p->settings = settings;
  p->refresh_s = cfg->api_refresh_s;
  p->timeout_ms = cfg->api_timeout_ms;
  hop_fetcher_config_default(&fcfg);
  fcfg.refresh_ms = (uint64_t)cfg->api_refresh_s * 1000;
  hop_fetcher_init(&p->fetcher, &fcfg);
  p->rng = (uint64_t)uv_hrtime() ^ 0x9e3779b97f4a7c15ull;
  p->base_url = strdup(cfg->api_base_url ? cfg->api_base_url : "");
  while (p->base_url && *p->base_url && p->base_url[strlen(p->base_url) - 1] == '/')
    p->base_url[strlen(p->base_url) - 1] = '\0';
  if ((rc = read_token(cfg, &p->token, err, err_bytes)) < 0 ||
      (rc = hop_http_new(loop, &p->http)) < 0) {
    hop_provider_common_free(p);
    free(p);
    return rc;
  }
  events_url = url_of(p, "/v1/events");
  ocfg.events_url = events_url;
  ocfg.token = p->token;
  ocfg.cap = cfg->api_outbox_max;
  ocfg.batch_max = cfg->api_events_batch;
  ocfg.timeout_ms = cfg->api_timeout_ms;
  rc = events_url ? hop_outbox_new(loop, store, p->http, &ocfg, &p->outbox) : -ENOMEM;
  free(events_url);
  if (rc < 0) {
    hop_http_free(p->http);
    hop_provider_common_free(p);
    free(p);
    return rc;
  }
  ops.ctx = p;
  hop_farmctl_set_provider(fc, &ops);
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  p->refresh_cb = on_fetch_timer;
  struct ids_job *ij = calloc(1, sizeof *ij);

  if (ij) {                    /* this replica's id, for start and stop calls */
    ij->p = p;
    hop_store_ids_prepare(&ij->x, 0);
    ij->x.job.done = on_replica;
    if (hop_store_submit(store, &ij->x.job) < 0)
      free(ij);
  }
  if ((j = calloc(1, sizeof *j))) {            /* the stored document routes until the API answers */
    j->p = p;
    hop_store_doc_prepare_load(&j->x);
    j->x.job.done = on_doc_loaded;
    if (hop_store_submit(store, &j->x.job) < 0)
      free(j);
  }
  hop_fetcher_start(&p->fetcher, now_ms(p), 0, &out);
  run(p, &out, NULL);
  *out_p = p;
  return 0;
}
