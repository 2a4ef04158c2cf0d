/* What the files of src/store share: the store object, the per-connection statement cache and
 * the transaction helpers. Only the store thread touches the fields marked "store thread". */
#ifndef HOP_STORE_INTERNAL_H
#define HOP_STORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>
#include <uv.h>

#include "hop/store.h"

#define hop_container_of(ptr, type, member) \
  ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Statements the typed jobs use, prepared once per connection on first use. */
enum hop_store_stmt {
  HOP_STMT_BEGIN,              /* deferred: read jobs */
  HOP_STMT_BEGIN_IMMEDIATE,    /* write jobs take the write lock up front (see docs/store.md) */
  HOP_STMT_COMMIT,
  HOP_STMT_ROLLBACK,
  HOP_STMT_DATA_VERSION,
  HOP_STMT_REPLICA_CREATE,
  HOP_STMT_REPLICA_GET,
  HOP_STMT_SEQ_BUMP,
  HOP_STMT_SEQ_GET,
  HOP_STMT_DOC_SAVE,
  HOP_STMT_DOC_LOAD,
  HOP_STMT_OUTBOX_COUNT,
  HOP_STMT_OUTBOX_INSERT,
  HOP_STMT_OUTBOX_PEEK,
  HOP_STMT_OUTBOX_DELETE,
  HOP_STMT_STATUS_SAVE,
  HOP_STMT_STATUS_LOAD,
  HOP_STMT_SERVERS_LOAD,
  HOP_STMT_SERVERS_SET_STATE,
  HOP_STMT_BANS_PURGE,
  HOP_STMT_BANS_UPSERT,
  HOP_STMT_BANS_LOAD,
  HOP_STMT_COUNT
};

struct hop_store {
  uv_loop_t *loop;
  uv_async_t async;            /* store thread -> loop: "jobs are done"; ref'd only while busy */
  uv_thread_t thread;
  uv_mutex_t mu;
  uv_cond_t cond_work;         /* the store thread waits here for jobs or closing */
  uv_cond_t cond_open;         /* hop_store_open waits here for the open result */

  /* guarded by mu */
  struct hop_store_job *todo_head, *todo_tail;
  struct hop_store_job *done_head, *done_tail;
  int closing;                 /* no new jobs; the thread exits once todo is empty */
  int open_done;
  int open_rc;
  char open_err[256];

  /* loop thread only */
  size_t inflight;             /* submitted jobs whose `done` has not run */
  int closed;                  /* hop_store_close has been called */

  /* store thread only */
  char *path;
  sqlite3 *db;
  sqlite3_stmt *stmts[HOP_STMT_COUNT];
  uint64_t own_writes;         /* servers rows this connection changed (data_version misses them) */
  int64_t outbox_depth;        /* cached row count, -1 when unknown */
  int64_t outbox_seen_dv;      /* data_version when outbox_depth was last right */
};

/* open.c: on the store thread, opens st->path (directory made, pragmas set, migrated) into
 * st->db, or returns a negative code with st->open_err filled and no connection left open. */
int hop_store_open_db(struct hop_store *st);
/* open.c: finalizes the statements and closes st->db. */
void hop_store_close_db(struct hop_store *st);
/* Finalizes every cached statement (before sqlite3_close). */
void hop_store_finalize_all(struct hop_store *st);

/* The store whose thread is running `db`, or NULL (job->status set) when a typed job runs on
 * any other connection. */
struct hop_store *hop_store_current(sqlite3 *db, struct hop_store_job *job);

/* The cached statement `id`, reset and unbound, or NULL with job->status/err set. */
sqlite3_stmt *hop_store_stmt(struct hop_store *st, enum hop_store_stmt id,
                             struct hop_store_job *job);

/* Begins a transaction: `write` takes the write lock at once (BEGIN IMMEDIATE). Returns 0 or
 * a negative code with job->status/err set. */
int hop_store_tx_begin(struct hop_store *st, int write, struct hop_store_job *job);

/* Commits when rc == 0, else rolls back; resets every cached statement. Returns the final
 * status (a failed COMMIT turns 0 into its error) and stores it in job->status. */
int hop_store_tx_end(struct hop_store *st, int rc, struct hop_store_job *job);

/* Records a SQLite failure in the job ("what: sqlite message") and returns its negative code. */
int hop_store_fail(struct hop_store_job *job, sqlite3 *db, int rc, const char *what);

/* Records a non-SQLite failure in the job and returns `code`. */
int hop_store_fail_code(struct hop_store_job *job, int code, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 3, 4)))
#endif
  ;

/* Maps a SQLite result code to a negative libuv/errno code (the table is in docs/store.md). */
int hop_store_map_rc(sqlite3 *db, int rc);

/* Steps a statement that returns no rows; returns 0 or the failure as hop_store_fail does. */
int hop_store_step_done(sqlite3_stmt *s, struct hop_store_job *job, const char *what);

/* Copies column `col` (NULL stays NULL). Returns 0 or UV_ENOMEM. */
int hop_store_dup_col(sqlite3_stmt *s, int col, char **out);

/* realloc for `n` elements of `elem` bytes, overflow-checked; NULL (and `p` kept) on failure. */
void *hop_store_resize(void *p, size_t n, size_t elem);

/* Unix seconds, for created_at/seen_at/updated_at. */
int64_t hop_store_now_s(void);

/* Copies `s` (NULL stays NULL). Returns 0 or UV_ENOMEM. */
int hop_store_dup(const char *s, char **out);

#endif
