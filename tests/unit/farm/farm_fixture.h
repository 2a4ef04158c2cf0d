/* Fixture shared by the farm's rule-by-rule tests (t_farm_*.c): a farm holding one server "a",
 * and the steps that bring it up and let it idle out, each checking the exact actions it emits so
 * a test can start from a known state. Checks failing in here report this file's lines. */
#ifndef HOP_FARM_FIXTURE_H
#define HOP_FARM_FIXTURE_H

#include <stdint.h>

#include "farm_util.h"
#include "test.h"

#define NEVER UINT64_MAX

/* A farm holding server "a" as the provider describes it. */
static inline struct hop_farm *farm_one(const struct hop_farm_policy *policy, enum hop_state st,
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
static inline uint64_t bring_up(struct hop_farm *f, uint64_t now_ms)
{
  CHECK_EQ(HOP_WAKE_STARTED, hop_farm_wake(f, "a", "10.0.0.1", "Steve", now_ms));
  CHECK_STR("a:event:wake_requested a:state:starting a:start", acts(f));
  hop_farm_on_timer(f, now_ms + 1000);
  CHECK_STR("a:probe", acts(f));
  hop_farm_probe_result(f, "a", 1, now_ms + 1200);
  CHECK_STR("a:event:wake_ready(1200) a:state:running", acts(f));
  return now_ms + 1200;
}

/* Brings "a" up at T0 and lets it idle out with no sessions; the policy must stop it 60 s after
 * running (idle_stop_s 60, min_online_s at its default 60). Returns when the STOP went out. */
static inline uint64_t bring_to_stopping(struct hop_farm *f)
{
  uint64_t up = bring_up(f, T0);

  hop_farm_on_timer(f, up + 60000);
  CHECK_STR("a:event:stop_requested a:state:stopping a:stop(0)", acts(f));
  return up + 60000;
}

#endif
