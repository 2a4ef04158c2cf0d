/* The outbox pump: memory queue -> store (ids reserved, rows appended) -> batches to the API. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/fault.h"
#include "hop/http.h"
#include "hop/log.h"
#include "hop/metrics.h"
#include "hop/store.h"
#include "outbox.h"

#define IDS_BLOCK      256     /* sequence numbers reserved per store round trip */
#define RETRY_BASE_MS  500
#define RETRY_MAX_MS   30000

struct pending {
  struct pending *next;
  char *json;
};

struct hop_outbox {
  uv_loop_t *loop;
  struct hop_store *store;
  struct hop_http *http;
  char *url, *token;
  uint64_t cap;
  uint32_t batch_max;
  uint32_t timeout_ms;
  struct pending *head, *tail;         /* events not yet in the store */
  char replica[33];
  uint64_t next_seq, seq_left;         /* reserved and unused */
  int storing;                         /* an ids or append job is in flight */
  int sending;                         /* a peek or POST or delete is in flight */
  uint64_t depth;
  uint64_t dropped;
  int full;                            /* the last append hit the cap */
  struct hop_backoff backoff;
  uint64_t rng;
  uv_timer_t timer;                    /* the next send */
  int closing;
  int timer_closed;
  int jobs;                            /* store jobs and requests in flight */
};

struct ids_job { struct hop_store_ids x; struct hop_outbox *o; };
struct box_job { struct hop_store_outbox x; struct hop_outbox *o; };

static void store_pending(struct hop_outbox *o);
static void send_soon(struct hop_outbox *o, uint64_t delay_ms);

/* A job or request ended (its own memory already released). Returns 1 while closing: the caller
 * must not touch `o` again (it may be gone). */
static int finish_job(struct hop_outbox *o)
{
  o->jobs--;
  if (!o->closing)
    return 0;
  if (o->jobs == 0 && o->timer_closed)
    free(o);
  return 1;
}

/* ---- Into the store ----------------------------------------------------------------------- */

static void on_appended(struct hop_store_job *job)
{
  struct box_job *j = (struct box_job *)job;
  struct hop_outbox *o = j->o;

  if (job->status == 0 && HOP_FAULT(0.02))
    job->status = UV_EBUSY;    /* as if locked past the busy timeout (append is idempotent) */
  /* SQLite stayed locked past its busy timeout. These events are numbered and held nowhere
   * else, so the same batch goes again (append skips ids already in; the busy timeout paces
   * the retries). Dropping it lost join/leave events (found by sim/, docs/simulation.md). */
  if (job->status == UV_EBUSY && !o->closing) {
    hop_log_msg(HOP_LOG_WARN, "outbox_busy", job->err);
    if (hop_store_submit(o->store, &j->x.job) == 0)
      return;
  }
  if (job->status == -ENOSPC) {
    o->dropped += j->x.events_len;
    if (!o->full)              /* once per episode, not once per event */
      hop_log_msg(HOP_LOG_ERROR, "outbox_full", "events dropped: the control plane is "
                  "unreachable and the outbox reached its cap");
    o->full = 1;
  } else if (job->status == 0) {
    o->full = 0;
  } else if (job->status < 0) {
    o->dropped += j->x.events_len;   /* counted: a disk error must not lose events unseen */
    hop_log_msg(HOP_LOG_ERROR, "outbox_failed", job->err);
  }
  o->depth = j->x.depth;
  hop_metrics_outbox(o->depth, o->dropped);
  hop_store_outbox_clear(&j->x);
  free(j);
  o->storing = 0;
  if (finish_job(o))
    return;
  store_pending(o);
  send_soon(o, 0);
}

static void on_ids(struct hop_store_job *job)
{
  struct ids_job *j = (struct ids_job *)job;
  struct hop_outbox *o = j->o;

  if (job->status == 0) {
    snprintf(o->replica, sizeof o->replica, "%s", j->x.replica_id);
    o->next_seq = j->x.first_seq;
    o->seq_left = j->x.count;
  } else {
    hop_log_msg(HOP_LOG_ERROR, "outbox_failed", job->err);
  }
  free(j);
  o->storing = 0;
  if (finish_job(o))
    return;
  if (o->seq_left)
    store_pending(o);
}

/* Numbers the queued events, then appends them in one transaction. */
static void store_pending(struct hop_outbox *o)
{
  struct hop_store_event ev[IDS_BLOCK];
  char ids[IDS_BLOCK][64];
  struct box_job *j;
  size_t n = 0;

  if (o->storing || !o->head || o->closing)
    return;
  if (o->seq_left == 0) {
    struct ids_job *ij = calloc(1, sizeof *ij);

    if (!ij)
      return;
    ij->o = o;
    hop_store_ids_prepare(&ij->x, IDS_BLOCK);
    ij->x.job.done = on_ids;
    o->storing = 1;
    o->jobs++;
    if (hop_store_submit(o->store, &ij->x.job) < 0) {
      o->storing = 0;
      o->jobs--;
      free(ij);
    }
    return;
  }
  while (o->head && n < o->seq_left && n < IDS_BLOCK) {
    struct pending *pe = o->head;
    cJSON *obj = cJSON_Parse(pe->json);

    snprintf(ids[n], sizeof ids[n], "%s-%llu", o->replica, (unsigned long long)o->next_seq++);
    cJSON_AddStringToObject(obj, "id", ids[n]);
    cJSON_AddStringToObject(obj, "replica", o->replica);
    ev[n].event_id = ids[n];
    ev[n].body = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    o->head = pe->next;
    free(pe->json);
    free(pe);
    if (ev[n].body)
      n++;
  }
  if (!o->head)
    o->tail = NULL;
  o->seq_left -= n;
  j = calloc(1, sizeof *j);
  if (j && hop_store_outbox_prepare_append(&j->x, ev, n, o->cap) == 0) {
    j->o = o;
    j->x.job.done = on_appended;
    o->storing = 1;
    o->jobs++;
    if (hop_store_submit(o->store, &j->x.job) < 0) {
      o->storing = 0;
      o->jobs--;
      hop_store_outbox_clear(&j->x);
      free(j);
    }
  } else {
    free(j);
  }
  for (size_t i = 0; i < n; i++)
    free(ev[i].body);
}

void hop_outbox_add(struct hop_outbox *o, const char *json)
{
  struct pending *pe = calloc(1, sizeof *pe);

  if (!pe || !(pe->json = strdup(json))) {
    free(pe);
    o->dropped++;
    return;
  }
  if (o->tail)
    o->tail->next = pe;
  else
    o->head = pe;
  o->tail = pe;
  store_pending(o);
}

/* ---- Out to the API ----------------------------------------------------------------------- */

static void on_deleted(struct hop_store_job *job)
{
  struct box_job *j = (struct box_job *)job;
  struct hop_outbox *o = j->o;

  o->depth = j->x.depth;
  hop_metrics_outbox(o->depth, o->dropped);
  hop_store_outbox_clear(&j->x);
  free(j);
  o->sending = 0;
  if (finish_job(o))
    return;
  if (o->depth)
    send_soon(o, 0);           /* a backlog drains in order, batch after batch */
}

struct post_ctx {
  struct hop_outbox *o;
  int64_t through;
};

static void on_posted(void *arg, const struct hop_http_response *res)
{
  struct post_ctx *pc = arg;
  struct hop_outbox *o = pc->o;
  int64_t through = pc->through;
  struct box_job *j;

  free(pc);
  pc = NULL;
  if (finish_job(o))
    return;
  if (res->status >= 200 && res->status < 300 && (j = calloc(1, sizeof *j))) {
    j->o = o;
    hop_store_outbox_prepare_delete(&j->x, through);
    j->x.job.done = on_deleted;
    o->jobs++;
    hop_backoff_reset(&o->backoff);
    if (hop_store_submit(o->store, &j->x.job) == 0)
      return;
    o->jobs--;
    free(j);
  } else {
    struct hop_logline l;

    if (hop_log_begin(&l, HOP_LOG_WARN, "events_send_failed")) {
      hop_log_int(&l, "status", res->status);
      hop_log_str(&l, "err", res->status < 0 ? res->error : NULL);
      hop_log_int(&l, "outbox", (int64_t)o->depth);
      hop_log_end(&l);
    }
  }
  o->sending = 0;
  o->rng = o->rng * 6364136223846793005ull + 1442695040888963407ull;
  send_soon(o, hop_backoff_next(&o->backoff, o->rng));
}

static void on_peeked(struct hop_store_job *job)
{
  struct box_job *j = (struct box_job *)job;
  struct hop_outbox *o = j->o;
  struct hop_http_request req = { 0 };
  struct post_ctx *pc;
  size_t len = 32;
  char *body;

  o->depth = j->x.depth;
  if (o->closing || job->status < 0 || j->x.events_len == 0) {
    hop_store_outbox_clear(&j->x);
    free(j);
    if (!finish_job(o))
      o->sending = 0;
    return;
  }
  o->jobs--;
  for (size_t i = 0; i < j->x.events_len; i++)
    len += strlen(j->x.events[i].body) + 1;
  body = malloc(len);
  pc = calloc(1, sizeof *pc);
  if (body && pc) {
    size_t pos = (size_t)sprintf(body, "{\"events\":[");

    for (size_t i = 0; i < j->x.events_len; i++)
      pos += (size_t)sprintf(body + pos, "%s%s", i ? "," : "", j->x.events[i].body);
    sprintf(body + pos, "]}");
    pc->o = o;
    pc->through = j->x.seqs[j->x.events_len - 1];
    req.method = "POST";
    req.url = o->url;
    req.bearer = o->token;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = o->timeout_ms;
    req.response_bytes_max = 1 << 20;
    o->jobs++;
    if (hop_http_send(o->http, &req, on_posted, pc) < 0) {
      o->jobs--;
      free(pc);
      pc = NULL;
    }
  }
  free(body);
  hop_store_outbox_clear(&j->x);
  free(j);
  if (!pc) {
    o->sending = 0;
    send_soon(o, RETRY_BASE_MS);
  }
}

static void on_send_timer(uv_timer_t *t)
{
  struct hop_outbox *o = t->data;
  struct box_job *j;

  if (o->sending || o->closing || !(j = calloc(1, sizeof *j)))
    return;
  j->o = o;
  hop_store_outbox_prepare_peek(&j->x, o->batch_max);
  j->x.job.done = on_peeked;
  o->sending = 1;
  o->jobs++;
  if (hop_store_submit(o->store, &j->x.job) < 0) {
    o->sending = 0;
    o->jobs--;
    free(j);
  }
}

static void send_soon(struct hop_outbox *o, uint64_t delay_ms)
{
  if (o->sending || o->closing)
    return;
  if (delay_ms == 0 && uv_is_active((uv_handle_t *)&o->timer) &&
      uv_timer_get_due_in(&o->timer) > 0 && o->backoff.attempt > 0)
    return;                    /* backing off: do not hammer a failing API */
  uv_timer_start(&o->timer, on_send_timer, delay_ms, 0);
}

/* ---- Life --------------------------------------------------------------------------------- */

int hop_outbox_new(uv_loop_t *loop, struct hop_store *store, struct hop_http *http,
                   const struct hop_outbox_config *cfg, struct hop_outbox **out)
{
  struct hop_outbox *o = calloc(1, sizeof *o);

  if (!o || !(o->url = strdup(cfg->events_url)) || (cfg->token && !(o->token = strdup(cfg->token)))) {
    if (o)
      free(o->url);
    free(o);
    return -ENOMEM;
  }
  o->loop = loop;
  o->store = store;
  o->http = http;
  o->cap = cfg->cap;
  o->batch_max = cfg->batch_max;
  o->timeout_ms = cfg->timeout_ms;
  o->backoff.base_ms = RETRY_BASE_MS;
  o->backoff.max_ms = RETRY_MAX_MS;
  o->rng = (uint64_t)uv_hrtime();
  uv_timer_init(loop, &o->timer);
  o->timer.data = o;
  send_soon(o, 0);             /* a backlog from before a restart goes out first */
  *out = o;
  return 0;
}

uint64_t hop_outbox_depth(const struct hop_outbox *o)
{
  return o->depth;
}

static void on_timer_closed(uv_handle_t *h)
{
  struct hop_outbox *o = h->data;

  o->timer_closed = 1;
  if (o->jobs == 0)
    free(o);
}

void hop_outbox_free(struct hop_outbox *o)
{
  while (o->head) {
    struct pending *pe = o->head;

    o->head = pe->next;
    free(pe->json);
    free(pe);
    o->dropped++;
  }
  free(o->url);
  free(o->token);
  o->closing = 1;
  uv_close((uv_handle_t *)&o->timer, on_timer_closed);
}
