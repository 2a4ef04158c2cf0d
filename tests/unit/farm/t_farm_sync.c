/* Syncing with the provider's document: new servers, the same document again, changes that arrive
 * while our own start or stop is out, starts and stops made by someone else, policy changes that
 * move timers already running, what the farm copies out of the specs, and entries it skips. */
#include <stdint.h>
#include <string.h>

#include "farm_fixture.h"

/* Syncs a document holding only "a", in state `st`, with policy `p` (NULL: the defaults). */
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

int main(void)
{
  test_sync_new_servers();
  test_sync_same_document();
  test_sync_during_our_start();
  test_sync_during_our_stop();
  test_sync_someone_else();
  test_sync_policy_change();
  test_sync_copies();
  test_sync_bad_entries();
  return TEST_DONE();
}
