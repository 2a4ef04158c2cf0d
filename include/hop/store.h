/* hopper's SQLite file, on its own thread. The store thread owns the one sqlite3 connection (WAL
 * mode); loop threads only queue jobs and get their results by callback on their loop. Nothing
 * else touches SQLite (the `hopper servers` CLI opens the file itself, outside any loop).
 *
 * Schema (PRAGMA user_version = HOP_STORE_SCHEMA_VERSION; migrations run at open, in order):
 *   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)            replica_id, event_seq
 *   servers(id TEXT PRIMARY KEY, hosts TEXT NOT NULL,          hosts: JSON array of strings
 *           backend TEXT NOT NULL, options TEXT NOT NULL DEFAULT '{}',   per-server fields as JSON
 *           start_cmd TEXT, stop_cmd TEXT,                     JSON argv arrays, or NULL
 *           state TEXT NOT NULL DEFAULT 'sleeping', updated_at INTEGER NOT NULL)
 *   routes_doc(id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL, etag TEXT,
 *              fetched_at INTEGER NOT NULL)                    the last good API document
 *   status_cache(server_id TEXT PRIMARY KEY, status_json TEXT NOT NULL, seen_at INTEGER NOT NULL)
 *   outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,
 *          body TEXT NOT NULL, created_at INTEGER NOT NULL)   events not yet accepted by the API
 *   bans(ip TEXT PRIMARY KEY, until_ms INTEGER NOT NULL,      temporary IP bans (v2); unix ms
 *        reason TEXT NOT NULL, strikes INTEGER NOT NULL, created_ms INTEGER NOT NULL) */
#ifndef HOP_STORE_H
#define HOP_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define HOP_STORE_SCHEMA_VERSION 2

struct sqlite3;
struct hop_store;

/* ---- Generic jobs ----------------------------------------------------------------------------
 * `work` runs on the store thread with the connection; `done` runs later on the loop given to
 * hop_store_open, in submission order. A job is owned by the caller until `done` has run. */
struct hop_store_job {
  void (*work)(struct hop_store_job *job, struct sqlite3 *db);
  void (*done)(struct hop_store_job *job);
  struct hop_store_job *next;  /* the store's queue link */
  int status;                  /* 0 or a negative code, set by `work` */
  char err[256];               /* on failure: what failed and SQLite's message, for the log */
};

/* Opens (creating and migrating as needed) the file at `path`, making its directory if it is
 * missing, on a new store thread. Waits for the open to finish: call it before serving. On
 * failure writes why into `err` (naming the path) and returns a negative code. */
int hop_store_open(uv_loop_t *loop, const char *path, struct hop_store **out, char *err,
                   size_t err_bytes);

/* Queues a job. Never blocks on SQLite. Call it on the loop's thread: while jobs are in flight
 * the store keeps the loop alive. Returns 0, UV_EINVAL without a `work`, or UV_ECANCELED once
 * closing (then `done` never runs). Typed jobs: prepare first, then set job.done, then submit. */
int hop_store_submit(struct hop_store *st, struct hop_store_job *job);

/* Runs every queued job, closes the connection and joins the thread. Pending `done` callbacks
 * run from inside this call. Call it once, on the loop's thread; `st` is gone afterwards. Its
 * async handle closes the libuv way: run the loop once more (uv_run, any mode) before
 * uv_loop_close(), which otherwise returns UV_EBUSY, and the store's memory is freed then. */
void hop_store_close(struct hop_store *st);

/* mkdir -p of the directory part of `path` (also used by the CLI). Returns 0 or a negative
 * errno code with `err` filled. */
int hop_store_make_dirs(const char *path, char *err, size_t err_bytes);

/* Runs the schema migrations on an open connection (also used by the CLI). Returns 0 or a
 * negative code with `err` filled. */
int hop_store_migrate(struct sqlite3 *db, char *err, size_t err_bytes);

/* ---- Typed jobs ------------------------------------------------------------------------------
 * Each fills its struct, then hop_store_submit(st, &x.job). Results are valid in `done`. Strings
 * in results are malloc'd and owned by the job: free them with the matching *_clear. */

/* Replica identity and event sequence: replica_id is created once (16 random bytes as 32
 * lower-case hex chars) and kept; `count` > 0 reserves that many sequence numbers (durably,
 * before `done`) and returns the first; `count` 0 only reads what the next one would be.
 * Sequence numbers start at 1 and are never handed out twice. */
struct hop_store_ids {
  struct hop_store_job job;
  uint32_t count;              /* in */
  char replica_id[33];         /* out */
  uint64_t first_seq;          /* out */
};
void hop_store_ids_prepare(struct hop_store_ids *x, uint32_t count);

/* The last good routes document. */
struct hop_store_doc {
  struct hop_store_job job;
  int save;                    /* in: 1 saves body/etag, 0 loads them */
  char *body;                  /* in (save) or out (load; NULL if none stored) */
  char *etag;                  /* in or out; may be NULL */
  int64_t fetched_at;          /* unix seconds, in or out */
};
void hop_store_doc_prepare_load(struct hop_store_doc *x);
/* Copies body and etag. Returns 0 or -ENOMEM. */
int hop_store_doc_prepare_save(struct hop_store_doc *x, const char *body, const char *etag,
                               int64_t fetched_at);
void hop_store_doc_clear(struct hop_store_doc *x);

/* Outbox. Append writes every event in one transaction; an event whose id is already there is
 * skipped. When the outbox holds `cap` rows or more, append refuses the whole batch with
 * -ENOSPC and keeps what it had (the caller counts and logs the loss). */
struct hop_store_event {
  char *event_id;              /* unique across replicas: "<replica>-<seq>" */
  char *body;                  /* one JSON object */
};
struct hop_store_outbox {
  struct hop_store_job job;
  int op;                      /* HOP_OUTBOX_APPEND, _PEEK, _DELETE */
  struct hop_store_event *events;  /* APPEND: in (copied); PEEK: out, oldest first */
  size_t events_len;
  size_t peek_max;             /* PEEK: at most this many */
  uint64_t cap;                /* APPEND: outbox row cap */
  int64_t delete_through;      /* DELETE: every row with seq <= this */
  int64_t *seqs;               /* PEEK: out, parallel to events */
  uint64_t depth;              /* out: rows left after the operation */
};
enum { HOP_OUTBOX_APPEND = 1, HOP_OUTBOX_PEEK, HOP_OUTBOX_DELETE };
/* Prepares an APPEND; copies the events. Returns 0 or -ENOMEM. */
int hop_store_outbox_prepare_append(struct hop_store_outbox *x, const struct hop_store_event *ev,
                                    size_t n, uint64_t cap);
void hop_store_outbox_prepare_peek(struct hop_store_outbox *x, size_t max);
void hop_store_outbox_prepare_delete(struct hop_store_outbox *x, int64_t through_seq);
void hop_store_outbox_clear(struct hop_store_outbox *x);

/* Last real status answers seen from running servers (MOTD, favicon), by server id. */
struct hop_store_status {
  struct hop_store_job job;
  int save;                    /* 1: store (server_id, status_json); 0: load them all */
  char *server_id;             /* save: in */
  char *status_json;           /* save: in */
  char **ids, **jsons;         /* load: out, parallel */
  size_t len;                  /* load: out */
};
int hop_store_status_prepare_save(struct hop_store_status *x, const char *server_id,
                                  const char *status_json);
void hop_store_status_prepare_load(struct hop_store_status *x);
void hop_store_status_clear(struct hop_store_status *x);

/* Servers of the embedded (sqlite) provider. Load returns every row and the file's change
 * counter (PRAGMA data_version combined with a count of our own writes), so the caller can poll
 * cheaply and reload only when another process (the CLI, a wrapper) changed something. */
struct hop_store_server_row {
  char *id, *hosts_json, *backend, *options_json, *start_cmd_json, *stop_cmd_json, *state;
};
struct hop_store_servers {
  struct hop_store_job job;
  int op;                      /* HOP_SERVERS_LOAD, _VERSION, _SET_STATE */
  struct hop_store_server_row *rows;   /* LOAD: out */
  size_t len;
  uint64_t version;            /* out (LOAD, VERSION) */
  char *id, *state;            /* SET_STATE: in */
};
enum { HOP_SERVERS_LOAD = 1, HOP_SERVERS_VERSION, HOP_SERVERS_SET_STATE };
void hop_store_servers_prepare(struct hop_store_servers *x, int op);
int hop_store_servers_prepare_set_state(struct hop_store_servers *x, const char *id,
                                        const char *state);
void hop_store_servers_clear(struct hop_store_servers *x);

/* Temporary IP bans. One SYNC job stores new bans, drops expired rows (when `purge`) and returns
 * every ban in force, so the caller can also learn of bans added or lifted by other processes
 * (the `hopper bans` CLI). */
struct hop_store_ban_row {
  char ip[46];                 /* textual IPv4 or IPv6 */
  char reason[24];             /* a close reason name, or "operator" */
  int64_t until_ms;            /* unix ms */
  uint32_t strikes;
};
struct hop_store_bans {
  struct hop_store_job job;
  struct hop_store_ban_row *save;      /* in: owned by the caller */
  size_t save_len;
  int64_t now_ms;                      /* in: unix ms */
  int purge;                           /* in: delete rows that ran out */
  struct hop_store_ban_row *rows;      /* out: bans in force, by ip */
  size_t len;
};
void hop_store_bans_prepare(struct hop_store_bans *x, int64_t now_ms);
void hop_store_bans_clear(struct hop_store_bans *x);

#endif
