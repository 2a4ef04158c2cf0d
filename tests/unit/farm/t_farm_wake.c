/* Waking a server, one rule at a time: sleeping to running through probes, single flight (one
 * START however many players wake it), a failed start and its cooldown, the start timeout, a
 * probe that never answers, and the ready grace; each step with the exact actions it must emit. */
#include <stdint.h>
#include <stdio.h>

#include "farm_fixture.h"

static void test_wake_to_running(void)
{
  struct hop_farm *f = farm_one(NULL, HOP_STATE_SLEEPING, T0);

  CHECK_EQ(NEVER, hop_farm_deadline(f));
  CHECK_EQ(HOP_STATE_SLEEPING, hop_farm_state(f, "a"));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", "10.0.0.1", "Steve", T0));
  CHECK_STR("a:event:wake_requested a:state:starting a:start", acts(f));
  CHECK_EQ(HOP_STATE_STARTING, hop_farm_state(f, "a"));
  CHECK_EQ(T0 + 1000, hop_farm_deadline(f));

  hop_farm_start_result(f, "a", 1, T0 + 300);
  CHECK_STR("", acts(f));               /* a good start call proves nothing */
  CHECK_EQ(HOP_STATE_STARTING, hop_farm_state(f, "a"));

  hop_farm_probe_result(f, "a", 0, T0 + 500);      /* none out: a stray failure is ignored */
  CHECK_EQ(T0 + 1000, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 999);
  CHECK_STR("", acts(f));
  hop_farm_on_timer(f, T0 + 1000);
  CHECK_STR("a:probe", acts(f));
  /* the probe is out: the next deadline is the start timeout, and no second probe goes out */
  CHECK_EQ(T0 + 180000, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 5000);
  CHECK_STR("", acts(f));
  hop_farm_probe_result(f, "a", 0, T0 + 5100);
  CHECK_STR("", acts(f));
  CHECK_EQ(T0 + 6100, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 6100);
  CHECK_STR("a:probe", acts(f));
  hop_farm_probe_result(f, "a", 1, T0 + 6200);
  CHECK_STR("a:event:wake_ready(6200) a:state:running", acts(f));
  CHECK_EQ(HOP_STATE_RUNNING, hop_farm_state(f, "a"));
  CHECK_EQ(NEVER, hop_farm_deadline(f));           /* idle_stop_s 0: never stopped */
  CHECK_EQ(HOP_WAKE_RUNNING, hop_farm_wake(f, "a", "10.0.0.1", "Steve", T0 + 7000));
  CHECK_STR("", acts(f));
  hop_farm_free(f);
}

static void test_single_flight(void)
{
  struct hop_farm *f = farm_one(NULL, HOP_STATE_SLEEPING, T0);
  int started = 0, joined = 0, starts = 0;
  struct hop_farm_action a;

  for (int i = 0; i < 20; i++) {
    char ip[32];
    enum hop_wake_result r;

    snprintf(ip, sizeof ip, "10.0.0.%d", i);
    r = hop_farm_wake(f, "a", ip, "Alex", T0 + (uint64_t)i * 10);
    started += r == HOP_WAKE_STARTED;
    joined += r == HOP_WAKE_JOINED;
  }
  while (hop_farm_next_action(f, &a))
    starts += a.kind == HOP_FARM_START;
  CHECK_EQ(1, started);
  CHECK_EQ(19, joined);
  CHECK_EQ(1, starts);
  hop_farm_free(f);
}

static void test_start_failed_and_cooldown(void)
{
  struct hop_farm *f = farm_one(NULL, HOP_STATE_SLEEPING, T0);

  hop_farm_wake(f, "a", "10.0.0.1", "Steve", T0);
  acts(f);
  hop_farm_start_result(f, "a", 0, T0 + 400);
  CHECK_STR("a:event:wake_failed(400) a:state:failed", acts(f));
  CHECK_EQ(HOP_STATE_FAILED, hop_farm_state(f, "a"));
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  /* a late result for the failed attempt changes nothing */
  hop_farm_probe_result(f, "a", 1, T0 + 500);
  hop_farm_start_result(f, "a", 0, T0 + 500);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_WAKE_REFUSED_COOLDOWN, hop_farm_wake(f, "a", "10.0.0.2", "Steve", T0 + 10399));
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", "10.0.0.2", "Steve", T0 + 10400));
  CHECK_STR("a:event:wake_requested a:state:starting a:start", acts(f));
  hop_farm_free(f);
}

static void test_start_timeout(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;

  p.start_timeout_s = 5;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  hop_farm_wake(f, "a", NULL, "Steve", T0);
  acts(f);
  for (uint64_t t = T0 + 1000; t < T0 + 5000; t += 1000) {
    hop_farm_on_timer(f, t);
    CHECK_STR("a:probe", acts(f));
    hop_farm_probe_result(f, "a", 0, t);
  }
  CHECK_EQ(T0 + 5000, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 5000);     /* the probe due now loses to the timeout */
  CHECK_STR("a:event:wake_failed(5000) a:state:failed", acts(f));
  hop_farm_free(f);
}

/* A probe result that never comes back must not stall the start forever nor let a second probe
 * go out: the start timeout ends it. */
static void test_lost_probe(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;

  p.start_timeout_s = 30;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  hop_farm_wake(f, "a", NULL, "Steve", T0);
  acts(f);
  hop_farm_on_timer(f, T0 + 1000);
  CHECK_STR("a:probe", acts(f));
  for (uint64_t t = T0 + 2000; t < T0 + 30000; t += 1000) {
    hop_farm_on_timer(f, t);
    CHECK_STR("", acts(f));
  }
  hop_farm_probe_result(f, "a", 0, T0 + 29000);   /* no probe after the deadline's moment */
  hop_farm_on_timer(f, T0 + 30000);
  CHECK_STR("a:event:wake_failed(30000) a:state:failed", acts(f));
  hop_farm_free(f);
}

static void test_ready_grace(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;

  p.ready_grace_ms = 2000;
  p.start_timeout_s = 2;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  hop_farm_wake(f, "a", NULL, "Steve", T0);
  acts(f);
  hop_farm_on_timer(f, T0 + 1000);
  CHECK_STR("a:probe", acts(f));
  hop_farm_probe_result(f, "a", 1, T0 + 1500);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_STARTING, hop_farm_state(f, "a"));
  /* proven ready: the grace runs past the start timeout without failing it */
  CHECK_EQ(T0 + 3500, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 2500);
  CHECK_STR("", acts(f));
  hop_farm_probe_result(f, "a", 0, T0 + 2600);     /* nothing out: ignored */
  hop_farm_on_timer(f, T0 + 3499);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", NULL, "Alex", T0 + 3000));
  hop_farm_on_timer(f, T0 + 3500);
  CHECK_STR("a:event:wake_ready(3500) a:state:running", acts(f));
  hop_farm_free(f);
}

int main(void)
{
  test_wake_to_running();
  test_single_flight();
  test_start_failed_and_cooldown();
  test_start_timeout();
  test_lost_probe();
  test_ready_grace();
  return TEST_DONE();
}
