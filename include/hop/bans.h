/* Temporary IP bans on the control loop: stores the bans workers make in hopper's SQLite file,
 * installs the stored ones at start (so bans outlive restarts), and every BANS_SYNC_MS learns of
 * bans an operator added or lifted with `hopper bans` (docs/bans.md). The ban table itself, which
 * every accept consults, is src/shell/limits.c. */
#ifndef HOP_BANS_H
#define HOP_BANS_H

#include <stddef.h>

#include <uv.h>

struct hop_store;
struct hop_bans;

/* Starts syncing with `store`; the first sync loads the stored bans. NULL on ENOMEM. */
struct hop_bans *hop_bans_start(uv_loop_t *loop, struct hop_store *store);
/* Whether the first sync finished (bans stored by earlier runs are in force). */
int hop_bans_loaded(const struct hop_bans *b);
/* Stops the timer and queues a last sync, so bans made until now are stored. */
void hop_bans_stop(struct hop_bans *b);
/* After the store is closed (its last `done` ran). */
void hop_bans_free(struct hop_bans *b);

/* Bans in force as JSON for the admin view (any thread); malloc'd, *len set; NULL on ENOMEM. */
char *hop_bans_json(size_t *len);

#endif
