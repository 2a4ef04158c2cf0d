/* The store against a real SQLite file in a temp dir and a real libuv loop.
 * Opening the store: schema, migrations and reopen, and the files it refuses to open. */
#include "store_fixture.h"

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

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (store_fixture_begin() != 0)
    return 1;
  test_open_reopen();
  test_open_refusals();
  store_fixture_end();
  return TEST_DONE();
}
