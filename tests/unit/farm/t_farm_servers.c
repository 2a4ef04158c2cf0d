/* The farm as a set of servers: a server removed and added back, ids it never heard of, one
 * deadline across many servers, and the id index through many insertions and deletions. */
#include <stdint.h>
#include <stdio.h>

#include "farm_fixture.h"

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
  test_removed();
  test_unknown_ids();
  test_deadline_across_servers();
  test_many_servers();
  return TEST_DONE();
}
