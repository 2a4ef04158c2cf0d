/* The store against a real SQLite file in a temp dir and a real libuv loop.
 * The job worker: callback order and thread, and close with jobs still queued. */
#include "store_fixture.h"

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

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (store_fixture_begin() != 0)
    return 1;
  test_order_and_threads();
  test_close_with_queued();
  store_fixture_end();
  return TEST_DONE();
}
