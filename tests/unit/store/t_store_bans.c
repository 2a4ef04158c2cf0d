/* The store against a real SQLite file in a temp dir and a real libuv loop.
 * Bans: saves merge, loads return bans in force, purge, and rows another connection wrote. */
#include "store_fixture.h"

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

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (store_fixture_begin() != 0)
    return 1;
  test_bans();
  store_fixture_end();
  return TEST_DONE();
}
