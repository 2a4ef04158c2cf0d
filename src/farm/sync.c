/* hop_farm_sync: merging the provider's view of the servers into ours. All memory is taken
 * before anything changes, so -ENOMEM leaves the farm exactly as it was.
 *
 * The provider's state is applied when it changes from what the previous sync said (or when
 * the server is new), not on every sync: a provider that never hears of our own transitions
 * (an SQLite row still saying "sleeping" after we started the server) must not undo them at
 * every refresh. While a start of ours is in flight only "running" applies (it ends the start as
 * a good probe would); while a stop of ours is, "running" does not apply ("sleeping" completes
 * it). Transitional states lag behind ours, so "starting" never applies to a server we already
 * see running, nor "stopping" to one we see sleeping. Someone else's start ("starting" on a
 * server at rest) is probed like ours, without a START. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The most one call can emit for one server: a stop completing into a pending restart
 * (STATE sleeping, EVENT wake_requested, STATE starting, START). A timer emits at most 3. */
#define ACTIONS_PER_SERVER 4

struct prepared {
  struct server *fresh;        /* for an id not known yet */
  char **allow;                /* the copied allow-list, or NULL */
  int skip;                    /* unusable id */
};

static int id_ok(const char *id)
{
  return id && *id && strlen(id) <= ID_BYTES_MAX;
}

static void strv_free(char **v)
{
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

static char **strv_dup(const char *const *v)
{
  size_t n = 0;
  char **copy;

  while (v[n])
    n++;
  copy = calloc(n + 1, sizeof *copy);
  if (!copy)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(v[i]) + 1;

    copy[i] = malloc(len);
    if (!copy[i]) {
      strv_free(copy);
      return NULL;
    }
    memcpy(copy[i], v[i], len);
  }
  return copy;
}

static void prepared_free(struct prepared *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    hop_server_free(p[i].fresh);
    strv_free(p[i].allow);
  }
  free(p);
}

static int reserve_servers(struct hop_farm *f, size_t count)
{
  size_t cap = f->servers_cap ? f->servers_cap : 16;
  struct server **grown;

  while (cap < count)
    cap *= 2;
  if (cap == f->servers_cap)
    return 0;
  grown = realloc(f->servers, cap * sizeof *grown);
  if (!grown)
    return -ENOMEM;
  f->servers = grown;
  f->servers_cap = cap;
  return 0;
}

/* Everything the merge will need, allocated up front. NULL on allocation failure. */
static struct prepared *prepare(struct hop_farm *f, const struct hop_farm_server_spec *servers,
                                size_t n)
{
  struct prepared *p = calloc(n ? n : 1, sizeof *p);
  size_t total = f->servers_len + n;

  if (!p)
    return NULL;
  if (reserve_servers(f, total) < 0 || hop_map_reserve(&f->ids, total) < 0 ||
      hop_farm_reserve_actions(f, ACTIONS_PER_SERVER * total) < 0)
    goto fail;
  for (size_t i = 0; i < n; i++) {
    const struct hop_farm_server_spec *spec = &servers[i];

    p[i].skip = !id_ok(spec->id);
    if (p[i].skip)
      continue;
    if (spec->policy.wake_allow && !(p[i].allow = strv_dup(spec->policy.wake_allow)))
      goto fail;
    if (!hop_map_get(&f->ids, spec->id) && !(p[i].fresh = calloc(1, sizeof *p[i].fresh)))
      goto fail;
  }
  return p;
fail:
  prepared_free(p, n);
  return NULL;
}

static enum hop_state valid_state(enum hop_state st)
{
  return (unsigned)st <= HOP_STATE_FAILED ? st : HOP_STATE_SLEEPING;
}

static void set_policy(struct server *s, const struct hop_farm_policy *policy, char **allow)
{
  strv_free(s->allow);
  s->allow = allow;
  s->policy = *policy;
  s->policy.wake_allow = (const char *const *)allow;
}

/* A server we had no (listed) record of takes the provider's state as it is: no STATE action,
 * no cooldown. Its session count, if it was kept after a removal, stays. */
static void adopt(struct hop_farm *f, struct server *s, enum hop_state st, uint64_t now_ms)
{
  s->state = st;
  s->provider_state = st;
  s->listed = 1;
  s->ours = s->woken = s->restart_pending = s->probe_inflight = s->cooldown = 0;
  s->probe_ms = st == HOP_STATE_STARTING ? now_ms + f->cfg.probe_interval_ms : NEVER;
  s->probe_ok_ms = NEVER;
  s->starting_ms = s->running_ms = s->idle_from_ms = now_ms;
}

/* The provider moved from one state to another (see the comment at the top). */
static void follow(struct hop_farm *f, struct server *s, enum hop_state p, uint64_t now_ms)
{
  if (s->state == HOP_STATE_STARTING && s->ours && p != HOP_STATE_RUNNING)
    return;                    /* our start stands; "running" ends it early, as a probe would */
  if (s->state == HOP_STATE_STOPPING && s->ours && p == HOP_STATE_RUNNING)
    return;                    /* our stop stands; "sleeping" completes it */
  if (p == HOP_STATE_STARTING && s->state == HOP_STATE_RUNNING)
    return;                    /* a lagging "starting": we proved it ready first */
  if (p == HOP_STATE_STOPPING && s->state == HOP_STATE_SLEEPING)
    return;                    /* a lagging "stopping": the stop already completed */
  hop_server_go(f, s, p, now_ms);
}

static void merge(struct hop_farm *f, const struct hop_farm_server_spec *spec,
                  struct prepared *p, uint64_t now_ms)
{
  struct server *s = hop_map_get(&f->ids, spec->id);
  enum hop_state st = valid_state(spec->provider_state);

  if (s && s->sync_gen == f->sync_gen)
    return;                    /* a repeated id: the first one counts */
  if (!s) {
    s = p->fresh;
    p->fresh = NULL;
    memcpy(s->id, spec->id, strlen(spec->id) + 1);
    s->pos = f->servers_len;
    f->servers[f->servers_len++] = s;
    hop_map_put(&f->ids, s->id, s);
  }
  s->sync_gen = f->sync_gen;
  set_policy(s, &spec->policy, p->allow);
  p->allow = NULL;
  if (!s->listed) {
    adopt(f, s, st, now_ms);
  } else if (st != s->provider_state) {
    s->provider_state = st;
    follow(f, s, st, now_ms);
  }
}

/* Not in this sync: forgotten now, or kept (timers off, no actions) while sessions remain. */
static void unlist(struct hop_farm *f, struct server *s)
{
  if (s->sessions == 0) {
    hop_server_forget(f, s);
    return;
  }
  s->listed = 0;
  s->ours = s->woken = s->restart_pending = s->probe_inflight = 0;
  s->deadline_ms = NEVER;
}

int hop_farm_sync(struct hop_farm *f, const struct hop_farm_server_spec *servers, size_t n,
                  uint64_t now_ms)
{
  struct prepared *p = prepare(f, servers, n);

  if (!p)
    return -ENOMEM;
  f->sync_gen++;
  for (size_t i = 0; i < n; i++)
    if (!p[i].skip)
      merge(f, &servers[i], &p[i], now_ms);
  /* Backwards, so the swap-remove in forget only moves servers already visited. */
  for (size_t i = f->servers_len; i-- > 0;)
    if (f->servers[i]->sync_gen != f->sync_gen && f->servers[i]->listed)
      unlist(f, f->servers[i]);
  /* Policies may have changed: every timer is recomputed from them. */
  for (size_t i = 0; i < f->servers_len; i++)
    hop_server_rearm(f->servers[i]);
  prepared_free(p, n);
  return 0;
}
