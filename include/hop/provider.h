/* Providers: where a managed farm's routes come from (hopper's SQLite store, or the control-plane
 * API). Each builds route tables off the worker loops, syncs the farm and publishes snapshots;
 * each carries out the farm's start and stop requests its own way. Control loop only. */
#ifndef HOP_PROVIDER_H
#define HOP_PROVIDER_H

#include <uv.h>

struct hop_farmctl;
struct hop_settings;
struct hop_store;
struct hop_provider;

/* The embedded provider: servers in the store's `servers` table, start_cmd / stop_cmd run with
 * uv_spawn, changes by other processes picked up by polling. */
int hop_provider_sqlite_new(uv_loop_t *loop, struct hop_store *store, struct hop_farmctl *fc,
                            struct hop_settings *settings, struct hop_provider **out);

/* The control-plane API provider (routes, start/stop, events). */
int hop_provider_api_new(uv_loop_t *loop, struct hop_store *store, struct hop_farmctl *fc,
                         struct hop_settings *settings, struct hop_provider **out, char *err,
                         size_t err_bytes);

/* A snapshot has been published at least once (from the source or its stored copy). */
int hop_provider_ready(const struct hop_provider *p);

/* New settings (SIGHUP): rebuild the snapshot on them; SIGHUP also asks the source again. */
void hop_provider_reload(struct hop_provider *p, struct hop_settings *settings);

/* Stops timers, requests and the outbox; their handles close on the loop; later store callbacks
 * only release their jobs. */
void hop_provider_stop(struct hop_provider *p);
/* Frees it, after the loop has finished with it and the store is closed. */
void hop_provider_free(struct hop_provider *p);

#endif
