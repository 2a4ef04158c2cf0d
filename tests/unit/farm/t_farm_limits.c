/* Who may wake a server, and how often: unknown ids, auto_start off, the allow-list, the order
 * refusals come in, and the per-IP wake quota with its window and its bounded table of IPs. */
#include <stdint.h>
#include <stdio.h>

#include "farm_fixture.h"

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

int main(void)
{
  test_refusals();
  test_quota();
  test_quota_eviction();
  return TEST_DONE();
}
