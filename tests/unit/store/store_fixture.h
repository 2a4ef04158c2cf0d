/* Shared fixture for the store's unit tests (t_store_*.c): a temp dir under $TMPDIR, a real
 * libuv loop, helpers that run one job to completion, open/close a store, and build outbox
 * appends and peeks. Everything is static inline so each test binary uses what it needs. */
#ifndef HOP_STORE_FIXTURE_H
#define HOP_STORE_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>
#include <uv.h>

#include "hop/store.h"
#include "test.h"

static char tmp_root[256];

/* ---- helpers ---------------------------------------------------------------------------- */

static inline int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static inline void path_in(char *out, size_t n, const char *name)
{
  snprintf(out, n, "%s/%s", tmp_root, name);
}

static size_t done_count;

static inline void on_done(struct hop_store_job *job)
{
  (void)job;
  done_count++;
}

/* Submits and runs the loop until `done` ran: the store keeps the loop alive only while a
 * job is in flight, so UV_RUN_DEFAULT returns exactly then. */
static inline int run_job(uv_loop_t *loop, struct hop_store *st, struct hop_store_job *job)
{
  size_t before = done_count;
  int rc;

  job->done = on_done;
  rc = hop_store_submit(st, job);
  if (rc < 0)
    return rc;
  uv_run(loop, UV_RUN_DEFAULT);
  CHECK_EQ_U(before + 1, done_count);
  if (job->status < 0)
    printf("# job failed: %d %s\n", job->status, job->err);
  return job->status;
}

static inline struct hop_store *open_ok(uv_loop_t *loop, const char *path)
{
  struct hop_store *st = NULL;
  char err[256];
  int rc = hop_store_open(loop, path, &st, err, sizeof err);

  CHECK_EQ(0, rc);
  if (rc < 0)
    printf("# open: %s\n", err);
  return st;
}

static inline void close_store(uv_loop_t *loop, struct hop_store *st)
{
  hop_store_close(st);
  uv_run(loop, UV_RUN_NOWAIT);   /* lets the async handle close; frees the store */
}

static inline void finish_loop(uv_loop_t *loop)
{
  CHECK_EQ(0, uv_loop_close(loop));
}

/* A generic job: runs `sql` (or reads one integer with it) on the store thread. */
struct tjob {
  struct hop_store_job job;
  const char *sql;
  int query;                   /* 1: read one integer into `result` */
  long long result;
  int idx;
  int *order;
  size_t *order_len;
  int sleep_ms;
  uv_thread_t work_thread;
  uv_thread_t done_thread;
};

static inline void tjob_work(struct hop_store_job *job, sqlite3 *db)
{
  struct tjob *t = (struct tjob *)job;
  sqlite3_stmt *s;

  t->work_thread = uv_thread_self();
  if (t->sleep_ms)
    uv_sleep((unsigned)t->sleep_ms);
  if (!t->sql)
    return;
  if (!t->query) {
    job->status = sqlite3_exec(db, t->sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : UV_EIO;
    return;
  }
  job->status = UV_EIO;
  if (sqlite3_prepare_v2(db, t->sql, -1, &s, NULL) == SQLITE_OK) {
    if (sqlite3_step(s) == SQLITE_ROW) {
      t->result = sqlite3_column_int64(s, 0);
      job->status = 0;
    }
    sqlite3_finalize(s);
  }
}

static inline void tjob_done(struct hop_store_job *job)
{
  struct tjob *t = (struct tjob *)job;

  t->done_thread = uv_thread_self();
  if (t->order)
    t->order[(*t->order_len)++] = t->idx;
  done_count++;
}

static inline long long query_int(uv_loop_t *loop, struct hop_store *st, const char *sql)
{
  struct tjob t;

  memset(&t, 0, sizeof t);
  t.job.work = tjob_work;
  t.sql = sql;
  t.query = 1;
  CHECK_EQ(0, run_job(loop, st, &t.job));
  return t.result;
}

static inline int is_hex32(const char *s)
{
  if (strlen(s) != 32)
    return 0;
  for (; *s; s++) {
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return 0;
  }
  return 1;
}

static inline int ids_job(uv_loop_t *loop, struct hop_store *st, uint32_t count,
                          struct hop_store_ids *x)
{
  hop_store_ids_prepare(x, count);
  return run_job(loop, st, &x->job);
}

static inline int append(uv_loop_t *loop, struct hop_store *st, const char *const *ids,
                         size_t n, uint64_t cap, uint64_t *depth)
{
  struct hop_store_event ev[16];
  struct hop_store_outbox x;
  char body[16][64];
  int rc;

  for (size_t i = 0; i < n; i++) {
    snprintf(body[i], sizeof body[i], "{\"id\":\"%s\"}", ids[i]);
    ev[i].event_id = (char *)(uintptr_t)ids[i];  /* the store copies; never writes */
    ev[i].body = body[i];
  }
  CHECK_EQ(0, hop_store_outbox_prepare_append(&x, ev, n, cap));
  rc = run_job(loop, st, &x.job);
  *depth = x.depth;
  hop_store_outbox_clear(&x);
  return rc;
}

/* Peeks up to `max` rows into `got` as "id,id,..." and returns the status. */
static inline int peek(uv_loop_t *loop, struct hop_store *st, size_t max, char *got,
                       size_t got_n, int64_t *seqs, uint64_t *depth)
{
  struct hop_store_outbox x;
  size_t used = 0;
  int rc;

  hop_store_outbox_prepare_peek(&x, max);
  rc = run_job(loop, st, &x.job);
  got[0] = '\0';
  for (size_t i = 0; i < x.events_len; i++) {
    used += (size_t)snprintf(got + used, got_n - used, "%s%s", i ? "," : "",
                             x.events[i].event_id);
    if (seqs)
      seqs[i] = x.seqs[i];
    if (i > 0)
      CHECK(x.seqs[i] > x.seqs[i - 1]);
    if (used >= got_n)
      break;
  }
  *depth = x.depth;
  hop_store_outbox_clear(&x);
  return rc;
}

/* Makes the temp dir every path_in() names; ignores SIGPIPE. Returns 0, or 1 on failure. */
static inline int store_fixture_begin(void)
{
  const char *base = getenv("TMPDIR");

  signal(SIGPIPE, SIG_IGN);
  snprintf(tmp_root, sizeof tmp_root, "%s/hop-store-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmp_root)) {
    perror("mkdtemp");
    return 1;
  }
  return 0;
}

/* Removes the temp dir unless HOP_TEST_KEEP is set. */
static inline void store_fixture_end(void)
{
  if (!getenv("HOP_TEST_KEEP"))
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
