/* The store against a real SQLite file in a temp dir and a real libuv loop.
 * The outbox (append, peek, cap, ack) and reserved ids (sequence numbers). */
#include "store_fixture.h"

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

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (store_fixture_begin() != 0)
    return 1;
  test_outbox();
  test_seq();
  store_fixture_end();
  return TEST_DONE();
}
