/* Events to the control plane, never lost: each is written to the store's outbox first, then
 * sent in batches to POST {base}/v1/events; rows go only after a 2xx. Ids are "<replica>-<seq>",
 * unique across replicas and restarts, so the API can de-duplicate retries. Private to src/shell. */
#ifndef HOP_SHELL_OUTBOX_H
#define HOP_SHELL_OUTBOX_H

#include <stdint.h>

#include <uv.h>

struct hop_http;
struct hop_store;
struct hop_outbox;

struct hop_outbox_config {
  const char *events_url;      /* {base}/v1/events */
  const char *token;           /* bearer, or NULL */
  uint64_t cap;                /* rows kept at most; beyond, new events are dropped and counted */
  uint32_t batch_max;          /* events per POST */
  uint32_t timeout_ms;         /* per POST */
};

int hop_outbox_new(uv_loop_t *loop, struct hop_store *store, struct hop_http *http,
                   const struct hop_outbox_config *cfg, struct hop_outbox **out);

/* Queues one event (a JSON object; copied). Its id and replica are added here. */
void hop_outbox_add(struct hop_outbox *o, const char *json);

/* Rows waiting in the store (as of the last store answer). */
uint64_t hop_outbox_depth(const struct hop_outbox *o);

void hop_outbox_free(struct hop_outbox *o);

#endif
