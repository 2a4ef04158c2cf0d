/* The events outbox pump (include/hop/pump.h): memory queue -> ids -> append -> peek -> POST ->
 * delete, and the backoff between failed POSTs. Pure: no libuv, no curl, no SQLite, no clock; the
 * caller brings now_ms and the randomness. src/shell/outbox.c and sim/outbox.c drive it. */
#include <errno.h>
#include <string.h>

#include "hop/pump.h"

static struct hop_pump_action *emit(struct hop_pump_out *out, enum hop_pump_act kind)
{
  struct hop_pump_action *a;

  if (out->len == HOP_PUMP_ACTIONS_MAX)   /* no path emits more; keep the last slot honest */
    out->len--;
  a = &out->a[out->len++];
  memset(a, 0, sizeof *a);
  a->kind = kind;
  return a;
}

void hop_pump_config_default(struct hop_pump_config *c)
{
  memset(c, 0, sizeof *c);
  c->ids_block = 256;
  c->retry_base_ms = 500;
  c->retry_max_ms = 30000;
}

void hop_pump_init(struct hop_pump *p, const struct hop_pump_config *cfg)
{
  memset(p, 0, sizeof *p);
  p->cfg = *cfg;
  p->timer_at_ms = HOP_PUMP_NO_TIMER;
  p->backoff.base_ms = cfg->retry_base_ms;
  p->backoff.max_ms = cfg->retry_max_ms;
}

/* ---- Into the store ----------------------------------------------------------------------- */

/* Numbers the queued events (reserving ids first when none are left), then appends them in one
 * job. */
static void store_pending(struct hop_pump *p, struct hop_pump_out *out)
{
  struct hop_pump_action *a;
  uint64_t n;

  if (p->storing || p->queued == 0 || p->closing)
    return;
  p->storing = 1;
  if (p->seq_left == 0) {
    emit(out, HOP_PUMP_RESERVE)->n = p->cfg.ids_block;
    return;
  }
  n = p->queued;
  if (n > p->seq_left)
    n = p->seq_left;
  if (n > p->cfg.ids_block)
    n = p->cfg.ids_block;
  a = emit(out, HOP_PUMP_APPEND);
  a->n = n;
  a->seq = p->next_seq;
  a->cap = p->cfg.cap;
  p->next_seq += (int64_t)n;
  p->seq_left -= n;
  p->queued -= n;
  p->appending = n;
}

/* Arms the send timer, unless a send is in flight or a backoff is running (new events do not cut
 * a backoff short: a failing API is not hammered). */
static void send_soon(struct hop_pump *p, uint64_t now_ms, uint64_t delay_ms,
                      struct hop_pump_out *out)
{
  if (p->sending || p->closing)
    return;
  if (delay_ms == 0 && p->timer_at_ms != HOP_PUMP_NO_TIMER && p->timer_at_ms > now_ms &&
      p->backoff.attempt > 0)
    return;
  p->timer_at_ms = now_ms + delay_ms;
  emit(out, HOP_PUMP_ARM)->delay_ms = delay_ms;
}

void hop_pump_start(struct hop_pump *p, uint64_t now_ms, struct hop_pump_out *out)
{
  send_soon(p, now_ms, 0, out);
}

void hop_pump_add(struct hop_pump *p, uint64_t now_ms, struct hop_pump_out *out)
{
  (void)now_ms;
  if (p->closing) {
    p->dropped++;
    return;
  }
  p->queued++;
  store_pending(p, out);
}

void hop_pump_lost(struct hop_pump *p, uint64_t n)
{
  p->dropped += n;
}

void hop_pump_append_short(struct hop_pump *p, uint64_t n)
{
  if (n > p->appending)
    n = p->appending;
  p->appending -= n;
  p->dropped += n;
}

void hop_pump_on_reserved(struct hop_pump *p, uint64_t now_ms, int status, int64_t first_seq,
                          uint64_t count, struct hop_pump_out *out)
{
  (void)now_ms;
  p->storing = 0;
  if (status == 0) {
    p->next_seq = first_seq;
    p->seq_left = count;
  } else {
    emit(out, HOP_PUMP_LOG_FAILED)->status = status;
  }
  if (p->seq_left)
    store_pending(p, out);
}

void hop_pump_on_appended(struct hop_pump *p, uint64_t now_ms, int status, uint64_t depth,
                          struct hop_pump_out *out)
{
  /* SQLite stayed locked past its busy timeout. These events are numbered and held nowhere
   * else, so the same batch goes again (append skips ids already in; the busy timeout paces
   * the retries). Dropping it lost join/leave events (found by sim/, docs/simulation.md). */
  if (status == -EBUSY && !p->closing) {
    emit(out, HOP_PUMP_LOG_BUSY);
    emit(out, HOP_PUMP_APPEND_AGAIN);
    return;
  }
  if (status == -ENOSPC) {
    p->dropped += p->appending;
    if (!p->full)              /* once per episode, not once per event */
      emit(out, HOP_PUMP_LOG_FULL);
    p->full = 1;
  } else if (status == 0) {
    p->full = 0;
  } else if (status < 0) {
    p->dropped += p->appending;   /* counted: a disk error must not lose events unseen */
    emit(out, HOP_PUMP_LOG_FAILED)->status = status;
  }
  p->appending = 0;
  p->depth = depth;
  emit(out, HOP_PUMP_METRICS);
  p->storing = 0;
  if (p->closing)
    return;
  store_pending(p, out);
  send_soon(p, now_ms, 0, out);
}

/* ---- Out to the API ----------------------------------------------------------------------- */

void hop_pump_on_timer(struct hop_pump *p, uint64_t now_ms, struct hop_pump_out *out)
{
  (void)now_ms;
  p->timer_at_ms = HOP_PUMP_NO_TIMER;
  if (p->sending || p->closing)
    return;
  p->sending = 1;
  emit(out, HOP_PUMP_PEEK)->n = p->cfg.batch_max;
}

void hop_pump_on_peeked(struct hop_pump *p, uint64_t now_ms, int status, uint64_t n,
                        int64_t through, uint64_t depth, struct hop_pump_out *out)
{
  struct hop_pump_action *a;

  (void)now_ms;
  p->depth = depth;
  if (p->closing || status < 0 || n == 0) {
    p->sending = 0;
    return;
  }
  p->through = through;
  a = emit(out, HOP_PUMP_POST);
  a->n = n;
  a->seq = through;
  a->timeout_ms = p->cfg.timeout_ms;
}

void hop_pump_on_posted(struct hop_pump *p, uint64_t now_ms, int status, uint64_t random_u64,
                        struct hop_pump_out *out)
{
  struct hop_pump_action *a;

  if (p->closing)
    return;
  if (status >= 200 && status < 300) {
    hop_backoff_reset(&p->backoff);
    emit(out, HOP_PUMP_DELETE)->seq = p->through;
    return;
  }
  a = emit(out, HOP_PUMP_LOG_SEND_FAILED);
  a->status = status;
  a->n = p->depth;
  p->sending = 0;
  send_soon(p, now_ms, hop_backoff_next(&p->backoff, random_u64), out);
}

void hop_pump_on_deleted(struct hop_pump *p, uint64_t now_ms, uint64_t depth,
                         struct hop_pump_out *out)
{
  p->depth = depth;
  emit(out, HOP_PUMP_METRICS);
  p->sending = 0;
  if (p->closing)
    return;
  if (p->depth)
    send_soon(p, now_ms, 0, out);   /* a backlog drains in order, batch after batch */
}

void hop_pump_on_unsent(struct hop_pump *p, uint64_t now_ms, uint64_t random_u64,
                        struct hop_pump_out *out)
{
  p->sending = 0;
  send_soon(p, now_ms, hop_backoff_next(&p->backoff, random_u64), out);
}

void hop_pump_close(struct hop_pump *p)
{
  p->dropped += p->queued;
  p->queued = 0;
  p->closing = 1;
}
