/* The store thread: a mutex+condvar job queue in, a uv_async_t out. One thread and one sqlite3
 * connection per hop_store; `work` runs here in submission order, `done` runs on the loop in
 * the same order. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- Store thread ----------------------------------------------------------------------- */

static _Thread_local struct hop_store *tl_store;  /* the store this thread serves, if any */

struct hop_store *hop_store_current(sqlite3 *db, struct hop_store_job *job)
{
  if (tl_store && tl_store->db == db)
    return tl_store;
  hop_store_fail_code(job, UV_EINVAL, "typed store job run outside its store thread");
  return NULL;
}

static void finish_open(struct hop_store *st, int rc)
{
  uv_mutex_lock(&st->mu);
  st->open_rc = rc;
  st->open_done = 1;
  uv_cond_signal(&st->cond_open);
  uv_mutex_unlock(&st->mu);
}

/* Takes the next job, waiting for one; NULL once closing and the queue is empty. */
static struct hop_store_job *next_job(struct hop_store *st)
{
  struct hop_store_job *job;

  uv_mutex_lock(&st->mu);
  while (!st->todo_head && !st->closing)
    uv_cond_wait(&st->cond_work, &st->mu);
  job = st->todo_head;
  if (job) {
    st->todo_head = job->next;
    if (!st->todo_head)
      st->todo_tail = NULL;
    job->next = NULL;
  }
  uv_mutex_unlock(&st->mu);
  return job;
}

static void push_done(struct hop_store *st, struct hop_store_job *job)
{
  uv_mutex_lock(&st->mu);
  if (st->done_tail)
    st->done_tail->next = job;
  else
    st->done_head = job;
  st->done_tail = job;
  uv_mutex_unlock(&st->mu);
}

static void store_main(void *arg)
{
  struct hop_store *st = arg;
  struct hop_store_job *job;
  int rc;

  tl_store = st;
  rc = hop_store_open_db(st);
  finish_open(st, rc);
  if (rc < 0)
    return;
  while ((job = next_job(st)) != NULL) {
    job->work(job, st->db);
    push_done(st, job);
    /* Coalesces: one wakeup may deliver many jobs. The loop thread closes the handle only
     * after joining us, so it is alive here. */
    uv_async_send(&st->async);
  }
  hop_store_close_db(st);
  tl_store = NULL;
}

/* ---- Loop side -------------------------------------------------------------------------- */

static struct hop_store_job *pop_done(struct hop_store *st)
{
  struct hop_store_job *job;

  uv_mutex_lock(&st->mu);
  job = st->done_head;
  if (job) {
    st->done_head = job->next;
    if (!st->done_head)
      st->done_tail = NULL;
    job->next = NULL;
  }
  uv_mutex_unlock(&st->mu);
  return job;
}

/* Runs `done` callbacks one at a time, popping each under the lock: a callback may free its
 * job, submit more, or even call hop_store_close, which then delivers the rest in order. */
static void deliver(struct hop_store *st)
{
  struct hop_store_job *job;

  while ((job = pop_done(st)) != NULL) {
    if (--st->inflight == 0 && !st->closed)
      uv_unref((uv_handle_t *)&st->async);
    if (job->done)
      job->done(job);
  }
}

static void on_async(uv_async_t *a)
{
  deliver(hop_container_of(a, struct hop_store, async));
}

static void store_free(struct hop_store *st)
{
  uv_cond_destroy(&st->cond_open);
  uv_cond_destroy(&st->cond_work);
  uv_mutex_destroy(&st->mu);
  free(st->path);
  free(st);
}

static void on_async_closed(uv_handle_t *h)
{
  store_free(hop_container_of(h, struct hop_store, async));
}

static void stop_thread(struct hop_store *st)
{
  uv_mutex_lock(&st->mu);
  st->closing = 1;
  uv_cond_signal(&st->cond_work);
  uv_mutex_unlock(&st->mu);
  uv_thread_join(&st->thread);
}

static struct hop_store *store_new(uv_loop_t *loop, const char *path)
{
  struct hop_store *st = calloc(1, sizeof *st);

  if (!st)
    return NULL;
  st->path = strdup(path);
  if (!st->path || uv_mutex_init(&st->mu) < 0) {
    free(st->path);
    free(st);
    return NULL;
  }
  if (uv_cond_init(&st->cond_work) < 0) {
    uv_mutex_destroy(&st->mu);
    free(st->path);
    free(st);
    return NULL;
  }
  if (uv_cond_init(&st->cond_open) < 0) {
    uv_cond_destroy(&st->cond_work);
    uv_mutex_destroy(&st->mu);
    free(st->path);
    free(st);
    return NULL;
  }
  st->loop = loop;
  st->outbox_depth = -1;
  return st;
}

int hop_store_open(uv_loop_t *loop, const char *path, struct hop_store **out, char *err,
                   size_t err_bytes)
{
  struct hop_store *st;
  int rc;

  *out = NULL;
  if (err_bytes)
    err[0] = '\0';
  if (!loop || !path || !path[0]) {
    if (err_bytes)
      snprintf(err, err_bytes, "store: no path given");
    return UV_EINVAL;
  }
  st = store_new(loop, path);
  if (!st) {
    if (err_bytes)
      snprintf(err, err_bytes, "%s: out of memory", path);
    return UV_ENOMEM;
  }
  rc = uv_thread_create(&st->thread, store_main, st);
  if (rc < 0) {
    if (err_bytes)
      snprintf(err, err_bytes, "%s: cannot start the store thread: %s", path, uv_strerror(rc));
    store_free(st);
    return rc;
  }

  uv_mutex_lock(&st->mu);
  while (!st->open_done)
    uv_cond_wait(&st->cond_open, &st->mu);
  uv_mutex_unlock(&st->mu);
  rc = st->open_rc;
  if (rc < 0) {
    uv_thread_join(&st->thread);
    if (err_bytes)
      snprintf(err, err_bytes, "%s", st->open_err);
    store_free(st);
    return rc;
  }

  /* Initialised only now, so a failed open has no handle to close asynchronously. */
  rc = uv_async_init(loop, &st->async, on_async);
  if (rc < 0) {
    stop_thread(st);
    if (err_bytes)
      snprintf(err, err_bytes, "%s: uv_async_init: %s", path, uv_strerror(rc));
    store_free(st);
    return rc;
  }
  uv_unref((uv_handle_t *)&st->async);  /* an idle store does not keep the loop alive */
  *out = st;
  return 0;
}

int hop_store_submit(struct hop_store *st, struct hop_store_job *job)
{
  int closing;

  if (!job || !job->work)
    return UV_EINVAL;
  job->next = NULL;
  job->status = 0;
  job->err[0] = '\0';

  uv_mutex_lock(&st->mu);
  closing = st->closing;
  if (!closing) {
    if (st->todo_tail)
      st->todo_tail->next = job;
    else
      st->todo_head = job;
    st->todo_tail = job;
    uv_cond_signal(&st->cond_work);
  }
  uv_mutex_unlock(&st->mu);
  if (closing)
    return UV_ECANCELED;
  if (st->inflight++ == 0)
    uv_ref((uv_handle_t *)&st->async);
  return 0;
}

void hop_store_close(struct hop_store *st)
{
  if (!st || st->closed)
    return;
  st->closed = 1;
  stop_thread(st);   /* the thread runs every queued job before it exits */
  deliver(st);
  uv_close((uv_handle_t *)&st->async, on_async_closed);
}

/* ---- Errors ----------------------------------------------------------------------------- */

int hop_store_map_rc(sqlite3 *db, int rc)
{
  int sys;

  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return 0;
  case SQLITE_NOMEM:
    return UV_ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return UV_EBUSY;
  case SQLITE_READONLY:
    return UV_EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return UV_EACCES;
  case SQLITE_FULL:
    return UV_ENOSPC;
  case SQLITE_TOOBIG:
    return UV_E2BIG;
  case SQLITE_INTERRUPT:
  case SQLITE_ABORT:
    return UV_ECANCELED;
  case SQLITE_CONSTRAINT:
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      return UV_EEXIST;
    return UV_EINVAL;
  case SQLITE_NOTADB:
    return UV_EFTYPE;
  case SQLITE_ERROR:
  case SQLITE_MISUSE:
  case SQLITE_RANGE:
  case SQLITE_MISMATCH:
    return UV_EINVAL;
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
    /* The OS said why (ENOENT, EACCES, EISDIR...); libuv's codes are -errno on Unix. */
    sys = db ? sqlite3_system_errno(db) : 0;
    return sys > 0 ? -sys : UV_EIO;
  default:
    return UV_EIO;             /* SQLITE_CORRUPT, SQLITE_PROTOCOL, ... */
  }
}

int hop_store_fail(struct hop_store_job *job, sqlite3 *db, int rc, const char *what)
{
  int code = hop_store_map_rc(db, rc);

  if (code == 0)
    code = UV_EIO;             /* a caller that calls this has seen a failure */
  snprintf(job->err, sizeof job->err, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  job->status = code;
  return code;
}

int hop_store_fail_code(struct hop_store_job *job, int code, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(job->err, sizeof job->err, fmt, ap);
  va_end(ap);
  job->status = code;
  return code;
}

/* ---- Statements and transactions -------------------------------------------------------- */

static const char *const stmt_sql[HOP_STMT_COUNT] = {
  [HOP_STMT_BEGIN] = "BEGIN",
  [HOP_STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
  [HOP_STMT_COMMIT] = "COMMIT",
  [HOP_STMT_ROLLBACK] = "ROLLBACK",
  [HOP_STMT_DATA_VERSION] = "PRAGMA data_version",
  [HOP_STMT_REPLICA_CREATE] =
    "INSERT OR IGNORE INTO meta(key, value) VALUES('replica_id', lower(hex(randomblob(16))))",
  [HOP_STMT_REPLICA_GET] = "SELECT value FROM meta WHERE key = 'replica_id'",
  /* meta.value holds the last sequence number handed out; TEXT affinity stores it as text. */
  [HOP_STMT_SEQ_BUMP] =
    "INSERT INTO meta(key, value) VALUES('event_seq', ?1) "
    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?1",
  [HOP_STMT_SEQ_GET] = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'event_seq'",
  [HOP_STMT_DOC_SAVE] =
    "INSERT INTO routes_doc(id, body, etag, fetched_at) VALUES(1, ?1, ?2, ?3) "
    "ON CONFLICT(id) DO UPDATE SET body = excluded.body, etag = excluded.etag, "
    "fetched_at = excluded.fetched_at",
  [HOP_STMT_DOC_LOAD] = "SELECT body, etag, fetched_at FROM routes_doc WHERE id = 1",
  [HOP_STMT_OUTBOX_COUNT] = "SELECT count(*) FROM outbox",
  [HOP_STMT_OUTBOX_INSERT] =
    "INSERT OR IGNORE INTO outbox(event_id, body, created_at) VALUES(?1, ?2, ?3)",
  [HOP_STMT_OUTBOX_PEEK] = "SELECT seq, event_id, body FROM outbox ORDER BY seq LIMIT ?1",
  [HOP_STMT_OUTBOX_DELETE] = "DELETE FROM outbox WHERE seq <= ?1",
  [HOP_STMT_STATUS_SAVE] =
    "INSERT INTO status_cache(server_id, status_json, seen_at) VALUES(?1, ?2, ?3) "
    "ON CONFLICT(server_id) DO UPDATE SET status_json = excluded.status_json, "
    "seen_at = excluded.seen_at",
  [HOP_STMT_STATUS_LOAD] = "SELECT server_id, status_json FROM status_cache ORDER BY server_id",
  [HOP_STMT_SERVERS_LOAD] =
    "SELECT id, hosts, backend, options, start_cmd, stop_cmd, state FROM servers ORDER BY id",
  [HOP_STMT_SERVERS_SET_STATE] = "UPDATE servers SET state = ?2, updated_at = ?3 WHERE id = ?1",
  [HOP_STMT_BANS_PURGE] = "DELETE FROM bans WHERE until_ms <= ?1",
  [HOP_STMT_BANS_UPSERT] =
    "INSERT INTO bans(ip, until_ms, reason, strikes, created_ms) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(ip) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms), "
    "reason = excluded.reason, strikes = excluded.strikes",
  [HOP_STMT_BANS_LOAD] =
    "SELECT ip, until_ms, reason, strikes FROM bans WHERE until_ms > ?1 ORDER BY ip",
};

sqlite3_stmt *hop_store_stmt(struct hop_store *st, enum hop_store_stmt id,
                             struct hop_store_job *job)
{
  sqlite3_stmt **s = &st->stmts[id];
  int rc;

  if (*s) {
    sqlite3_reset(*s);
    sqlite3_clear_bindings(*s);
    return *s;
  }
  rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, s, NULL);
  if (rc != SQLITE_OK) {
    hop_store_fail(job, st->db, rc, "prepare");
    *s = NULL;
    return NULL;
  }
  return *s;
}

static int exec_stmt(struct hop_store *st, enum hop_store_stmt id, struct hop_store_job *job,
                     const char *what)
{
  sqlite3_stmt *s = hop_store_stmt(st, id, job);

  if (!s)
    return job->status;
  return hop_store_step_done(s, job, what);
}

int hop_store_tx_begin(struct hop_store *st, int write, struct hop_store_job *job)
{
  return exec_stmt(st, write ? HOP_STMT_BEGIN_IMMEDIATE : HOP_STMT_BEGIN, job, "begin");
}

static void reset_all(struct hop_store *st)
{
  for (int i = 0; i < HOP_STMT_COUNT; i++) {
    if (st->stmts[i]) {
      sqlite3_reset(st->stmts[i]);       /* ends any read a SELECT still holds */
      sqlite3_clear_bindings(st->stmts[i]);  /* bound job strings are about to be freed */
    }
  }
}

int hop_store_tx_end(struct hop_store *st, int rc, struct hop_store_job *job)
{
  char keep[sizeof job->err];

  /* Results of SELECTs are copied already; resetting first lets COMMIT/ROLLBACK never meet a
   * statement still in progress. */
  reset_all(st);
  if (rc == 0)
    rc = exec_stmt(st, HOP_STMT_COMMIT, job, "commit");
  if (rc < 0 && !sqlite3_get_autocommit(st->db)) {
    memcpy(keep, job->err, sizeof keep);  /* ROLLBACK's own outcome must not hide why */
    exec_stmt(st, HOP_STMT_ROLLBACK, job, "rollback");
    memcpy(job->err, keep, sizeof keep);
  }
  reset_all(st);
  job->status = rc;
  return rc;
}

int hop_store_step_done(sqlite3_stmt *s, struct hop_store_job *job, const char *what)
{
  int rc = sqlite3_step(s);

  if (rc == SQLITE_DONE || rc == SQLITE_ROW)
    return 0;
  return hop_store_fail(job, sqlite3_db_handle(s), rc, what);
}

int hop_store_dup(const char *s, char **out)
{
  *out = NULL;
  if (!s)
    return 0;
  *out = strdup(s);
  return *out ? 0 : UV_ENOMEM;
}

int hop_store_dup_col(sqlite3_stmt *s, int col, char **out)
{
  const unsigned char *t;

  *out = NULL;
  if (sqlite3_column_type(s, col) == SQLITE_NULL)
    return 0;
  t = sqlite3_column_text(s, col);
  if (!t)
    return UV_ENOMEM;          /* not NULL in the row, so SQLite ran out converting it */
  return hop_store_dup((const char *)t, out);
}

void hop_store_finalize_all(struct hop_store *st)
{
  for (int i = 0; i < HOP_STMT_COUNT; i++) {
    sqlite3_finalize(st->stmts[i]);
    st->stmts[i] = NULL;
  }
}

void *hop_store_resize(void *p, size_t n, size_t elem)
{
  if (n == 0)
    n = 1;                     /* realloc(p, 0) may free p and return NULL */
  if (n > SIZE_MAX / elem)
    return NULL;
  return realloc(p, n * elem);
}

int64_t hop_store_now_s(void)
{
  return (int64_t)time(NULL);
}
