/* Typed jobs: replica identity and event sequence, the last routes document, the status
 * cache. Each `work` runs on the store thread inside one transaction. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- ids -------------------------------------------------------------------------------- */

static int ensure_replica(struct hop_store *st, struct hop_store_ids *x)
{
  struct hop_store_job *job = &x->job;
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_REPLICA_CREATE, job);
  const unsigned char *id;
  int rc;

  if (!s || hop_store_step_done(s, job, "create replica_id") < 0)
    return job->status;
  s = hop_store_stmt(st, HOP_STMT_REPLICA_GET, job);
  if (!s)
    return job->status;
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW)
    return hop_store_fail(job, st->db, rc, "read replica_id");
  id = sqlite3_column_text(s, 0);
  if (!id || id[0] == '\0' || strlen((const char *)id) >= sizeof x->replica_id)
    return hop_store_fail_code(job, UV_EINVAL, "meta.replica_id is not 1 to %zu characters",
                               sizeof x->replica_id - 1);
  memcpy(x->replica_id, id, strlen((const char *)id) + 1);
  return 0;
}

/* meta.event_seq holds the last number handed out (absent: none yet). */
static int reserve_seqs(struct hop_store *st, struct hop_store_ids *x)
{
  struct hop_store_job *job = &x->job;
  sqlite3_stmt *s;
  int64_t last = 0;
  int rc;

  if (x->count > 0) {
    s = hop_store_stmt(st, HOP_STMT_SEQ_BUMP, job);
    if (!s)
      return job->status;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)x->count);
    if (hop_store_step_done(s, job, "reserve event_seq") < 0)
      return job->status;
  }
  s = hop_store_stmt(st, HOP_STMT_SEQ_GET, job);
  if (!s)
    return job->status;
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    last = sqlite3_column_int64(s, 0);
  else if (rc != SQLITE_DONE)
    return hop_store_fail(job, st->db, rc, "read event_seq");
  if (last < (int64_t)x->count)
    return hop_store_fail_code(job, UV_EINVAL, "meta.event_seq is corrupt (%lld)",
                               (long long)last);
  x->first_seq = (uint64_t)(last - (int64_t)x->count) + 1;
  return 0;
}

/* Not a cached statement: SQLite applies PRAGMA synchronous when it prepares it. */
static int set_synchronous(struct hop_store *st, struct hop_store_job *job, const char *sql,
                           int report)
{
  int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

  if (rc == SQLITE_OK)
    return 0;
  return report ? hop_store_fail(job, st->db, rc, "synchronous") : hop_store_map_rc(st->db, rc);
}

static void ids_work(struct hop_store_job *job, sqlite3 *db)
{
  struct hop_store_ids *x = hop_container_of(job, struct hop_store_ids, job);
  struct hop_store *st = hop_store_current(db, job);
  int full, rc;

  if (!st)
    return;
  /* A reservation commits with FULL: after a power loss, a seq already used in an event id
   * the API has accepted must not come back, or the API would drop a new event as a retry. */
  full = x->count > 0;
  rc = full ? set_synchronous(st, job, "PRAGMA synchronous = FULL", 1) : 0;
  if (rc == 0) {
    rc = hop_store_tx_begin(st, 1, job);
    if (rc == 0)
      rc = ensure_replica(st, x);
    if (rc == 0)
      rc = reserve_seqs(st, x);
    rc = hop_store_tx_end(st, rc, job);
  }
  if (full && set_synchronous(st, job, "PRAGMA synchronous = NORMAL", rc == 0) < 0 && rc == 0)
    rc = job->status;
  job->status = rc;
}

void hop_store_ids_prepare(struct hop_store_ids *x, uint32_t count)
{
  memset(x, 0, sizeof *x);
  x->job.work = ids_work;
  x->count = count;
}

/* ---- routes document -------------------------------------------------------------------- */

static int doc_save(struct hop_store *st, struct hop_store_doc *x)
{
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_DOC_SAVE, &x->job);

  if (!s)
    return x->job.status;
  sqlite3_bind_text(s, 1, x->body, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, x->etag, -1, SQLITE_STATIC);  /* NULL binds NULL */
  sqlite3_bind_int64(s, 3, x->fetched_at);
  return hop_store_step_done(s, &x->job, "save routes_doc");
}

static int doc_load(struct hop_store *st, struct hop_store_doc *x)
{
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_DOC_LOAD, &x->job);
  int rc;

  if (!s)
    return x->job.status;
  rc = sqlite3_step(s);
  if (rc == SQLITE_DONE)
    return 0;                  /* nothing stored yet: body stays NULL */
  if (rc != SQLITE_ROW)
    return hop_store_fail(&x->job, st->db, rc, "load routes_doc");
  x->fetched_at = sqlite3_column_int64(s, 2);
  if (hop_store_dup_col(s, 0, &x->body) < 0 || hop_store_dup_col(s, 1, &x->etag) < 0) {
    hop_store_doc_clear(x);
    return hop_store_fail_code(&x->job, UV_ENOMEM, "load routes_doc: out of memory");
  }
  return 0;
}

static void doc_work(struct hop_store_job *job, sqlite3 *db)
{
  struct hop_store_doc *x = hop_container_of(job, struct hop_store_doc, job);
  struct hop_store *st = hop_store_current(db, job);
  int rc;

  if (!st)
    return;
  if (x->save && !x->body) {
    hop_store_fail_code(job, UV_EINVAL, "save routes_doc: no body");
    return;
  }
  rc = hop_store_tx_begin(st, x->save, job);
  if (rc == 0)
    rc = x->save ? doc_save(st, x) : doc_load(st, x);
  hop_store_tx_end(st, rc, job);
}

void hop_store_doc_prepare_load(struct hop_store_doc *x)
{
  memset(x, 0, sizeof *x);
  x->job.work = doc_work;
}

int hop_store_doc_prepare_save(struct hop_store_doc *x, const char *body, const char *etag,
                               int64_t fetched_at)
{
  memset(x, 0, sizeof *x);
  x->job.work = doc_work;
  x->save = 1;
  x->fetched_at = fetched_at;
  if (!body)
    return UV_EINVAL;
  if (hop_store_dup(body, &x->body) < 0 || hop_store_dup(etag, &x->etag) < 0) {
    hop_store_doc_clear(x);
    return UV_ENOMEM;
  }
  return 0;
}

void hop_store_doc_clear(struct hop_store_doc *x)
{
  free(x->body);
  free(x->etag);
  x->body = NULL;
  x->etag = NULL;
}

/* ---- status cache ----------------------------------------------------------------------- */

static int status_save(struct hop_store *st, struct hop_store_status *x)
{
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_STATUS_SAVE, &x->job);

  if (!s)
    return x->job.status;
  sqlite3_bind_text(s, 1, x->server_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, x->status_json, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, hop_store_now_s());
  return hop_store_step_done(s, &x->job, "save status_cache");
}

static int status_push(struct hop_store_status *x, sqlite3_stmt *s, size_t *cap)
{
  if (x->len == *cap) {
    size_t n = *cap ? *cap * 2 : 8;
    char **p = hop_store_resize(x->ids, n, sizeof *p);

    if (!p)
      return UV_ENOMEM;
    x->ids = p;
    p = hop_store_resize(x->jsons, n, sizeof *p);
    if (!p)
      return UV_ENOMEM;
    x->jsons = p;
    *cap = n;
  }
  x->ids[x->len] = NULL;
  x->jsons[x->len] = NULL;
  x->len++;                    /* counted before the copies so that clear frees them */
  if (hop_store_dup_col(s, 0, &x->ids[x->len - 1]) < 0 ||
      hop_store_dup_col(s, 1, &x->jsons[x->len - 1]) < 0)
    return UV_ENOMEM;
  return 0;
}

static int status_load(struct hop_store *st, struct hop_store_status *x)
{
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_STATUS_LOAD, &x->job);
  size_t cap = 0;
  int rc;

  if (!s)
    return x->job.status;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (status_push(x, s, &cap) < 0) {
      hop_store_status_clear(x);
      return hop_store_fail_code(&x->job, UV_ENOMEM, "load status_cache: out of memory");
    }
  }
  if (rc != SQLITE_DONE) {
    hop_store_status_clear(x);
    return hop_store_fail(&x->job, st->db, rc, "load status_cache");
  }
  return 0;
}

static void status_work(struct hop_store_job *job, sqlite3 *db)
{
  struct hop_store_status *x = hop_container_of(job, struct hop_store_status, job);
  struct hop_store *st = hop_store_current(db, job);
  int rc;

  if (!st)
    return;
  if (x->save && (!x->server_id || !x->status_json)) {
    hop_store_fail_code(job, UV_EINVAL, "save status_cache: no server id or status");
    return;
  }
  rc = hop_store_tx_begin(st, x->save, job);
  if (rc == 0)
    rc = x->save ? status_save(st, x) : status_load(st, x);
  hop_store_tx_end(st, rc, job);
}

int hop_store_status_prepare_save(struct hop_store_status *x, const char *server_id,
                                  const char *status_json)
{
  memset(x, 0, sizeof *x);
  x->job.work = status_work;
  x->save = 1;
  if (!server_id || !status_json)
    return UV_EINVAL;
  if (hop_store_dup(server_id, &x->server_id) < 0 ||
      hop_store_dup(status_json, &x->status_json) < 0) {
    hop_store_status_clear(x);
    return UV_ENOMEM;
  }
  return 0;
}

void hop_store_status_prepare_load(struct hop_store_status *x)
{
  memset(x, 0, sizeof *x);
  x->job.work = status_work;
}

void hop_store_status_clear(struct hop_store_status *x)
{
  for (size_t i = 0; i < x->len; i++) {
    free(x->ids[i]);
    free(x->jsons[i]);
  }
  free(x->ids);
  free(x->jsons);
  free(x->server_id);
  free(x->status_json);
  x->ids = x->jsons = NULL;
  x->server_id = x->status_json = NULL;
  x->len = 0;
}
