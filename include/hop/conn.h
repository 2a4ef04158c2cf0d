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
#include "hop/proxy.h"
#include "hop/route.h"

#define HOP_PREREAD_BYTES_MAX   4096     /* default preread cap */
#define HOP_ADDRESS_BYTES_MAX   1024     /* default raw server address cap */
#define HOP_CONN_OUT_BYTES      4096     /* the answers built for one event */
#define HOP_TEXT_BYTES_MAX      512      /* a configured MOTD or Disconnect text */
#define HOP_LEGACY_SETTLE_MS    250      /* silence after FE / FE 01 that makes it a legacy ping */

enum hop_unknown_status { HOP_UNKNOWN_STATUS_MOTD = 0, HOP_UNKNOWN_STATUS_DROP = 1 };

/* Answers and limits, from the config; immutable while any session uses it. Texts may hold
 * {host} (normalised address) and {server} (server id) placeholders. */
enum hop_refusal { HOP_REFUSED_COOLDOWN, HOP_REFUSED_QUOTA, HOP_REFUSED_NOT_ALLOWED,
                   HOP_REFUSED_NO_AUTOSTART, HOP_REFUSALS };

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
  /* Servers with a lifecycle (api and sqlite providers); may hold {server} and {eta}. */
  const char *state_motd[HOP_STATES];  /* plain-text MOTD per state (legacy pings, defaults) */
  const char *starting_disconnect;     /* join: kick, or a hold that cannot be kept alive */
  const char *failed_disconnect;
  const char *refused_disconnect[HOP_REFUSALS];
  uint32_t hold_keepalive_ms;  /* Login Plugin Request interval while holding (>= 1.13) */
  uint32_t hold_silent_max_ms; /* longest silent hold for clients without plugin requests */
};

/* What the peer may or must send before the Minecraft bytes. */
enum hop_proxy_mode {
  HOP_PROXY_REFUSE = 0,        /* an untrusted peer: a PROXY header closes the connection */
  HOP_PROXY_ACCEPT,            /* a trusted peer: a header is used when present */
  HOP_PROXY_REQUIRE,           /* a trusted peer that must send one */
};

enum hop_conn_state {
  HOP_CONN_PREREAD,            /* reading the opening packets */
  HOP_CONN_WAKING,             /* login to a server that is not running: waiting for the farm */
  HOP_CONN_HOLD,               /* the server is starting; the login waits, kept alive */
  HOP_CONN_ANSWER,             /* hopper speaks for the server: status exchange or a Disconnect */
  HOP_CONN_PIPED,              /* handed to the relay; conn is done */
  HOP_CONN_CLOSED,
};

/* The admission gate (hop_conn_set_gate): once the client's intent is known, conn waits for the
 * shell's decision (its limits) before it routes, connects or answers anything. */
enum hop_gate {
  HOP_GATE_OPEN = 0,
  HOP_GATE_CLOSED,             /* set: stop when the intent is known */
  HOP_GATE_WAITING,            /* stopped there: hop_conn_open_gate or hop_conn_refuse */
};

enum hop_action_kind {
  HOP_ACT_CONNECT = 1,         /* resolve and connect to conn.server (once) */
  HOP_ACT_WAKE,                /* ask the farm to wake conn.server; answer with hop_conn_on_wake */
  HOP_ACT_WRITE,               /* write bufs to the client; valid until the next event */
  HOP_ACT_PIPE,                /* write preread[0..len) to the backend, then relay both ways */
  HOP_ACT_DROP_BACKEND,        /* abandon the connect in flight; its result must not be reported */
  HOP_ACT_CLOSE,               /* flush pending writes to the client, then close with `reason` */
};

#define HOP_ACTION_BUFS 3

struct hop_action {
  enum hop_action_kind kind;
  const uint8_t *bytes;        /* WRITE: bufs[0]; PIPE: the bytes to replay */
  size_t len;
  const uint8_t *more[HOP_ACTION_BUFS - 1];  /* WRITE: further buffers, in order (or NULL) */
  size_t more_len[HOP_ACTION_BUFS - 1];
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
  enum hop_proxy_mode proxy_mode;
  int proxy_done;                      /* the PROXY stage is over (header parsed or none) */
  size_t proxy_len;                    /* bytes of a received PROXY header; peek starts after */
  int have_proxy_src;                  /* proxy_src holds the real client address */
  struct sockaddr_storage proxy_src;
  const uint8_t *buf;                  /* the shell's preread buffer, as last seen */
  size_t buf_len;
  uint64_t deadline_ms_handshake;      /* set at accept; reads never push it back */
  uint64_t deadline_ms_connect;        /* UINT64_MAX while no connect is in flight */
  uint64_t deadline_ms_settle;         /* legacy FE / FE 01 silence; UINT64_MAX otherwise */
  int routed;                          /* route looked up (server may still be NULL) */
  enum hop_gate gate;                  /* OPEN unless the shell asked to decide first */
  int client_eof;                      /* the client has sent everything it will send */
  int ready;                           /* every byte needed before routing is in */
  int legacy;                          /* a legacy ping (intent LEGACY) */
  int connecting;                      /* a CONNECT is in flight */
  int backend_ok;
  enum hop_close backend_failure;      /* BACKEND_UNREACHABLE or CONNECT_TIMEOUT once failed */
  enum hop_close answer_reason;        /* while answering a status exchange ourselves */
  const char *answer_motd;
  size_t answer_pos;                   /* next unparsed byte of that exchange */
  int answered_status;
  int state_answer;                    /* answering for a managed server's state, not an error */
  enum hop_state server_state;         /* the managed server's state when routed */
  int held;                            /* went through HOLD: replay keep_len bytes only */
  size_t keep_len;                     /* HOLD: bytes to replay (handshake + Login Start) */
  uint64_t deadline_ms_hold;           /* HOLD: give up (UINT64_MAX while kept alive) */
  uint64_t deadline_ms_keepalive;      /* HOLD: next Login Plugin Request */
  int32_t keepalive_id;                /* Login Plugin Requests sent */
  int32_t keepalive_answered;          /* ... and answers swallowed */
  uint64_t deadline_ms_answers;        /* after the hold: stop waiting for the last answers */
  int answers_overdue;
  uint32_t eta_s;                      /* for {eta} in texts */
  struct hop_action actions[HOP_CONN_ACTIONS_MAX];
  int actions_head, actions_len;
  size_t out_used;
  uint8_t *out;                        /* answers built for one event (the caller's scratch) */
  size_t out_cap;
};

/* Sets the PROXY protocol stage (before the first bytes); the default refuses headers. */
void hop_conn_set_proxy(struct hop_conn *c, enum hop_proxy_mode mode);

/* `out` (at least HOP_CONN_OUT_BYTES) receives the answers of one event: WRITE actions point into
 * it until the next event of any conn that shares it, so one scratch buffer per loop serves every
 * session on it and a session in its greet owns none. */
void hop_conn_init(struct hop_conn *c, const struct hop_conn_config *cfg,
                   const struct hop_route_table *routes, uint8_t *out, size_t out_cap,
                   uint64_t now_ms);

/* Before the route is looked up, a newer snapshot's settings and routes replace those given at
 * init (a server removed or moved while the opening trickled in must not be dialled). The peek's
 * caps and the handshake deadline stay as they were at accept. Ignored once routed. */
void hop_conn_rebind(struct hop_conn *c, const struct hop_conn_config *cfg,
                     const struct hop_route_table *routes);

void hop_conn_on_bytes(struct hop_conn *c, const uint8_t *buf, size_t len, uint64_t now_ms);
void hop_conn_on_eof(struct hop_conn *c, uint64_t now_ms);
/* status: 0 when connected, else a negative libuv or HOP code (resolve or connect failure). */
void hop_conn_on_backend(struct hop_conn *c, int status, uint64_t now_ms);
/* The routed server left the routes (a newer snapshot lacks it). While its backend was being
 * dialled or was connected but not yet handed off: drops the backend and answers as for an
 * unreachable server, so no player reaches a backend that is no longer theirs. While a login
 * waits for its wake or is held: answers as for an unknown host (reason no_route) at once. */
void hop_conn_on_route_gone(struct hop_conn *c, uint64_t now_ms);
void hop_conn_on_timer(struct hop_conn *c, uint64_t now_ms);

/* The farm's answer to HOP_ACT_WAKE; `eta_s` is its estimate of the start time. */
void hop_conn_on_wake(struct hop_conn *c, int wake_result, uint32_t eta_s, uint64_t now_ms);

/* The routed server's state changed (while waking or holding). */
void hop_conn_on_server_state(struct hop_conn *c, enum hop_state state, uint64_t now_ms);

/* While holding, the client's answers to our keepalives are swallowed: drops them from `buf` and
 * returns the new length. */
size_t hop_conn_compact(struct hop_conn *c, uint8_t *buf, size_t len);

/* The shell refuses this client (a limit): drops what conn had planned, then answers as for its
 * intent with `text` (status: a MOTD; login: a Disconnect; legacy: a kick) unless `silent`,
 * and closes with `reason`. Call it once the intent is known (hop_conn_intent != NONE). */
void hop_conn_refuse(struct hop_conn *c, enum hop_close reason, const char *text, int silent);

/* Asks conn to stop at the admission gate: once the intent is known (hop_conn_at_gate), conn
 * does nothing until hop_conn_open_gate (go on: route, connect, answer) or hop_conn_refuse. Call
 * it after init, when the shell has limits to apply; without it conn routes at once. */
void hop_conn_set_gate(struct hop_conn *c);
void hop_conn_open_gate(struct hop_conn *c, uint64_t now_ms);
static inline int hop_conn_at_gate(const struct hop_conn *c)
{
  return c->gate == HOP_GATE_WAITING;
}

/* Pops the next action into `out`; returns 1, or 0 when there is none. */
int hop_conn_next_action(struct hop_conn *c, struct hop_action *out);

/* The earliest deadline to wake up at, or UINT64_MAX. */
uint64_t hop_conn_deadline(const struct hop_conn *c);

/* The intent, protocol, host and player name as far as they are known (for the log line). */
enum hop_intent hop_conn_intent(const struct hop_conn *c);

#endif
