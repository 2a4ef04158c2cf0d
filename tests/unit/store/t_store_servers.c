/* The store against a real SQLite file in a temp dir and a real libuv loop.
 * Servers: the version counter, state updates, and another connection writing beside us (as
 * the CLI does). */
#include "store_fixture.h"

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

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (store_fixture_begin() != 0)
    return 1;
  test_servers();
  store_fixture_end();
  return TEST_DONE();
}
