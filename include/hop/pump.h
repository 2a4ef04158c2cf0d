/* The events outbox pump, sans-IO: what src/shell/outbox.c decides, without libuv, curl, SQLite
 * or a clock. Events and now_ms in, actions out; the caller carries the actions out in order and
 * answers each store job or request with the matching hop_pump_on_*. The shell and the simulator
 * drive the same code.
 *
 *   add -> [RESERVE ids] -> APPEND n (numbered first_seq..) -> store
 *            busy -> APPEND_AGAIN (same batch) | cap -> drop, count, LOG_FULL once per episode
 *                                             | other error -> drop, count, LOG_FAILED
 *   timer -> PEEK batch_max -> POST n rows (timeout) -> 2xx: DELETE through the last seq, drain on
 *                                                    -> else LOG_SEND_FAILED, ARM backoff
 *
 * The event payloads stay with the caller (a FIFO): APPEND n means "take the n oldest queued
 * events and number them first_seq, first_seq + 1, ...". One store job (ids or append) and one
 * send (peek, POST, delete) are in flight at a time. Status codes: 0, -EBUSY (SQLite locked past
 * its busy timeout), -ENOSPC (the cap), any other negative code (failed). */
#ifndef HOP_PUMP_H
#define HOP_PUMP_H

#include <stddef.h>
#include <stdint.h>

#include "hop/http.h"          /* struct hop_backoff */

#define HOP_PUMP_NO_TIMER UINT64_MAX
#define HOP_PUMP_ACTIONS_MAX 8

struct hop_pump_config {
  uint64_t cap;                /* rows kept at most (given to APPEND) */
  uint32_t batch_max;          /* rows per POST */
  uint32_t timeout_ms;         /* per POST */
  uint32_t ids_block;          /* sequence ids reserved per RESERVE, and events per APPEND at most */
  uint32_t retry_base_ms;      /* backoff after a failed POST */
  uint32_t retry_max_ms;
};

/* ids_block 256, retry 500 ms .. 30 s; cap, batch_max and timeout_ms are left to the caller. */
void hop_pump_config_default(struct hop_pump_config *c);

enum hop_pump_act {
  HOP_PUMP_RESERVE = 1,        /* n: reserve this many sequence ids; answer hop_pump_on_reserved */
  HOP_PUMP_APPEND,             /* n, seq: the n oldest events, numbered from seq; cap in cap */
  HOP_PUMP_APPEND_AGAIN,       /* submit the batch in hand again (it was busy) */
  HOP_PUMP_PEEK,               /* n: peek at most n rows, oldest first; answer hop_pump_on_peeked */
  HOP_PUMP_POST,               /* n rows peeked, seq: the last one's, timeout_ms; on_posted */
  HOP_PUMP_DELETE,             /* seq: delete every row through it; answer hop_pump_on_deleted */
  HOP_PUMP_ARM,                /* delay_ms: (re)arm the one send timer; then hop_pump_on_timer */
  HOP_PUMP_LOG_BUSY,           /* "outbox_busy" (warn) */
  HOP_PUMP_LOG_FULL,           /* "outbox_full" (error), once per episode */
  HOP_PUMP_LOG_FAILED,         /* "outbox_failed" (error); status */
  HOP_PUMP_LOG_SEND_FAILED,    /* "events_send_failed" (warn); status, n = depth */
  HOP_PUMP_METRICS,            /* depth and dropped changed: publish them */
};

struct hop_pump_action {
  enum hop_pump_act kind;
  int status;
  uint64_t n;
  int64_t seq;
  uint64_t cap;
  uint64_t delay_ms;
  uint32_t timeout_ms;
};

struct hop_pump_out {
  struct hop_pump_action a[HOP_PUMP_ACTIONS_MAX];
  size_t len;
};

struct hop_pump {
  struct hop_pump_config cfg;
  uint64_t queued;             /* events held by the caller, not yet numbered */
  int64_t next_seq;            /* reserved and unused: next_seq .. next_seq + seq_left - 1 */
  uint64_t seq_left;
  uint64_t appending;          /* events in the append in flight */
  int storing;                 /* an ids or append job is in flight */
  int sending;                 /* a peek, POST or delete is in flight */
  int64_t through;             /* the last seq of the POST in flight */
  uint64_t depth;              /* rows in the store, as of its last answer */
  uint64_t dropped;
  int full;                    /* the last append hit the cap */
  int closing;
  uint64_t timer_at_ms;        /* the send timer's deadline, or HOP_PUMP_NO_TIMER */
  struct hop_backoff backoff;
};

void hop_pump_init(struct hop_pump *p, const struct hop_pump_config *cfg);

/* Arms the first send: a backlog from before a restart goes out first. */
void hop_pump_start(struct hop_pump *p, uint64_t now_ms, struct hop_pump_out *out);

/* One event was queued by the caller. */
void hop_pump_add(struct hop_pump *p, uint64_t now_ms, struct hop_pump_out *out);

/* n events were lost before the store (out of memory): counted as dropped. */
void hop_pump_lost(struct hop_pump *p, uint64_t n);

/* The APPEND just started carries n fewer events than asked (they could not be encoded): those
 * are counted as dropped now, and no longer part of the batch should it fail. */
void hop_pump_append_short(struct hop_pump *p, uint64_t n);

/* Answers RESERVE: ids first_seq .. first_seq + count - 1 when status is 0. */
void hop_pump_on_reserved(struct hop_pump *p, uint64_t now_ms, int status, int64_t first_seq,
                          uint64_t count, struct hop_pump_out *out);

/* Answers APPEND or APPEND_AGAIN; depth is the store's row count after it. */
void hop_pump_on_appended(struct hop_pump *p, uint64_t now_ms, int status, uint64_t depth,
                          struct hop_pump_out *out);

/* The send timer fired. */
void hop_pump_on_timer(struct hop_pump *p, uint64_t now_ms, struct hop_pump_out *out);

/* Answers PEEK: n rows (0 when status < 0), the last with seq `through`. */
void hop_pump_on_peeked(struct hop_pump *p, uint64_t now_ms, int status, uint64_t n,
                        int64_t through, uint64_t depth, struct hop_pump_out *out);

/* Answers POST with the HTTP status (< 0: no answer). random_u64 feeds the backoff's jitter. */
void hop_pump_on_posted(struct hop_pump *p, uint64_t now_ms, int status, uint64_t random_u64,
                        struct hop_pump_out *out);

/* Answers DELETE. */
void hop_pump_on_deleted(struct hop_pump *p, uint64_t now_ms, uint64_t depth,
                         struct hop_pump_out *out);

/* A PEEK, POST or DELETE could not be started (out of memory, store gone): retry after backoff. */
void hop_pump_on_unsent(struct hop_pump *p, uint64_t now_ms, uint64_t random_u64,
                        struct hop_pump_out *out);

/* The caller frees its queue: those events count as dropped, and nothing new starts. Answers to
 * jobs in flight may still come; they change counters only. */
void hop_pump_close(struct hop_pump *p);

#endif
