/* The per-session state machine, sans-IO: bytes and events plus now_ms in, actions and one deadline
 * out. It decides everything up to the moment bytes are piped; the shell carries out its actions.
 *
 *   shell                               conn
 *   on read        -> hop_conn_on_bytes(buf, len)     (buf: everything preread so far; never moves)
 *   on client EOF  -> hop_conn_on_eof
 *   on connect     -> hop_conn_on_backend(status)
 *   on timer       -> hop_conn_on_timer
 *   then drain hop_conn_next_action() and re-arm one timer at hop_conn_deadline(). */
#ifndef HOP_CONN_H
#define HOP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "hop/close.h"
#include "hop/peek.h"
#include "hop/route.h"

#define HOP_PREREAD_BYTES_MAX   4096     /* default preread cap */
#define HOP_ADDRESS_BYTES_MAX   1024     /* default raw server address cap */
#define HOP_CONN_OUT_BYTES      4096     /* the answers built for one event */
#define HOP_TEXT_BYTES_MAX      512      /* a configured MOTD or Disconnect text */
#define HOP_LEGACY_SETTLE_MS    250      /* silence after FE / FE 01 that makes it a legacy ping */

enum hop_unknown_status { HOP_UNKNOWN_STATUS_MOTD = 0, HOP_UNKNOWN_STATUS_DROP = 1 };

/* Answers and limits, from the config; immutable while any session uses it. Texts may hold
 * {host} (normalised address) and {server} (server id) placeholders. */
struct hop_conn_config {
  size_t preread_bytes_max;
  size_t address_bytes_max;
  uint32_t timeout_ms_handshake;
  uint32_t timeout_ms_connect;
  enum hop_unknown_status unknown_status;
  const char *unknown_motd;
  const char *unknown_disconnect;
  const char *unreachable_motd;
  const char *unreachable_disconnect;
  const char *version_name;    /* version.name in answers; the protocol echoes the client's */
  int32_t players_max;         /* players.max in answers */
};

enum hop_conn_state {
  HOP_CONN_PREREAD,            /* reading the opening packets */
  HOP_CONN_ANSWER,             /* hopper speaks for the server: status exchange or a Disconnect */
  HOP_CONN_PIPED,              /* handed to the relay; conn is done */
  HOP_CONN_CLOSED,
};

enum hop_action_kind {
  HOP_ACT_CONNECT = 1,         /* resolve and connect to conn.server (once) */
  HOP_ACT_WRITE,               /* write bytes[0..len) to the client; valid until the next event */
  HOP_ACT_PIPE,                /* write preread[0..len) to the backend, then relay both ways */
  HOP_ACT_DROP_BACKEND,        /* abandon the connect in flight; its result must not be reported */
  HOP_ACT_CLOSE,               /* flush pending writes to the client, then close with `reason` */
};

struct hop_action {
  enum hop_action_kind kind;
  const uint8_t *bytes;
  size_t len;
  enum hop_close reason;
};

#define HOP_CONN_ACTIONS_MAX 4

struct hop_conn {
  const struct hop_conn_config *cfg;
  const struct hop_route_table *routes;
  const struct hop_server *server;     /* chosen route, or NULL */
  enum hop_conn_state state;
  enum hop_close reason;               /* set once */
  struct hop_peek peek;
  const uint8_t *buf;                  /* the shell's preread buffer, as last seen */
  size_t buf_len;
  uint64_t deadline_ms_handshake;      /* set at accept; reads never push it back */
  uint64_t deadline_ms_connect;        /* UINT64_MAX while no connect is in flight */
  uint64_t deadline_ms_settle;         /* legacy FE / FE 01 silence; UINT64_MAX otherwise */
  int routed;                          /* route looked up (server may still be NULL) */
  int ready;                           /* every byte needed before routing is in */
  int legacy;                          /* a legacy ping (intent LEGACY) */
  int connecting;                      /* a CONNECT is in flight */
  int backend_ok;
  enum hop_close backend_failure;      /* BACKEND_UNREACHABLE or CONNECT_TIMEOUT once failed */
  enum hop_close answer_reason;        /* while answering a status exchange ourselves */
  const char *answer_motd;
  size_t answer_pos;                   /* next unparsed byte of that exchange */
  int answered_status;
  struct hop_action actions[HOP_CONN_ACTIONS_MAX];
  int actions_head, actions_len;
  size_t out_used;
  uint8_t out[HOP_CONN_OUT_BYTES];
};

void hop_conn_init(struct hop_conn *c, const struct hop_conn_config *cfg,
                   const struct hop_route_table *routes, uint64_t now_ms);

void hop_conn_on_bytes(struct hop_conn *c, const uint8_t *buf, size_t len, uint64_t now_ms);
void hop_conn_on_eof(struct hop_conn *c, uint64_t now_ms);
/* status: 0 when connected, else a negative libuv or HOP code (resolve or connect failure). */
void hop_conn_on_backend(struct hop_conn *c, int status, uint64_t now_ms);
void hop_conn_on_timer(struct hop_conn *c, uint64_t now_ms);

/* Pops the next action into `out`; returns 1, or 0 when there is none. */
int hop_conn_next_action(struct hop_conn *c, struct hop_action *out);

/* The earliest deadline to wake up at, or UINT64_MAX. */
uint64_t hop_conn_deadline(const struct hop_conn *c);

/* The intent, protocol, host and player name as far as they are known (for the log line). */
enum hop_intent hop_conn_intent(const struct hop_conn *c);

#endif
