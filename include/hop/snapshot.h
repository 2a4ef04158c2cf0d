/* The one immutable picture every worker routes by: a config (routes, answers, limits).
 * Published by the control loop under a lock and a generation bump; a worker re-reads it only
 * when the generation moved, so the steady-state cost per accept is one atomic load. */
#ifndef HOP_SNAPSHOT_H
#define HOP_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "hop/config.h"

struct hop_snapshot {
  atomic_int refs;
  struct hop_config cfg;       /* owned; never changed once published */
};

/* Takes over `cfg` (which is zeroed). Returns NULL on allocation failure (cfg untouched). */
struct hop_snapshot *hop_snapshot_new(struct hop_config *cfg);
void hop_snapshot_ref(struct hop_snapshot *s);
void hop_snapshot_unref(struct hop_snapshot *s);

/* Makes `s` current; takes over the caller's reference. */
void hop_snapshot_publish(struct hop_snapshot *s);

/* Brings *held (a reference, or NULL) up to date with the published snapshot. */
void hop_snapshot_refresh(struct hop_snapshot **held, uint64_t *held_gen);

/* Drops the published snapshot at exit. */
void hop_snapshot_shutdown(void);

#endif
