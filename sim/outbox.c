/* The events outbox of one replica, as src/shell/outbox.c runs it: events wait in memory, are
 * numbered "<replica>-<seq>" and appended to the store in one job, then sent in batches of at
 * most BATCH_MAX to POST /v1/events; rows go only after a 2xx, failures back off with the real
 * hop_backoff and the seeded jitter. The shell's pump is bound to libuv and the store thread, so
 * this file restates its rules over the virtual clock; keep the two in step (docs/simulation.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define BATCH_MAX 500          /* provider_api.c: ocfg.batch_max */
#define NO_TIMER UINT64_MAX
#define SIM_OUTBOX_DROPS_FAILED_APPEND 0   /* 1: outbox.c before its busy fix: batch dropped */

static void send_soon(struct sim *s, struct sim_replica *r, uint64_t delay_ms);

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

/* One store job at a time, as the shell has one in flight (o->storing). */
static void store_pending(struct sim *s, struct sim_replica *r)
{
  if (r->storing || r->pending_len == 0)
    return;
  r->storing = 1;
  sim_at(s, sim_rng_range(&s->rng, 1, 5), EV_OUTBOX_STORE, r->idx, 0, 0);
}

void sim_outbox_add(struct sim *s, struct sim_replica *r, const char *json)
{
  char *copy = strdup(json);

  if (!copy || push_pending(r, copy) < 0) {
    free(copy);
    sim_violation(s, "out of memory");
    return;
  }
  store_pending(s, r);
}

static int append_rows(struct sim *s, struct sim_replica *r)
{
  size_t n = r->pending_len;

  if (r->rows_len + n > r->rows_cap) {
    size_t cap = r->rows_cap ? r->rows_cap : 64;
    struct sim_outbox_row *g;

    while (cap < r->rows_len + n)
      cap *= 2;
    if (!(g = realloc(r->rows, cap * sizeof *g)))
      return -1;
    r->rows = g;
    r->rows_cap = cap;
  }
  for (size_t i = 0; i < n; i++) {
    struct sim_outbox_row *row = &r->rows[r->rows_len++];
    size_t len = strlen(r->pending[i]);

    snprintf(row->id, sizeof row->id, "%s-%llu", r->name, (unsigned long long)++r->next_seq);
    row->body = malloc(len + sizeof row->id + 16);
    if (row->body)             /* the id goes into the body, as the shell adds it */
      snprintf(row->body, len + sizeof row->id + 16, "%.*s,\"id\":\"%s\"}", (int)(len - 1),
               r->pending[i], row->id);
    row->created_ms = s->now;
    free(r->pending[i]);
  }
  r->pending_len = 0;
  return 0;
}

/* The append job ran on the store thread. SQLITE_BUSY past the busy timeout fails it. */
static void on_stored(struct sim *s, struct sim_replica *r)
{
  r->storing = 0;
  if (sim_rng_chance(&s->rng, sim_fault(s, s->sc->faults.sqlite_busy))) {
    sim_trace(s, "store_busy", r->idx, r->pending_len);
#if SIM_OUTBOX_DROPS_FAILED_APPEND
    /* as on_appended did: the batch was numbered, logged as failed and forgotten */
    for (size_t i = 0; i < r->pending_len; i++)
      free(r->pending[i]);
    r->next_seq += r->pending_len;
    r->pending_len = 0;
#else
    /* the batch stays queued, ids and all, and the append is tried again */
    sim_at(s, 5000, EV_OUTBOX_STORE, r->idx, 1, 0);
    r->storing = 1;
#endif
    return;
  }
  if (append_rows(s, r) < 0) {
    sim_violation(s, "out of memory");
    return;
  }
  send_soon(s, r, 0);
  store_pending(s, r);
}

static void on_send_timer(struct sim *s, struct sim_replica *r)
{
  size_t n = r->rows_len < BATCH_MAX ? r->rows_len : BATCH_MAX;

  r->send_at_ms = NO_TIMER;
  if (r->sending || n == 0)
    return;
  r->sending = 1;
  r->sending_n = n;
  sim_api_post_events(s, r->idx, n);
}

static void on_posted(struct sim *s, struct sim_replica *r, int status)
{
  r->sending = 0;
  if (status >= 200 && status < 300) {
    for (size_t i = 0; i < r->sending_n; i++)
      free(r->rows[i].body);
    memmove(r->rows, r->rows + r->sending_n, (r->rows_len - r->sending_n) * sizeof *r->rows);
    r->rows_len -= r->sending_n;
    hop_backoff_reset(&r->outbox_backoff);
    if (r->rows_len)
      send_soon(s, r, 0);      /* a backlog drains in order, batch after batch */
    return;
  }
  send_soon(s, r, hop_backoff_next(&r->outbox_backoff, sim_rng_u64(&s->rng)));
}

/* outbox.c's send_soon: while backing off, new events do not cut the wait short. */
static void send_soon(struct sim *s, struct sim_replica *r, uint64_t delay_ms)
{
  if (r->sending)
    return;
  if (delay_ms == 0 && r->send_at_ms != NO_TIMER && r->send_at_ms > s->now &&
      r->outbox_backoff.attempt > 0)
    return;
  r->send_at_ms = s->now + delay_ms;
  sim_at(s, delay_ms, EV_OUTBOX_SEND, r->idx, 0, (int64_t)r->send_at_ms);
}

void sim_outbox_on_event(struct sim *s, const struct sim_event *ev)
{
  struct sim_replica *r = &s->replicas[ev->a];

  switch (ev->kind) {
  case EV_OUTBOX_STORE:
    on_stored(s, r);
    break;
  case EV_OUTBOX_SEND:
    if ((uint64_t)ev->c == r->send_at_ms)
      on_send_timer(s, r);
    break;
  case EV_EVENTS_REPLY:
    on_posted(s, r, (int)ev->c);
    break;
  default:
    break;
  }
}

void sim_outbox_free(struct sim_replica *r)
{
  for (size_t i = 0; i < r->pending_len; i++)
    free(r->pending[i]);
  for (size_t i = 0; i < r->rows_len; i++)
    free(r->rows[i].body);
  free(r->pending);
  free(r->rows);
  r->pending = NULL;
  r->rows = NULL;
  r->pending_len = r->rows_len = 0;
}
