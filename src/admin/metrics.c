/* The counters behind /metrics, and their Prometheus text rendering. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "hop/farm.h"
#include "hop/metrics.h"

#define WORKERS_MAX 1024
#define WAKE_RESULTS_MAX 16

static const double bucket_ms[HOP_HIST_BUCKETS - 1] = { 1, 2, 5, 10, 25, 50, 100, 250, 500,
                                                         1000, 2500, 5000 };

static struct hop_metrics_worker *workers[WORKERS_MAX];
static _Atomic int workers_len;

struct server_stats {
  char id[65];
  uint64_t live, sessions, bytes_c2b, bytes_b2c;
};

static uv_mutex_t lock;        /* servers, wakes */
static uv_once_t once = UV_ONCE_INIT;
static struct server_stats *servers;
static size_t servers_len, servers_cap;

static _Atomic uint64_t fetches[HOP_FETCH_RESULTS];
static struct { char name[32]; uint64_t n; } wakes[WAKE_RESULTS_MAX];
static size_t wakes_len;
static struct hop_hist wake_wait;
static _Atomic uint64_t wake_ready_ok, wake_ready_failed;
static _Atomic uint64_t outbox_depth, outbox_dropped;
static _Atomic uint64_t bans_active, bans_made;
static _Atomic int ready;

static void init(void)
{
  uv_mutex_init(&lock);
}

/* ---- Writers ------------------------------------------------------------------------------ */

struct hop_metrics_worker *hop_metrics_worker_new(void)
{
  int i = atomic_fetch_add(&workers_len, 1);

  if (i >= WORKERS_MAX)
    return NULL;
  workers[i] = calloc(1, sizeof *workers[i]);
  return workers[i];
}

void hop_metrics_inc(_Atomic uint64_t *c)
{
  /* one writer: a plain load and store, no locked instruction */
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

static void add(_Atomic uint64_t *c, uint64_t v)
{
  atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
                        memory_order_relaxed);
}

void hop_hist_observe(struct hop_hist *h, uint64_t us)
{
  size_t b = 0;

  while (b < HOP_HIST_BUCKETS - 1 && (double)us > bucket_ms[b] * 1000)
    b++;
  hop_metrics_inc(&h->bucket[b]);
  hop_metrics_inc(&h->count);
  add(&h->sum_us, us);
}

static struct server_stats *server_of(const char *id)
{
  struct server_stats *grown;

  for (size_t i = 0; i < servers_len; i++)
    if (strcmp(servers[i].id, id) == 0)
      return &servers[i];
  if (servers_len == servers_cap) {
    size_t cap = servers_cap ? servers_cap * 2 : 16;

    if (!(grown = realloc(servers, cap * sizeof *grown)))
      return NULL;
    servers = grown;
    servers_cap = cap;
  }
  memset(&servers[servers_len], 0, sizeof *servers);
  snprintf(servers[servers_len].id, sizeof servers->id, "%s", id);
  return &servers[servers_len++];
}

void hop_metrics_session_begin(const char *server_id)
{
  struct server_stats *s;

  uv_once(&once, init);
  uv_mutex_lock(&lock);
  if ((s = server_of(server_id))) {
    s->live++;
    s->sessions++;
  }
  uv_mutex_unlock(&lock);
}

void hop_metrics_session_end(const char *server_id, uint64_t bytes_c2b, uint64_t bytes_b2c)
{
  struct server_stats *s;

  uv_once(&once, init);
  uv_mutex_lock(&lock);
  if ((s = server_of(server_id))) {
    s->live -= s->live > 0;
    s->bytes_c2b += bytes_c2b;
    s->bytes_b2c += bytes_b2c;
  }
  uv_mutex_unlock(&lock);
}

uint64_t hop_metrics_server_live(const char *server_id)
{
  uint64_t live = 0;

  uv_once(&once, init);
  uv_mutex_lock(&lock);
  for (size_t i = 0; i < servers_len; i++)
    if (strcmp(servers[i].id, server_id) == 0)
      live = servers[i].live;
  uv_mutex_unlock(&lock);
  return live;
}

void hop_metrics_fetch(enum hop_fetch_result r)
{
  hop_metrics_inc(&fetches[r]);
}

void hop_metrics_wake(const char *result)
{
  size_t i;

  uv_once(&once, init);
  uv_mutex_lock(&lock);
  for (i = 0; i < wakes_len && strcmp(wakes[i].name, result) != 0; i++)
    ;
  if (i == wakes_len && wakes_len < WAKE_RESULTS_MAX)
    snprintf(wakes[wakes_len++].name, sizeof wakes[0].name, "%s", result);
  if (i < wakes_len)
    wakes[i].n++;
  uv_mutex_unlock(&lock);
}

void hop_metrics_wake_ready(uint64_t wait_ms, int ok)
{
  hop_metrics_inc(ok ? &wake_ready_ok : &wake_ready_failed);
  if (ok)
    hop_hist_observe(&wake_wait, wait_ms * 1000);
}

void hop_metrics_outbox(uint64_t depth, uint64_t dropped)
{
  atomic_store(&outbox_depth, depth);
  atomic_store(&outbox_dropped, dropped);
}

void hop_metrics_bans(uint64_t active, uint64_t made)
{
  atomic_store(&bans_active, active);
  atomic_store(&bans_made, made);
}

static _Atomic int draining;

void hop_metrics_set_ready(int r)
{
  atomic_store(&ready, r && !atomic_load(&draining));
}

void hop_metrics_set_draining(void)
{
  atomic_store(&draining, 1);
  atomic_store(&ready, 0);
}

int hop_metrics_ready(void)
{
  return atomic_load(&ready);
}

/* ---- Rendering ---------------------------------------------------------------------------- */

struct out {
  char *p;
  size_t len, cap;
  int oom;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
  va_list ap;
  int n;

  for (;;) {
    va_start(ap, fmt);
    n = o->oom ? 0 : vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (o->oom || n < 0)
      return;
    if ((size_t)n < o->cap - o->len) {
      o->len += (size_t)n;
      return;
    }
    char *grown = realloc(o->p, o->cap * 2 + (size_t)n);

    if (!grown) {
      o->oom = 1;
      return;
    }
    o->p = grown;
    o->cap = o->cap * 2 + (size_t)n;
  }
}

static uint64_t sum_workers(size_t offset)
{
  uint64_t n = 0;
  int len = atomic_load(&workers_len);

  for (int i = 0; i < len && i < WORKERS_MAX; i++)
    if (workers[i])
      n += atomic_load_explicit((_Atomic uint64_t *)((char *)workers[i] + offset),
                                memory_order_relaxed);
  return n;
}

#define WORKER_FIELD(f) sum_workers(offsetof(struct hop_metrics_worker, f))

static void put_hist(struct out *o, const char *name, const char *help, size_t offset,
                     const struct hop_hist *single)
{
  uint64_t cum = 0;

  put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
  for (size_t b = 0; b < HOP_HIST_BUCKETS; b++) {
    size_t at = offset + offsetof(struct hop_hist, bucket) + b * sizeof(uint64_t);

    cum += single ? atomic_load(&single->bucket[b]) : sum_workers(at);
    if (b < HOP_HIST_BUCKETS - 1)
      put(o, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_ms[b] / 1000, (unsigned long long)cum);
    else
      put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
  }
  put(o, "%s_sum %.6f\n%s_count %llu\n", name,
      (double)(single ? atomic_load(&single->sum_us)
                      : sum_workers(offset + offsetof(struct hop_hist, sum_us))) / 1e6,
      name, (unsigned long long)(single ? atomic_load(&single->count)
                                        : sum_workers(offset + offsetof(struct hop_hist, count))));
}

char *hop_metrics_render(size_t *len)
{
  static const char *const fetch_names[HOP_FETCH_RESULTS] = { "ok", "not_modified", "rejected",
                                                               "http_error", "unreachable" };
  struct out o = { malloc(16384), 0, 16384, 0 };

  if (!o.p)
    return NULL;
  uv_once(&once, init);
  put(&o, "# HELP hopper_up 1 while the process runs.\n# TYPE hopper_up gauge\nhopper_up 1\n");
  put(&o, "# HELP hopper_ready 1 once routes are loaded and while not draining.\n"
          "# TYPE hopper_ready gauge\nhopper_ready %d\n", hop_metrics_ready());
  put(&o, "# HELP hopper_connections_accepted_total Connections accepted.\n"
          "# TYPE hopper_connections_accepted_total counter\n"
          "hopper_connections_accepted_total %llu\n", (unsigned long long)WORKER_FIELD(accepted));
  put(&o, "# HELP hopper_sessions_closed_total Sessions ended, by close reason.\n"
          "# TYPE hopper_sessions_closed_total counter\n");
  for (int r = 1; r < HOP_CLOSE_COUNT; r++)
    put(&o, "hopper_sessions_closed_total{reason=\"%s\"} %llu\n", hop_close_name((enum hop_close)r),
        (unsigned long long)sum_workers(offsetof(struct hop_metrics_worker, closes) +
                                        (size_t)r * sizeof(uint64_t)));
  put_hist(&o, "hopper_handshake_seconds", "From accept to the routing decision.",
           offsetof(struct hop_metrics_worker, handshake), NULL);
  put_hist(&o, "hopper_backend_connect_seconds", "Backend name resolution and connect.",
           offsetof(struct hop_metrics_worker, connect), NULL);
  uv_mutex_lock(&lock);
  put(&o, "# HELP hopper_server_sessions Live relayed sessions, by server.\n"
          "# TYPE hopper_server_sessions gauge\n");
  for (size_t i = 0; i < servers_len; i++)
    put(&o, "hopper_server_sessions{server=\"%s\"} %llu\n", servers[i].id,
        (unsigned long long)servers[i].live);
  put(&o, "# HELP hopper_server_sessions_total Relayed sessions, by server.\n"
          "# TYPE hopper_server_sessions_total counter\n");
  for (size_t i = 0; i < servers_len; i++)
    put(&o, "hopper_server_sessions_total{server=\"%s\"} %llu\n", servers[i].id,
        (unsigned long long)servers[i].sessions);
  put(&o, "# HELP hopper_server_bytes_total Relayed bytes of ended sessions, by server and "
          "direction.\n# TYPE hopper_server_bytes_total counter\n");
  for (size_t i = 0; i < servers_len; i++)
    put(&o, "hopper_server_bytes_total{server=\"%s\",direction=\"c2b\"} %llu\n"
            "hopper_server_bytes_total{server=\"%s\",direction=\"b2c\"} %llu\n",
        servers[i].id, (unsigned long long)servers[i].bytes_c2b, servers[i].id,
        (unsigned long long)servers[i].bytes_b2c);
  put(&o, "# HELP hopper_wakes_total Wake requests, by the farm's answer.\n"
          "# TYPE hopper_wakes_total counter\n");
  for (size_t i = 0; i < wakes_len; i++)
    put(&o, "hopper_wakes_total{result=\"%s\"} %llu\n", wakes[i].name,
        (unsigned long long)wakes[i].n);
  uv_mutex_unlock(&lock);
  put(&o, "# HELP hopper_starts_total Server starts, by outcome.\n"
          "# TYPE hopper_starts_total counter\nhopper_starts_total{outcome=\"ready\"} %llu\n"
          "hopper_starts_total{outcome=\"failed\"} %llu\n",
      (unsigned long long)atomic_load(&wake_ready_ok),
      (unsigned long long)atomic_load(&wake_ready_failed));
  put_hist(&o, "hopper_start_seconds", "From a wake to the server answering status.", 0,
           &wake_wait);
  put(&o, "# HELP hopper_api_fetches_total Route document fetches, by result.\n"
          "# TYPE hopper_api_fetches_total counter\n");
  for (int r = 0; r < HOP_FETCH_RESULTS; r++)
    put(&o, "hopper_api_fetches_total{result=\"%s\"} %llu\n", fetch_names[r],
        (unsigned long long)atomic_load(&fetches[r]));
  put(&o, "# HELP hopper_outbox_events Events waiting in the outbox.\n"
          "# TYPE hopper_outbox_events gauge\nhopper_outbox_events %llu\n"
          "# HELP hopper_outbox_dropped_total Events dropped at the outbox cap.\n"
          "# TYPE hopper_outbox_dropped_total counter\nhopper_outbox_dropped_total %llu\n",
      (unsigned long long)atomic_load(&outbox_depth),
      (unsigned long long)atomic_load(&outbox_dropped));
  put(&o, "# HELP hopper_bans Temporary IP bans in force (as last stored).\n"
          "# TYPE hopper_bans gauge\nhopper_bans %llu\n"
          "# HELP hopper_bans_total Temporary IP bans this process made.\n"
          "# TYPE hopper_bans_total counter\nhopper_bans_total %llu\n",
      (unsigned long long)atomic_load(&bans_active), (unsigned long long)atomic_load(&bans_made));
  if (o.oom) {
    free(o.p);
    return NULL;
  }
  *len = o.len;
  return o.p;
}
