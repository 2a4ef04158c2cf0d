/* The server lifecycle: wakes, probes, idle stops and their results, as pure state transitions.
 * Every transition goes through hop_server_go, which emits STATE (and the wake outcome when a
 * start attempt ends), so a STATE action always means a real change. Memory is allocated only
 * in hop_farm_new, hop_farm_sync and the quota's first sight of an IP; session and result
 * events never allocate. See docs/farm.md for the decisions behind each rule. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ACTIONS_CAP_MIN 64

void hop_farm_policy_default(struct hop_farm_policy *p)
{
  *p = (struct hop_farm_policy)HOP_FARM_POLICY_DEFAULT;
}

void hop_farm_config_default(struct hop_farm_config *c)
{
  c->probe_interval_ms = 1000;
  c->wake_quota = 3;
  c->wake_quota_window_s = 600;
  c->wake_quota_ips_max = 4096;
}

static uint64_t since(uint64_t now_ms, uint64_t then_ms)
{
  return now_ms > then_ms ? now_ms - then_ms : 0;
}

static uint64_t after(uint64_t from_ms, uint64_t span_ms)
{
  return from_ms > NEVER - span_ms ? NEVER : from_ms + span_ms;
}

/* ---- Actions ------------------------------------------------------------------------------ */

int hop_farm_reserve_actions(struct hop_farm *f, size_t extra)
{
  size_t cap = f->actions_cap ? f->actions_cap : ACTIONS_CAP_MIN;
  struct hop_farm_action *grown;

  while (cap < f->actions_len + extra)
    cap *= 2;
  if (cap == f->actions_cap)
    return 0;
  grown = malloc(cap * sizeof *grown);
  if (!grown)
    return -ENOMEM;
  for (size_t i = 0; i < f->actions_len; i++)
    grown[i] = f->actions[(f->actions_head + i) % f->actions_cap];
  free(f->actions);
  f->actions = grown;
  f->actions_cap = cap;
  f->actions_head = 0;
  return 0;
}

/* Returns the next free action, zeroed, or NULL. Sync reserves room for everything one call can
 * emit, so a caller that drains after each call never makes the ring grow here; one that lets
 * actions pile up may, and if that allocation fails the action is lost. */
static struct hop_farm_action *push(struct hop_farm *f, const struct server *s,
                                    enum hop_farm_action_kind kind)
{
  struct hop_farm_action *a;

  if (f->actions_len == f->actions_cap && hop_farm_reserve_actions(f, 1) < 0)
    return NULL;
  a = &f->actions[(f->actions_head + f->actions_len++) % f->actions_cap];
  memset(a, 0, sizeof *a);
  a->kind = kind;
  memcpy(a->id, s->id, sizeof a->id);
  a->state = s->state;
  return a;
}

void hop_farm_push(struct hop_farm *f, const struct server *s, enum hop_farm_action_kind kind)
{
  struct hop_farm_action *a = push(f, s, kind);

  if (a && kind == HOP_FARM_STOP)
    a->sessions = s->sessions;
}

void hop_farm_push_event(struct hop_farm *f, const struct server *s, enum hop_farm_event e,
                         uint64_t wait_ms)
{
  struct hop_farm_action *a = push(f, s, HOP_FARM_EVENT);

  if (a) {
    a->event = e;
    a->wait_ms = wait_ms;
  }
}

int hop_farm_next_action(struct hop_farm *f, struct hop_farm_action *out)
{
  if (f->actions_len == 0)
    return 0;
  *out = f->actions[f->actions_head];
  f->actions_head = (f->actions_head + 1) % f->actions_cap;
  f->actions_len--;
  return 1;
}

/* ---- Timers ------------------------------------------------------------------------------- */

static uint64_t start_deadline(const struct server *s)
{
  return after(s->starting_ms, (uint64_t)s->policy.start_timeout_s * 1000);
}

static uint64_t ready_deadline(const struct server *s)
{
  return after(s->probe_ok_ms, s->policy.ready_grace_ms);
}

/* RUNNING with nobody on it: the later of "idle long enough" and "up long enough". */
static uint64_t idle_deadline(const struct server *s)
{
  uint64_t idle, online;

  if (s->sessions > 0 || s->policy.idle_stop_s == 0)
    return NEVER;
  idle = after(s->idle_from_ms, (uint64_t)s->policy.idle_stop_s * 1000);
  online = after(s->running_ms, (uint64_t)s->policy.min_online_s * 1000);
  return idle > online ? idle : online;
}

void hop_server_rearm(struct server *s)
{
  uint64_t d = NEVER;

  if (s->listed && s->state == HOP_STATE_STARTING) {
    if (s->probe_ok_ms != NEVER) {
      d = ready_deadline(s);   /* readiness is proven: the start timeout no longer applies */
    } else {
      d = start_deadline(s);
      if (s->probe_ms < d)
        d = s->probe_ms;
    }
  } else if (s->listed && s->state == HOP_STATE_RUNNING) {
    d = idle_deadline(s);
  }
  s->deadline_ms = d;
}

/* ---- Transitions -------------------------------------------------------------------------- */

static void enter(struct hop_farm *f, struct server *s, enum hop_state to, uint64_t now_ms)
{
  int restart = s->restart_pending;
  uint64_t restart_wake_ms = s->wake_ms;

  s->ours = 0;
  s->woken = 0;
  s->restart_pending = 0;
  s->probe_inflight = 0;
  s->probe_ms = NEVER;
  s->probe_ok_ms = NEVER;
  switch (to) {
  case HOP_STATE_STARTING:
    s->starting_ms = now_ms;
    s->probe_ms = after(now_ms, f->cfg.probe_interval_ms);
    /* someone else started what a wake was queued for: those players now wait on this start */
    s->woken = restart;
    s->wake_ms = restart_wake_ms;
    break;
  case HOP_STATE_RUNNING:
    s->running_ms = now_ms;
    s->idle_from_ms = now_ms;
    break;
  case HOP_STATE_SLEEPING:
  case HOP_STATE_FAILED:
    s->cooldown = 1;
    s->cooldown_from_ms = now_ms;
    break;
  case HOP_STATE_STOPPING:
    break;
  }
  hop_server_rearm(s);
  if (to == HOP_STATE_SLEEPING && restart)
    hop_server_start(f, s, restart_wake_ms, now_ms);
}

void hop_server_go(struct hop_farm *f, struct server *s, enum hop_state to, uint64_t now_ms)
{
  enum hop_state from = s->state;

  if (from == to)
    return;
  if (from == HOP_STATE_STARTING && s->woken)
    hop_farm_push_event(f, s, to == HOP_STATE_RUNNING ? HOP_EVENT_WAKE_READY
                                                      : HOP_EVENT_WAKE_FAILED,
                        since(now_ms, s->wake_ms));
  s->state = to;
  hop_farm_push(f, s, HOP_FARM_STATE);
  enter(f, s, to, now_ms);
}

void hop_server_start(struct hop_farm *f, struct server *s, uint64_t wake_ms, uint64_t now_ms)
{
  hop_farm_push_event(f, s, HOP_EVENT_WAKE_REQUESTED, 0);
  hop_server_go(f, s, HOP_STATE_STARTING, now_ms);
  s->ours = 1;
  s->woken = 1;
  s->wake_ms = wake_ms;
  hop_farm_push(f, s, HOP_FARM_START);
}

/* Only ever called with 0 sessions: the STOP action carries the count as proof. */
static void stop(struct hop_farm *f, struct server *s, uint64_t now_ms)
{
  hop_farm_push_event(f, s, HOP_EVENT_STOP_REQUESTED, 0);
  hop_server_go(f, s, HOP_STATE_STOPPING, now_ms);
  s->ours = 1;
  hop_farm_push(f, s, HOP_FARM_STOP);
}

static void tick_starting(struct hop_farm *f, struct server *s, uint64_t now_ms)
{
  if (s->probe_ok_ms != NEVER) {
    if (ready_deadline(s) <= now_ms)
      hop_server_go(f, s, HOP_STATE_RUNNING, now_ms);
  } else if (start_deadline(s) <= now_ms) {
    hop_server_go(f, s, HOP_STATE_FAILED, now_ms);
  } else if (s->probe_ms <= now_ms) {
    s->probe_inflight = 1;
    s->probe_ms = NEVER;       /* the next one is scheduled by the result, never before it */
    hop_farm_push(f, s, HOP_FARM_PROBE);
    hop_server_rearm(s);
  }
}

static void tick(struct hop_farm *f, struct server *s, uint64_t now_ms)
{
  if (s->state == HOP_STATE_STARTING)
    tick_starting(f, s, now_ms);
  else if (s->state == HOP_STATE_RUNNING && s->sessions == 0 && idle_deadline(s) <= now_ms)
    stop(f, s, now_ms);
}

/* O(servers): each server keeps its own earliest deadline, and this walks them. */
void hop_farm_on_timer(struct hop_farm *f, uint64_t now_ms)
{
  for (size_t i = 0; i < f->servers_len; i++)
    if (f->servers[i]->deadline_ms <= now_ms)
      tick(f, f->servers[i], now_ms);
}

uint64_t hop_farm_deadline(const struct hop_farm *f)
{
  uint64_t d = NEVER;

  for (size_t i = 0; i < f->servers_len; i++)
    if (f->servers[i]->deadline_ms < d)
      d = f->servers[i]->deadline_ms;
  return d;
}

/* ---- Lookups ------------------------------------------------------------------------------ */

static struct server *find_any(const struct hop_farm *f, const char *id)
{
  return id ? hop_map_get(&f->ids, id) : NULL;
}

/* A server in the current set (not one removed and kept only for its session count). */
static struct server *find_listed(const struct hop_farm *f, const char *id)
{
  struct server *s = find_any(f, id);

  return s && s->listed ? s : NULL;
}

enum hop_state hop_farm_state(const struct hop_farm *f, const char *id)
{
  const struct server *s = find_listed(f, id);

  return s ? s->state : HOP_STATE_SLEEPING;
}

uint32_t hop_farm_sessions(const struct hop_farm *f, const char *id)
{
  const struct server *s = find_any(f, id);

  return s ? s->sessions : 0;
}

/* ---- Waking ------------------------------------------------------------------------------- */

/* Player names are compared without regard to ASCII case, as Minecraft treats them. */
static int same_name(const char *a, const char *b)
{
  for (;; a++, b++) {
    char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
    char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

    if (ca != cb)
      return 0;
    if (!ca)
      return 1;
  }
}

static int allowed(const struct server *s, const char *player)
{
  if (!s->allow)
    return 1;
  if (!player)
    return 0;
  for (char **p = s->allow; *p; p++)
    if (same_name(*p, player))
      return 1;
  return 0;
}

static int cooling(const struct server *s, uint64_t now_ms)
{
  return s->cooldown && now_ms < after(s->cooldown_from_ms, (uint64_t)s->policy.cooldown_s * 1000);
}

/* The checks a wake that would cause a start must pass before the cooldown and the quota. */
static enum hop_wake_result may_start(const struct server *s, const char *player)
{
  if (!s->policy.auto_start)
    return HOP_WAKE_REFUSED_NO_AUTOSTART;
  if (!allowed(s, player))
    return HOP_WAKE_REFUSED_NOT_ALLOWED;
  return HOP_WAKE_STARTED;
}

static enum hop_wake_result wake_stopping(struct server *s, const char *player, uint64_t now_ms)
{
  enum hop_wake_result r = may_start(s, player);

  if (r != HOP_WAKE_STARTED)
    return r;
  if (!s->restart_pending) {
    s->restart_pending = 1;
    s->wake_ms = now_ms;
  }
  return HOP_WAKE_JOINED;
}

static enum hop_wake_result wake_asleep(struct hop_farm *f, struct server *s,
                                        const char *client_ip, const char *player,
                                        uint64_t now_ms)
{
  enum hop_wake_result r = may_start(s, player);

  if (r != HOP_WAKE_STARTED)
    return r;
  if (cooling(s, now_ms))
    return HOP_WAKE_REFUSED_COOLDOWN;
  if (!hop_quota_allows(&f->quota, client_ip, now_ms))
    return HOP_WAKE_REFUSED_QUOTA;
  hop_quota_charge(&f->quota, client_ip, now_ms);
  hop_server_start(f, s, now_ms, now_ms);
  return HOP_WAKE_STARTED;
}

enum hop_wake_result hop_farm_wake(struct hop_farm *f, const char *id, const char *client_ip,
                                   const char *player, uint64_t now_ms)
{
  struct server *s = find_listed(f, id);

  if (!s)
    return HOP_WAKE_UNKNOWN;
  switch (s->state) {
  case HOP_STATE_RUNNING:
    return HOP_WAKE_RUNNING;
  case HOP_STATE_STARTING:
#ifdef HOP_FARM_BUG_SINGLE_FLIGHT
    /* A seeded bug, compiled only into sim/'s sim-bug (sim/meson.build): a wake that lands
     * on our own start in flight starts the server again. sim's sweep must catch it. */
    if (s->ours) {
      hop_server_start(f, s, now_ms, now_ms);
      return HOP_WAKE_STARTED;
    }
#endif
    if (!s->woken) {           /* a start someone else made: its outcome is now a wake's */
      s->woken = 1;
      s->wake_ms = now_ms;
    }
    return HOP_WAKE_JOINED;
  case HOP_STATE_STOPPING:
    return wake_stopping(s, player, now_ms);
  case HOP_STATE_SLEEPING:
  case HOP_STATE_FAILED:
    break;
  }
  return wake_asleep(f, s, client_ip, player, now_ms);
}

/* ---- Sessions and results ----------------------------------------------------------------- */

void hop_farm_session_begin(struct hop_farm *f, const char *id, uint64_t now_ms)
{
  struct server *s = find_any(f, id);

  (void)now_ms;
  if (!s || s->sessions == UINT32_MAX)
    return;
  s->sessions++;
  hop_server_rearm(s);
}

void hop_farm_session_end(struct hop_farm *f, const char *id, uint64_t now_ms)
{
  struct server *s = find_any(f, id);

  if (!s || s->sessions == 0)
    return;
  if (--s->sessions > 0)
    return;
  if (!s->listed) {
    hop_server_forget(f, s);
    return;
  }
  s->idle_from_ms = now_ms;
  hop_server_rearm(s);
}

void hop_farm_start_result(struct hop_farm *f, const char *id, int ok, uint64_t now_ms)
{
  struct server *s = find_listed(f, id);

  /* A good start call proves nothing (servers accept the call long before logins): the probes
   * decide. A failed one ends the attempt at once rather than at start_timeout_s. */
  if (s && !ok && s->state == HOP_STATE_STARTING && s->ours)
    hop_server_go(f, s, HOP_STATE_FAILED, now_ms);
}

void hop_farm_probe_result(struct hop_farm *f, const char *id, int ok, uint64_t now_ms)
{
  struct server *s = find_listed(f, id);

  if (!s || s->state != HOP_STATE_STARTING || s->probe_ok_ms != NEVER)
    return;
  if (ok) {
    s->probe_inflight = 0;
    s->probe_ok_ms = now_ms;
    if (s->policy.ready_grace_ms == 0)
      hop_server_go(f, s, HOP_STATE_RUNNING, now_ms);
    else
      hop_server_rearm(s);
  } else if (s->probe_inflight) {
    s->probe_inflight = 0;
    s->probe_ms = after(now_ms, f->cfg.probe_interval_ms);
    hop_server_rearm(s);
  }
}

void hop_farm_stop_result(struct hop_farm *f, const char *id, int ok, uint64_t now_ms)
{
  struct server *s = find_listed(f, id);
  uint64_t running_ms;

  if (!s || s->state != HOP_STATE_STOPPING || !s->ours)
    return;
  if (ok) {
    hop_server_go(f, s, HOP_STATE_SLEEPING, now_ms);
    return;
  }
  /* Still up: back to running with the idle clock restarted, but min_online_s still counts
   * from when it first came up, not from this failure. */
  running_ms = s->running_ms;
  hop_server_go(f, s, HOP_STATE_RUNNING, now_ms);
  s->running_ms = running_ms;
  hop_server_rearm(s);
}

/* ---- Life of the farm --------------------------------------------------------------------- */

struct hop_farm *hop_farm_new(const struct hop_farm_config *cfg)
{
  struct hop_farm *f = calloc(1, sizeof *f);

  if (!f)
    return NULL;
  if (cfg)
    f->cfg = *cfg;
  else
    hop_farm_config_default(&f->cfg);
  hop_quota_init(&f->quota, &f->cfg);
  if (hop_map_reserve(&f->ids, 16) < 0 || hop_farm_reserve_actions(f, ACTIONS_CAP_MIN) < 0) {
    hop_farm_free(f);
    return NULL;
  }
  return f;
}

void hop_server_free(struct server *s)
{
  if (!s)
    return;
  if (s->allow)
    for (char **p = s->allow; *p; p++)
      free(*p);
  free(s->allow);
  free(s);
}

void hop_server_forget(struct hop_farm *f, struct server *s)
{
  struct server *last = f->servers[--f->servers_len];

  hop_map_del(&f->ids, s->id);
  f->servers[s->pos] = last;
  last->pos = s->pos;
  hop_server_free(s);
}

void hop_farm_free(struct hop_farm *f)
{
  if (!f)
    return;
  for (size_t i = 0; i < f->servers_len; i++)
    hop_server_free(f->servers[i]);
  free(f->servers);
  hop_map_free(&f->ids);
  hop_quota_free(&f->quota);
  free(f->actions);
  free(f);
}
