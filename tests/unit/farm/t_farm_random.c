/* Random interleavings against a model: wakes, sessions, results (late, failed, lost), syncs
 * with changing provider states and policies, and timers, from fixed seeds. After every step:
 *   - no STOP for a server with live sessions (the one thing a player would notice);
 *   - at most one START per start attempt, and at most one PROBE out per attempt;
 *   - every STATE is a real change, and the farm's state and session counts match the model;
 *   - after hop_farm_on_timer(now) nothing is due at or before now, and an early call does
 *     nothing;
 *   - wake results agree with the actions they emitted.
 * A failure prints the seed and step; rerun with that seed alone via argv[1]. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "farm_util.h"
#include "test.h"

#define NEVER UINT64_MAX
#define IDS 5
#define STEPS 3000
#ifndef SEEDS
#define SEEDS 300             /* -DSEEDS=N for a longer soak */
#endif
#define PENDING_MAX 256

/* ---- PRNG --------------------------------------------------------------------------------- */

static uint64_t rng;

static uint64_t next_u64(void)
{
  rng ^= rng >> 12;            /* xorshift64* */
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}

static uint32_t below(uint32_t n)
{
  return (uint32_t)(next_u64() >> 33) % n;
}

static int chance(uint32_t percent)
{
  return below(100) < percent;
}

/* ---- Model -------------------------------------------------------------------------------- */

struct pending {
  int id;
  enum hop_farm_action_kind kind;
  uint64_t due_ms;
};

struct model_server {
  int listed;                  /* in the last sync */
  int present;                 /* listed, or removed with sessions: the farm still counts */
  enum hop_state state;
  uint32_t sessions;
  int start_open, probe_open;  /* emitted, and neither a result nor a STATE since */
  struct hop_farm_server_spec spec;
};

static const char *const ids[IDS] = { "s0", "s1", "s2", "s3", "s4" };
static const char *const ips[] = { "10.0.0.1", "10.0.0.2", "10.0.0.3", "", NULL };
static const char *const players[] = { "Notch", "jeb_", "Steve" };
static const char *const allow[] = { "notch", NULL };

struct world {
  struct hop_farm *f;
  uint64_t now;
  struct model_server m[IDS];
  struct pending pend[PENDING_MAX];
  size_t pend_len;
  unsigned long violations;
  char first[256];
  unsigned long seed, step;
  unsigned long starts, stops, probes, readies;
};

static void violation(struct world *w, const char *what, int id)
{
  if (w->violations++ == 0)
    snprintf(w->first, sizeof w->first, "seed %lu step %lu server %s: %s", w->seed, w->step,
             id >= 0 ? ids[id] : "-", what);
}

static int id_index(const char *id)
{
  for (int i = 0; i < IDS; i++)
    if (strcmp(ids[i], id) == 0)
      return i;
  return -1;
}

static void expect_result(struct world *w, int id, enum hop_farm_action_kind kind)
{
  struct pending *p;

  if (w->pend_len == PENDING_MAX)
    return;                    /* the result is lost, which the farm must survive too */
  p = &w->pend[w->pend_len++];
  p->id = id;
  p->kind = kind;
  p->due_ms = w->now + below(kind == HOP_FARM_PROBE ? 800 : 4000);
}

/* Checks one action against the model and updates the model. `prev` is the action before it
 * for the same server in this drain (kind 0 if none). */
static void check_action(struct world *w, const struct hop_farm_action *a,
                         const struct hop_farm_action *prev)
{
  int id = id_index(a->id);
  struct model_server *m;

  if (id < 0) {
    violation(w, "action for an id that was never synced", -1);
    return;
  }
  m = &w->m[id];
  if (!m->listed)
    violation(w, "action for a removed server", id);
  switch (a->kind) {
  case HOP_FARM_STATE:
    if (a->state == m->state)
      violation(w, "STATE without a change", id);
    m->state = a->state;
    m->start_open = m->probe_open = 0;
    break;
  case HOP_FARM_START:
    if (m->start_open)
      violation(w, "second START in one attempt", id);
    if (prev->kind != HOP_FARM_STATE || prev->state != HOP_STATE_STARTING)
      violation(w, "START not right after STATE starting", id);
    m->start_open = 1;
    w->starts++;
    expect_result(w, id, HOP_FARM_START);
    break;
  case HOP_FARM_PROBE:
    if (m->probe_open)
      violation(w, "second PROBE before a result", id);
    if (m->state != HOP_STATE_STARTING)
      violation(w, "PROBE outside starting", id);
    m->probe_open = 1;
    w->probes++;
    if (!chance(5))            /* 5% of probes never answer */
      expect_result(w, id, HOP_FARM_PROBE);
    break;
  case HOP_FARM_STOP:
    if (a->sessions != 0 || m->sessions != 0 || hop_farm_sessions(w->f, a->id) != 0)
      violation(w, "STOP with live sessions", id);
    if (prev->kind != HOP_FARM_STATE || prev->state != HOP_STATE_STOPPING)
      violation(w, "STOP not right after STATE stopping", id);
    w->stops++;
    expect_result(w, id, HOP_FARM_STOP);
    break;
  case HOP_FARM_EVENT:
    if (a->event == HOP_EVENT_WAKE_READY) {
      if (m->state != HOP_STATE_STARTING)
        violation(w, "wake_ready outside starting", id);
      w->readies++;
    }
    if (a->event == HOP_EVENT_WAKE_FAILED && m->state != HOP_STATE_STARTING)
      violation(w, "wake_failed outside starting", id);
    if (a->event == HOP_EVENT_STOP_REQUESTED && m->state != HOP_STATE_RUNNING)
      violation(w, "stop_requested outside running", id);
    break;
  default:
    violation(w, "unknown action kind", id);
  }
}

/* Drains and checks; returns how many actions there were. */
static size_t drain(struct world *w)
{
  struct hop_farm_action a, prev[IDS];
  size_t n = 0;

  memset(prev, 0, sizeof prev);
  while (hop_farm_next_action(w->f, &a)) {
    int id = id_index(a.id);

    check_action(w, &a, id >= 0 ? &prev[id] : &prev[0]);
    if (id >= 0)
      prev[id] = a;
    n++;
  }
  return n;
}

static void check_agreement(struct world *w)
{
  for (int i = 0; i < IDS; i++) {
    const struct model_server *m = &w->m[i];
    enum hop_state want = m->listed ? m->state : HOP_STATE_SLEEPING;

    if (hop_farm_state(w->f, ids[i]) != want)
      violation(w, "state differs from the model", i);
    if (hop_farm_sessions(w->f, ids[i]) != (m->present ? m->sessions : 0))
      violation(w, "session count differs from the model", i);
  }
}

/* ---- Steps -------------------------------------------------------------------------------- */

static void random_policy(struct hop_farm_policy *p)
{
  hop_farm_policy_default(p);
  p->auto_start = !chance(10);
  p->join = chance(50) ? HOP_JOIN_HOLD : HOP_JOIN_KICK;
  p->idle_stop_s = chance(20) ? 0 : 1 + below(30);
  p->min_online_s = below(20);
  p->start_timeout_s = 1 + below(15);
  p->ready_grace_ms = chance(50) ? 0 : below(3000);
  p->cooldown_s = below(8);
  p->wake_allow = chance(15) ? allow : NULL;
}

static void step_sync(struct world *w)
{
  struct hop_farm_server_spec specs[IDS];
  size_t n = 0;
  int include[IDS];

  for (int i = 0; i < IDS; i++) {
    struct model_server *m = &w->m[i];

    include[i] = !chance(10);
    if (chance(30))
      random_policy(&m->spec.policy);
    if (chance(25))
      m->spec.provider_state = (enum hop_state)below(5);
    if (include[i])
      specs[n++] = m->spec;
  }
  if (hop_farm_sync(w->f, specs, n, w->now) != 0)
    violation(w, "sync failed", -1);
  /* Servers new to the farm take the provider's state without a STATE action. */
  for (int i = 0; i < IDS; i++) {
    struct model_server *m = &w->m[i];

    if (include[i] && !m->listed) {
      m->state = m->spec.provider_state;
      m->start_open = m->probe_open = 0;
    }
    m->listed = include[i];
    m->present = include[i] || (m->present && m->sessions > 0);
    if (!m->present)
      m->sessions = 0;
  }
  drain(w);
}

static void step_wake(struct world *w)
{
  int id = (int)below(IDS);
  struct model_server *m = &w->m[id];
  enum hop_state before = m->state;
  enum hop_wake_result r = hop_farm_wake(w->f, ids[id], ips[below(5)], players[below(3)], w->now);
  unsigned long starts = w->starts;
  size_t n = drain(w);

  if (!m->listed) {
    if (r != HOP_WAKE_UNKNOWN || n)
      violation(w, "wake of a removed server did something", id);
    return;
  }
  if (r == HOP_WAKE_STARTED && (n != 3 || w->starts != starts + 1))
    violation(w, "STARTED without exactly event, state, start", id);
  if (r != HOP_WAKE_STARTED && n != 0)
    violation(w, "a wake that did not start emitted actions", id);
  if (r == HOP_WAKE_RUNNING && before != HOP_STATE_RUNNING)
    violation(w, "RUNNING for a server not running", id);
  if (r == HOP_WAKE_JOINED && before != HOP_STATE_STARTING && before != HOP_STATE_STOPPING)
    violation(w, "JOINED with nothing to join", id);
  if (r == HOP_WAKE_UNKNOWN)
    violation(w, "UNKNOWN for a listed server", id);
}

static void step_session(struct world *w)
{
  int id = (int)below(IDS);
  struct model_server *m = &w->m[id];

  if (m->sessions > 0 && chance(50)) {
    hop_farm_session_end(w->f, ids[id], w->now);
    if (--m->sessions == 0 && !m->listed)
      m->present = 0;
  } else {
    hop_farm_session_begin(w->f, ids[id], w->now);
    if (m->present)
      m->sessions++;
  }
  if (drain(w))
    violation(w, "a session event emitted actions", id);
}

static void step_result(struct world *w)
{
  size_t due[PENDING_MAX], n = 0, k;
  struct pending p;
  struct model_server *m;

  for (size_t i = 0; i < w->pend_len; i++)
    if (w->pend[i].due_ms <= w->now)
      due[n++] = i;
  if (n == 0)
    return;
  k = due[below((uint32_t)n)];
  p = w->pend[k];
  w->pend[k] = w->pend[--w->pend_len];
  m = &w->m[p.id];
  /* Any result counts as the one in between, even a late one from an earlier attempt: the
   * contract has no token to tell them apart. */
  if (p.kind == HOP_FARM_START)
    m->start_open = 0;
  if (p.kind == HOP_FARM_PROBE)
    m->probe_open = 0;
  switch (p.kind) {
  case HOP_FARM_START:
    hop_farm_start_result(w->f, ids[p.id], !chance(20), w->now);
    break;
  case HOP_FARM_PROBE:
    hop_farm_probe_result(w->f, ids[p.id], chance(40), w->now);
    break;
  default:
    hop_farm_stop_result(w->f, ids[p.id], !chance(15), w->now);
    break;
  }
  drain(w);
}

/* Time moves on; sometimes exactly to the deadline, sometimes just short of it (where nothing
 * may happen), sometimes past it. */
static void step_time(struct world *w)
{
  uint64_t d = hop_farm_deadline(w->f);

  if (d != NEVER && d > w->now && chance(30)) {
    w->now = d - 1;
    hop_farm_on_timer(w->f, w->now);
    if (drain(w))
      violation(w, "on_timer before the deadline did something", -1);
    w->now = d;
  } else {
    w->now += below(chance(10) ? 40000 : 1500);
  }
  hop_farm_on_timer(w->f, w->now);
  drain(w);
  if (hop_farm_deadline(w->f) <= w->now)
    violation(w, "deadline not in the future after on_timer", -1);
}

static void run_seed(struct world *w, unsigned long seed)
{
  memset(w, 0, sizeof *w);
  w->seed = seed;
  rng = 0x9e3779b97f4a7c15ull ^ (seed * 0xbf58476d1ce4e5b9ull);
  if (!rng)
    rng = 1;
  w->now = 1000000;
  w->f = hop_farm_new(NULL);
  for (int i = 0; i < IDS; i++) {
    w->m[i].spec.id = ids[i];
    random_policy(&w->m[i].spec.policy);
    w->m[i].spec.provider_state = (enum hop_state)below(5);
  }
  step_sync(w);
  for (w->step = 0; w->step < STEPS && w->violations == 0; w->step++) {
    uint32_t r = below(100);

    if (r < 20)
      step_wake(w);
    else if (r < 45)
      step_session(w);
    else if (r < 65)
      step_result(w);
    else if (r < 95)
      step_time(w);
    else
      step_sync(w);
    check_agreement(w);
  }
  hop_farm_free(w->f);
}

int main(int argc, char **argv)
{
  static struct world w;
  unsigned long first = 1, last = SEEDS, starts = 0, stops = 0, probes = 0, readies = 0;

  if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9')
    first = last = strtoul(argv[1], NULL, 10);
  for (unsigned long seed = first; seed <= last; seed++) {
    run_seed(&w, seed);
    TEST_CTX("%s", w.first);
    CHECK_EQ(0, w.violations);
    starts += w.starts;
    stops += w.stops;
    probes += w.probes;
    readies += w.readies;
  }
  TEST_CTX("totals");
  /* the walk must actually reach the interesting states, or it proves nothing */
  CHECK(starts > 100);
  CHECK(stops > 100);
  CHECK(probes > 100);
  CHECK(readies > 100);
  printf("# seeds %lu..%lu: %lu starts, %lu probes, %lu ready, %lu stops\n", first, last,
         starts, probes, readies, stops);
  return TEST_DONE();
}
