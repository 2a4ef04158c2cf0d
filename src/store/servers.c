/* Servers of the embedded provider. Other processes (the CLI, a server's wrapper) write this
 * table too, so LOAD and VERSION report a change counter the caller polls. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* data_version moves when another connection commits; our own commits leave it alone, so
 * own_writes covers them. Both only grow, so their sum changes whenever either does. */
static int servers_version(struct hop_store *st, struct hop_store_job *job, uint64_t *out)
{
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_DATA_VERSION, job);
  int rc;

  if (!s)
    return job->status;
  rc = sqlite3_step(s);
  if (rc != SQLITE_ROW)
    return hop_store_fail(job, st->db, rc, "data_version");
  *out = (uint64_t)sqlite3_column_int64(s, 0) + st->own_writes;
  return 0;
}

static void row_free(struct hop_store_server_row *r)
{
  free(r->id);
  free(r->hosts_json);
  free(r->backend);
  free(r->options_json);
  free(r->start_cmd_json);
  free(r->stop_cmd_json);
  free(r->state);
}

static int row_push(struct hop_store_servers *x, sqlite3_stmt *s, size_t *cap)
{
  struct hop_store_server_row *r;

  if (x->len == *cap) {
    size_t n = *cap ? *cap * 2 : 8;

    r = hop_store_resize(x->rows, n, sizeof *r);
    if (!r)
      return UV_ENOMEM;
    x->rows = r;
    *cap = n;
  }
  r = &x->rows[x->len++];      /* counted before the copies so that clear frees them */
  memset(r, 0, sizeof *r);
  if (hop_store_dup_col(s, 0, &r->id) < 0 || hop_store_dup_col(s, 1, &r->hosts_json) < 0 ||
      hop_store_dup_col(s, 2, &r->backend) < 0 || hop_store_dup_col(s, 3, &r->options_json) < 0 ||
      hop_store_dup_col(s, 4, &r->start_cmd_json) < 0 ||
      hop_store_dup_col(s, 5, &r->stop_cmd_json) < 0 || hop_store_dup_col(s, 6, &r->state) < 0)
    return UV_ENOMEM;
  return 0;
}

static int servers_load(struct hop_store *st, struct hop_store_servers *x)
{
  struct hop_store_job *job = &x->job;
  sqlite3_stmt *s;
  size_t cap = 0;
  int rc = servers_version(st, job, &x->version);  /* same snapshot as the rows */

  if (rc < 0)
    return rc;
  s = hop_store_stmt(st, HOP_STMT_SERVERS_LOAD, job);
  if (!s)
    return job->status;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (row_push(x, s, &cap) < 0)
      return hop_store_fail_code(job, UV_ENOMEM, "load servers: out of memory");
  }
  if (rc != SQLITE_DONE)
    return hop_store_fail(job, st->db, rc, "load servers");
  return 0;
}

static int servers_set_state(struct hop_store *st, struct hop_store_servers *x)
{
  struct hop_store_job *job = &x->job;
  sqlite3_stmt *s = hop_store_stmt(st, HOP_STMT_SERVERS_SET_STATE, job);

  if (!s)
    return job->status;
  sqlite3_bind_text(s, 1, x->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(s, 2, x->state, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, hop_store_now_s());
  if (hop_store_step_done(s, job, "set server state") < 0)
    return job->status;
  if (sqlite3_changes(st->db) == 0)
    return hop_store_fail_code(job, UV_ENOENT, "set server state: no server \"%s\"", x->id);
  return 0;
}

static void servers_work(struct hop_store_job *job, sqlite3 *db)
{
  struct hop_store_servers *x = hop_container_of(job, struct hop_store_servers, job);
  struct hop_store *st = hop_store_current(db, job);
  int rc;

  if (!st)
    return;
  if (x->op == HOP_SERVERS_VERSION) {
    job->status = servers_version(st, job, &x->version);
    sqlite3_reset(st->stmts[HOP_STMT_DATA_VERSION]);
    return;
  }
  if (x->op != HOP_SERVERS_LOAD && x->op != HOP_SERVERS_SET_STATE) {
    hop_store_fail_code(job, UV_EINVAL, "servers: unknown op %d", x->op);
    return;
  }
  if (x->op == HOP_SERVERS_SET_STATE && (!x->id || !x->state)) {
    hop_store_fail_code(job, UV_EINVAL, "set server state: no id or state");
    return;
  }
  rc = hop_store_tx_begin(st, x->op == HOP_SERVERS_SET_STATE, job);
  if (rc == 0)
    rc = x->op == HOP_SERVERS_LOAD ? servers_load(st, x) : servers_set_state(st, x);
  rc = hop_store_tx_end(st, rc, job);
  if (rc == 0 && x->op == HOP_SERVERS_SET_STATE)
    st->own_writes++;
  else if (rc < 0 && x->op == HOP_SERVERS_LOAD)
    hop_store_servers_clear(x);  /* no half results */
}

void hop_store_servers_prepare(struct hop_store_servers *x, int op)
{
  memset(x, 0, sizeof *x);
  x->job.work = servers_work;
  x->op = op;
}

int hop_store_servers_prepare_set_state(struct hop_store_servers *x, const char *id,
                                        const char *state)
{
  hop_store_servers_prepare(x, HOP_SERVERS_SET_STATE);
  if (!id || !state)
    return UV_EINVAL;
  if (hop_store_dup(id, &x->id) < 0 || hop_store_dup(state, &x->state) < 0) {
    hop_store_servers_clear(x);
    return UV_ENOMEM;
  }
  return 0;
}

void hop_store_servers_clear(struct hop_store_servers *x)
{
  for (size_t i = 0; i < x->len; i++)
    row_free(&x->rows[i]);
  free(x->rows);
  free(x->id);
  free(x->state);
  x->rows = NULL;
  x->id = x->state = NULL;
  x->len = 0;
}
