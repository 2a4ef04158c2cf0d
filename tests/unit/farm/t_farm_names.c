/* The farm's names and defaults: the strings that logs, metrics, the admin API and the provider
 * store use for states, wake results and events, and the default policy and config that
 * docs/farm.md's tables promise (the policy twice: the function, and the initializer for code
 * that does not link the farm). */
#include <string.h>

#include "hop/farm.h"
#include "test.h"

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

int main(void)
{
  test_names();
  test_defaults();
  return TEST_DONE();
}
