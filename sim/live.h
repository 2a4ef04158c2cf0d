/* Live mode (sim --live): the real hopper binary on loopback, fed by the simulator's client
 * factory over real sockets, with in-process backends behind it. Shared by sim/live*.c only;
 * these are the simulator's only files that use libuv. See docs/simulation.md, "Live mode". */
#ifndef SIM_LIVE_H
#define SIM_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sim.h"

#define LIVE_CLIENTS_MAX 400       /* what loopback and two shared CPUs carry in a few seconds */
#define LIVE_READY_MS 15000       /* spawn -> msg=ready, generous on a loaded machine */
#define LIVE_ARRIVE_MS 2500        /* the scenario's arrivals are compressed into this window */
#define LIVE_TRAFFIC_MS 5000       /* from the first arrival: every client is gone by then */
#define LIVE_SETTLE_MS 2000        /* then: waiting for hopper's last session lines */
#define LIVE_STOP_MS 5000          /* SIGTERM -> exit, or SIGKILL */
#define LIVE_CLIENT_SLOWDOWN 10    /* a client's own pauses (splits, drips) are divided by this */
#define LIVE_HANDSHAKE_MS 1000     /* hopper's handshake timeout, scaled with the pauses */
#define LIVE_RX_BYTES 4096
#define LIVE_BACKLOG 1024          /* a wake replays every held login at once: no SYN dropped */
#define LIVE_FARM_SETTLE_MS 3000   /* settle: how long to wait for idle stops of woken servers */
#define LIVE_START_MIN_MS 1200     /* a woken backend starts listening after the scenario's */
#define LIVE_START_MAX_MS 1800    /* start delay, scaled and clamped to this */

enum live_phase { PH_START, PH_TRAFFIC, PH_SETTLE, PH_METRICS, PH_STOP, PH_DONE };

struct live;

struct live_client {
  struct live *L;
  uint32_t idx;
  struct sim_session ss;       /* the factory's output: script, kind, drip, vanish, half-close */
  struct sim_rng rng;          /* its own splits and pauses, seeded from (seed, idx) */
  uint64_t at_ms;              /* arrival, after the start of the traffic */
  uint64_t play_ms;            /* once the backend has its login, it stays this long */
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t creq;
  uv_shutdown_t sreq;
  int launched, tcp_open, timer_open, connected, closing, done;
  uint16_t port;               /* local port: how hopper's session line names it */
  uint64_t connect_ns;
  uint8_t rx[LIVE_RX_BYTES];
  size_t rx_len;
  int got_status, got_pong, got_disconnect, backend_status, joined, cut, connect_failed;
  int leave_on_connect;        /* cut while connecting: leaves once connected, so that its
                                  port (and hopper's line for it) is known */
  int next;                    /* what the timer does next (live_client.c) */
  uint64_t join_ns;            /* when the backend had the whole login */
  int held;                    /* its server's backend was down when it connected */
};

struct live_bconn {            /* one connection hopper made to a backend */
  struct live *L;
  uint32_t idx, server;
  uv_tcp_t tcp;
  int open;
  uint8_t rx[LIVE_RX_BYTES];
  size_t len, used;            /* bytes received; bytes parsed as frames */
  int stage;                   /* 0: handshake next, 1: status, 2: login, 3: done */
  int32_t protocol;
  int client;                  /* the client whose login it carries, or -1 */
  int extra;                   /* bytes came after the login (reported once) */
};

struct live_backend {          /* one scenario server's listener */
  struct live *L;
  uint32_t server;
  uv_tcp_t tcp;
  int listening;               /* 0: bound but not listening, so connects are refused */
  int up;                      /* takes connections; a stopped one accepts and resets them */
  uint64_t up_at_ms;           /* a start_cmd ran: up from then (0: none pending) */
  uint32_t starts, stops;      /* start_cmd / stop_cmd runs seen */
  uint16_t port;
};

struct live_line {             /* one msg=session line of hopper's */
  uint16_t port;
  char server[24];
  char reason[32];
};

struct live {
  struct sim s;                /* scenario, servers, the seed's PRNG: what the factory needs */
  const char *hopper_path;
  char hopper_abs[4096];
  char dir[64], config[96];
  uv_loop_t loop;
  uv_timer_t tick;
  enum live_phase phase;
  uint64_t t0_ms, phase_ms;    /* loop time at the start, and when the phase began */
  /* hopper */
  uv_process_t proc;
  uv_pipe_t err;
  int spawned, exited, err_open, killed;
  int64_t exit_status;
  int term_signal;
  char errbuf[8192];
  size_t errlen;
  char tail[8][200];           /* hopper's last lines, shown when it fails */
  unsigned tail_n;
  uint16_t port, admin_port;
  int ready;
  struct live_line *lines;
  size_t lines_len, lines_cap;
  /* the admin endpoint */
  uv_tcp_t http;
  uv_connect_t http_req;
  uv_write_t http_wreq;
  char *metrics;
  size_t metrics_len, metrics_cap;
  int http_open, metrics_done;
  /* backends and clients */
  struct live_backend *backends;
  struct live_bconn **bconns;
  size_t bconns_len, bconns_cap, bconns_open;
  struct live_client *clients;
  size_t clients_len, clients_open;
  uint64_t scale_num, scale_den;   /* scenario ms * num / den = live ms */
  uint64_t last_ms;            /* the scenario time the last client arrives */
  size_t arrivals_total;       /* before the cap */
  struct sim_samples join_wait_ms;
  /* the farm (the sqlite provider), when the scenario has servers that are not running */
  int farm;
  char db[96], farm_file[96];  /* hopper's store; where start_cmd / stop_cmd append a line */
  uint64_t farm_off;           /* bytes of farm_file read so far */
  uint32_t start_runs, stop_runs, log_starting, log_running, log_failed, log_stopped;
  uint32_t busy;               /* servers starting or stopping, from hopper's state lines */
  int farm_quiet;              /* when /metrics was fetched */
  char *busy_ids;              /* per server: 1 while starting or stopping */
  struct sim_samples held_wait_ms;
  uint32_t keepalives;         /* Login Plugin Requests our held clients answered */
};

/* live.c */
void live_violation(struct live *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t live_now(struct live *L);     /* ms since the start of the run */

/* live_hopper.c: config, spawn, stderr lines, SIGTERM, /metrics */
int live_hopper_config(struct live *L);
int live_hopper_servers(struct live *L);   /* the farm: `hopper servers add`, one per server */
int live_hopper_spawn(struct live *L);
void live_hopper_term(struct live *L);
void live_hopper_kill(struct live *L);
void live_metrics_fetch(struct live *L);
void live_metrics_abort(struct live *L);
/* The value of `series` (a full name with labels) in the fetched /metrics; -1 if absent. */
long long live_metric(const struct live *L, const char *series);

/* live_backend.c */
int live_backends_start(struct live *L);
void live_farm_poll(struct live *L);   /* start_cmd / stop_cmd lines -> backends up or down */
int live_farm_quiet(const struct live *L);  /* nothing starting; every woken server stopped */
void live_backends_close(struct live *L);
void live_bconns_close(struct live *L);

/* live_client.c */
int live_clients_make(struct live *L);
void live_clients_launch(struct live *L);
void live_clients_cut(struct live *L);
void live_client_joined(struct live *L, struct live_client *c);

/* live_check.c: the invariants after the run, and the figures */
void live_check(struct live *L);
void live_report(struct live *L, int json);

#endif
