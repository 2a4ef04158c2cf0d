/* The events outbox of one replica: the real pump (include/hop/pump.h, src/control/pump.c), the
 * one src/shell/outbox.c drives, over a simulated store and API. Events wait in memory, are
 * numbered "<replica>-<seq>" from reserved ids and appended in one store job (1 to 5 ms; SQLITE_BUSY
 * answers after the 5 s busy timeout), then peeked and sent in batches of at most BATCH_MAX to
 * POST /v1/events; rows are deleted only after a 2xx. Only the store and the API are modelled
 * here; every decision is the pump's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define BATCH_MAX 500          /* provider_api.c: ocfg.batch_max (config default) */
#define OUTBOX_CAP 100000      /* ocfg.cap (config default api.outbox_max) */
#define BUSY_TIMEOUT_MS 5000   /* SQLite's busy timeout: a busy append answers after it */
#define NO_TIMER UINT64_MAX
#define SIM_OUTBOX_DROPS_FAILED_APPEND 0   /* 1: outbox.c before its busy fix: batch dropped */

enum { STORE_APPEND, STORE_APPEND_AGAIN, STORE_IDS };

static void run(struct sim *s, struct sim_replica *r, const struct hop_pump_out *out);

static int push_pending(struct sim_replica *r, char *json)
{
  if (r->pending_len == r->pending_cap) {
    size_t cap = r->pending_cap ? r->pending_cap * 2 : 32;
    char **g = realloc(r->pending, cap * sizeof *g);

    if (!g)
      return -1;
    r->pending = g;
    r->pending_cap = cap;
  }
  r->pending[r->pending_len++] = json;
  return 0;
}

void sim_outbox_init(struct sim *s, struct sim_replica *r)
{
  struct hop_pump_config c;
  struct hop_pump_out out = { 0 };

  hop_pump_config_default(&c);
  c.cap = OUTBOX_CAP;
  c.batch_max = BATCH_MAX;
  hop_pump_init(&r->pump, &c);
  r->send_at_ms = NO_TIMER;
  hop_pump_start(&r->pump, s->now, &out);
  run(s, r, &out);
}

void sim_outbox_add(struct sim *s, struct sim_replica *r, const char *json)
{
  struct hop_pump_out out = { 0 };
  char *copy = strdup(json);

  if (!copy || push_pending(r, copy) < 0) {
    free(copy);
    sim_violation(s, "out of memory");
    return;
  }
  hop_pump_add(&r->pump, s->now, &out);
  run(s, r, &out);
}

/* ---- The simulated store ------------------------------------------------------------------ */

static int grow_rows(struct sim_outbox_row **rows, size_t *cap_io, size_t need)
{
  size_t cap = *cap_io ? *cap_io : 64;
  struct sim_outbox_row *g;

  if (need <= *cap_io)
    return 0;
  while (cap < need)
    cap *= 2;
  if (!(g = realloc(*rows, cap * sizeof *g)))
    return -1;
  *rows = g;
  *cap_io = cap;
  return 0;
}

/* APPEND: the n oldest queued events, numbered from seq, become the batch in hand. */
static void do_append(struct sim *s, struct sim_replica *r, size_t n, int64_t seq)
{
  if (n > r->pending_len || grow_rows(&r->batch, &r->batch_cap, n) < 0) {
    sim_violation(s, n > r->pending_len ? "outbox: append of more than is queued" :
                  "out of memory");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    struct sim_outbox_row *row = &r->batch[i];
    size_t len = strlen(r->pending[i]);

    row->seq = (uint64_t)seq + i;
    snprintf(row->id, sizeof row->id, "%s-%llu", r->name, (unsigned long long)row->seq);
    row->body = malloc(len + sizeof row->id + 16);
    if (row->body)             /* the id goes into the body, as the shell adds it */
      snprintf(row->body, len + sizeof row->id + 16, "%.*s,\"id\":\"%s\"}", (int)(len - 1),
               r->pending[i], row->id);
    row->created_ms = s->now;
    free(r->pending[i]);
  }
  memmove(r->pending, r->pending + n, (r->pending_len - n) * sizeof *r->pending);
  r->pending_len -= n;
  r->batch_len = n;
  r->next_seq = (uint64_t)seq + n - 1;
  sim_at(s, sim_rng_range(&s->rng, 1, 5), EV_OUTBOX_STORE, r->idx, STORE_APPEND, 0);
}

static void drop_batch(struct sim_replica *r)
{
  for (size_t i = 0; i < r->batch_len; i++)
    free(r->batch[i].body);
  r->batch_len = 0;
}

/* The append job ran on the store thread. SQLITE_BUSY past the busy timeout fails it. */
static void on_stored(struct sim *s, struct sim_replica *r)
{
  struct hop_pump_out out = { 0 };
  int status = 0;

  if (sim_rng_chance(&s->rng, sim_fault(s, s->sc->faults.sqlite_busy))) {
    sim_trace(s, "store_busy", r->idx, r->batch_len);
    /* the pump keeps the batch, ids and all, and appends it again; before the fix, on_appended
     * took busy for any failure: the batch was logged as failed and forgotten */
    status = SIM_OUTBOX_DROPS_FAILED_APPEND ? -EIO : -EBUSY;
  } else if (r->rows_len >= OUTBOX_CAP) {
    status = -ENOSPC;
  }
  if (status == 0) {
    if (grow_rows(&r->rows, &r->rows_cap, r->rows_len + r->batch_len) < 0) {
      sim_violation(s, "out of memory");
      return;
    }
    memcpy(r->rows + r->rows_len, r->batch, r->batch_len * sizeof *r->batch);
    r->rows_len += r->batch_len;
    r->batch_len = 0;
  } else if (status != -EBUSY) {
    drop_batch(r);
  }
  hop_pump_on_appended(&r->pump, s->now, status, r->rows_len, &out);
  run(s, r, &out);
}

static void on_ids(struct sim *s, struct sim_replica *r)
{
  struct hop_pump_out out = { 0 };
  uint64_t first = r->seq_reserved + 1;

  r->seq_reserved += r->ids_asked;
  hop_pump_on_reserved(&r->pump, s->now, 0, (int64_t)first, r->ids_asked, &out);
  run(s, r, &out);
}

/* PEEK and DELETE answer at once: the store thread is not the bottleneck modelled here. */
static void do_peek(struct sim *s, struct sim_replica *r, size_t max)
{
  struct hop_pump_out out = { 0 };
  size_t n = r->rows_len < max ? r->rows_len : max;

  hop_pump_on_peeked(&r->pump, s->now, 0, n, n ? (int64_t)r->rows[n - 1].seq : 0, r->rows_len,
                     &out);
  run(s, r, &out);
}

static void do_delete(struct sim *s, struct sim_replica *r, int64_t through)
{
  struct hop_pump_out out = { 0 };
  size_t n = 0;

  while (n < r->rows_len && (int64_t)r->rows[n].seq <= through)
    free(r->rows[n++].body);
  memmove(r->rows, r->rows + n, (r->rows_len - n) * sizeof *r->rows);
  r->rows_len -= n;
  hop_pump_on_deleted(&r->pump, s->now, r->rows_len, &out);
  run(s, r, &out);
}

/* ---- The pump's actions ------------------------------------------------------------------- */

static void run(struct sim *s, struct sim_replica *r, const struct hop_pump_out *out)
{
  for (size_t i = 0; i < out->len && !s->violation[0]; i++) {
    const struct hop_pump_action *a = &out->a[i];

    switch (a->kind) {
    case HOP_PUMP_RESERVE:
      r->ids_asked = a->n;
      sim_at(s, sim_rng_range(&s->rng, 1, 5), EV_OUTBOX_STORE, r->idx, STORE_IDS, 0);
      break;
    case HOP_PUMP_APPEND:
      do_append(s, r, (size_t)a->n, a->seq);
      break;
    case HOP_PUMP_APPEND_AGAIN:
      sim_at(s, BUSY_TIMEOUT_MS, EV_OUTBOX_STORE, r->idx, STORE_APPEND_AGAIN, 0);
      break;
    case HOP_PUMP_PEEK:
      do_peek(s, r, (size_t)a->n);
      break;
    case HOP_PUMP_POST:
      sim_api_post_events(s, r->idx, (size_t)a->n);
      break;
    case HOP_PUMP_DELETE:
      do_delete(s, r, a->seq);
      break;
    case HOP_PUMP_ARM:
      r->send_at_ms = s->now + a->delay_ms;
      sim_at(s, a->delay_ms, EV_OUTBOX_SEND, r->idx, 0, (int64_t)r->send_at_ms);
      break;
    case HOP_PUMP_LOG_FAILED:
    case HOP_PUMP_LOG_FULL:
      sim_trace(s, "outbox_dropped", r->idx, r->pump.dropped);
      break;
    case HOP_PUMP_LOG_BUSY:
    case HOP_PUMP_LOG_SEND_FAILED:
    case HOP_PUMP_METRICS:
      break;
    }
  }
}

void sim_outbox_on_event(struct sim *s, const struct sim_event *ev)
{
  struct sim_replica *r = &s->replicas[ev->a];
  struct hop_pump_out out = { 0 };

  switch (ev->kind) {
  case EV_OUTBOX_STORE:
    if (ev->b == STORE_IDS)
      on_ids(s, r);
    else
      on_stored(s, r);
    break;
  case EV_OUTBOX_SEND:
    if ((uint64_t)ev->c != r->send_at_ms)
      break;                   /* re-armed since: the timer moved */
    r->send_at_ms = NO_TIMER;
    hop_pump_on_timer(&r->pump, s->now, &out);
    run(s, r, &out);
    break;
  case EV_EVENTS_REPLY:
    hop_pump_on_posted(&r->pump, s->now, (int)ev->c, sim_rng_u64(&s->rng), &out);
    run(s, r, &out);
    break;
  default:
    break;
  }
}

int sim_outbox_idle(const struct sim_replica *r)
{
  return r->pending_len == 0 && r->batch_len == 0 && r->rows_len == 0;
}

void sim_outbox_free(struct sim_replica *r)
{
  for (size_t i = 0; i < r->pending_len; i++)
    free(r->pending[i]);
  for (size_t i = 0; i < r->rows_len; i++)
    free(r->rows[i].body);
  drop_batch(r);
  free(r->pending);
  free(r->rows);
  free(r->batch);
  r->pending = NULL;
  r->rows = NULL;
  r->batch = NULL;
  r->pending_len = r->rows_len = 0;
}
