/* Routing: host normalisation and an immutable route table (exact + wildcard hosts).
 * A table is built once (off the worker loops), sealed, then only read, from any thread. */
#ifndef HOP_ROUTE_H
#define HOP_ROUTE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hop/farm.h"

/* Normalises a raw handshake address for routing: cut at the first NUL (Forge FML/FML2/FML3/FORGE
 * markers), at "///" (TCPShield-style forwarding) and at "\\", trim trailing dots, lower-case ASCII.
 * Writes a NUL-terminated host into `out` and returns its length (possibly 0), or HOP_EADDRESS if
 * the result does not fit `out_cap - 1` bytes. */
int hop_host_normalize(const char *raw, size_t raw_len, char *out, size_t out_cap);

enum hop_proxy_protocol { HOP_PROXY_SEND_NONE, HOP_PROXY_SEND_V1, HOP_PROXY_SEND_V2 };

#define HOP_STATES 5

/* What hopper answers in the server list while this server is not running. */
struct hop_server_status {
  char *description[HOP_STATES];   /* per enum hop_state: a JSON text component, or NULL */
  char *motd_plain[HOP_STATES];    /* the same as plain text (legacy pings), or NULL */
  int32_t players_max;         /* < 0: from the last real status, else 0 */
  char *favicon;               /* "data:image/png;base64,...", or NULL */
  /* The status JSON hopper answers with in each state, after `"protocol":<client's>`:
   * `},"players":{...},"description":{...},"favicon":"..."}`. Built off the loops. */
  char *tail[HOP_STATES];
  size_t tail_len[HOP_STATES];
};

struct hop_server {
  char *id;
  char **hosts;                /* patterns as configured, normalised ("*.example.com") */
  size_t hosts_len;
  char *backend;               /* "host:port" as configured */
  char *backend_host;          /* name or IP literal, without IPv6 brackets */
  uint16_t backend_port;
  struct hop_farm_policy policy;    /* wake_allow points into wake_allow_store */
  char **wake_allow_store;
  enum hop_proxy_protocol proxy_protocol;
  struct hop_server_status status;
  char **start_cmd;            /* argv, NULL-terminated; NULL = none */
  char **stop_cmd;
  char *last_status;           /* the last real status JSON seen while it ran, or NULL */
  int managed;                 /* has a lifecycle (api/sqlite provider); else always running */
  _Atomic int state;           /* enum hop_state; written by the control loop only */
};

struct hop_route_table;

/* An empty, unsealed table. NULL on allocation failure. */
struct hop_route_table *hop_route_table_new(void);

/* Adds a server (copies every string). Returns its index (>= 0), HOP_ECONFIG if the id is already
 * taken, or -ENOMEM. */
int hop_route_table_add_server(struct hop_route_table *t, const char *id, const char *backend,
                               const char *backend_host, uint16_t backend_port);

/* The server at `idx` for filling in its options before the table is sealed. Strings put in
 * it become the table's (freed with it). */
struct hop_server *hop_route_table_edit(struct hop_route_table *t, int idx);

/* Adds a host pattern to server `server_idx`: an exact name or "*.suffix". The pattern is
 * normalised first (lower-cased, trailing dot dropped). Returns 0; HOP_ECONFIG with `err` saying why
 * (bad pattern, or already routed to another server, named); or -ENOMEM. */
int hop_route_table_add_host(struct hop_route_table *t, int server_idx, const char *pattern,
                             char *err, size_t err_bytes);

/* Names the server used when no host matches. Returns 0 or HOP_ECONFIG if no such id. */
int hop_route_table_set_default(struct hop_route_table *t, const char *id);

/* Builds the lookup indexes; after this the table is immutable. Returns 0 or -ENOMEM. */
int hop_route_table_seal(struct hop_route_table *t);

void hop_route_table_free(struct hop_route_table *t);

/* Looks up `host` (already normalised). An exact name wins over wildcards; among wildcards the
 * longest suffix wins; "*.example.com" does not match "example.com". Declaration order never
 * matters. Returns the server, else the default server, else NULL. The pointer stays valid while
 * the table lives. O(labels in host). */
const struct hop_server *hop_route_lookup(const struct hop_route_table *t, const char *host,
                                          size_t host_len);

size_t hop_route_table_servers(const struct hop_route_table *t);
const struct hop_server *hop_route_table_server(const struct hop_route_table *t, size_t idx);
const struct hop_server *hop_route_table_find_id(const struct hop_route_table *t, const char *id);

#endif
