/* The simulated world: one seed, one virtual clock, the control-plane API, the servers behind it,
 * one or more gateway replicas (each with the real hop_farm, real route tables from the real
 * routes parser, and one real hop_conn per client session), and the clients. Shared by the
 * files of sim/; nothing outside sim/ includes it. See docs/simulation.md. */
#ifndef SIM_H
#define SIM_H

#include <stddef.h>
#include <stdint.h>

#include "hop/conn.h"
#include "hop/farm.h"
#include "hop/fetcher.h"
#include "hop/http.h"
#include "hop/pump.h"
#include "hop/route.h"
#include "evq.h"
#include "rng.h"
#include "scenario.h"

#define SIM_REPLICAS_MAX 4
#define SIM_MSG_MS 1             /* worker <-> control loop mailbox hop (FIFO: fixed delay) */
#define SIM_DRAIN_MS (5 * 60 * 1000)     /* after the scenario: no arrivals, no faults */

enum sim_ev {
  EV_ARRIVE = 1,               /* a = arrival-plan index */
  EV_CLIENT_SEND,              /* a = session: the client sends its next chunk */
  EV_CLIENT_EOF,               /* a = session: the client half-closes */
  EV_CLIENT_REPLY,             /* a = session: the client answers what it received (c = kind) */
  EV_CONN_TIMER,               /* a = session, c = the deadline it was armed for */
  EV_BACKEND,                  /* a = session, b = connect generation, c = status */
  EV_PIPE_END,                 /* a = session, b = pipe generation, c = close reason */
  EV_WAKE,                     /* a = session: the wake message reaches the control loop */
  EV_WAKE_REPLY,               /* a = session, c = hop_wake_result */
  EV_STATE_MSG,                /* a = replica, b = server, c = state: reaches the workers */
  EV_SESSION_MSG,              /* a = replica, b = server, c = 1 begin / 0 end (+ session<<1) */
  EV_FARM_TIMER,               /* a = replica, c = deadline */
  EV_PROBE,                    /* a = replica, b = server, c = ok */
  EV_FETCH,                    /* a = replica, c = fetch generation */
  EV_FETCH_REPLY,              /* a = replica, b = response slot */
  EV_CALL,                     /* a = call slot: (re)send a start/stop call */
  EV_CALL_REPLY,               /* a = call slot, c = HTTP status (< 0: no answer) */
  EV_OUTBOX_SEND,              /* a = replica, c = timer generation */
  EV_OUTBOX_STORE,             /* a = replica: append the queued events to the "store" */
  EV_EVENTS_REPLY,             /* a = replica, c = status */
  EV_SERVER,                   /* b = server, c = generation: the API world's timer */
  EV_END,                      /* the scenario's time is up: drain */
};

/* ---- The API world: the truth about every server ------------------------------------------ */

struct sim_server {
  const struct sim_server_spec *spec;
  char id[16];
  enum hop_state state;        /* what the platform knows (and the document says) */
  uint64_t tcp_at_ms;          /* starting: accepts TCP from here */
  uint64_t status_at_ms;       /* ... answers status (probes pass) from here */
  uint64_t login_at_ms;        /* ... accepts logins from here */
  uint32_t gen;                /* invalidates scheduled world transitions */
  uint32_t stop_votes;         /* bit per replica: asked to stop since the last start */
  uint32_t live;               /* sessions piped to it, all replicas (the truth) */
  int restart;                 /* a start came while stopping: start once asleep */
  int unlisted;                /* left out of the document (churn) */
};

struct sim_delivered {         /* an event id the API has taken */
  char id[48];
  uint64_t body_hash;
  uint64_t at_ms;
};

struct sim_api {
  char *doc;                   /* current routes document */
  char *doc_old;               /* the one before (served by the "stale" fault) */
  char etag[32], etag_old[32];
  uint32_t revision;
  /* events de-duplicated by id: (id -> first body, first delivery time) */
  struct sim_delivered *seen;  /* open addressing by id hash */
  size_t seen_len, seen_cap;
  uint64_t dups;
};

/* ---- Gateway replicas ----------------------------------------------------------------------- */

struct sim_snap {              /* a published route table; sessions keep theirs alive */
  struct hop_route_table *t;
  int refs;
};

struct sim_outbox_row {
  uint64_t seq;
  char id[48];
  char *body;
  uint64_t created_ms;
};

struct sim_call {              /* a start or stop call in flight (provider_api.c's struct call) */
  struct hop_fetcher_call f;   /* first: the fetcher's actions name it; its stop and tries */
  int used;
  uint32_t replica;
  uint32_t server;
  uint32_t sessions;
};

struct sim_msg;

struct sim_fetch_reply {       /* an answer to GET /v1/routes on its way back */
  int used;
  int status;                  /* 200, 304, 5xx, or < 0: no answer (timeout, outage) */
  char *body;
  char etag[32];
};

struct sim_replica {
  uint32_t idx;
  char name[16];
  struct hop_farm *farm;
  struct sim_snap *snap;       /* current, or NULL before the first document */
  char etag[32];
  uint32_t fetch_gen;          /* the fetch timer armed last (an ARM replaces the one before) */
  struct hop_fetcher fetcher;  /* the real one (src/control/fetcher.c), as provider_api.c */
  uint64_t farm_timer_ms;      /* the farm timer event armed, or UINT64_MAX */
  int *attempt_open;           /* per server: a START emitted and the attempt not over */
  uint32_t *live;              /* per server: sessions piped by this replica */
  /* the outbox: the real pump (src/control/pump.c) over a simulated store (sim/outbox.c) */
  struct hop_pump pump;
  char **pending;              /* events not yet numbered (the pump's `queued`) */
  size_t pending_len, pending_cap;
  struct sim_outbox_row *batch;    /* the append in flight (kept for a retry after busy) */
  size_t batch_len, batch_cap;
  struct sim_outbox_row *rows; /* in the store, oldest first */
  size_t rows_len, rows_cap;
  uint64_t seq_reserved;       /* the store's last id handed out */
  uint64_t ids_asked;          /* the RESERVE in flight */
  uint64_t next_seq;           /* the last id numbered: every one up to it must reach the API */
  uint64_t send_at_ms;         /* timer armed for, or UINT64_MAX */
  uint64_t events_made;
  struct sim_msg *msgs;        /* session begin/end on their way to the control loop (FIFO) */
  size_t msgs_head, msgs_len, msgs_cap;
};

struct sim_msg {
  uint32_t server;
  int begin;
  char *json;                  /* the join/leave event, built while the session lived */
};

/* ---- Sessions ------------------------------------------------------------------------------- */

enum sim_client_kind { CLIENT_PLAYER, CLIENT_PINGER, CLIENT_SCANNER, CLIENT_GARBAGE };

struct sim_session {
  uint32_t id;
  struct sim_replica *r;
  struct sim_snap *snap;       /* taken at accept, as the shell does */
  struct hop_conn conn;
  uint8_t buf[HOP_PREREAD_BYTES_MAX];
  size_t len;                  /* preread bytes conn has seen (keepalive answers compacted) */
  enum sim_client_kind kind;
  uint32_t plan;               /* arrival plan index */
  int server;                  /* the server the client aims at, or -1 (unknown host) */
  int routed;                  /* the server conn chose (index), or -1 */
  uint32_t ident, cycles;      /* which client of its plan; reconnect: joins left */
  int msgs;                    /* wake messages in flight: the session outlives its close */
  char ip[20];
  char player[17];
  int32_t protocol;
  uint8_t script[600];         /* what the client sends of its own accord, in order */
  size_t script_len, sent;
  int drip;                    /* sends one byte at a time */
  size_t vanish_at;            /* stops sending after this many bytes, never closes */
  int half_close;              /* EOF right after its opening bytes */
  uint64_t patience_ms;        /* a holding player gives up after this */
  uint64_t play_ms;            /* once in, plays this long */
  uint64_t arrive_ms, piped_ms;
  uint64_t timer_ms;           /* conn deadline armed, or UINT64_MAX */
  uint32_t connect_gen;        /* a CONNECT's result carries it; DROP_BACKEND bumps it */
  int connecting;
  int waking;
  int piped;
  int counted;                 /* session_begin sent to the farm */
  int login_refused;           /* the backend did not take the login (accepted TCP too early) */
  int closes;                  /* must end at exactly 1 */
  enum hop_close reason;
  int got_status, got_disconnect;
  int keepalives_seen, keepalives_answered;
  int eof_sent;
};

/* ---- Statistics ----------------------------------------------------------------------------- */

struct sim_samples {
  uint64_t *v;
  size_t len, cap;
};

struct sim_stats {
  uint64_t sessions, closes[HOP_CLOSE_COUNT];
  uint64_t starts, stops, failed_starts, start_calls_failed;
  uint64_t logins, joins_ok;
  struct sim_samples join_wait_ms;
  uint64_t events_made, events_delivered, events_dup;
  struct sim_samples event_delay_ms;
  uint64_t fetches, fetch_ok, fetch_rejected, fetch_failed;
  uint64_t probes;
};

/* ---- The run -------------------------------------------------------------------------------- */

struct sim {
  uint64_t seed;
  struct sim_scenario *sc;
  uint32_t minutes;
  int draining;                /* past the scenario's end: no arrivals, no faults */
  uint64_t now;
  uint64_t end_ms;
  struct sim_rng rng;
  struct sim_evq q;
  uint64_t hash;               /* FNV-1a over the trace */
  int trace;                   /* print every event */
  struct hop_conn_config conn_cfg;
  struct hop_farm_config farm_cfg;
  uint8_t scratch[HOP_CONN_OUT_BYTES];
  struct sim_server *servers;
  size_t servers_len;
  struct sim_api api;
  struct sim_replica replicas[SIM_REPLICAS_MAX];
  uint32_t replicas_len;
  struct sim_session **sessions;   /* by id; NULL once freed */
  size_t sessions_len, sessions_cap;
  size_t sessions_live;
  int snaps_live;
  struct sim_call *calls;
  size_t calls_len, calls_cap;
  struct sim_fetch_reply *replies;
  size_t replies_len, replies_cap;
  struct sim_stats stats;
  char violation[512];         /* the first broken invariant, or "" */
};

/* main.c / trace */
void sim_at(struct sim *s, uint64_t delay_ms, int kind, uint32_t a, uint32_t b, int64_t c);
void sim_trace(struct sim *s, const char *what, uint64_t x, uint64_t y);
void sim_violation(struct sim *s, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* The fault probability in force (0 while draining). */
double sim_fault(const struct sim *s, double p);

/* api.c */
int sim_api_init(struct sim *s);
void sim_api_free(struct sim *s);
void sim_api_on_event(struct sim *s, const struct sim_event *ev);
int sim_api_doc_refresh(struct sim *s);
/* Request handlers: each schedules its own reply. */
void sim_api_get_routes(struct sim *s, uint32_t replica);
void sim_api_call(struct sim *s, uint32_t call);
void sim_api_post_events(struct sim *s, uint32_t replica, size_t n);
int sim_api_server_index(const struct sim *s, const char *id);
int sim_api_delivered(const struct sim *s, const char *id);

/* gateway.c */
int sim_gateway_init(struct sim *s, struct sim_replica *r, uint32_t idx);
void sim_gateway_free(struct sim *s, struct sim_replica *r);
void sim_gateway_on_event(struct sim *s, const struct sim_event *ev);
void sim_gateway_drain_farm(struct sim *s, struct sim_replica *r);
void sim_snap_unref(struct sim *s, struct sim_snap *snap);
void sim_gateway_session_msg(struct sim *s, struct sim_replica *r, uint32_t server, int begin,
                             const struct sim_session *ss);
void sim_gateway_event(struct sim *s, struct sim_replica *r, const char *json);
int sim_gateway_idle(const struct sim *s, const struct sim_replica *r);

/* outbox.c */
void sim_outbox_init(struct sim *s, struct sim_replica *r);
void sim_outbox_add(struct sim *s, struct sim_replica *r, const char *json);
int sim_outbox_idle(const struct sim_replica *r);
void sim_outbox_on_event(struct sim *s, const struct sim_event *ev);
void sim_outbox_free(struct sim_replica *r);

/* session.c */
/* Grows the session table by one slot or more; 0 on allocation failure. */
int sim_grow_sessions(struct sim *s);
void sim_session_arrive(struct sim *s, uint32_t plan, uint32_t ident, uint32_t cycles);
void sim_session_on_event(struct sim *s, const struct sim_event *ev);
void sim_session_server_state(struct sim *s, struct sim_replica *r, uint32_t server,
                              enum hop_state state);
void sim_session_server_stopped(struct sim *s, uint32_t server);
void sim_sessions_free(struct sim *s);

/* client.c: the client factory (also used by live mode) */
void sim_client_make(struct sim *s, struct sim_session *ss, const struct sim_plan *p);
/* Appends the status Ping a status client sends once it has the answer. */
void sim_client_ping(struct sim_session *ss);
/* A Login Plugin Response ("not understood") to keepalive `msg_id`; returns its length. */
size_t sim_client_plugin_answer(uint8_t *out, int32_t msg_id);

/* stats.c */
void sim_sample(struct sim_samples *x, uint64_t v);
void sim_stats_print(struct sim *s, int json);
void sim_stats_free(struct sim_stats *st);
/* Nearest-rank percentile p of the samples (sorted in place); 0 with none. */
uint64_t sim_percentile(struct sim_samples *x, unsigned p);

/* live.c: sim --live (docs/simulation.md, "Live mode"). Returns 0, 1 on a violation, 77 when
 * hopper cannot be spawned, 2 on a setup error. */
int sim_live(struct sim_scenario *sc, uint64_t seed, const char *hopper, int json,
             const char *argv0);

#endif
