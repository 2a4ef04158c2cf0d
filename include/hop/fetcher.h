/* The control-plane client's decisions, sans-IO: when src/shell/provider_api.c fetches
 * GET /v1/routes and how it paces start and stop calls, without libuv, curl or a clock. Events
 * and now_ms in, actions out; the caller carries the actions out in order. The shell and the
 * simulator drive the same code.
 *
 *   timer -> GET (If-None-Match once a document is loaded)
 *         -> 200 valid:   COUNT OK,           ARM refresh
 *         -> 200 invalid: COUNT REJECTED,     ARM refresh
 *         -> 304:         COUNT NOT_MODIFIED, ARM refresh
 *         -> else:        COUNT, LOG_FAILED,  ARM backoff (jitter)
 *   refresh is 1 s while a server is starting, refresh_ms otherwise; a GET that cannot be sent
 *   tries again in 1 s; SIGHUP fetches at once.
 *
 *   call -> CALL_SEND, ARM 1 s -> 2xx: CALL_DONE ok
 *                             -> 400, 404, or the last of call_tries: CALL_DONE failed
 *                             -> else CALL_LATER 500 << tries ms -> CALL_SEND ...
 *
 * One fetch is in flight at a time; a timer that fires during it does nothing (its answer arms
 * the next). The timer is one-shot and every ARM replaces the one before. */
#ifndef HOP_FETCHER_H
#define HOP_FETCHER_H

#include <stddef.h>
#include <stdint.h>

#include "hop/http.h"          /* struct hop_backoff */

#define HOP_FETCHER_ACTIONS_MAX 4

struct hop_fetcher_config {
  uint64_t refresh_ms;         /* api.refresh_s */
  uint64_t starting_refresh_ms;    /* while a server is starting, and after a call */
  uint64_t unsent_retry_ms;    /* a GET that could not be sent */
  uint32_t retry_base_ms;      /* backoff after a failed fetch */
  uint32_t retry_max_ms;
  uint32_t call_tries;         /* start and stop calls: tries in all */
  uint32_t call_retry_ms;      /* the wait before try n + 1 is call_retry_ms << n */
};

/* refresh 30 s (the caller sets its own), 1 s while starting and after an unsent GET, backoff
 * 1 s .. 60 s, calls tried 3 times, 500 ms << tries apart. */
void hop_fetcher_config_default(struct hop_fetcher_config *c);

enum hop_fetcher_count {       /* what a fetch came to (hop_metrics_fetch's kinds) */
  HOP_FETCHER_OK = 1,
  HOP_FETCHER_REJECTED,        /* 200, but the document did not parse or validate */
  HOP_FETCHER_NOT_MODIFIED,
  HOP_FETCHER_UNREACHABLE,     /* no answer */
  HOP_FETCHER_HTTP_ERROR,
};

struct hop_fetcher_call {      /* one start or stop call; the caller owns it (and its id, body) */
  int stop;
  uint32_t tries;              /* failed tries so far */
};

enum hop_fetcher_act {
  HOP_FETCHER_GET = 1,         /* send GET /v1/routes; conditional: with If-None-Match */
  HOP_FETCHER_ARM,             /* delay_ms: (re)arm the fetch timer; then hop_fetcher_on_timer */
  HOP_FETCHER_COUNT,           /* count: one fetch ended so */
  HOP_FETCHER_LOG_FAILED,      /* "routes_fetch_failed" (warn); status */
  HOP_FETCHER_CALL_SEND,       /* call: POST it now; answer hop_fetcher_on_called */
  HOP_FETCHER_CALL_LATER,      /* call, delay_ms: POST it again after the delay */
  HOP_FETCHER_CALL_DONE,       /* call, ok, status: "api_start"/"api_stop" (info, warn unless
                                * ok); the result goes to the farm; the call may be freed */
};

struct hop_fetcher_action {
  enum hop_fetcher_act kind;
  int status;
  int ok;
  int conditional;
  enum hop_fetcher_count count;
  uint64_t delay_ms;
  struct hop_fetcher_call *call;
};

struct hop_fetcher_out {
  struct hop_fetcher_action a[HOP_FETCHER_ACTIONS_MAX];
  size_t len;
};

struct hop_fetcher {
  struct hop_fetcher_config cfg;
  int fetching;                /* a GET is in flight */
  int stopping;
  struct hop_backoff backoff;
};

void hop_fetcher_init(struct hop_fetcher *f, const struct hop_fetcher_config *cfg);

/* The first fetch, after delay_ms. */
void hop_fetcher_start(struct hop_fetcher *f, uint64_t now_ms, uint64_t delay_ms,
                       struct hop_fetcher_out *out);

/* New settings (SIGHUP): refresh_ms changes, and the routes are fetched at once. */
void hop_fetcher_reload(struct hop_fetcher *f, uint64_t now_ms, uint64_t refresh_ms,
                        struct hop_fetcher_out *out);

/* The fetch timer fired; ready: a document is loaded (its ETag may be sent). */
void hop_fetcher_on_timer(struct hop_fetcher *f, uint64_t now_ms, int ready,
                          struct hop_fetcher_out *out);

/* The GET could not be started (out of memory): try again in unsent_retry_ms. */
void hop_fetcher_on_unsent(struct hop_fetcher *f, uint64_t now_ms, struct hop_fetcher_out *out);

/* Answers GET: the HTTP status (< 0: no answer); for a 200, valid says whether the caller
 * published the document (its ETag is then the one to send). starting: a server is starting now,
 * after the publish. random_u64 feeds the backoff's jitter. */
void hop_fetcher_on_fetched(struct hop_fetcher *f, uint64_t now_ms, int status, int valid,
                            int starting, uint64_t random_u64, struct hop_fetcher_out *out);

/* The farm asks for a start (stop = 0) or a stop: c is zeroed and sent; the routes are fetched
 * again soon, for the document says when the server is running. */
void hop_fetcher_call(struct hop_fetcher *f, uint64_t now_ms, struct hop_fetcher_call *c, int stop,
                      struct hop_fetcher_out *out);

/* Answers CALL_SEND with the HTTP status (< 0: no answer, or it could not be sent; unsent: it
 * could not be sent, and is not tried again). */
void hop_fetcher_on_called(struct hop_fetcher *f, uint64_t now_ms, struct hop_fetcher_call *c,
                           int status, int unsent, struct hop_fetcher_out *out);

/* Shutting down: nothing new starts; answers still in flight change nothing. */
void hop_fetcher_stop(struct hop_fetcher *f);

#endif
