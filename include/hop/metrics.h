/* Counters for /metrics. Labels are fixed enums and server ids only, never client-supplied names,
 * so a scanner cannot grow the series count. Writers are the worker and control loops; the admin
 * thread reads. Per-worker counters have one writer each (plain relaxed stores, no locked ops on
 * the data path); per-server counters take a short lock once per session. */
#ifndef HOP_METRICS_H
#define HOP_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hop/close.h"

#define HOP_HIST_BUCKETS 13    /* upper bounds in ms: 1 2 5 10 25 50 100 250 500 1000 2500 5000 +Inf */

struct hop_hist {
  _Atomic uint64_t bucket[HOP_HIST_BUCKETS];
  _Atomic uint64_t count;
  _Atomic uint64_t sum_us;
};

/* One per worker: only that worker writes it. */
struct hop_metrics_worker {
  _Atomic uint64_t accepted;
  _Atomic uint64_t closes[HOP_CLOSE_COUNT];
  struct hop_hist handshake;   /* accept -> routing decision */
  struct hop_hist connect;     /* backend resolve + connect */
};

/* Registers a worker's block (kept until exit); at most HOP_METRICS_WORKERS_MAX. */
struct hop_metrics_worker *hop_metrics_worker_new(void);

/* Single-writer increments. */
void hop_metrics_inc(_Atomic uint64_t *c);
void hop_hist_observe(struct hop_hist *h, uint64_t us);

/* Per server: live sessions and bytes, any thread. */
void hop_metrics_session_begin(const char *server_id);
void hop_metrics_session_end(const char *server_id, uint64_t bytes_c2b, uint64_t bytes_b2c);
uint64_t hop_metrics_server_live(const char *server_id);

/* Control plane, control loop only. */
enum hop_fetch_result { HOP_FETCH_OK, HOP_FETCH_NOT_MODIFIED, HOP_FETCH_REJECTED,
                        HOP_FETCH_HTTP_ERROR, HOP_FETCH_UNREACHABLE, HOP_FETCH_RESULTS };
void hop_metrics_fetch(enum hop_fetch_result r);
void hop_metrics_wake(const char *result);    /* "started", "joined", "refused_quota", ... */
void hop_metrics_wake_ready(uint64_t wait_ms, int ok);
void hop_metrics_outbox(uint64_t depth, uint64_t dropped);
void hop_metrics_bans(uint64_t active, uint64_t made);    /* stored bans in force; made here */

/* Readiness: a snapshot is loaded and we are not draining. */
void hop_metrics_set_ready(int ready);   /* ignored once draining */
void hop_metrics_set_draining(void);
int hop_metrics_ready(void);

/* Renders everything in the Prometheus text format into a malloc'd string (*len set).
 * NULL on allocation failure. */
char *hop_metrics_render(size_t *len);

#endif
