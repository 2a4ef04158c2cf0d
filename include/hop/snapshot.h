/* The one immutable picture every worker routes by: settings (a loaded config: answers, limits,
 * timeouts) plus a route table. A config reload replaces the settings; a provider update (API
 * document, SQLite change) replaces the routes; either publishes a new snapshot.
 * Published by the control loop under a lock and a generation bump; a worker re-reads it only
 * when the generation moved, so the steady-state cost per accept is one atomic load. */
#ifndef HOP_SNAPSHOT_H
#define HOP_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "hop/config.h"

struct hop_settings {
  atomic_int refs;
  struct hop_config cfg;       /* cfg.routes is NULL: routes live in snapshots */
};

struct hop_snapshot {
  atomic_int refs;
  struct hop_settings *settings;
  const struct hop_config *cfg;        /* &settings->cfg */
  struct hop_route_table *routes;      /* owned; never changed once published except the
                                          servers' atomic state fields */
};

/* Takes over `cfg` except its routes (left in cfg->routes for the caller); cfg is zeroed.
 * NULL on allocation failure (cfg untouched). */
struct hop_settings *hop_settings_new(struct hop_config *cfg, struct hop_route_table **routes);
void hop_settings_ref(struct hop_settings *st);
void hop_settings_unref(struct hop_settings *st);

/* A snapshot of `st` (referenced) and `routes` (taken over). NULL on allocation failure. */
struct hop_snapshot *hop_snapshot_new(struct hop_settings *st, struct hop_route_table *routes);
void hop_snapshot_ref(struct hop_snapshot *s);
void hop_snapshot_unref(struct hop_snapshot *s);

/* Makes `s` current; takes over the caller's reference. */
void hop_snapshot_publish(struct hop_snapshot *s);

/* The current snapshot, referenced (the caller unrefs), or NULL. */
struct hop_snapshot *hop_snapshot_current(void);

/* Brings *held (a reference, or NULL) up to date with the published snapshot. */
void hop_snapshot_refresh(struct hop_snapshot **held, uint64_t *held_gen);

/* Drops the published snapshot at exit. */
void hop_snapshot_shutdown(void);

#endif
