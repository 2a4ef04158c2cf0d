/* The store against a real SQLite file in a temp dir and a real libuv loop.
 * The stored routes document and the status cache. */
#include "store_fixture.h"

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

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (store_fixture_begin() != 0)
    return 1;
  test_doc();
  test_status();
  store_fixture_end();
  return TEST_DONE();
}
