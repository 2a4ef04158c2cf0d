/* The libuv shell: workers, sessions, the relay. The only code that calls uv_* on sockets.
 * Private to src/shell. */
#ifndef HOP_SHELL_H
#define HOP_SHELL_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>

#include <uv.h>

#include "hop/conn.h"
#include "hop/metrics.h"
#include "hop/snapshot.h"
#include "bus.h"
#include "pool.h"
#include "slab.h"

#define HOP_RELAY_BUF_BYTES   (64 * 1024)   /* one read */
#define HOP_RELAY_HIGH_BYTES  (256 * 1024)  /* stop reading the source above this queue */
#define HOP_RELAY_LOW_BYTES   (64 * 1024)   /* resume below this */
#define HOP_LINGER_MS         2000          /* after our last answer, wait this long for EOF */
#define HOP_DISCARD_BYTES     4096

enum hop_worker_cmd { HOP_WORKER_RUN, HOP_WORKER_DRAIN, HOP_WORKER_CLOSE_ALL, HOP_WORKER_EXIT };

struct hop_session;

struct hop_worker {
  int id;
  uv_loop_t loop;
  uv_thread_t thread;
  uv_async_t wakeup;           /* the control loop changed cmd */
  struct hop_mailbox inbox;    /* wake replies and state changes from the control loop */
  struct hop_mailbox *control; /* the control loop's inbox */
  uint64_t next_serial;        /* session serials, for replies to find their session */
  uv_async_t *idle;            /* signalled on the control loop when a draining worker is empty */
  int *listen_fds;             /* bound sockets, handed over at start */
  uv_tcp_t *listeners;
  size_t listeners_len;
  atomic_int cmd;
  atomic_long live;            /* sessions open on this worker */
  int draining;
  struct hop_slab greet_slab;  /* struct hop_greet + preread: pages apart from the sessions' */
  struct hop_pool buf_pool;    /* relay reads */
  struct hop_pool write_pool;  /* struct hop_write */
  uv_timer_t housekeeping;     /* memory back to the system; waiting logins follow the routes */
  uv_prepare_t log_flush;      /* writes the turn's batched log lines before the loop waits */
  size_t trim_seen;            /* pool releases at the last trim */
  struct hop_metrics_worker *metrics;   /* this worker's counters (it alone writes them) */
  struct hop_snapshot *snap;   /* the snapshot new sessions route by */
  uint64_t snap_gen;
  uint64_t followed_gen;       /* the snapshot waiting logins were last checked against */
  struct hop_session *sessions;      /* every live session, for drain */
  uint8_t discard[HOP_DISCARD_BYTES];  /* reads we throw away while lingering */
  uint8_t answer[HOP_CONN_OUT_BYTES];  /* conn's answers for the event at hand */
};

/* Handshake-phase state: taken from the greet slab at accept, returned once piped or closed. */
struct hop_greet {
  struct hop_conn conn;
  size_t len;                  /* bytes preread */
  size_t cap;                  /* preread capacity */
  uint8_t preread[];
};

/* One queued write; the buffer is either a pooled relay chunk or bytes in the greet. */
struct hop_write {
  uv_write_t req;
  struct hop_session *s;
  void *chunk;                 /* returned to the buf pool on completion, or NULL */
  uint8_t to_client;
  uint8_t replay;              /* writes the greet's preread: release the greet when done */
};

struct hop_dial;

struct hop_dir {               /* one relay direction */
  uint8_t paused;              /* source reads stopped for backpressure */
  uint8_t eof;                 /* source sent EOF */
  uint8_t done;                /* EOF passed on (shutdown completed) */
};

/* One per connection, so every byte counts: fields are ordered by size and the two close reasons
 * take a byte each, leaving no padding (808 bytes, a 816-byte malloc chunk, on x86-64). */
struct hop_session {
  uv_tcp_t client;             /* .data = this session */
  uv_tcp_t backend;            /* initialised only once a route is chosen */
  uv_timer_t timer;            /* one timer: conn's deadline, then linger or idle */
  struct hop_worker *w;
  struct hop_session *prev, *next;
  struct hop_snapshot *snap;   /* held for the session's life: server and answers stay valid */
  struct hop_greet *greet;     /* NULL once piped */
  struct hop_dial *dial;       /* resolve/connect in flight */
  const struct hop_server *server;
  char *label;                 /* "host\0player\0uuid\0", kept once the greet is gone */
  uint64_t serial;
  uint64_t accepted_ms;
  uint64_t active_ms;          /* last relayed byte, for the idle timeout */
  uint64_t bytes_c2b, bytes_b2c;
  union {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
  } peer;
  int32_t protocol;
  uint8_t reason;              /* enum hop_close, set once, by hop_session_close() */
  uint8_t first_eof;           /* enum hop_close: who ended a relayed session first */
  struct hop_dir c2b, b2c;
  uint8_t intent;
  uint8_t open_handles;        /* initialised and not yet closed */
  uint8_t writes_client;       /* writes in flight to the client */
  uint8_t backend_open;
  uint8_t piped;
  uint8_t closing;
  uint8_t flushing;            /* answer written; close once it is flushed */
  uint8_t lingering;           /* FIN sent after an answer; reading to EOF */
  uint8_t counted;             /* SESSION_BEGIN sent: SESSION_END owed */
  uint8_t client_paused;       /* greet reads stopped (buffer full) before the hand-off */
  uint8_t decided;             /* the handshake latency is recorded */
  uint8_t admitted;            /* counted by the limits: release owed */
  uint8_t ip_counted;          /* ... per IP as well, by s->peer (the socket's peer, or the
                                  client's address from a trusted proxy's PROXY header) */
  uint8_t over_ip;             /* over the per-IP cap: refused once the intent is known */
  uint8_t limits_checked;      /* per-IP limits applied, once the intent was known */
  uint8_t peer_real;           /* s->peer is the client's own address, not a trusted proxy's */
};

_Static_assert(HOP_CLOSE_COUNT <= UINT8_MAX, "enum hop_close fits struct hop_session's bytes");

/* worker.c */
int hop_worker_start(struct hop_worker *w);
void hop_worker_command(struct hop_worker *w, enum hop_worker_cmd cmd);
/* The worker's last session is gone: a draining worker tells the control loop. */
void hop_worker_on_idle(struct hop_worker *w);

/* session.c */
void hop_session_accept(struct hop_worker *w, uv_stream_t *listener);
void hop_session_close(struct hop_session *s, enum hop_close reason);
void hop_session_arm_timer(struct hop_session *s, uint64_t deadline_ms);
/* A wake reply or state change from the control loop, for the sessions it concerns. */
void hop_session_on_msg(struct hop_worker *w, const struct hop_msg *m);
/* Logins waiting for a server that left the routes are answered (see session.c). */
void hop_session_follow_routes(struct hop_worker *w);
/* The close callback of every session handle; frees the session after the last one. */
void hop_session_on_handle_closed(uv_handle_t *h);
/* Returns the greet (preread buffer and conn) to its slab; the replay must be written. */
void hop_session_greet_release(struct hop_session *s);

/* admit.c: limits and bans for one session. */
/* At accept: counts s in the limits, or returns why it is refused at once (counted, struck). */
enum hop_close hop_session_admit(struct hop_session *s, const struct hop_config *cfg);
/* At close: a strike reason strikes the client; enough strikes ban it (logged). */
void hop_session_strike(const struct hop_session *s);
/* The client's real address, once a trusted proxy told it. */
void hop_session_adopt_proxy_source(struct hop_session *s);
/* Whether conn must wait for hop_session_check_limits before it routes or answers: without the
 * gate a status ping that arrives whole is answered before a limit could refuse it. */
int hop_session_needs_gate(const struct hop_session *s);
/* Once the intent is known: refuses through conn, or opens its gate. */
void hop_session_check_limits(struct hop_session *s, struct hop_conn *c);

/* dial.c: resolve (off the loop) and connect s->backend to s->server. */
int hop_dial_start(struct hop_session *s);
void hop_dial_drop(struct hop_session *s);
/* Called by dial.c when done: status 0 or a negative libuv code. */
void hop_session_on_dialed(struct hop_session *s, int status);

/* pipe.c */
/* The backend's connect is under way: watch it without reading (see pipe.c). */
void hop_pipe_watch_backend(struct hop_session *s);
void hop_pipe_start(struct hop_session *s, const uint8_t *replay, size_t replay_len);
void hop_pipe_on_idle_timer(struct hop_session *s);
struct hop_write *hop_write_new(struct hop_session *s, void *chunk, int to_client);
void hop_write_release(struct hop_write *wr);

#endif
