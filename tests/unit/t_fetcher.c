/* The control-plane client's decisions (include/hop/fetcher.h), pure: exact action sequences for
 * each transition. */
#include <stdint.h>
#include <string.h>

#include "hop/fetcher.h"
#include "test.h"

static struct hop_fetcher_out out;

#define RESET() memset(&out, 0, sizeof out)

static void setup(struct hop_fetcher *f)
{
  struct hop_fetcher_config c;

  hop_fetcher_config_default(&c);
  c.refresh_ms = 30000;
  hop_fetcher_init(f, &c);
  RESET();
}

static void check_arm(size_t i, uint64_t delay_ms)
{
  CHECK(i < out.len);
  CHECK_EQ(HOP_FETCHER_ARM, out.a[i].kind);
  CHECK_EQ_U(delay_ms, out.a[i].delay_ms);
}

static void check_count(size_t i, enum hop_fetcher_count count)
{
  CHECK(i < out.len);
  CHECK_EQ(HOP_FETCHER_COUNT, out.a[i].kind);
  CHECK_EQ(count, out.a[i].count);
}

static void test_start_and_get(void)
{
  struct hop_fetcher f;

  setup(&f);
  hop_fetcher_start(&f, 0, 0, &out);
  CHECK_EQ_U(1, out.len);
  check_arm(0, 0);
  RESET();
  hop_fetcher_on_timer(&f, 0, 0, &out);     /* no document yet: no If-None-Match */
  CHECK_EQ_U(1, out.len);
  CHECK_EQ(HOP_FETCHER_GET, out.a[0].kind);
  CHECK_EQ(0, out.a[0].conditional);
  RESET();
  hop_fetcher_on_timer(&f, 5, 1, &out);     /* one GET in flight at a time */
  CHECK_EQ_U(0, out.len);
  hop_fetcher_on_fetched(&f, 10, 200, 1, 0, 0, &out);
  CHECK_EQ_U(2, out.len);
  check_count(0, HOP_FETCHER_OK);
  check_arm(1, 30000);
  RESET();
  hop_fetcher_on_timer(&f, 30010, 1, &out);
  CHECK_EQ(HOP_FETCHER_GET, out.a[0].kind);
  CHECK_EQ(1, out.a[0].conditional);
  RESET();
  hop_fetcher_on_fetched(&f, 30020, 304, 0, 1, 0, &out);   /* a server starting: 1 s */
  CHECK_EQ_U(2, out.len);
  check_count(0, HOP_FETCHER_NOT_MODIFIED);
  check_arm(1, 1000);
}

static void test_rejected_is_no_failure(void)
{
  struct hop_fetcher f;

  setup(&f);
  hop_fetcher_on_timer(&f, 0, 1, &out);
  RESET();
  hop_fetcher_on_fetched(&f, 1, 200, 0, 0, 0, &out);
  CHECK_EQ_U(2, out.len);
  check_count(0, HOP_FETCHER_REJECTED);
  check_arm(1, 30000);
  CHECK_EQ_U(0, f.backoff.attempt);
}

static void test_failure_backs_off_then_resets(void)
{
  struct hop_fetcher f;

  setup(&f);
  hop_fetcher_on_timer(&f, 0, 1, &out);
  RESET();
  hop_fetcher_on_fetched(&f, 1, -1, 0, 0, UINT64_MAX, &out);
  CHECK_EQ_U(3, out.len);
  check_count(0, HOP_FETCHER_UNREACHABLE);
  CHECK_EQ(HOP_FETCHER_LOG_FAILED, out.a[1].kind);
  CHECK_EQ(-1, out.a[1].status);
  check_arm(2, UINT64_MAX % 1001);          /* full jitter in [0, 1000] */
  RESET();
  hop_fetcher_on_timer(&f, 2000, 1, &out);
  RESET();
  hop_fetcher_on_fetched(&f, 2001, 503, 0, 0, 2000, &out);
  check_count(0, HOP_FETCHER_HTTP_ERROR);
  CHECK_EQ(503, out.a[1].status);
  check_arm(2, 2000);                       /* ceiling doubled to 2000 */
  CHECK_EQ_U(2, f.backoff.attempt);
  RESET();
  hop_fetcher_on_timer(&f, 5000, 1, &out);
  RESET();
  hop_fetcher_on_fetched(&f, 5001, 200, 1, 0, 0, &out);
  CHECK_EQ_U(0, f.backoff.attempt);
  check_arm(1, 30000);
}

static void test_unsent_and_reload(void)
{
  struct hop_fetcher f;

  setup(&f);
  hop_fetcher_on_timer(&f, 0, 1, &out);
  RESET();
  hop_fetcher_on_unsent(&f, 0, &out);
  CHECK_EQ_U(1, out.len);
  check_arm(0, 1000);
  RESET();
  hop_fetcher_reload(&f, 10, 5000, &out);   /* SIGHUP: at once, with the new refresh */
  CHECK_EQ_U(1, out.len);
  check_arm(0, 0);
  RESET();
  hop_fetcher_on_timer(&f, 10, 1, &out);
  CHECK_EQ(HOP_FETCHER_GET, out.a[0].kind);
  RESET();
  hop_fetcher_on_fetched(&f, 20, 304, 0, 0, 0, &out);
  check_arm(1, 5000);
}

static void test_call_retries(void)
{
  struct hop_fetcher f;
  struct hop_fetcher_call c;

  setup(&f);
  hop_fetcher_call(&f, 0, &c, 0, &out);
  CHECK_EQ_U(2, out.len);
  CHECK_EQ(HOP_FETCHER_CALL_SEND, out.a[0].kind);
  CHECK(out.a[0].call == &c);
  check_arm(1, 1000);                       /* the document says when it is running */
  RESET();
  hop_fetcher_on_called(&f, 1, &c, 503, 0, &out);
  CHECK_EQ_U(1, out.len);
  CHECK_EQ(HOP_FETCHER_CALL_LATER, out.a[0].kind);
  CHECK_EQ_U(1000, out.a[0].delay_ms);      /* 500 << 1 */
  RESET();
  hop_fetcher_on_called(&f, 2000, &c, -1, 0, &out);
  CHECK_EQ(HOP_FETCHER_CALL_LATER, out.a[0].kind);
  CHECK_EQ_U(2000, out.a[0].delay_ms);
  RESET();
  hop_fetcher_on_called(&f, 5000, &c, 503, 0, &out);   /* the third try was the last */
  CHECK_EQ_U(1, out.len);
  CHECK_EQ(HOP_FETCHER_CALL_DONE, out.a[0].kind);
  CHECK_EQ(0, out.a[0].ok);
  CHECK_EQ(503, out.a[0].status);
}

static void test_call_not_retried(void)
{
  struct hop_fetcher f;
  struct hop_fetcher_call c;
  static const int statuses[] = { 202, 404, 400 };

  setup(&f);
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
    hop_fetcher_call(&f, 0, &c, 1, &out);
    CHECK_EQ(1, c.stop);
    RESET();
    hop_fetcher_on_called(&f, 1, &c, statuses[i], 0, &out);
    CHECK_EQ_U(1, out.len);
    CHECK_EQ(HOP_FETCHER_CALL_DONE, out.a[0].kind);
    CHECK_EQ(statuses[i] == 202, out.a[0].ok);
    RESET();
  }
  hop_fetcher_call(&f, 0, &c, 0, &out);
  RESET();
  hop_fetcher_on_called(&f, 1, &c, -1, 1, &out);      /* could not be sent: not tried again */
  CHECK_EQ(HOP_FETCHER_CALL_DONE, out.a[0].kind);
  CHECK_EQ(-1, out.a[0].status);
}

static void test_stop(void)
{
  struct hop_fetcher f;
  struct hop_fetcher_call c;

  setup(&f);
  hop_fetcher_on_timer(&f, 0, 1, &out);
  hop_fetcher_call(&f, 0, &c, 0, &out);
  hop_fetcher_stop(&f);
  RESET();
  hop_fetcher_on_fetched(&f, 1, 500, 0, 0, 0, &out);
  hop_fetcher_on_called(&f, 1, &c, 503, 0, &out);
  hop_fetcher_on_timer(&f, 2, 1, &out);
  CHECK_EQ_U(0, out.len);
}

int main(void)
{
  test_start_and_get();
  test_rejected_is_no_failure();
  test_failure_backs_off_then_resets();
  test_unsent_and_reload();
  test_call_retries();
  test_call_not_retried();
  test_stop();
  return TEST_DONE();
}
