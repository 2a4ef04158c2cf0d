/* Stopping a server: the idle stop and what holds it off (sessions, min_online_s), the stop's
 * result, and wakes that arrive while a stop is out (the pending restart); each step with the
 * exact actions it must emit. */
#include <stdint.h>

#include "farm_fixture.h"

static void test_idle_stop(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;
  uint64_t up;

  p.idle_stop_s = 300;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  up = bring_up(f, T0);
  CHECK_EQ(up + 300000, hop_farm_deadline(f));
  hop_farm_session_begin(f, "a", up + 10);
  hop_farm_session_begin(f, "a", up + 20);
  CHECK_EQ(2, hop_farm_sessions(f, "a"));
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  hop_farm_on_timer(f, up + 10000000);
  CHECK_STR("", acts(f));               /* sessions block the stop however late it is */
  hop_farm_session_end(f, "a", up + 50000);
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  hop_farm_session_end(f, "a", up + 60000);
  CHECK_EQ(0, hop_farm_sessions(f, "a"));
  CHECK_EQ(up + 360000, hop_farm_deadline(f));
  hop_farm_on_timer(f, up + 359999);
  CHECK_STR("", acts(f));
  hop_farm_session_begin(f, "a", up + 100000);   /* a session cancels it */
  hop_farm_on_timer(f, up + 360000);
  CHECK_STR("", acts(f));
  hop_farm_session_end(f, "a", up + 400000);
  hop_farm_session_end(f, "a", up + 400001);     /* one end too many: ignored */
  CHECK_EQ(0, hop_farm_sessions(f, "a"));
  CHECK_EQ(up + 700000, hop_farm_deadline(f));
  hop_farm_on_timer(f, up + 700000);
  CHECK_STR("a:event:stop_requested a:state:stopping a:stop(0)", acts(f));
  CHECK_EQ(HOP_STATE_STOPPING, hop_farm_state(f, "a"));
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  hop_farm_on_timer(f, up + 800000);
  CHECK_STR("", acts(f));               /* one STOP */
  hop_farm_free(f);
}

static void test_min_online(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;
  uint64_t up;

  p.idle_stop_s = 10;
  p.min_online_s = 60;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  up = bring_up(f, T0);
  CHECK_EQ(up + 60000, hop_farm_deadline(f));
  hop_farm_session_begin(f, "a", up + 1000);
  hop_farm_session_end(f, "a", up + 55000);
  CHECK_EQ(up + 65000, hop_farm_deadline(f));    /* now idle_stop_s is the later one */
  hop_farm_on_timer(f, up + 64999);
  CHECK_STR("", acts(f));
  hop_farm_on_timer(f, up + 65000);
  CHECK_STR("a:event:stop_requested a:state:stopping a:stop(0)", acts(f));
  hop_farm_free(f);
}

static void test_stop_results(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;
  uint64_t t;

  p.idle_stop_s = 60;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  t = bring_to_stopping(f);
  hop_farm_stop_result(f, "a", 1, t + 5000);
  CHECK_STR("a:state:sleeping", acts(f));
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  hop_farm_stop_result(f, "a", 1, t + 5001);      /* a duplicate result: ignored */
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_WAKE_REFUSED_COOLDOWN, hop_farm_wake(f, "a", NULL, "x", t + 14999));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", NULL, "x", t + 15000));
  hop_farm_free(f);

  p.min_online_s = 600;                 /* the stop happens at running + 600 s */
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  t = bring_up(f, T0) + 600000;
  hop_farm_on_timer(f, t);
  CHECK_STR("a:event:stop_requested a:state:stopping a:stop(0)", acts(f));
  hop_farm_stop_result(f, "a", 0, t + 2000);
  CHECK_STR("a:state:running", acts(f));
  /* idle counted again from the failure; min_online_s still from the first start */
  CHECK_EQ(t + 62000, hop_farm_deadline(f));
  hop_farm_on_timer(f, t + 62000);
  CHECK_STR("a:event:stop_requested a:state:stopping a:stop(0)", acts(f));
  hop_farm_free(f);
}

static void test_pending_restart(void)
{
  struct hop_farm_config c;
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm_server_spec spec;
  struct hop_farm *f;
  uint64_t t;

  hop_farm_config_default(&c);
  c.wake_quota = 1;
  f = hop_farm_new(&c);
  p.idle_stop_s = 60;
  spec_init(&spec, "a", HOP_STATE_SLEEPING);
  spec.policy = p;
  hop_farm_sync(f, &spec, 1, T0);
  t = bring_to_stopping(f);           /* the bring-up spent 10.0.0.1's one wake */
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", "10.0.0.1", "Steve", t + 100));
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", "10.0.0.1", "Alex", t + 200));
  CHECK_STR("", acts(f));
  /* the stop completes: it sleeps, and starts again at once, cooldown and quota regardless */
  hop_farm_stop_result(f, "a", 1, t + 3000);
  CHECK_STR("a:state:sleeping a:event:wake_requested a:state:starting a:start", acts(f));
  CHECK_EQ(t + 4000, hop_farm_deadline(f));
  hop_farm_on_timer(f, t + 4000);
  CHECK_STR("a:probe", acts(f));
  hop_farm_probe_result(f, "a", 1, t + 4100);
  CHECK_STR("a:event:wake_ready(4000) a:state:running", acts(f));  /* since the first join */
  hop_farm_free(f);

  /* the stop fails: it is still running, so the joined players just connect */
  p.idle_stop_s = 60;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  t = bring_to_stopping(f);
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", NULL, "Steve", t + 100));
  hop_farm_stop_result(f, "a", 0, t + 3000);
  CHECK_STR("a:state:running", acts(f));
  CHECK_EQ(t + 63000, hop_farm_deadline(f));
  hop_farm_free(f);

  /* a server that may not be woken is not restarted either */
  p.auto_start = 0;
  f = farm_one(&p, HOP_STATE_RUNNING, T0);
  hop_farm_on_timer(f, T0 + 60000);
  CHECK_STR("a:event:stop_requested a:state:stopping a:stop(0)", acts(f));
  CHECK_EQ(HOP_WAKE_REFUSED_NO_AUTOSTART, hop_farm_wake(f, "a", NULL, "Steve", T0 + 60001));
  hop_farm_stop_result(f, "a", 1, T0 + 61000);
  CHECK_STR("a:state:sleeping", acts(f));
  hop_farm_free(f);
}

int main(void)
{
  test_idle_stop();
  test_min_online();
  test_stop_results();
  test_pending_restart();
  return TEST_DONE();
}
