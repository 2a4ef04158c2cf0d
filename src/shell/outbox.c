/* The outbox shell: carries out the pure pump's actions (include/hop/pump.h, src/control/pump.c)
 * with the store thread's jobs, the HTTP client and one libuv timer, and keeps the event payloads
 * (the memory queue, then the batch in hand). The decisions live in the pump. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/fault.h"
#include "hop/http.h"
#include "hop/log.h"
#include "hop/metrics.h"
#include "hop/pump.h"
#include "hop/store.h"
#include "outbox.h"

_Static_assert(UV_EBUSY == -EBUSY, "the pump's busy code is -EBUSY");
_Static_assert(UV_ENOSPC == -ENOSPC, "the pump's cap code is -ENOSPC");

struct pending {
  struct pending *next;
  char *json;
};

struct hop_outbox {
  uv_loop_t *loop;
  struct hop_store *store;
  struct hop_http *http;
  char *url, *token;
  struct pending *head, *tail;         /* events not yet numbered (the pump's `queued`) */
  char replica[33];
  struct hop_pump pump;
  uint64_t rng;
  uv_timer_t timer;                    /* the next send */
  int closing;
  int timer_closed;
  int jobs;                            /* store jobs and requests in flight */
};

struct ids_job { struct hop_store_ids x; struct hop_outbox *o; };
struct box_job { struct hop_store_outbox x; struct hop_outbox *o; };

/* What an answer brought along: the job whose batch or rows the actions may use, and the error
 * text for the log. */
struct in_hand {
  struct box_job *job;
  int kept;                            /* the job was submitted again: do not free it */
  const char *err;
};

static void run(struct hop_outbox *o, struct hop_pump_out *out, struct in_hand *h);
static void on_send_timer(uv_timer_t *t);

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

static uint64_t next_random(struct hop_outbox *o)
{
  o->rng = o->rng * 6364136223846793005ull + 1442695040888963407ull;
  return o->rng;
}

/* ---- Store answers ------------------------------------------------------------------------ */

static void on_ids(struct hop_store_job *job)
{
  struct ids_job *j = (struct ids_job *)job;
  struct hop_outbox *o = j->o;
  struct hop_pump_out out = { 0 };
  struct in_hand h = { NULL, 0, job->err };

  if (job->status == 0)
    snprintf(o->replica, sizeof o->replica, "%s", j->x.replica_id);
  hop_pump_on_reserved(&o->pump, uv_now(o->loop), job->status, (int64_t)j->x.first_seq,
                       j->x.count, &out);
  run(o, &out, &h);
  free(j);
  finish_job(o);
}

static void on_appended(struct hop_store_job *job)
{
  struct box_job *j = (struct box_job *)job;
  struct hop_outbox *o = j->o;
  struct hop_pump_out out = { 0 };
  struct in_hand h = { j, 0, job->err };

  if (job->status == 0 && HOP_FAULT(0.02))
    job->status = UV_EBUSY;    /* as if locked past the busy timeout (append is idempotent) */
  hop_pump_on_appended(&o->pump, uv_now(o->loop), job->status, j->x.depth, &out);
  run(o, &out, &h);
  if (h.kept)
    return;
  hop_store_outbox_clear(&j->x);
  free(j);
  finish_job(o);
}

static void on_peeked(struct hop_store_job *job)
{
  struct box_job *j = (struct box_job *)job;
  struct hop_outbox *o = j->o;
  struct hop_pump_out out = { 0 };
  struct in_hand h = { j, 0, job->err };
  size_t n = job->status < 0 ? 0 : j->x.events_len;

  hop_pump_on_peeked(&o->pump, uv_now(o->loop), job->status, n, n ? j->x.seqs[n - 1] : 0,
                     j->x.depth, &out);
  run(o, &out, &h);
  hop_store_outbox_clear(&j->x);
  free(j);
  finish_job(o);
}

static void on_deleted(struct hop_store_job *job)
{
  struct box_job *j = (struct box_job *)job;
  struct hop_outbox *o = j->o;
  struct hop_pump_out out = { 0 };
  struct in_hand h = { NULL, 0, job->err };

  hop_pump_on_deleted(&o->pump, uv_now(o->loop), j->x.depth, &out);
  run(o, &out, &h);
  hop_store_outbox_clear(&j->x);
  free(j);
  finish_job(o);
}

struct post_ctx {
  struct hop_outbox *o;
};

static void on_posted(void *arg, const struct hop_http_response *res)
{
  struct post_ctx *pc = arg;
  struct hop_outbox *o = pc->o;
  struct hop_pump_out out = { 0 };
  struct in_hand h = { NULL, 0, res->status < 0 ? res->error : NULL };

  free(pc);
  if (finish_job(o))
    return;
  hop_pump_on_posted(&o->pump, uv_now(o->loop), res->status, next_random(o), &out);
  run(o, &out, &h);
}

/* ---- Actions ------------------------------------------------------------------------------ */

/* Submits a store job counted in `jobs`; returns 0 or the submit's error (job not counted). */
static int submit(struct hop_outbox *o, struct hop_store_job *job)
{
  int rc;

  o->jobs++;
  if ((rc = hop_store_submit(o->store, job)) < 0)
    o->jobs--;
  return rc;
}

static void do_reserve(struct hop_outbox *o, uint64_t count)
{
  struct ids_job *j = calloc(1, sizeof *j);
  struct hop_pump_out out = { 0 };
  struct in_hand h = { NULL, 0, "outbox: ids job not submitted" };

  if (j) {
    j->o = o;
    hop_store_ids_prepare(&j->x, (uint32_t)count);
    j->x.job.done = on_ids;
    if (submit(o, &j->x.job) == 0)
      return;
  }
  free(j);
  hop_pump_on_reserved(&o->pump, uv_now(o->loop), -ENOMEM, 0, 0, &out);
  run(o, &out, &h);
}

/* Numbers the `n` oldest queued events from `seq` (id and replica go into each body), then
 * appends them in one transaction. */
static void do_append(struct hop_outbox *o, uint64_t n_max, int64_t seq, uint64_t cap)
{
  struct hop_store_event *ev = calloc(n_max ? n_max : 1, sizeof *ev);
  char (*ids)[64] = calloc(n_max ? n_max : 1, sizeof *ids);
  struct hop_pump_out out = { 0 };
  struct in_hand h = { NULL, 0, "outbox: append job not submitted" };
  struct box_job *j = NULL;
  size_t n = 0;

  for (uint64_t k = 0; k < n_max && o->head; k++) {
    struct pending *pe = o->head;
    cJSON *obj = ev && ids ? cJSON_Parse(pe->json) : NULL;
    char id[64];

    snprintf(id, sizeof id, "%s-%llu", o->replica, (unsigned long long)seq++);
    o->head = pe->next;
    free(pe->json);
    free(pe);
    if (obj) {
      cJSON_AddStringToObject(obj, "id", id);
      cJSON_AddStringToObject(obj, "replica", o->replica);
      memcpy(ids[n], id, sizeof id);
      ev[n].event_id = ids[n];
      ev[n].body = cJSON_PrintUnformatted(obj);
      cJSON_Delete(obj);
    }
    if (obj && ev[n].body)
      n++;
  }
  hop_pump_append_short(&o->pump, n_max - n);   /* not encoded: counted once, here */
  if (!o->head)
    o->tail = NULL;
  if (ev && ids && (j = calloc(1, sizeof *j)) &&
      hop_store_outbox_prepare_append(&j->x, ev, n, cap) == 0) {
    j->o = o;
    j->x.job.done = on_appended;
    if (submit(o, &j->x.job) < 0) {
      hop_store_outbox_clear(&j->x);
      free(j);
      j = NULL;
    }
  } else {
    free(j);
    j = NULL;
  }
  for (size_t i = 0; i < n; i++)
    free(ev[i].body);
  free(ev);
  free(ids);
  if (!j) {
    hop_pump_on_appended(&o->pump, uv_now(o->loop), -ENOMEM, o->pump.depth, &out);
    run(o, &out, &h);
  }
}

static void do_append_again(struct hop_outbox *o, struct in_hand *h)
{
  struct hop_pump_out out = { 0 };
  int rc = hop_store_submit(o->store, &h->job->x.job);

  if (rc == 0) {
    h->kept = 1;               /* still counted in `jobs` */
    return;
  }
  hop_pump_on_appended(&o->pump, uv_now(o->loop), rc == -EBUSY ? -EIO : rc, o->pump.depth,
                       &out);
  run(o, &out, h);
}

static void do_peek(struct hop_outbox *o, uint64_t max)
{
  struct box_job *j = calloc(1, sizeof *j);
  struct hop_pump_out out = { 0 };

  if (j) {
    j->o = o;
    hop_store_outbox_prepare_peek(&j->x, max);
    j->x.job.done = on_peeked;
    if (submit(o, &j->x.job) == 0)
      return;
  }
  free(j);
  hop_pump_on_unsent(&o->pump, uv_now(o->loop), next_random(o), &out);
  run(o, &out, NULL);
}

/* POSTs the peeked rows in hand as {"events":[...]}. */
static void do_post(struct hop_outbox *o, const struct hop_store_outbox *x, size_t n,
                    uint32_t timeout_ms)
{
  struct hop_http_request req = { 0 };
  struct hop_pump_out out = { 0 };
  struct post_ctx *pc = calloc(1, sizeof *pc);
  size_t len = 32;
  char *body;

  for (size_t i = 0; i < n; i++)
    len += strlen(x->events[i].body) + 1;
  body = malloc(len);
  if (body && pc) {
    size_t pos = (size_t)sprintf(body, "{\"events\":[");

    for (size_t i = 0; i < n; i++)
      pos += (size_t)sprintf(body + pos, "%s%s", i ? "," : "", x->events[i].body);
    sprintf(body + pos, "]}");
    pc->o = o;
    req.method = "POST";
    req.url = o->url;
    req.bearer = o->token;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = timeout_ms;
    req.response_bytes_max = 1 << 20;
    o->jobs++;
    if (hop_http_send(o->http, &req, on_posted, pc) == 0) {
      free(body);
      return;
    }
    o->jobs--;
  }
  free(pc);
  free(body);
  hop_pump_on_unsent(&o->pump, uv_now(o->loop), next_random(o), &out);
  run(o, &out, NULL);
}

static void do_delete(struct hop_outbox *o, int64_t through)
{
  struct box_job *j = calloc(1, sizeof *j);
  struct hop_pump_out out = { 0 };

  if (j) {
    j->o = o;
    hop_store_outbox_prepare_delete(&j->x, through);
    j->x.job.done = on_deleted;
    if (submit(o, &j->x.job) == 0)
      return;
  }
  free(j);
  hop_pump_on_unsent(&o->pump, uv_now(o->loop), next_random(o), &out);
  run(o, &out, NULL);
}

/* Carries out the pump's actions in order. `h` is what the answer brought (may be NULL). */
static void run(struct hop_outbox *o, struct hop_pump_out *out, struct in_hand *h)
{
  for (size_t i = 0; i < out->len; i++) {
    const struct hop_pump_action *a = &out->a[i];
    const char *err = h ? h->err : NULL;
    struct hop_logline l;

    switch (a->kind) {
    case HOP_PUMP_RESERVE:
      do_reserve(o, a->n);
      break;
    case HOP_PUMP_APPEND:
      do_append(o, a->n, a->seq, a->cap);
      break;
    case HOP_PUMP_APPEND_AGAIN:
      if (h && h->job)
        do_append_again(o, h);
      break;
    case HOP_PUMP_PEEK:
      do_peek(o, a->n);
      break;
    case HOP_PUMP_POST:
      if (h && h->job)
        do_post(o, &h->job->x, (size_t)a->n, a->timeout_ms);
      break;
    case HOP_PUMP_DELETE:
      do_delete(o, a->seq);
      break;
    case HOP_PUMP_ARM:
      uv_timer_start(&o->timer, on_send_timer, a->delay_ms, 0);
      break;
    case HOP_PUMP_LOG_BUSY:
      hop_log_msg(HOP_LOG_WARN, "outbox_busy", err);
      break;
    case HOP_PUMP_LOG_FULL:
      hop_log_msg(HOP_LOG_ERROR, "outbox_full", "events dropped: the control plane is "
                  "unreachable and the outbox reached its cap");
      break;
    case HOP_PUMP_LOG_FAILED:
      hop_log_msg(HOP_LOG_ERROR, "outbox_failed", err);
      break;
    case HOP_PUMP_LOG_SEND_FAILED:
      if (hop_log_begin(&l, HOP_LOG_WARN, "events_send_failed")) {
        hop_log_int(&l, "status", a->status);
        hop_log_str(&l, "err", a->status < 0 ? err : NULL);
        hop_log_int(&l, "outbox", (int64_t)a->n);
        hop_log_end(&l);
      }
      break;
    case HOP_PUMP_METRICS:
      hop_metrics_outbox(o->pump.depth, o->pump.dropped);
      break;
    }
  }
}

static void on_send_timer(uv_timer_t *t)
{
  struct hop_outbox *o = t->data;
  struct hop_pump_out out = { 0 };

  hop_pump_on_timer(&o->pump, uv_now(o->loop), &out);
  run(o, &out, NULL);
}

/* ---- Life --------------------------------------------------------------------------------- */

void hop_outbox_add(struct hop_outbox *o, const char *json)
{
  struct pending *pe = calloc(1, sizeof *pe);
  struct hop_pump_out out = { 0 };

  if (!pe || !(pe->json = strdup(json))) {
    free(pe);
    hop_pump_lost(&o->pump, 1);
    return;
  }
  if (o->tail)
    o->tail->next = pe;
  else
    o->head = pe;
  o->tail = pe;
  hop_pump_add(&o->pump, uv_now(o->loop), &out);
  run(o, &out, NULL);
}

int hop_outbox_new(uv_loop_t *loop, struct hop_store *store, struct hop_http *http,
                   const struct hop_outbox_config *cfg, struct hop_outbox **out)
{
  struct hop_outbox *o = calloc(1, sizeof *o);
  struct hop_pump_config pc;
  struct hop_pump_out acts = { 0 };

  if (!o || !(o->url = strdup(cfg->events_url)) || (cfg->token && !(o->token = strdup(cfg->token)))) {
    if (o)
      free(o->url);
    free(o);
    return -ENOMEM;
  }
  o->loop = loop;
  o->store = store;
  o->http = http;
  hop_pump_config_default(&pc);
  pc.cap = cfg->cap;
  pc.batch_max = cfg->batch_max;
  pc.timeout_ms = cfg->timeout_ms;
  hop_pump_init(&o->pump, &pc);
  o->rng = (uint64_t)uv_hrtime();
  uv_timer_init(loop, &o->timer);
  o->timer.data = o;
  hop_pump_start(&o->pump, uv_now(loop), &acts);   /* a backlog from before a restart first */
  run(o, &acts, NULL);
  *out = o;
  return 0;
}

uint64_t hop_outbox_depth(const struct hop_outbox *o)
{
  return o->pump.depth;
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
  }
  o->tail = NULL;
  hop_pump_close(&o->pump);    /* the queue is counted as dropped */
  free(o->url);
  free(o->token);
  o->closing = 1;
  uv_close((uv_handle_t *)&o->timer, on_timer_closed);
}
