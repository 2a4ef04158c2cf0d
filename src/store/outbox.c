/* The event outbox: events are appended here before any send and deleted only after the API
 * accepted them, so they survive restarts and outages. seq (AUTOINCREMENT) is never reused,
 * even after every row was deleted, so a seq the sender holds always means the same row. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Rows in the outbox, read inside the caller's transaction. count(*) walks the whole table,
 * so the count is cached and trusted while PRAGMA data_version says no other connection
 * committed since; our own commits update the cache exactly (see outbox_work). */
static int outbox_depth(struct hop_store *st, struct hop_store_job *job, int64_t *out)
{
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_DATA_VERSION, job);
  int64_t dv;
  int rc;

  if (!s)
    return job->status;
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW)
    return hop_store_fail(job, st->db, rc, "data_version");
  dv = sqlite3_column_int64(s, 0);
  if (st->outbox_depth < 0 || dv != st->outbox_seen_dv) {
    s = hop_store_stmt(st, HOP_STMT_OUTBOX_COUNT, job);
    if (!s)
      return job->status;
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
      return hop_store_fail(job, st->db, rc, "count outbox");
    st->outbox_depth = sqlite3_column_int64(s, 0);
    st->outbox_seen_dv = dv;
  }
  *out = st->outbox_depth;
  return 0;
}

static int outbox_append(struct hop_store *st, struct hop_store_outbox *x)
{
  struct hop_store_job *job = &x->job;
  int64_t depth, now = hop_store_now_s();
  int rc = outbox_depth(st, job, &depth);

  if (rc < 0)
    return rc;
  x->depth = (uint64_t)depth;
  if (x->events_len == 0)
    return 0;
  if ((uint64_t)depth >= x->cap)
    return hop_store_fail_code(job, UV_ENOSPC, "outbox append: %lld rows reach the cap of %llu",
                               (long long)depth, (unsigned long long)x->cap);
  for (size_t i = 0; i < x->events_len; i++) {
    sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_OUTBOX_INSERT, job);

    if (!s)
      return job->status;
    sqlite3_bind_text(s, 1, x->events[i].event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, x->events[i].body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    if (hop_store_step_done(s, job, "outbox append") < 0)
      return job->status;      /* the caller rolls back: all or none */
    depth += sqlite3_changes(st->db);  /* 0 when the id was there already */
  }
  x->depth = (uint64_t)depth;
  return 0;
}

static int peek_push(struct hop_store_outbox *x, sqlite3_stmt *s, size_t *cap)
{
  struct hop_store_event *ev;

  if (x->events_len == *cap) {
    size_t n = *cap ? *cap * 2 : 16;
    int64_t *seqs;

    ev = hop_store_resize(x->events, n, sizeof *ev);
    if (!ev)
      return UV_ENOMEM;
    x->events = ev;
    seqs = hop_store_resize(x->seqs, n, sizeof *seqs);
    if (!seqs)
      return UV_ENOMEM;
    x->seqs = seqs;
    *cap = n;
  }
  ev = &x->events[x->events_len];
  memset(ev, 0, sizeof *ev);
  x->seqs[x->events_len] = sqlite3_column_int64(s, 0);
  x->events_len++;             /* counted before the copies so that clear frees them */
  if (hop_store_dup_col(s, 1, &ev->event_id) < 0 || hop_store_dup_col(s, 2, &ev->body) < 0)
    return UV_ENOMEM;
  return 0;
}

static int outbox_peek(struct hop_store *st, struct hop_store_outbox *x)
{
  struct hop_store_job *job = &x->job;
  sqlite3_stmt *s;
  size_t cap = 0;
  int64_t depth;
  int rc = outbox_depth(st, job, &depth);

  if (rc < 0)
    return rc;
  x->depth = (uint64_t)depth;
  s = hop_store_stmt(st, HOP_STMT_OUTBOX_PEEK, job);
  if (!s)
    return job->status;
  sqlite3_bind_int64(s, 1, x->peek_max > INT64_MAX ? INT64_MAX : (sqlite3_int64)x->peek_max);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (peek_push(x, s, &cap) < 0)
      return hop_store_fail_code(job, UV_ENOMEM, "outbox peek: out of memory");
  }
  if (rc != SQLITE_DONE)
    return hop_store_fail(job, st->db, rc, "outbox peek");
  return 0;
}

static int outbox_delete(struct hop_store *st, struct hop_store_outbox *x)
{
  struct hop_store_job *job = &x->job;
  sqlite3_stmt *s;
  int64_t depth;
  int rc = outbox_depth(st, job, &depth);

  if (rc < 0)
    return rc;
  s = hop_store_stmt(st, HOP_STMT_OUTBOX_DELETE, job);
  if (!s)
    return job->status;
  sqlite3_bind_int64(s, 1, x->delete_through);
  if (hop_store_step_done(s, job, "outbox delete") < 0)
    return job->status;
  x->depth = (uint64_t)(depth - sqlite3_changes(st->db));
  return 0;
}

static void outbox_work(struct hop_store_job *job, sqlite3 *db)
{
  struct hop_store_outbox *x = hop_container_of(job, struct hop_store_outbox, job);
  struct hop_store *st = hop_store_current(db, job);
  int write, rc;

  if (!st)
    return;
  write = x->op != HOP_OUTBOX_PEEK;
  rc = hop_store_tx_begin(st, write, job);
  if (rc == 0) {
    if (x->op == HOP_OUTBOX_APPEND)
      rc = outbox_append(st, x);
    else if (x->op == HOP_OUTBOX_PEEK)
      rc = outbox_peek(st, x);
    else if (x->op == HOP_OUTBOX_DELETE)
      rc = outbox_delete(st, x);
    else
      rc = hop_store_fail_code(job, UV_EINVAL, "outbox: unknown op %d", x->op);
  }
  if (hop_store_tx_end(st, rc, job) == 0) {
    if (write)
      st->outbox_depth = (int64_t)x->depth;  /* our commit: data_version does not move */
  } else if (x->op == HOP_OUTBOX_PEEK) {
    hop_store_outbox_clear(x);  /* no half results */
  }
}

int hop_store_outbox_prepare_append(struct hop_store_outbox *x, const struct hop_store_event *ev,
                                    size_t n, uint64_t cap)
{
  memset(x, 0, sizeof *x);
  x->job.work = outbox_work;
  x->op = HOP_OUTBOX_APPEND;
  x->cap = cap;
  for (size_t i = 0; i < n; i++) {
    if (!ev[i].event_id || !ev[i].body)
      return UV_EINVAL;
  }
  if (n == 0)
    return 0;
  x->events = calloc(n, sizeof *x->events);
  if (!x->events)
    return UV_ENOMEM;
  x->events_len = n;
  for (size_t i = 0; i < n; i++) {
    if (hop_store_dup(ev[i].event_id, &x->events[i].event_id) < 0 ||
        hop_store_dup(ev[i].body, &x->events[i].body) < 0) {
      hop_store_outbox_clear(x);
      return UV_ENOMEM;
    }
  }
  return 0;
}

void hop_store_outbox_prepare_peek(struct hop_store_outbox *x, size_t max)
{
  memset(x, 0, sizeof *x);
  x->job.work = outbox_work;
  x->op = HOP_OUTBOX_PEEK;
  x->peek_max = max;
}

void hop_store_outbox_prepare_delete(struct hop_store_outbox *x, int64_t through_seq)
{
  memset(x, 0, sizeof *x);
  x->job.work = outbox_work;
  x->op = HOP_OUTBOX_DELETE;
  x->delete_through = through_seq;
}

void hop_store_outbox_clear(struct hop_store_outbox *x)
{
  for (size_t i = 0; i < x->events_len; i++) {
    free(x->events[i].event_id);
    free(x->events[i].body);
  }
  free(x->events);
  free(x->seqs);
  x->events = NULL;
  x->seqs = NULL;
  x->events_len = 0;
}
