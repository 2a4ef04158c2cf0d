/* The store against a real SQLite file in a temp dir and a real libuv loop: schema and reopen,
 * every typed job, callback order and thread, close with jobs queued, another connection
 * writing beside us (as the CLI does), and kill -9 in the middle of appends. */
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

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static void path_in(char *out, size_t n, const char *name)
{
  snprintf(out, n, "%s/%s", tmp_root, name);
}

static size_t done_count;

static void on_done(struct hop_store_job *job)
{
  (void)job;
  done_count++;
}

/* Submits and runs the loop until `done` ran: the store keeps the loop alive only while a
 * job is in flight, so UV_RUN_DEFAULT returns exactly then. */
static int run_job(uv_loop_t *loop, struct hop_store *st, struct hop_store_job *job)
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

static struct hop_store *open_ok(uv_loop_t *loop, const char *path)
{
  struct hop_store *st = NULL;
  char err[256];
  int rc = hop_store_open(loop, path, &st, err, sizeof err);

  CHECK_EQ(0, rc);
  if (rc < 0)
    printf("# open: %s\n", err);
  return st;
}

static void close_store(uv_loop_t *loop, struct hop_store *st)
{
  hop_store_close(st);
  uv_run(loop, UV_RUN_NOWAIT);   /* lets the async handle close; frees the store */
}

static void finish_loop(uv_loop_t *loop)
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

static void tjob_work(struct hop_store_job *job, sqlite3 *db)
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

static void tjob_done(struct hop_store_job *job)
{
  struct tjob *t = (struct tjob *)job;

  t->done_thread = uv_thread_self();
  if (t->order)
    t->order[(*t->order_len)++] = t->idx;
  done_count++;
}

static long long query_int(uv_loop_t *loop, struct hop_store *st, const char *sql)
{
  struct tjob t;

  memset(&t, 0, sizeof t);
  t.job.work = tjob_work;
  t.sql = sql;
  t.query = 1;
  CHECK_EQ(0, run_job(loop, st, &t.job));
  return t.result;
}

static int is_hex32(const char *s)
{
  if (strlen(s) != 32)
    return 0;
  for (; *s; s++) {
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return 0;
  }
  return 1;
}

static int ids_job(uv_loop_t *loop, struct hop_store *st, uint32_t count,
                   struct hop_store_ids *x)
{
  hop_store_ids_prepare(x, count);
  return run_job(loop, st, &x->job);
}

static int append(uv_loop_t *loop, struct hop_store *st, const char *const *ids, size_t n,
                  uint64_t cap, uint64_t *depth)
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
static int peek(uv_loop_t *loop, struct hop_store *st, size_t max, char *got, size_t got_n,
                int64_t *seqs, uint64_t *depth)
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

/* ---- open, migrate, reopen ------------------------------------------------------------ */

static void test_open_reopen(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_ids ids;
  char path[512], replica[33];
  sqlite3 *db;

  TEST_CTX("open_reopen");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "a/b/c/hopper.db");  /* directories made on the way */
  st = open_ok(&loop, path);
  if (!st)
    return;
  CHECK_EQ(0, uv_run(&loop, UV_RUN_DEFAULT));     /* an idle store keeps no loop alive */
  CHECK_EQ(HOP_STORE_SCHEMA_VERSION, query_int(&loop, st, "PRAGMA user_version"));
  CHECK_EQ(1, query_int(&loop, st, "PRAGMA synchronous"));   /* NORMAL */
  CHECK_EQ(1, query_int(&loop, st, "PRAGMA foreign_keys"));
  CHECK_EQ(5000, query_int(&loop, st, "PRAGMA busy_timeout"));
  CHECK_EQ(6, query_int(&loop, st, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                                   "AND name IN ('meta','servers','routes_doc','status_cache',"
                                   "'outbox','bans')"));
  CHECK_EQ(0, ids_job(&loop, st, 0, &ids));
  CHECK(is_hex32(ids.replica_id));
  CHECK_EQ_U(1, ids.first_seq);
  memcpy(replica, ids.replica_id, sizeof replica);
  close_store(&loop, st);

  st = open_ok(&loop, path);
  if (!st)
    return;
  CHECK_EQ(HOP_STORE_SCHEMA_VERSION, query_int(&loop, st, "PRAGMA user_version"));
  CHECK_EQ(0, ids_job(&loop, st, 0, &ids));
  CHECK_STR(replica, ids.replica_id);
  close_store(&loop, st);
  finish_loop(&loop);

  /* The file is a WAL database another process can read (the CLI's view). */
  CHECK_EQ(SQLITE_OK, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL));
  {
    sqlite3_stmt *s;
    CHECK_EQ(SQLITE_OK, sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL));
    CHECK_EQ(SQLITE_ROW, sqlite3_step(s));
    CHECK_STR("wal", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
  }
  /* hop_store_migrate on an up-to-date file is a no-op. */
  {
    char err[256];
    CHECK_EQ(0, hop_store_migrate(db, err, sizeof err));
  }
  sqlite3_close(db);
}

static void test_open_refusals(void)
{
  uv_loop_t loop;
  struct hop_store *st = (struct hop_store *)(uintptr_t)1;  /* open must reset it to NULL */
  char path[512], err[512];
  sqlite3 *db;
  int rc;
  FILE *f;

  TEST_CTX("open_refusals");
  uv_loop_init(&loop);

  /* A file from a newer hopper. */
  path_in(path, sizeof path, "newer.db");
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  CHECK_EQ(SQLITE_OK, sqlite3_exec(db, "CREATE TABLE x(y); PRAGMA user_version = 99", NULL,
                                   NULL, NULL));
  sqlite3_close(db);
  rc = hop_store_open(&loop, path, &st, err, sizeof err);
  CHECK_EQ(UV_ENOTSUP, rc);
  CHECK(st == NULL);
  CHECK(strstr(err, path) != NULL);
  CHECK(strstr(err, "schema version 99 is newer") != NULL);
  /* and it was left alone: not even switched to WAL */
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  {
    sqlite3_stmt *s;
    CHECK_EQ(SQLITE_OK, sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL));
    CHECK_EQ(SQLITE_ROW, sqlite3_step(s));
    CHECK_STR("delete", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
  }
  CHECK_EQ(UV_ENOTSUP, hop_store_migrate(db, err, sizeof err));
  CHECK(strstr(err, "newer") != NULL);
  sqlite3_close(db);

  /* Not a database at all. */
  path_in(path, sizeof path, "garbage.db");
  f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) {
    for (int i = 0; i < 256; i++)
      fputs("this is not sqlite ", f);
    fclose(f);
  }
  st = NULL;
  rc = hop_store_open(&loop, path, &st, err, sizeof err);
  CHECK(rc < 0);
  CHECK(st == NULL);
  CHECK(strstr(err, path) != NULL);

  /* A directory that cannot be made: its parent is a regular file. */
  path_in(path, sizeof path, "garbage.db/sub/hopper.db");
  rc = hop_store_open(&loop, path, &st, err, sizeof err);
  CHECK(rc < 0);
  CHECK(strstr(err, "cannot create directory") != NULL);

  finish_loop(&loop);
}

/* ---- outbox --------------------------------------------------------------------------- */

static void test_outbox(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct tjob t;
  char path[512], got[512];
  int64_t seqs[16];
  uint64_t depth;

  TEST_CTX("outbox");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "outbox.db");
  st = open_ok(&loop, path);
  if (!st)
    return;

  {
    const char *b1[] = {"r-1", "r-2", "r-3"};
    const char *b2[] = {"r-2", "r-4"};   /* r-2 is a retry: skipped */
    CHECK_EQ(0, append(&loop, st, b1, 3, 100, &depth));
    CHECK_EQ_U(3, depth);
    CHECK_EQ(0, append(&loop, st, b2, 2, 100, &depth));
    CHECK_EQ_U(4, depth);
  }
  CHECK_EQ(0, peek(&loop, st, 10, got, sizeof got, seqs, &depth));
  CHECK_STR("r-1,r-2,r-3,r-4", got);
  CHECK_EQ_U(4, depth);
  CHECK_EQ(0, peek(&loop, st, 2, got, sizeof got, seqs, &depth));
  CHECK_STR("r-1,r-2", got);
  CHECK_EQ(0, peek(&loop, st, 0, got, sizeof got, NULL, &depth));
  CHECK_STR("", got);

  {
    struct hop_store_outbox x;
    hop_store_outbox_prepare_delete(&x, seqs[1]);
    CHECK_EQ(0, run_job(&loop, st, &x.job));
    CHECK_EQ_U(2, x.depth);
  }
  CHECK_EQ(0, peek(&loop, st, 10, got, sizeof got, seqs, &depth));
  CHECK_STR("r-3,r-4", got);

  /* Cap: 2 rows held, cap 2 refuses the whole batch and writes nothing. */
  {
    const char *b3[] = {"r-5", "r-6"};
    CHECK_EQ(UV_ENOSPC, append(&loop, st, b3, 2, 2, &depth));
    CHECK_EQ_U(2, depth);
    CHECK_EQ(0, peek(&loop, st, 10, got, sizeof got, NULL, &depth));
    CHECK_STR("r-3,r-4", got);
    /* cap 3: the batch may overshoot once the check passed */
    CHECK_EQ(0, append(&loop, st, b3, 2, 3, &depth));
    CHECK_EQ_U(4, depth);
  }

  /* All or none: a trigger fails the second event of a batch; the first must not stay. */
  memset(&t, 0, sizeof t);
  t.job.work = tjob_work;
  t.sql = "CREATE TRIGGER boom BEFORE INSERT ON outbox WHEN NEW.event_id = 'boom' "
          "BEGIN SELECT RAISE(ABORT, 'boom refused'); END";
  CHECK_EQ(0, run_job(&loop, st, &t.job));
  {
    char id7[] = "r-7", idb[] = "boom", id8[] = "r-8", body[] = "{}";
    struct hop_store_event ev[3] = {{id7, body}, {idb, body}, {id8, body}};
    struct hop_store_outbox x;
    CHECK_EQ(0, hop_store_outbox_prepare_append(&x, ev, 3, 100));
    CHECK(run_job(&loop, st, &x.job) < 0);
    CHECK(strstr(x.job.err, "boom refused") != NULL);
    hop_store_outbox_clear(&x);
  }
  CHECK_EQ(0, peek(&loop, st, 10, got, sizeof got, NULL, &depth));
  CHECK_STR("r-3,r-4,r-5,r-6", got);
  CHECK_EQ_U(4, depth);

  /* Another connection deletes rows: the cached depth must notice (data_version). */
  {
    sqlite3 *db;
    CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
    sqlite3_busy_timeout(db, 5000);
    CHECK_EQ(SQLITE_OK, sqlite3_exec(db, "DELETE FROM outbox WHERE event_id = 'r-3'", NULL,
                                     NULL, NULL));
    sqlite3_close(db);
  }
  CHECK_EQ(0, peek(&loop, st, 10, got, sizeof got, NULL, &depth));
  CHECK_STR("r-4,r-5,r-6", got);
  CHECK_EQ_U(3, depth);
  close_store(&loop, st);

  /* Reopen: order and seqs survive; delete everything; seqs keep growing. */
  st = open_ok(&loop, path);
  if (!st)
    return;
  CHECK_EQ(0, peek(&loop, st, 10, got, sizeof got, seqs, &depth));
  CHECK_STR("r-4,r-5,r-6", got);
  {
    struct hop_store_outbox x;
    int64_t last = seqs[2];
    const char *b5[] = {"r-9"};
    hop_store_outbox_prepare_delete(&x, last);
    CHECK_EQ(0, run_job(&loop, st, &x.job));
    CHECK_EQ_U(0, x.depth);
    CHECK_EQ(0, append(&loop, st, b5, 1, 100, &depth));
    CHECK_EQ(0, peek(&loop, st, 10, got, sizeof got, seqs, &depth));
    CHECK_STR("r-9", got);
    CHECK(seqs[0] > last);    /* AUTOINCREMENT: never reused */
  }
  close_store(&loop, st);
  finish_loop(&loop);
}

/* ---- ids ------------------------------------------------------------------------------ */

static void test_seq(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_ids x;
  char path[512], replica[33];

  TEST_CTX("seq");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "seq.db");
  st = open_ok(&loop, path);
  if (!st)
    return;
  CHECK_EQ(0, ids_job(&loop, st, 5, &x));
  CHECK_EQ_U(1, x.first_seq);
  memcpy(replica, x.replica_id, sizeof replica);
  CHECK_EQ(0, ids_job(&loop, st, 3, &x));
  CHECK_EQ_U(6, x.first_seq);
  CHECK_EQ(1, query_int(&loop, st, "PRAGMA synchronous"));  /* back to NORMAL after FULL */
  close_store(&loop, st);

  st = open_ok(&loop, path);
  if (!st)
    return;
  CHECK_EQ(0, ids_job(&loop, st, 0, &x));
  CHECK_EQ_U(9, x.first_seq);    /* count 0 only peeks */
  CHECK_EQ(0, ids_job(&loop, st, 1, &x));
  CHECK_EQ_U(9, x.first_seq);
  CHECK_EQ(0, ids_job(&loop, st, 1000, &x));
  CHECK_EQ_U(10, x.first_seq);
  CHECK_EQ(0, ids_job(&loop, st, 1, &x));
  CHECK_EQ_U(1010, x.first_seq);
  CHECK_STR(replica, x.replica_id);
  close_store(&loop, st);
  finish_loop(&loop);
}

/* ---- routes document and status cache ------------------------------------------------- */

static void test_doc(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_doc d;
  char path[512];
  const char *body = "{\"revision\":\"r481\",\"servers\":[{\"id\":\"a\",\"motd\":\"\xc2\xa7" "7hi\"}]}";

  TEST_CTX("doc");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "doc.db");
  st = open_ok(&loop, path);
  if (!st)
    return;
  hop_store_doc_prepare_load(&d);
  CHECK_EQ(0, run_job(&loop, st, &d.job));
  CHECK(d.body == NULL);
  CHECK(d.etag == NULL);
  hop_store_doc_clear(&d);

  CHECK_EQ(0, hop_store_doc_prepare_save(&d, body, "\"etag-1\"", 1700000000));
  CHECK_EQ(0, run_job(&loop, st, &d.job));
  hop_store_doc_clear(&d);
  close_store(&loop, st);

  st = open_ok(&loop, path);
  if (!st)
    return;
  hop_store_doc_prepare_load(&d);
  CHECK_EQ(0, run_job(&loop, st, &d.job));
  CHECK_STR(body, d.body);
  CHECK_STR("\"etag-1\"", d.etag);
  CHECK_EQ(1700000000, d.fetched_at);
  hop_store_doc_clear(&d);

  CHECK_EQ(0, hop_store_doc_prepare_save(&d, "{}", NULL, 1700000100));  /* replaces */
  CHECK_EQ(0, run_job(&loop, st, &d.job));
  hop_store_doc_clear(&d);
  hop_store_doc_prepare_load(&d);
  CHECK_EQ(0, run_job(&loop, st, &d.job));
  CHECK_STR("{}", d.body);
  CHECK(d.etag == NULL);
  CHECK_EQ(1700000100, d.fetched_at);
  hop_store_doc_clear(&d);
  CHECK_EQ(1, query_int(&loop, st, "SELECT count(*) FROM routes_doc"));

  CHECK_EQ(UV_EINVAL, hop_store_doc_prepare_save(&d, NULL, NULL, 0));
  hop_store_doc_clear(&d);
  close_store(&loop, st);
  finish_loop(&loop);
}

static void test_status(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_status x;
  char path[512];

  TEST_CTX("status");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "status.db");
  st = open_ok(&loop, path);
  if (!st)
    return;
  hop_store_status_prepare_load(&x);
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  CHECK_EQ_U(0, x.len);
  hop_store_status_clear(&x);

  CHECK_EQ(0, hop_store_status_prepare_save(&x, "survival", "{\"motd\":\"old\"}"));
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  hop_store_status_clear(&x);
  CHECK_EQ(0, hop_store_status_prepare_save(&x, "lobby", "{\"motd\":\"lobby\"}"));
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  hop_store_status_clear(&x);
  CHECK_EQ(0, hop_store_status_prepare_save(&x, "survival", "{\"motd\":\"new\"}"));
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  hop_store_status_clear(&x);
  close_store(&loop, st);

  st = open_ok(&loop, path);
  if (!st)
    return;
  hop_store_status_prepare_load(&x);
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  CHECK_EQ_U(2, x.len);
  if (x.len == 2) {
    CHECK_STR("lobby", x.ids[0]);
    CHECK_STR("{\"motd\":\"lobby\"}", x.jsons[0]);
    CHECK_STR("survival", x.ids[1]);
    CHECK_STR("{\"motd\":\"new\"}", x.jsons[1]);
  }
  hop_store_status_clear(&x);
  CHECK(query_int(&loop, st, "SELECT min(seen_at) FROM status_cache") > 1600000000);
  close_store(&loop, st);
  finish_loop(&loop);
}

/* ---- bans ------------------------------------------------------------------------------ */

static int bans_sync(uv_loop_t *loop, struct hop_store *st, struct hop_store_bans *x,
                     int64_t now, struct hop_store_ban_row *save, size_t n, int purge)
{
  hop_store_bans_prepare(x, now);
  x->save = save;
  x->save_len = n;
  x->purge = purge;
  return run_job(loop, st, &x->job);
}

/* Saves merge (a ban never gets shorter), loads return only bans in force, purge deletes the
 * rest, and a row written by another connection (the CLI) is seen. */
static void test_bans(void)
{
  struct hop_store_ban_row rows[2] = {
    { "203.0.113.9", "bad_varint", 5000, 3 },
    { "2001:db8::1", "rate_limited", 9000, 4 },
  };
  struct hop_store_ban_row shorter = { "203.0.113.9", "handshake_timeout", 4000, 5 };
  struct hop_store_bans x;
  uv_loop_t loop;
  struct hop_store *st;
  char path[512];

  TEST_CTX("bans");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "bans.db");
  st = open_ok(&loop, path);
  if (!st)
    return;
  CHECK_EQ(0, bans_sync(&loop, st, &x, 1000, NULL, 0, 0));
  CHECK_EQ_U(0, x.len);
  hop_store_bans_clear(&x);
  CHECK_EQ(0, bans_sync(&loop, st, &x, 1000, rows, 2, 0));
  CHECK_EQ_U(2, x.len);
  if (x.len == 2) {            /* by ip */
    CHECK_STR("2001:db8::1", x.rows[0].ip);
    CHECK_STR("203.0.113.9", x.rows[1].ip);
    CHECK_EQ(5000, x.rows[1].until_ms);
    CHECK_STR("bad_varint", x.rows[1].reason);
    CHECK_EQ_U(3, x.rows[1].strikes);
  }
  hop_store_bans_clear(&x);
  CHECK_EQ(0, bans_sync(&loop, st, &x, 1000, &shorter, 1, 0));
  CHECK_EQ_U(2, x.len);
  if (x.len == 2) {
    CHECK_EQ(5000, x.rows[1].until_ms);               /* the longer ban stays */
    CHECK_STR("handshake_timeout", x.rows[1].reason);
  }
  hop_store_bans_clear(&x);
  CHECK_EQ(0, bans_sync(&loop, st, &x, 6000, NULL, 0, 0));   /* one ran out: not loaded */
  CHECK_EQ_U(1, x.len);
  hop_store_bans_clear(&x);
  CHECK_EQ(2, query_int(&loop, st, "SELECT count(*) FROM bans"));
  CHECK_EQ(0, bans_sync(&loop, st, &x, 6000, NULL, 0, 1));   /* ... and purged */
  hop_store_bans_clear(&x);
  CHECK_EQ(1, query_int(&loop, st, "SELECT count(*) FROM bans"));
  {
    sqlite3 *db;

    CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
    sqlite3_busy_timeout(db, 5000);
    CHECK_EQ(SQLITE_OK, sqlite3_exec(db, "DELETE FROM bans; INSERT INTO bans(ip, until_ms) "
                                         "VALUES('198.51.100.7', 99000)", NULL, NULL, NULL));
    sqlite3_close(db);
  }
  CHECK_EQ(0, bans_sync(&loop, st, &x, 6000, NULL, 0, 0));
  CHECK_EQ_U(1, x.len);
  if (x.len == 1) {
    CHECK_STR("198.51.100.7", x.rows[0].ip);
    CHECK_STR("operator", x.rows[0].reason);           /* the column default */
  }
  hop_store_bans_clear(&x);
  close_store(&loop, st);
  finish_loop(&loop);
}

/* ---- servers -------------------------------------------------------------------------- */

static uint64_t servers_version(uv_loop_t *loop, struct hop_store *st)
{
  struct hop_store_servers x;

  hop_store_servers_prepare(&x, HOP_SERVERS_VERSION);
  CHECK_EQ(0, run_job(loop, st, &x.job));
  hop_store_servers_clear(&x);
  return x.version;
}

static void on_cli_commit(uv_timer_t *t)
{
  CHECK_EQ(SQLITE_OK, sqlite3_exec(t->data, "COMMIT", NULL, NULL, NULL));
}

static void test_servers(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_servers x;
  char path[512];
  uint64_t v0, v1, v2;
  sqlite3 *cli;
  sqlite3_stmt *s;

  TEST_CTX("servers");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "servers.db");
  st = open_ok(&loop, path);
  if (!st)
    return;
  hop_store_servers_prepare(&x, HOP_SERVERS_LOAD);
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  CHECK_EQ_U(0, x.len);
  v0 = x.version;
  hop_store_servers_clear(&x);
  CHECK_EQ_U(v0, servers_version(&loop, st));   /* nothing changed: same version */

  /* The CLI: its own connection, its own process as far as SQLite can tell. */
  CHECK_EQ(SQLITE_OK, sqlite3_open_v2(path, &cli, SQLITE_OPEN_READWRITE, NULL));
  sqlite3_busy_timeout(cli, 5000);
  CHECK_EQ(SQLITE_OK, sqlite3_exec(cli,
    "INSERT INTO servers(id, hosts, backend, start_cmd) VALUES('survival', "
    "'[\"survival.example.com\",\"*.survival.example.com\"]', '10.0.3.7:25565', "
    "'[\"/srv/start\",\"survival\"]')", NULL, NULL, NULL));
  v1 = servers_version(&loop, st);
  CHECK(v1 != v0);

  hop_store_servers_prepare(&x, HOP_SERVERS_LOAD);
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  CHECK_EQ_U(1, x.len);
  CHECK_EQ_U(v1, x.version);
  if (x.len == 1) {
    CHECK_STR("survival", x.rows[0].id);
    CHECK_STR("[\"survival.example.com\",\"*.survival.example.com\"]", x.rows[0].hosts_json);
    CHECK_STR("10.0.3.7:25565", x.rows[0].backend);
    CHECK_STR("{}", x.rows[0].options_json);
    CHECK_STR("[\"/srv/start\",\"survival\"]", x.rows[0].start_cmd_json);
    CHECK(x.rows[0].stop_cmd_json == NULL);
    CHECK_STR("sleeping", x.rows[0].state);
  }
  hop_store_servers_clear(&x);

  /* Our own write moves the version too (data_version does not see it). */
  CHECK_EQ(0, hop_store_servers_prepare_set_state(&x, "survival", "running"));
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  hop_store_servers_clear(&x);
  v2 = servers_version(&loop, st);
  CHECK(v2 != v1);
  CHECK_EQ_U(v2, servers_version(&loop, st));
  CHECK_EQ(SQLITE_OK, sqlite3_prepare_v2(cli, "SELECT state, updated_at FROM servers "
                                              "WHERE id = 'survival'", -1, &s, NULL));
  CHECK_EQ(SQLITE_ROW, sqlite3_step(s));
  CHECK_STR("running", (const char *)sqlite3_column_text(s, 0));
  CHECK(sqlite3_column_int64(s, 1) > 1600000000);
  sqlite3_finalize(s);

  CHECK_EQ(0, hop_store_servers_prepare_set_state(&x, "nope", "running"));
  CHECK_EQ(UV_ENOENT, run_job(&loop, st, &x.job));
  CHECK(strstr(x.job.err, "nope") != NULL);
  hop_store_servers_clear(&x);
  CHECK_EQ_U(v2, servers_version(&loop, st));   /* a failed write is no change */

  /* The CLI holds the write lock for a while: our write waits (busy_timeout) instead of
   * failing, and lands once the CLI commits. */
  CHECK_EQ(SQLITE_OK, sqlite3_exec(cli, "BEGIN IMMEDIATE; UPDATE servers SET backend = "
                                        "'10.0.3.8:25565'", NULL, NULL, NULL));
  {
    uv_timer_t t;
    uint64_t t0 = uv_hrtime();

    uv_timer_init(&loop, &t);
    t.data = cli;
    uv_timer_start(&t, on_cli_commit, 150, 0);
    CHECK_EQ(0, hop_store_servers_prepare_set_state(&x, "survival", "stopping"));
    CHECK_EQ(0, run_job(&loop, st, &x.job));
    CHECK(uv_hrtime() - t0 >= 140 * 1000000ull);
    hop_store_servers_clear(&x);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
  }
  hop_store_servers_prepare(&x, HOP_SERVERS_LOAD);
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  if (x.len == 1) {
    CHECK_STR("10.0.3.8:25565", x.rows[0].backend);
    CHECK_STR("stopping", x.rows[0].state);
  }
  v2 = x.version;
  hop_store_servers_clear(&x);

  /* The CLI writes while we hold nothing: the next poll sees it. */
  CHECK_EQ(SQLITE_OK, sqlite3_exec(cli, "DELETE FROM servers", NULL, NULL, NULL));
  CHECK(servers_version(&loop, st) != v2);
  sqlite3_close(cli);
  close_store(&loop, st);
  finish_loop(&loop);
}

/* ---- order, threads, close ------------------------------------------------------------ */

#define ORDER_JOBS 64

static void test_order_and_threads(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct tjob jobs[ORDER_JOBS];
  struct hop_store_ids ids;
  int order[ORDER_JOBS + 1];
  size_t order_len = 0;
  uv_thread_t self = uv_thread_self();
  char path[512];
  size_t before;

  TEST_CTX("order");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "order.db");
  st = open_ok(&loop, path);
  if (!st)
    return;
  before = done_count;
  for (int i = 0; i < ORDER_JOBS; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].job.work = tjob_work;
    jobs[i].job.done = tjob_done;
    jobs[i].idx = i;
    jobs[i].order = order;
    jobs[i].order_len = &order_len;
    jobs[i].sleep_ms = i % 7 == 0 ? 2 : 0;
    if (i % 5 == 0)
      jobs[i].sql = "INSERT INTO meta(key, value) VALUES('k' || random(), 'v')";
    CHECK_EQ(0, hop_store_submit(st, &jobs[i].job));
  }
  /* a typed job in the middle of the stream keeps its place */
  hop_store_ids_prepare(&ids, 1);
  ids.job.done = on_done;
  CHECK_EQ(0, hop_store_submit(st, &ids.job));
  CHECK_EQ(UV_EINVAL, hop_store_submit(st, &(struct hop_store_job){0}));
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK_EQ_U(before + ORDER_JOBS + 1, done_count);
  CHECK_EQ_U(ORDER_JOBS, order_len);
  for (int i = 0; i < ORDER_JOBS; i++) {
    TEST_CTX("order job %d", i);
    CHECK_EQ(i, order[i]);
    CHECK(uv_thread_equal(&jobs[i].done_thread, &self));
    CHECK(!uv_thread_equal(&jobs[i].work_thread, &self));
    CHECK_EQ(0, jobs[i].job.status);
    if (i > 0)
      CHECK(uv_thread_equal(&jobs[i].work_thread, &jobs[0].work_thread));  /* one thread */
  }
  TEST_CTX("order");
  CHECK_EQ(0, ids.job.status);
  close_store(&loop, st);
  finish_loop(&loop);
}

static struct hop_store *resubmit_store;
static int resubmit_rc = 1;
static struct tjob resubmit_job;

static void on_done_resubmit(struct hop_store_job *job)
{
  tjob_done(job);
  memset(&resubmit_job, 0, sizeof resubmit_job);
  resubmit_job.job.work = tjob_work;
  resubmit_rc = hop_store_submit(resubmit_store, &resubmit_job.job);
}

static void test_close_with_queued(void)
{
  uv_loop_t loop;
  struct hop_store *st;
  struct tjob jobs[20];
  int order[20];
  size_t order_len = 0;
  char path[512];

  TEST_CTX("close_queued");
  uv_loop_init(&loop);
  path_in(path, sizeof path, "close.db");
  st = open_ok(&loop, path);
  if (!st)
    return;
  resubmit_store = st;
  for (int i = 0; i < 20; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].job.work = tjob_work;
    jobs[i].job.done = i == 19 ? on_done_resubmit : tjob_done;
    jobs[i].idx = i;
    jobs[i].order = order;
    jobs[i].order_len = &order_len;
    jobs[i].sleep_ms = 1;
    jobs[i].sql = "INSERT INTO meta(key, value) VALUES('close' || random(), 'v')";
    CHECK_EQ(0, hop_store_submit(st, &jobs[i].job));
  }
  hop_store_close(st);          /* no loop turn in between: close itself delivers */
  CHECK_EQ_U(20, order_len);
  for (size_t i = 0; i < order_len; i++)
    CHECK_EQ((int)i, order[i]);
  CHECK_EQ(UV_ECANCELED, resubmit_rc);   /* a `done` inside close cannot queue more */
  CHECK_EQ(UV_EBUSY, uv_loop_close(&loop));  /* the handle still closes on the next turn */
  uv_run(&loop, UV_RUN_NOWAIT);
  finish_loop(&loop);

  /* Every queued job really ran. */
  {
    sqlite3 *db;
    sqlite3_stmt *s;
    CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
    CHECK_EQ(SQLITE_OK, sqlite3_prepare_v2(db, "SELECT count(*) FROM meta WHERE key LIKE "
                                               "'close%'", -1, &s, NULL));
    CHECK_EQ(SQLITE_ROW, sqlite3_step(s));
    CHECK_EQ(20, sqlite3_column_int(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
  }
}

/* ---- kill -9 in the middle of appends ------------------------------------------------- */

struct ack {
  uint32_t kind;               /* 'R': seq reserved; 'A': batch for seq appended */
  uint32_t pad;
  uint64_t seq;
};

struct crash_child {
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_ids ids;
  struct hop_store_outbox ob;
  int fd;
  unsigned round;
};

static void child_reserve(struct crash_child *c);

static void child_send(struct crash_child *c, uint32_t kind, uint64_t seq)
{
  struct ack a = {kind, 0, seq};

  if (write(c->fd, &a, sizeof a) != (ssize_t)sizeof a)
    _exit(3);
}

static void on_child_appended(struct hop_store_job *job)
{
  struct crash_child *c = (struct crash_child *)((char *)job - offsetof(struct crash_child, ob));

  if (job->status < 0)
    _exit(4);
  child_send(c, 'A', c->ids.first_seq);
  hop_store_outbox_clear(&c->ob);
  child_reserve(c);
}

static void on_child_reserved(struct hop_store_job *job)
{
  struct crash_child *c = (struct crash_child *)((char *)job - offsetof(struct crash_child, ids));
  struct hop_store_event ev[3];
  char id[3][80], body[3][96];

  if (job->status < 0)
    _exit(5);
  child_send(c, 'R', c->ids.first_seq);
  for (int k = 0; k < 3; k++) {
    snprintf(id[k], sizeof id[k], "%s-%llu-%d", c->ids.replica_id,
             (unsigned long long)c->ids.first_seq, k);
    snprintf(body[k], sizeof body[k], "{\"round\":%u,\"seq\":%llu,\"k\":%d}", c->round,
             (unsigned long long)c->ids.first_seq, k);
    ev[k].event_id = id[k];
    ev[k].body = body[k];
  }
  if (hop_store_outbox_prepare_append(&c->ob, ev, 3, UINT64_MAX) < 0)
    _exit(6);
  c->ob.job.done = on_child_appended;
  if (hop_store_submit(c->st, &c->ob.job) < 0)
    _exit(7);
}

static void child_reserve(struct crash_child *c)
{
  hop_store_ids_prepare(&c->ids, 1);
  c->ids.job.done = on_child_reserved;
  if (hop_store_submit(c->st, &c->ids.job) < 0)
    _exit(8);
}

static void crash_child_main(const char *path, int fd, unsigned round)
{
  static struct crash_child c;
  char err[256];

  c.fd = fd;
  c.round = round;
  uv_loop_init(&c.loop);
  if (hop_store_open(&c.loop, path, &c.st, err, sizeof err) < 0)
    _exit(2);
  child_reserve(&c);
  uv_run(&c.loop, UV_RUN_DEFAULT);   /* runs until SIGKILL */
  _exit(9);
}

static int read_full(int fd, void *buf, size_t n)
{
  size_t got = 0;

  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r == 0)
      return 0;
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 1;
}

/* Seqs whose batch was acknowledged, over every round. */
static uint64_t crash_acked[4096];
static size_t crash_acked_len;
static uint64_t crash_max_reserved;

static int crash_round(const char *path, unsigned round, unsigned kill_after)
{
  int fds[2], status = 0;
  unsigned appended = 0;
  struct ack a;
  pid_t pid;

  if (pipe(fds) < 0)
    return -1;
  fflush(stdout);
  pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    close(fds[0]);
    crash_child_main(path, fds[1], round);
  }
  close(fds[1]);
  while (read_full(fds[0], &a, sizeof a) == 1) {
    if (a.kind == 'R' && a.seq > crash_max_reserved)
      crash_max_reserved = a.seq;
    if (a.kind == 'A' && crash_acked_len < sizeof crash_acked / sizeof crash_acked[0])
      crash_acked[crash_acked_len++] = a.seq;
    if (a.kind == 'A' && ++appended == kill_after)
      kill(pid, SIGKILL);      /* the child is already at work on the next one */
  }
  close(fds[0]);               /* EOF: the child is dead and every ack it wrote is read */
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
    printf("# child status %d\n", status);
  return 0;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_crash(void)
{
  static const unsigned kill_after[] = {1, 57, 211, 400};
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_outbox x;
  struct hop_store_ids ids;
  char path[512];
  uint64_t *present;
  size_t npresent = 0;

  TEST_CTX("crash");
  path_in(path, sizeof path, "crash/hopper.db");
  for (unsigned r = 0; r < sizeof kill_after / sizeof kill_after[0]; r++)
    CHECK_EQ(0, crash_round(path, r, kill_after[r]));

  uv_loop_init(&loop);
  st = open_ok(&loop, path);
  if (!st)
    return;
  hop_store_outbox_prepare_peek(&x, SIZE_MAX);
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  CHECK_EQ_U(x.events_len, x.depth);
  printf("# crash: %zu batches acknowledged, %zu rows present, %llu seqs reserved\n",
         crash_acked_len, x.events_len, (unsigned long long)crash_max_reserved);

  /* Rows come in whole batches of three, each id once, in append order. */
  present = calloc(x.events_len + 1, sizeof *present);
  CHECK_EQ_U(0, x.events_len % 3);
  for (size_t i = 0; present && i < x.events_len; i++) {
    const char *dash = strchr(x.events[i].event_id, '-');
    unsigned long long seq = 0;
    int k = -1;

    CHECK(dash != NULL && sscanf(dash + 1, "%llu-%d", &seq, &k) == 2);
    CHECK_EQ((int)(i % 3), k);
    if (i % 3 == 0) {
      if (npresent > 0)
        CHECK(seq > present[npresent - 1]);   /* strictly increasing: no seq twice */
      present[npresent++] = seq;
    } else {
      CHECK_EQ_U(present[npresent - 1], seq);
    }
  }
  /* Every acknowledged batch is there (exactly once: the seqs above are strictly increasing). */
  qsort(crash_acked, crash_acked_len, sizeof crash_acked[0], cmp_u64);
  for (size_t i = 0; present && i < crash_acked_len; i++) {
    TEST_CTX("crash acked seq %llu", (unsigned long long)crash_acked[i]);
    CHECK(bsearch(&crash_acked[i], present, npresent, sizeof *present, cmp_u64) != NULL);
  }
  TEST_CTX("crash");
  /* At most the one batch in flight per round may be there without its ack. */
  CHECK(npresent >= crash_acked_len);
  CHECK(npresent <= crash_acked_len + sizeof kill_after / sizeof kill_after[0]);
  free(present);
  hop_store_outbox_clear(&x);

  /* A reserved seq is never handed out again, kill -9 or not. */
  CHECK_EQ(0, ids_job(&loop, st, 1, &ids));
  CHECK(ids.first_seq > crash_max_reserved);
  close_store(&loop, st);
  finish_loop(&loop);
}

int main(int argc, char **argv)
{
  const char *base = getenv("TMPDIR");

  (void)argc;
  (void)argv;
  signal(SIGPIPE, SIG_IGN);
  snprintf(tmp_root, sizeof tmp_root, "%s/hop-store-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmp_root)) {
    perror("mkdtemp");
    return 1;
  }
  test_crash();                /* first: fork while this process has no other threads */
  test_open_reopen();
  test_open_refusals();
  test_outbox();
  test_seq();
  test_doc();
  test_status();
  test_bans();
  test_servers();
  test_order_and_threads();
  test_close_with_queued();
  if (!getenv("HOP_TEST_KEEP"))
    nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return TEST_DONE();
}
