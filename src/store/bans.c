/* Temporary IP bans: new ones in, expired ones out, those in force back, in one transaction. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int bans_save(struct hop_store *st, struct hop_store_bans *x)
{
  struct hop_store_job *job = &x->job;

  for (size_t i = 0; i < x->save_len; i++) {
    const struct hop_store_ban_row *r = &x->save[i];
    sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_BANS_UPSERT, job);

    if (!s)
      return job->status;
    sqlite3_bind_text(s, 1, r->ip, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r->until_ms);
    sqlite3_bind_text(s, 3, r->reason, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, r->strikes);
    sqlite3_bind_int64(s, 5, x->now_ms);
    if (hop_store_step_done(s, job, "save ban") < 0)
      return job->status;
  }
  return 0;
}

static int bans_purge(struct hop_store *st, struct hop_store_bans *x)
{
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_BANS_PURGE, &x->job);

  if (!s)
    return x->job.status;
  sqlite3_bind_int64(s, 1, x->now_ms);
  return hop_store_step_done(s, &x->job, "purge bans");
}

/* Copies text column `col` into a fixed field; a value that does not fit is cut (an operator's
 * hand-made row must not fail the whole load). */
static void copy_col(sqlite3_stmt *s, int col, char *out, size_t cap)
{
  const unsigned char *t = sqlite3_column_text(s, col);
  size_t n = t ? strlen((const char *)t) : 0;

  if (n >= cap)
    n = cap - 1;
  memcpy(out, t ? (const char *)t : "", n);
  out[n] = '\0';
}

static int bans_load(struct hop_store *st, struct hop_store_bans *x)
{
  struct hop_store_job *job = &x->job;
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_BANS_LOAD, job);
  size_t cap = 0;
  int rc;

  if (!s)
    return job->status;
  sqlite3_bind_int64(s, 1, x->now_ms);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct hop_store_ban_row *r;

    if (x->len == cap) {
      size_t n = cap ? cap * 2 : 16;

      if (!(r = hop_store_resize(x->rows, n, sizeof *r)))
        return hop_store_fail_code(job, UV_ENOMEM, "load bans: out of memory");
      x->rows = r;
      cap = n;
    }
    r = &x->rows[x->len++];
    copy_col(s, 0, r->ip, sizeof r->ip);
    r->until_ms = sqlite3_column_int64(s, 1);
    copy_col(s, 2, r->reason, sizeof r->reason);
    r->strikes = (uint32_t)sqlite3_column_int64(s, 3);
  }
  return rc == SQLITE_DONE ? 0 : hop_store_fail(job, st->db, rc, "load bans");
}

static void bans_work(struct hop_store_job *job, sqlite3 *db)
{
  struct hop_store_bans *x = hop_container_of(job, struct hop_store_bans, job);
  struct hop_store *st = hop_store_current(db, job);
  int write, rc;

  if (!st)
    return;
  write = x->save_len > 0 || x->purge;   /* a read transaction keeps the CLI's writes unblocked */
  rc = hop_store_tx_begin(st, write, job);
  if (rc == 0)
    rc = bans_save(st, x);
  if (rc == 0 && x->purge)
    rc = bans_purge(st, x);
  if (rc == 0)
    rc = bans_load(st, x);
  rc = hop_store_tx_end(st, rc, job);
  if (rc < 0) {
    free(x->rows);             /* no half results */
    x->rows = NULL;
    x->len = 0;
  }
}

void hop_store_bans_prepare(struct hop_store_bans *x, int64_t now_ms)
{
  memset(x, 0, sizeof *x);
  x->job.work = bans_work;
  x->now_ms = now_ms;
}

void hop_store_bans_clear(struct hop_store_bans *x)
{
  free(x->rows);
  x->rows = NULL;
  x->len = 0;
}
