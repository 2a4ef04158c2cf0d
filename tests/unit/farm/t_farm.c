/* The farm's lifecycle, one rule at a time: every transition, the refusals, the timers and the
 * sync rules, with the exact actions each step must emit. The randomized invariants live in
 * t_farm_random.c. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "farm_util.h"
#include "test.h"

#define NEVER UINT64_MAX

/* A farm holding server "a" as the provider describes it. */
static struct hop_farm *farm_one(const struct hop_farm_policy *policy, enum hop_state st,
                                 uint64_t now_ms)
{
  struct hop_farm *f = hop_farm_new(NULL);
  struct hop_farm_server_spec spec;

  spec_init(&spec, "a", st);
  if (policy)
    spec.policy = *policy;
  CHECK(f != NULL);
  CHECK_EQ(0, hop_farm_sync(f, &spec, 1, now_ms));
  CHECK_STR("", acts(f));
  return f;
}

/* Wakes "a" at `now_ms` and proves it ready with the first probe, one interval later. */
static uint64_t bring_up(struct hop_farm *f, uint64_t now_ms)
{
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", "10.0.0.1", "Steve", now_ms));
  CHECK_STR("a:event:wake_requested a:state:starting a:start", acts(f));
  hop_farm_on_timer(f, now_ms + 1000);
  CHECK_STR("a:probe", acts(f));
  hop_farm_probe_result(f, "a", 1, now_ms + 1200);
  CHECK_STR("a:event:wake_ready(1200) a:state:running", acts(f));
  return now_ms + 1200;
}

static void test_names(void)
{
  static const char *const states[] = { "sleeping", "starting", "running", "stopping", "failed" };

  for (int i = 0; i < 5; i++) {
    CHECK_STR(states[i], hop_state_name((enum hop_state)i));
    CHECK_EQ(i, hop_state_parse(states[i]));
  }
  CHECK_EQ(-1, hop_state_parse("Running"));
  CHECK_EQ(-1, hop_state_parse(""));
  CHECK_EQ(-1, hop_state_parse(NULL));
  CHECK_STR("?", hop_state_name((enum hop_state)99));
  CHECK_STR("started", hop_wake_result_name(HOP_WAKE_STARTED));
  CHECK_STR("joined", hop_wake_result_name(HOP_WAKE_JOINED));
  CHECK_STR("running", hop_wake_result_name(HOP_WAKE_RUNNING));
  CHECK_STR("refused_cooldown", hop_wake_result_name(HOP_WAKE_REFUSED_COOLDOWN));
  CHECK_STR("refused_quota", hop_wake_result_name(HOP_WAKE_REFUSED_QUOTA));
  CHECK_STR("refused_not_allowed", hop_wake_result_name(HOP_WAKE_REFUSED_NOT_ALLOWED));
  CHECK_STR("refused_no_autostart", hop_wake_result_name(HOP_WAKE_REFUSED_NO_AUTOSTART));
  CHECK_STR("unknown", hop_wake_result_name(HOP_WAKE_UNKNOWN));
  CHECK_STR("wake_requested", hop_farm_event_name(HOP_EVENT_WAKE_REQUESTED));
  CHECK_STR("wake_ready", hop_farm_event_name(HOP_EVENT_WAKE_READY));
  CHECK_STR("wake_failed", hop_farm_event_name(HOP_EVENT_WAKE_FAILED));
  CHECK_STR("stop_requested", hop_farm_event_name(HOP_EVENT_STOP_REQUESTED));
  CHECK_STR("?", hop_farm_event_name((enum hop_farm_event)0));
}

static void test_defaults(void)
{
  struct hop_farm_policy p, m = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm_config c;

  memset(&p, 0x5a, sizeof p);
  hop_farm_policy_default(&p);
  CHECK_EQ(1, p.auto_start);
  CHECK_EQ(HOP_JOIN_HOLD, p.join);
  CHECK_EQ(0, p.idle_stop_s);
  CHECK_EQ(60, p.min_online_s);
  CHECK_EQ(180, p.start_timeout_s);
  CHECK_EQ(0, p.ready_grace_ms);
  CHECK_EQ(10, p.cooldown_s);
  CHECK(p.wake_allow == NULL);
  /* the macro for those who do not link the farm says the same */
  CHECK_EQ(p.auto_start, m.auto_start);
  CHECK_EQ(p.join, m.join);
  CHECK_EQ(p.idle_stop_s, m.idle_stop_s);
  CHECK_EQ(p.min_online_s, m.min_online_s);
  CHECK_EQ(p.start_timeout_s, m.start_timeout_s);
  CHECK_EQ(p.ready_grace_ms, m.ready_grace_ms);
  CHECK_EQ(p.cooldown_s, m.cooldown_s);
  CHECK(m.wake_allow == NULL);
  hop_farm_config_default(&c);
  CHECK_EQ(1000, c.probe_interval_ms);
  CHECK_EQ(3, c.wake_quota);
  CHECK_EQ(600, c.wake_quota_window_s);
  CHECK_EQ(4096, c.wake_quota_ips_max);
}

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

static void test_refusals(void)
{
  static const char *const allow[] = { "Notch", "jeb_", NULL };
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;

  CHECK_EQ(HOP_WAKE_UNKNOWN, hop_farm_wake(f = farm_one(NULL, HOP_STATE_SLEEPING, T0), "b",
                                           NULL, "Steve", T0));
  CHECK_EQ(HOP_WAKE_UNKNOWN, hop_farm_wake(f, NULL, NULL, "Steve", T0));
  hop_farm_free(f);

  p.auto_start = 0;
  p.wake_allow = allow;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  CHECK_EQ(HOP_WAKE_REFUSED_NO_AUTOSTART, hop_farm_wake(f, "a", NULL, "Steve", T0));
  CHECK_EQ(HOP_WAKE_REFUSED_NO_AUTOSTART, hop_farm_wake(f, "a", NULL, "Notch", T0));
  CHECK_STR("", acts(f));
  hop_farm_free(f);

  p.auto_start = 1;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  CHECK_EQ(HOP_WAKE_REFUSED_NOT_ALLOWED, hop_farm_wake(f, "a", NULL, "Steve", T0));
  CHECK_EQ(HOP_WAKE_REFUSED_NOT_ALLOWED, hop_farm_wake(f, "a", NULL, NULL, T0));
  CHECK_EQ(HOP_WAKE_REFUSED_NOT_ALLOWED, hop_farm_wake(f, "a", NULL, "Notc", T0));
  CHECK_EQ(HOP_WAKE_REFUSED_NOT_ALLOWED, hop_farm_wake(f, "a", NULL, "Notchh", T0));
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", NULL, "JEB_", T0));
  CHECK_STR("a:event:wake_requested a:state:starting a:start", acts(f));
  /* the allow-list guards starts, not joining one */
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", NULL, "Steve", T0));
  hop_farm_start_result(f, "a", 0, T0 + 1);
  acts(f);
  /* refusals keep their order: not-allowed before cooldown */
  CHECK_EQ(HOP_WAKE_REFUSED_NOT_ALLOWED, hop_farm_wake(f, "a", NULL, "Steve", T0 + 2));
  CHECK_EQ(HOP_WAKE_REFUSED_COOLDOWN, hop_farm_wake(f, "a", NULL, "Notch", T0 + 2));
  hop_farm_free(f);
}

static struct hop_farm *farm_many(const struct hop_farm_config *cfg, int n, uint64_t now_ms)
{
  static const char *const ids[] = { "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7" };
  struct hop_farm_server_spec specs[8];
  struct hop_farm *f = hop_farm_new(cfg);

  for (int i = 0; i < n; i++)
    spec_init(&specs[i], ids[i], HOP_STATE_SLEEPING);
  CHECK(f != NULL);
  CHECK_EQ(0, hop_farm_sync(f, specs, (size_t)n, now_ms));
  return f;
}

static void test_quota(void)
{
  struct hop_farm_config c;
  struct hop_farm *f;

  hop_farm_config_default(&c);
  c.wake_quota = 2;
  c.wake_quota_window_s = 60;
  f = farm_many(&c, 8, T0);
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s0", "10.0.0.1", "a", T0));
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "s0", "10.0.0.1", "a", T0));  /* not counted */
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s1", "10.0.0.1", "a", T0 + 1000));
  acts(f);
  CHECK_EQ(HOP_WAKE_REFUSED_QUOTA, hop_farm_wake(f, "s2", "10.0.0.1", "a", T0 + 2000));
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_SLEEPING, hop_farm_state(f, "s2"));
  /* another IP has its own allowance; a wake without an IP skips the quota */
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s2", "10.0.0.2", "a", T0 + 2000));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s3", NULL, "a", T0 + 2000));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s4", "", "a", T0 + 2000));
  acts(f);
  /* the window opened at T0 closes at T0 + 60 s */
  CHECK_EQ(HOP_WAKE_REFUSED_QUOTA, hop_farm_wake(f, "s5", "10.0.0.1", "a", T0 + 59999));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s5", "10.0.0.1", "a", T0 + 60000));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s6", "10.0.0.1", "a", T0 + 60001));
  CHECK_EQ(HOP_WAKE_REFUSED_QUOTA, hop_farm_wake(f, "s7", "10.0.0.1", "a", T0 + 60002));
  hop_farm_free(f);

  c.wake_quota = 0;                     /* unlimited */
  f = farm_many(&c, 8, T0);
  for (int i = 0; i < 8; i++) {
    char id[16];

    snprintf(id, sizeof id, "s%d", i);
    CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, id, "10.0.0.1", "a", T0));
  }
  hop_farm_free(f);
}

static void test_quota_eviction(void)
{
  struct hop_farm_config c;
  struct hop_farm *f;

  hop_farm_config_default(&c);
  c.wake_quota = 1;
  c.wake_quota_ips_max = 2;
  f = farm_many(&c, 8, T0);
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s0", "10.0.0.1", "a", T0));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s1", "10.0.0.2", "a", T0 + 1));
  CHECK_EQ(HOP_WAKE_REFUSED_QUOTA, hop_farm_wake(f, "s2", "10.0.0.1", "a", T0 + 2));
  CHECK_EQ(HOP_WAKE_REFUSED_QUOTA, hop_farm_wake(f, "s2", "10.0.0.2", "a", T0 + 2));
  /* a third IP pushes out the oldest (10.0.0.1), which is then allowed again */
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s2", "10.0.0.3", "a", T0 + 3));
  CHECK_EQ(HOP_WAKE_REFUSED_QUOTA, hop_farm_wake(f, "s3", "10.0.0.2", "a", T0 + 4));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s3", "10.0.0.1", "a", T0 + 4));
  /* ... which pushed out 10.0.0.2 */
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "s4", "10.0.0.2", "a", T0 + 5));
  CHECK_EQ(HOP_WAKE_REFUSED_QUOTA, hop_farm_wake(f, "s5", "10.0.0.1", "a", T0 + 6));
  hop_farm_free(f);
}

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

static uint64_t bring_to_stopping(struct hop_farm *f)
{
  uint64_t up = bring_up(f, T0);

  hop_farm_on_timer(f, up + 60000);
  CHECK_STR("a:event:stop_requested a:state:stopping a:stop(0)", acts(f));
  return up + 60000;
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

/* ---- Sync --------------------------------------------------------------------------------- */

static void sync_one(struct hop_farm *f, const struct hop_farm_policy *p, enum hop_state st,
                     uint64_t now_ms)
{
  struct hop_farm_server_spec spec;

  spec_init(&spec, "a", st);
  if (p)
    spec.policy = *p;
  CHECK_EQ(0, hop_farm_sync(f, &spec, 1, now_ms));
}

static void test_sync_new_servers(void)
{
  struct hop_farm_server_spec specs[4];
  struct hop_farm *f = hop_farm_new(NULL);

  spec_init(&specs[0], "sleep", HOP_STATE_SLEEPING);
  spec_init(&specs[1], "run", HOP_STATE_RUNNING);
  spec_init(&specs[2], "start", HOP_STATE_STARTING);
  spec_init(&specs[3], "fail", HOP_STATE_FAILED);
  specs[1].policy.idle_stop_s = 100;
  CHECK_EQ(0, hop_farm_sync(f, specs, 4, T0));
  CHECK_STR("", acts(f));               /* no STATE for a state we never had another of */
  CHECK_EQ(HOP_STATE_SLEEPING, hop_farm_state(f, "sleep"));
  CHECK_EQ(HOP_STATE_RUNNING, hop_farm_state(f, "run"));
  CHECK_EQ(HOP_STATE_STARTING, hop_farm_state(f, "start"));
  CHECK_EQ(HOP_STATE_FAILED, hop_farm_state(f, "fail"));
  /* no cooldown for a server first seen failed */
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "fail", NULL, "x", T0));
  CHECK_STR("fail:event:wake_requested fail:state:starting fail:start", acts(f));
  /* someone else's start is probed but not started again; the idle clock runs from now */
  CHECK_EQ(T0 + 1000, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 1000);
  CHECK_STR("start:probe fail:probe", acts(f));
  hop_farm_probe_result(f, "start", 1, T0 + 1100);
  CHECK_STR("start:state:running", acts(f));   /* nobody woke it: no wake event */
  hop_farm_on_timer(f, T0 + 100000);
  CHECK_STR("run:event:stop_requested run:state:stopping run:stop(0)", acts(f));
  hop_farm_free(f);
}

static void test_sync_same_document(void)
{
  struct hop_farm *f = farm_one(NULL, HOP_STATE_SLEEPING, T0);

  bring_up(f, T0);
  /* the provider never heard of our start: repeating "sleeping" must not undo it */
  sync_one(f, NULL, HOP_STATE_SLEEPING, T0 + 5000);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_RUNNING, hop_farm_state(f, "a"));
  /* a change is applied */
  sync_one(f, NULL, HOP_STATE_RUNNING, T0 + 6000);
  CHECK_STR("", acts(f));               /* already running: no STATE */
  sync_one(f, NULL, HOP_STATE_SLEEPING, T0 + 7000);
  CHECK_STR("a:state:sleeping", acts(f));
  sync_one(f, NULL, HOP_STATE_SLEEPING, T0 + 8000);
  CHECK_STR("", acts(f));
  hop_farm_free(f);
}

static void test_sync_during_our_start(void)
{
  struct hop_farm *f = farm_one(NULL, HOP_STATE_SLEEPING, T0);

  hop_farm_wake(f, "a", NULL, "x", T0);
  acts(f);
  sync_one(f, NULL, HOP_STATE_FAILED, T0 + 100);
  sync_one(f, NULL, HOP_STATE_STOPPING, T0 + 200);
  sync_one(f, NULL, HOP_STATE_SLEEPING, T0 + 300);
  sync_one(f, NULL, HOP_STATE_STARTING, T0 + 400);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_STARTING, hop_farm_state(f, "a"));
  /* "running" ends it at once, as a good probe would */
  sync_one(f, NULL, HOP_STATE_RUNNING, T0 + 500);
  CHECK_STR("a:event:wake_ready(500) a:state:running", acts(f));
  hop_farm_free(f);

  /* the same during the grace delay */
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;

  p.ready_grace_ms = 5000;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  hop_farm_wake(f, "a", NULL, "x", T0);
  hop_farm_on_timer(f, T0 + 1000);
  hop_farm_probe_result(f, "a", 1, T0 + 1000);
  acts(f);
  sync_one(f, &p, HOP_STATE_RUNNING, T0 + 2000);
  CHECK_STR("a:event:wake_ready(2000) a:state:running", acts(f));
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  hop_farm_free(f);
}

static void test_sync_during_our_stop(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;
  uint64_t t;

  p.idle_stop_s = 60;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  t = bring_to_stopping(f);
  sync_one(f, &p, HOP_STATE_RUNNING, t + 100);    /* stale: our stop is in flight */
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_STOPPING, hop_farm_state(f, "a"));
  sync_one(f, &p, HOP_STATE_SLEEPING, t + 300);   /* completes the stop */
  CHECK_STR("a:state:sleeping", acts(f));
  hop_farm_stop_result(f, "a", 1, t + 400);
  sync_one(f, &p, HOP_STATE_STOPPING, t + 410);   /* lagging: the stop is done */
  sync_one(f, &p, HOP_STATE_SLEEPING, t + 420);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_SLEEPING, hop_farm_state(f, "a"));
  CHECK_EQ(HOP_WAKE_REFUSED_COOLDOWN, hop_farm_wake(f, "a", NULL, "x", t + 500));
  hop_farm_free(f);

  /* someone else starts it while our stop is out: we follow, and our late result is ignored */
  f = farm_one(&p, HOP_STATE_RUNNING, T0);
  hop_farm_on_timer(f, T0 + 60000);
  acts(f);
  sync_one(f, &p, HOP_STATE_STARTING, T0 + 60100);
  CHECK_STR("a:state:starting", acts(f));
  hop_farm_stop_result(f, "a", 1, T0 + 60200);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_STARTING, hop_farm_state(f, "a"));
  hop_farm_free(f);

  /* a stop completed by the provider also releases a pending restart */
  f = farm_one(&p, HOP_STATE_RUNNING, T0);
  hop_farm_on_timer(f, T0 + 60000);
  acts(f);
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", NULL, "x", T0 + 60500));
  sync_one(f, &p, HOP_STATE_SLEEPING, T0 + 61000);
  CHECK_STR("a:state:sleeping a:event:wake_requested a:state:starting a:start", acts(f));
  hop_farm_free(f);
}

static void test_sync_someone_else(void)
{
  struct hop_farm *f = farm_one(NULL, HOP_STATE_SLEEPING, T0);

  sync_one(f, NULL, HOP_STATE_STARTING, T0 + 100);
  CHECK_STR("a:state:starting", acts(f));          /* no START: it is not ours */
  CHECK_EQ(T0 + 1100, hop_farm_deadline(f));
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", NULL, "x", T0 + 600));
  hop_farm_on_timer(f, T0 + 1100);
  CHECK_STR("a:probe", acts(f));
  hop_farm_start_result(f, "a", 0, T0 + 1150);     /* not ours: ignored */
  CHECK_STR("", acts(f));
  hop_farm_probe_result(f, "a", 1, T0 + 1200);
  CHECK_STR("a:event:wake_ready(600) a:state:running", acts(f));   /* since the join */
  /* lagging "starting" after we saw it run is ignored; "stopping" is someone's stop */
  sync_one(f, NULL, HOP_STATE_RUNNING, T0 + 2000);
  sync_one(f, NULL, HOP_STATE_STARTING, T0 + 3000);
  CHECK_STR("", acts(f));
  sync_one(f, NULL, HOP_STATE_STOPPING, T0 + 4000);
  CHECK_STR("a:state:stopping", acts(f));          /* no STOP: not ours */
  hop_farm_stop_result(f, "a", 0, T0 + 4100);      /* not ours: ignored */
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_WAKE_JOINED, hop_farm_wake(f, "a", NULL, "x", T0 + 4200));
  sync_one(f, NULL, HOP_STATE_STARTING, T0 + 5000);
  /* their restart carries our queued wake */
  CHECK_STR("a:state:starting", acts(f));
  sync_one(f, NULL, HOP_STATE_FAILED, T0 + 6000);
  CHECK_STR("a:event:wake_failed(1800) a:state:failed", acts(f));
  CHECK_EQ(HOP_WAKE_REFUSED_COOLDOWN, hop_farm_wake(f, "a", NULL, "x", T0 + 6001));
  hop_farm_free(f);
}

static void test_sync_policy_change(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm *f;
  uint64_t up;

  p.idle_stop_s = 600;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  up = bring_up(f, T0);
  CHECK_EQ(up + 600000, hop_farm_deadline(f));
  p.idle_stop_s = 120;
  sync_one(f, &p, HOP_STATE_SLEEPING, up + 1000);
  CHECK_EQ(up + 120000, hop_farm_deadline(f));
  p.idle_stop_s = 0;
  sync_one(f, &p, HOP_STATE_SLEEPING, up + 2000);
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  CHECK_STR("", acts(f));
  hop_farm_free(f);

  /* a shorter start timeout can fail a start that is already late */
  p = (struct hop_farm_policy)HOP_FARM_POLICY_DEFAULT;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  hop_farm_wake(f, "a", NULL, "x", T0);
  hop_farm_on_timer(f, T0 + 1000);
  acts(f);
  CHECK_EQ(T0 + 180000, hop_farm_deadline(f));
  p.start_timeout_s = 20;
  sync_one(f, &p, HOP_STATE_SLEEPING, T0 + 30000);
  CHECK_EQ(T0 + 20000, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 30000);
  CHECK_STR("a:event:wake_failed(30000) a:state:failed", acts(f));
  /* and a cooldown change applies to the cooldown already running */
  p.cooldown_s = 100;
  sync_one(f, &p, HOP_STATE_SLEEPING, T0 + 31000);
  CHECK_EQ(HOP_WAKE_REFUSED_COOLDOWN, hop_farm_wake(f, "a", NULL, "x", T0 + 129999));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", NULL, "x", T0 + 130000));
  hop_farm_free(f);
}

static void test_sync_copies(void)
{
  char name[16] = "Notch", id[8] = "a";
  const char *allow[] = { name, NULL };
  struct hop_farm_server_spec spec;
  struct hop_farm *f = hop_farm_new(NULL);

  spec_init(&spec, id, HOP_STATE_SLEEPING);
  spec.policy.wake_allow = allow;
  CHECK_EQ(0, hop_farm_sync(f, &spec, 1, T0));
  strcpy(name, "Steve");
  strcpy(id, "b");
  allow[0] = NULL;
  CHECK_EQ(HOP_WAKE_REFUSED_NOT_ALLOWED, hop_farm_wake(f, "a", NULL, "Steve", T0));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", NULL, "Notch", T0));
  CHECK_EQ(HOP_WAKE_UNKNOWN, hop_farm_wake(f, "b", NULL, "Notch", T0));
  acts(f);
  /* dropping the allow-list opens the server to everyone */
  spec_init(&spec, "a", HOP_STATE_SLEEPING);
  CHECK_EQ(0, hop_farm_sync(f, &spec, 1, T0));
  hop_farm_start_result(f, "a", 0, T0);
  spec.policy.cooldown_s = 0;
  CHECK_EQ(0, hop_farm_sync(f, &spec, 1, T0));
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", NULL, "Steve", T0));
  hop_farm_free(f);
}

static void test_sync_bad_entries(void)
{
  char long_id[70];
  struct hop_farm_server_spec specs[5];
  struct hop_farm *f = hop_farm_new(NULL);

  memset(long_id, 'x', 65);
  long_id[65] = '\0';
  spec_init(&specs[0], "dup", HOP_STATE_RUNNING);
  spec_init(&specs[1], "dup", HOP_STATE_FAILED);
  spec_init(&specs[2], NULL, HOP_STATE_RUNNING);
  spec_init(&specs[3], "", HOP_STATE_RUNNING);
  spec_init(&specs[4], long_id, HOP_STATE_RUNNING);
  CHECK_EQ(0, hop_farm_sync(f, specs, 5, T0));
  CHECK_EQ(HOP_STATE_RUNNING, hop_farm_state(f, "dup"));     /* the first one counts */
  CHECK_EQ(HOP_WAKE_UNKNOWN, hop_farm_wake(f, "", NULL, "x", T0));
  CHECK_EQ(HOP_WAKE_UNKNOWN, hop_farm_wake(f, long_id, NULL, "x", T0));
  long_id[64] = '\0';                   /* 64 bytes is the longest id */
  spec_init(&specs[0], long_id, HOP_STATE_RUNNING);
  CHECK_EQ(0, hop_farm_sync(f, specs, 1, T0));
  CHECK_EQ(HOP_WAKE_RUNNING, hop_farm_wake(f, long_id, NULL, "x", T0));
  CHECK_EQ(HOP_WAKE_UNKNOWN, hop_farm_wake(f, "dup", NULL, "x", T0));
  CHECK_EQ(0, hop_farm_sync(f, NULL, 0, T0));
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  hop_farm_free(f);
}

/* ---- Removal, unknown ids, deadlines ------------------------------------------------------ */

static void test_removed(void)
{
  struct hop_farm_policy p = HOP_FARM_POLICY_DEFAULT;
  struct hop_farm_server_spec spec;
  struct hop_farm *f;

  p.idle_stop_s = 60;
  f = farm_one(&p, HOP_STATE_SLEEPING, T0);
  hop_farm_wake(f, "a", NULL, "x", T0);
  hop_farm_session_begin(f, "a", T0);
  hop_farm_session_begin(f, "a", T0);
  acts(f);
  CHECK_EQ(0, hop_farm_sync(f, NULL, 0, T0 + 100));
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_WAKE_UNKNOWN, hop_farm_wake(f, "a", NULL, "x", T0 + 200));
  CHECK_EQ(HOP_STATE_SLEEPING, hop_farm_state(f, "a"));
  CHECK_EQ(2, hop_farm_sessions(f, "a"));           /* still counted */
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 1000000);
  hop_farm_probe_result(f, "a", 1, T0 + 1000000);
  hop_farm_start_result(f, "a", 0, T0 + 1000000);
  hop_farm_stop_result(f, "a", 1, T0 + 1000000);
  CHECK_STR("", acts(f));
  hop_farm_session_begin(f, "a", T0 + 1000001);
  CHECK_EQ(3, hop_farm_sessions(f, "a"));
  /* back in the set: it takes the provider's state and keeps its sessions */
  spec_init(&spec, "a", HOP_STATE_RUNNING);
  spec.policy = p;
  CHECK_EQ(0, hop_farm_sync(f, &spec, 1, T0 + 2000000));
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_RUNNING, hop_farm_state(f, "a"));
  CHECK_EQ(3, hop_farm_sessions(f, "a"));
  CHECK_EQ(NEVER, hop_farm_deadline(f));
  CHECK_EQ(0, hop_farm_sync(f, NULL, 0, T0 + 2000001));
  for (int i = 0; i < 3; i++)
    hop_farm_session_end(f, "a", T0 + 2000002);
  CHECK_EQ(0, hop_farm_sessions(f, "a"));
  hop_farm_session_begin(f, "a", T0 + 2000003);   /* forgotten: no longer counted */
  CHECK_EQ(0, hop_farm_sessions(f, "a"));
  /* and when it comes back it is a new server: sessions start at 0 */
  spec_init(&spec, "a", HOP_STATE_SLEEPING);
  CHECK_EQ(0, hop_farm_sync(f, &spec, 1, T0 + 3000000));
  CHECK_EQ(0, hop_farm_sessions(f, "a"));
  hop_farm_session_end(f, "a", T0 + 3000001);
  CHECK_EQ(0, hop_farm_sessions(f, "a"));
  hop_farm_free(f);
}

static void test_unknown_ids(void)
{
  struct hop_farm *f = farm_one(NULL, HOP_STATE_SLEEPING, T0);

  hop_farm_session_begin(f, "zz", T0);
  hop_farm_session_end(f, "zz", T0);
  hop_farm_session_begin(f, NULL, T0);
  hop_farm_start_result(f, "zz", 0, T0);
  hop_farm_probe_result(f, "zz", 1, T0);
  hop_farm_stop_result(f, "zz", 1, T0);
  CHECK_EQ(0, hop_farm_sessions(f, "zz"));
  CHECK_EQ(HOP_STATE_SLEEPING, hop_farm_state(f, "zz"));
  CHECK_STR("", acts(f));
  /* results for actions never asked for are ignored too */
  hop_farm_probe_result(f, "a", 1, T0);
  hop_farm_stop_result(f, "a", 1, T0);
  hop_farm_start_result(f, "a", 0, T0);
  CHECK_STR("", acts(f));
  CHECK_EQ(HOP_STATE_SLEEPING, hop_farm_state(f, "a"));
  hop_farm_free(f);
}

static void test_deadline_across_servers(void)
{
  struct hop_farm_server_spec specs[3];
  struct hop_farm *f = hop_farm_new(NULL);

  CHECK_EQ(NEVER, hop_farm_deadline(f));
  spec_init(&specs[0], "x", HOP_STATE_RUNNING);
  spec_init(&specs[1], "y", HOP_STATE_RUNNING);
  spec_init(&specs[2], "z", HOP_STATE_SLEEPING);
  specs[0].policy.idle_stop_s = 500;
  specs[1].policy.idle_stop_s = 200;
  CHECK_EQ(0, hop_farm_sync(f, specs, 3, T0));
  CHECK_EQ(T0 + 200000, hop_farm_deadline(f));
  hop_farm_wake(f, "z", NULL, "p", T0 + 150000);
  CHECK_STR("z:event:wake_requested z:state:starting z:start", acts(f));
  CHECK_EQ(T0 + 151000, hop_farm_deadline(f));
  hop_farm_on_timer(f, T0 + 150999);
  CHECK_STR("", acts(f));
  /* one late call does every server that is due */
  hop_farm_on_timer(f, T0 + 200000);
  CHECK_STR("y:event:stop_requested y:state:stopping y:stop(0) z:probe", acts(f));
  CHECK_EQ(T0 + 330000, hop_farm_deadline(f));      /* z's start timeout, before x's stop */
  hop_farm_on_timer(f, T0 + 330000);
  CHECK_STR("z:event:wake_failed(180000) z:state:failed", acts(f));
  CHECK_EQ(T0 + 500000, hop_farm_deadline(f));
  hop_farm_free(f);
}

/* Many servers in and out: the id index must find every survivor after deletions. */
static void test_many_servers(void)
{
  enum { N = 1000 };
  static char ids[N][16];
  static struct hop_farm_server_spec specs[N];
  struct hop_farm *f = hop_farm_new(NULL);
  size_t kept = 0;
  int bad = 0;

  for (int i = 0; i < N; i++) {
    snprintf(ids[i], sizeof ids[i], "srv-%d", i);
    spec_init(&specs[i], ids[i], HOP_STATE_RUNNING);
  }
  CHECK_EQ(0, hop_farm_sync(f, specs, N, T0));
  for (int i = 0; i < N; i++)
    if (i % 3 != 0)
      specs[kept++] = specs[i];
  CHECK_EQ(0, hop_farm_sync(f, specs, kept, T0 + 1));
  for (int i = 0; i < N; i++) {
    enum hop_wake_result want = i % 3 ? HOP_WAKE_RUNNING : HOP_WAKE_UNKNOWN;

    bad += hop_farm_wake(f, ids[i], NULL, "p", T0 + 2) != want;
  }
  CHECK_EQ(0, bad);
  /* all back, all "sleeping": the survivors change (one STATE each), the returning are new */
  for (int i = 0; i < N; i++)
    spec_init(&specs[i], ids[i], HOP_STATE_SLEEPING);
  CHECK_EQ(0, hop_farm_sync(f, specs, N, T0 + 3));
  {
    struct hop_farm_action a;
    int states = 0;

    while (hop_farm_next_action(f, &a))
      states += a.kind == HOP_FARM_STATE && a.state == HOP_STATE_SLEEPING;
    CHECK_EQ(N - (N + 2) / 3, states);
  }
  for (int i = 0; i < N; i++)
    bad += hop_farm_state(f, ids[i]) != HOP_STATE_SLEEPING;
  for (int i = 0; i < N; i += 3)
    bad += hop_farm_wake(f, ids[i], NULL, "p", T0 + 4) != HOP_WAKE_STARTED;
  CHECK_EQ(0, bad);
  hop_farm_free(f);
}

int main(void)
{
  test_names();
  test_defaults();
  test_wake_to_running();
  test_single_flight();
  test_start_failed_and_cooldown();
  test_start_timeout();
  test_lost_probe();
  test_ready_grace();
  test_refusals();
  test_quota();
  test_quota_eviction();
  test_idle_stop();
  test_min_online();
  test_stop_results();
  test_pending_restart();
  test_sync_new_servers();
  test_sync_same_document();
  test_sync_during_our_start();
  test_sync_during_our_stop();
  test_sync_someone_else();
  test_sync_policy_change();
  test_sync_copies();
  test_sync_bad_entries();
  test_removed();
  test_unknown_ids();
  test_deadline_across_servers();
  test_many_servers();
  return TEST_DONE();
}
