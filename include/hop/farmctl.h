/* The farm on the control loop: feeds hop_farm with wakes and session counts from the workers,
 * carries out its actions (start, stop, probe, publish state, record events) and answers the
 * workers. Providers plug in through hop_provider_ops. Its state lives on the control loop only. */
#ifndef HOP_SHELL_FARMCTL_H
#define HOP_SHELL_FARMCTL_H

#include <stdint.h>

#include <uv.h>

#include "hop/farm.h"

struct hop_mailbox;
struct hop_route_table;

struct hop_worker;
struct hop_farmctl;

struct hop_provider_ops {
  /* Start or stop server `id`; report with hop_farmctl_start_result / _stop_result. */
  void (*start)(void *ctx, const char *id);
  void (*stop)(void *ctx, const char *id, uint32_t sessions);
  /* The farm changed a server's state (to persist it, where the provider keeps states). */
  void (*state)(void *ctx, const char *id, enum hop_state state);
  /* An event for the control plane: one JSON object without "id" (the sink numbers it). */
  void (*event)(void *ctx, const char *json);
  /* A running server's real status answer (for the status cache). */
  void (*status_seen)(void *ctx, const char *id, const char *json);
  void *ctx;
};

struct hop_farmctl *hop_farmctl_new(uv_loop_t *loop, struct hop_worker *workers, int workers_len,
                                    const struct hop_farm_config *cfg);
/* Closes its handles; from now on results and probes are ignored. */
void hop_farmctl_stop(struct hop_farmctl *fc);
/* Frees it, once the loop has run every close callback and probe (after hop_farmctl_stop). */
void hop_farmctl_free(struct hop_farmctl *fc);

void hop_farmctl_set_provider(struct hop_farmctl *fc, const struct hop_provider_ops *ops);

/* The control loop's inbox: every worker posts here. */
struct hop_mailbox *hop_farmctl_inbox(struct hop_farmctl *fc);

/* A new snapshot is about to be published: sync the farm with its servers and write the farm's
 * states into the table's servers. */
int hop_farmctl_sync(struct hop_farmctl *fc, struct hop_route_table *routes);

/* The farm's view of server `id` (sleeping when unknown). */
enum hop_state hop_farmctl_state(const struct hop_farmctl *fc, const char *id);

void hop_farmctl_start_result(struct hop_farmctl *fc, const char *id, int ok);
void hop_farmctl_stop_result(struct hop_farmctl *fc, const char *id, int ok);

#endif
