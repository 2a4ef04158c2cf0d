#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "hop/snapshot.h"

static uv_mutex_t lock;
static uv_once_t lock_once = UV_ONCE_INIT;
static struct hop_snapshot *current;
static _Atomic uint64_t current_gen;

static void init_lock(void)
{
  uv_mutex_init(&lock);
}

struct hop_settings *hop_settings_new(struct hop_config *cfg, struct hop_route_table **routes)
{
  struct hop_settings *st = malloc(sizeof *st);

  if (!st)
    return NULL;
  atomic_init(&st->refs, 1);
  *routes = cfg->routes;
  cfg->routes = NULL;
  st->cfg = *cfg;
  memset(cfg, 0, sizeof *cfg);
  /* conn's answer strings point into cfg.texts, which moved with it: nothing to rebind */
  return st;
}

void hop_settings_ref(struct hop_settings *st)
{
  atomic_fetch_add_explicit(&st->refs, 1, memory_order_relaxed);
}

void hop_settings_unref(struct hop_settings *st)
{
  if (st && atomic_fetch_sub_explicit(&st->refs, 1, memory_order_acq_rel) == 1) {
    hop_config_free(&st->cfg);
    free(st);
  }
}

struct hop_snapshot *hop_snapshot_new(struct hop_settings *st, struct hop_route_table *routes)
{
  struct hop_snapshot *s = malloc(sizeof *s);

  if (!s)
    return NULL;
  atomic_init(&s->refs, 1);
  hop_settings_ref(st);
  s->settings = st;
  s->cfg = &st->cfg;
  s->routes = routes;
  return s;
}

struct hop_snapshot *hop_snapshot_current(void)
{
  struct hop_snapshot *s;

  uv_once(&lock_once, init_lock);
  uv_mutex_lock(&lock);
  s = current;
  if (s)
    hop_snapshot_ref(s);
  uv_mutex_unlock(&lock);
  return s;
}

void hop_snapshot_ref(struct hop_snapshot *s)
{
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void hop_snapshot_unref(struct hop_snapshot *s)
{
  if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
    hop_route_table_free(s->routes);
    hop_settings_unref(s->settings);
    free(s);
  }
}

void hop_snapshot_publish(struct hop_snapshot *s)
{
  struct hop_snapshot *old;

  uv_once(&lock_once, init_lock);
  uv_mutex_lock(&lock);
  old = current;
  current = s;
  atomic_fetch_add_explicit(&current_gen, 1, memory_order_release);
  uv_mutex_unlock(&lock);
  hop_snapshot_unref(old);
}

void hop_snapshot_refresh(struct hop_snapshot **held, uint64_t *held_gen)
{
  uint64_t gen = atomic_load_explicit(&current_gen, memory_order_acquire);
  struct hop_snapshot *old = *held;

  if (gen == *held_gen && old)
    return;
  uv_once(&lock_once, init_lock);
  uv_mutex_lock(&lock);
  *held = current;
  *held_gen = atomic_load_explicit(&current_gen, memory_order_relaxed);
  if (current)
    hop_snapshot_ref(current);
  uv_mutex_unlock(&lock);
  hop_snapshot_unref(old);
}

void hop_snapshot_shutdown(void)
{
  uv_once(&lock_once, init_lock);
  uv_mutex_lock(&lock);
  hop_snapshot_unref(current);
  current = NULL;
  uv_mutex_unlock(&lock);
}
