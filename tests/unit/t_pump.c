/* The outbox pump (include/hop/pump.h), pure: exact action sequences for each transition. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hop/pump.h"
#include "test.h"

static struct hop_pump_out out;

static void setup(struct hop_pump *p, uint64_t cap, uint32_t batch_max)
{
  struct hop_pump_config c;

  hop_pump_config_default(&c);
  c.cap = cap;
  c.batch_max = batch_max;
  c.timeout_ms = 3000;
  c.ids_block = 4;
  hop_pump_init(p, &c);
  memset(&out, 0, sizeof out);
}

/* Returns the index of the first action of `kind` in `out`, or -1. */
static int find(enum hop_pump_act kind)
{
  for (size_t i = 0; i < out.len; i++)
    if (out.a[i].kind == kind)
      return (int)i;
  return -1;
}

#define RESET() memset(&out, 0, sizeof out)

/* Queues n events and stores them (ids reserved from 1 on the first call). */
static void add_and_store(struct hop_pump *p, uint64_t now, int n, uint64_t depth)
{
  for (int i = 0; i < n; i++) {
    RESET();
    hop_pump_add(p, now, &out);
    if (find(HOP_PUMP_RESERVE) >= 0) {
      RESET();
      hop_pump_on_reserved(p, now, 0, p->next_seq + (int64_t)p->seq_left + 1, 4, &out);
    }
    if (find(HOP_PUMP_APPEND) >= 0) {
      RESET();
      hop_pump_on_appended(p, now, 0, depth, &out);
    }
  }
}

static void test_reserve_append_numbering(void)
{
  struct hop_pump p;

  setup(&p, 100, 10);
  hop_pump_add(&p, 0, &out);
  CHECK_EQ_U(1, out.len);
  CHECK_EQ(HOP_PUMP_RESERVE, out.a[0].kind);
  CHECK_EQ_U(4, out.a[0].n);
  RESET();
  hop_pump_add(&p, 0, &out);                /* a store job is in flight: queued */
  hop_pump_add(&p, 0, &out);
  CHECK_EQ_U(0, out.len);
  CHECK_EQ_U(3, p.queued);
  hop_pump_on_reserved(&p, 1, 0, 1, 4, &out);
  CHECK_EQ_U(1, out.len);
  CHECK_EQ(HOP_PUMP_APPEND, out.a[0].kind);
  CHECK_EQ_U(3, out.a[0].n);
  CHECK_EQ(1, out.a[0].seq);
  CHECK_EQ_U(100, out.a[0].cap);
  RESET();
  hop_pump_add(&p, 1, &out);
  hop_pump_add(&p, 1, &out);
  CHECK_EQ_U(0, out.len);
  hop_pump_on_appended(&p, 2, 0, 3, &out);  /* one id left of four: append 1, then reserve */
  CHECK_EQ(HOP_PUMP_METRICS, out.a[0].kind);
  CHECK_EQ(HOP_PUMP_APPEND, out.a[1].kind);
  CHECK_EQ_U(1, out.a[1].n);
  CHECK_EQ(4, out.a[1].seq);
  CHECK_EQ(HOP_PUMP_ARM, out.a[2].kind);
  CHECK_EQ_U(0, out.a[2].delay_ms);
  CHECK_EQ_U(3, p.depth);
  RESET();
  hop_pump_on_appended(&p, 3, 0, 4, &out);
  CHECK(find(HOP_PUMP_RESERVE) >= 0);
  CHECK_EQ_U(0, p.dropped);
}

static void test_cap_drop_once_per_episode(void)
{
  struct hop_pump p;

  setup(&p, 2, 10);
  add_and_store(&p, 0, 2, 2);
  RESET();
  hop_pump_add(&p, 1, &out);
  CHECK_EQ(HOP_PUMP_APPEND, out.a[0].kind);
  RESET();
  hop_pump_on_appended(&p, 2, -ENOSPC, 2, &out);
  CHECK_EQ(HOP_PUMP_LOG_FULL, out.a[0].kind);
  CHECK_EQ(HOP_PUMP_METRICS, out.a[1].kind);
  CHECK_EQ_U(1, p.dropped);
  CHECK(p.full);
  RESET();
  hop_pump_add(&p, 3, &out);
  RESET();
  hop_pump_on_appended(&p, 4, -ENOSPC, 2, &out);  /* same episode: counted, not logged */
  CHECK_EQ(-1, find(HOP_PUMP_LOG_FULL));
  CHECK_EQ_U(2, p.dropped);
  RESET();
  hop_pump_add(&p, 5, &out);                /* reserve again: ids 1..4 are used up */
  RESET();
  hop_pump_on_reserved(&p, 5, 0, 5, 4, &out);
  RESET();
  hop_pump_on_appended(&p, 6, 0, 1, &out);  /* room again: the episode ends */
  CHECK(!p.full);
  RESET();
  hop_pump_add(&p, 7, &out);
  RESET();
  hop_pump_on_appended(&p, 8, -ENOSPC, 2, &out);
  CHECK(find(HOP_PUMP_LOG_FULL) >= 0);
  CHECK_EQ_U(3, p.dropped);
}

static void test_busy_appends_same_batch(void)
{
  struct hop_pump p;

  setup(&p, 100, 10);
  add_and_store(&p, 0, 1, 1);
  RESET();
  hop_pump_add(&p, 1, &out);
  CHECK_EQ(HOP_PUMP_APPEND, out.a[0].kind);
  CHECK_EQ(2, out.a[0].seq);
  RESET();
  hop_pump_add(&p, 1, &out);                /* waits behind the batch in flight */
  CHECK_EQ_U(0, out.len);
  hop_pump_on_appended(&p, 5000, -EBUSY, 1, &out);
  CHECK_EQ_U(2, out.len);
  CHECK_EQ(HOP_PUMP_LOG_BUSY, out.a[0].kind);
  CHECK_EQ(HOP_PUMP_APPEND_AGAIN, out.a[1].kind);
  CHECK_EQ_U(0, p.dropped);
  CHECK(p.storing);
  RESET();
  hop_pump_on_appended(&p, 5001, 0, 2, &out);
  CHECK_EQ(HOP_PUMP_APPEND, out.a[1].kind);  /* then the next one, numbered after it */
  CHECK_EQ(3, out.a[1].seq);
  RESET();
  hop_pump_on_appended(&p, 5002, -EIO, 2, &out);  /* any other error: dropped and logged */
  CHECK_EQ(HOP_PUMP_LOG_FAILED, out.a[0].kind);
  CHECK_EQ(-EIO, out.a[0].status);
  CHECK_EQ_U(1, p.dropped);
  RESET();
  hop_pump_add(&p, 5003, &out);             /* the last id of the block: seq 4 */
  CHECK_EQ(HOP_PUMP_APPEND, out.a[0].kind);
  CHECK_EQ_U(1, out.a[0].n);
  CHECK_EQ(4, out.a[0].seq);
  hop_pump_append_short(&p, 1);             /* it could not be encoded: counted once */
  CHECK_EQ_U(2, p.dropped);
  RESET();
  hop_pump_on_appended(&p, 5005, -EIO, 2, &out);
  CHECK_EQ_U(2, p.dropped);
}

static void test_failed_post_backs_off_then_succeeds(void)
{
  struct hop_pump p;
  int i;

  setup(&p, 100, 10);
  add_and_store(&p, 0, 3, 3);
  RESET();
  hop_pump_on_timer(&p, 10, &out);
  CHECK_EQ_U(1, out.len);
  CHECK_EQ(HOP_PUMP_PEEK, out.a[0].kind);
  CHECK_EQ_U(10, out.a[0].n);
  RESET();
  hop_pump_on_peeked(&p, 11, 0, 3, 3, 3, &out);
  CHECK_EQ(HOP_PUMP_POST, out.a[0].kind);
  CHECK_EQ_U(3, out.a[0].n);
  CHECK_EQ(3, out.a[0].seq);
  CHECK_EQ_U(3000, out.a[0].timeout_ms);
  RESET();
  hop_pump_on_posted(&p, 20, 503, 499, &out);   /* 499 % (500 + 1): the full first ceiling */
  CHECK_EQ(HOP_PUMP_LOG_SEND_FAILED, out.a[0].kind);
  CHECK_EQ(503, out.a[0].status);
  CHECK_EQ_U(3, out.a[0].n);
  CHECK_EQ(HOP_PUMP_ARM, out.a[1].kind);
  CHECK_EQ_U(499, out.a[1].delay_ms);
  CHECK_EQ_U(1, p.backoff.attempt);
  RESET();
  hop_pump_add(&p, 30, &out);                 /* new events do not cut the backoff short */
  i = find(HOP_PUMP_APPEND);
  CHECK(i >= 0);
  RESET();
  hop_pump_on_appended(&p, 31, 0, 4, &out);
  CHECK_EQ(-1, find(HOP_PUMP_ARM));
  RESET();
  hop_pump_on_timer(&p, 519, &out);
  RESET();
  hop_pump_on_peeked(&p, 520, 0, 4, 4, 4, &out);
  RESET();
  hop_pump_on_posted(&p, 530, -1, 1000, &out);  /* no answer: ceiling 1000 now */
  CHECK_EQ_U(1000, out.a[1].delay_ms);
  RESET();
  hop_pump_on_timer(&p, 1530, &out);
  RESET();
  hop_pump_on_peeked(&p, 1531, 0, 4, 4, 4, &out);
  RESET();
  hop_pump_on_posted(&p, 1540, 204, 7, &out);
  CHECK_EQ_U(1, out.len);
  CHECK_EQ(HOP_PUMP_DELETE, out.a[0].kind);
  CHECK_EQ(4, out.a[0].seq);
  CHECK_EQ_U(0, p.backoff.attempt);
  RESET();
  hop_pump_on_deleted(&p, 1541, 0, &out);
  CHECK_EQ(HOP_PUMP_METRICS, out.a[0].kind);
  CHECK_EQ(-1, find(HOP_PUMP_ARM));           /* empty: nothing to drain */
  CHECK(!p.sending);
}

static void test_in_order_batches(void)
{
  struct hop_pump p;
  int64_t through = 0;
  uint64_t depth = 7, now = 0;

  setup(&p, 100, 3);
  add_and_store(&p, 0, 7, 7);
  RESET();
  hop_pump_on_timer(&p, now, &out);
  while (depth) {                           /* batches of at most 3, deleted in seq order */
    uint64_t n = depth < 3 ? depth : 3;

    CHECK_EQ(HOP_PUMP_PEEK, out.a[0].kind);
    CHECK_EQ_U(3, out.a[0].n);
    RESET();
    hop_pump_on_peeked(&p, ++now, 0, n, through + (int64_t)n, depth, &out);
    CHECK_EQ_U(n, out.a[0].n);
    RESET();
    hop_pump_on_posted(&p, ++now, 200, 0, &out);
    CHECK_EQ(HOP_PUMP_DELETE, out.a[0].kind);
    CHECK_EQ(through + (int64_t)n, out.a[0].seq);
    through = out.a[0].seq;
    depth -= n;
    RESET();
    hop_pump_on_deleted(&p, ++now, depth, &out);
    if (depth) {
      CHECK_EQ(HOP_PUMP_ARM, out.a[1].kind);
      CHECK_EQ_U(0, out.a[1].delay_ms);
      RESET();
      hop_pump_on_timer(&p, now, &out);
    }
  }
  CHECK_EQ(7, through);
  RESET();
  hop_pump_on_timer(&p, ++now, &out);       /* an empty peek ends the send */
  RESET();
  hop_pump_on_peeked(&p, ++now, 0, 0, 0, 0, &out);
  CHECK_EQ_U(0, out.len);
  CHECK(!p.sending);
}

static void test_close_counts_queue(void)
{
  struct hop_pump p;

  setup(&p, 100, 10);
  hop_pump_add(&p, 0, &out);
  hop_pump_add(&p, 0, &out);
  hop_pump_close(&p);
  CHECK_EQ_U(2, p.dropped);
  RESET();
  hop_pump_on_reserved(&p, 1, 0, 1, 4, &out);
  CHECK_EQ_U(0, out.len);
  hop_pump_on_timer(&p, 2, &out);
  hop_pump_on_posted(&p, 3, 200, 0, &out);
  CHECK_EQ_U(0, out.len);
}

int main(void)
{
  test_reserve_append_numbering();
  test_cap_drop_once_per_episode();
  test_busy_appends_same_batch();
  test_failed_post_backs_off_then_succeeds();
  test_in_order_batches();
  test_close_counts_queue();
  return TEST_DONE();
}
