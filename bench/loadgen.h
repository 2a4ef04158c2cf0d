/* hop-loadgen's private header: the limits, the modes, the options, the per-thread and per-connection state,
 * and what loadgen.c (command line, threads, result) and loadgen_conn.c (the connections) call across. */
#ifndef HOP_LOADGEN_H
#define HOP_LOADGEN_H

#include "benchutil.h"

#define LG_READ_BUF     (256u * 1024u)
#define LG_CHUNK        (64u * 1024u)
#define LG_UP_DEPTH     4
#define LG_THREADS_MAX  16
#define LG_SAMPLES_MAX  (32u * 1024u * 1024u)

enum mode { MODE_SETUP, MODE_RR, MODE_BULK, MODE_IDLE };   /* mode_names in loadgen.c follows this order */
enum close_how { CLOSE_FIN, CLOSE_RST };
enum cstate { C_IDLE, C_CONNECTING, C_OPENING, C_READY, C_COUNTING, C_DONE };

struct opts {
  enum mode mode;
  struct sockaddr_in target;
  const char *address;
  long conns;
  double seconds;
  long threads;
  long size;
  long sessions;
  long parallel;
  long timeout_ms;
  int dir_up;
  enum close_how close_how;
};

extern struct opts opt;

struct lthread;

struct lconn {
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;                 /* the opening */
  uv_write_t rreq;                 /* rr: the rest of a request uv_try_write could not take */
  uv_write_t up_req[LG_UP_DEPTH];
  uv_shutdown_t sreq;
  uv_timer_t timer;
  struct lthread *t;
  enum cstate state;
  int handle_open;
  int retry;                       /* setup: the last attempt failed; wait a little before the next */
  int up_inflight;
  uint64_t t0;
  size_t got;
  uint64_t up_acked;               /* bulk up: bytes whose write completed */
  uint8_t count_buf[8];
  size_t count_got;
  uint64_t count;                  /* bulk up: bytes the sink says it received */
  uint64_t count_at;               /* bulk up: when the count arrived */
};

struct lthread {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_timer_t stop_timer;
  uv_timer_t ready_timer;
  uv_timer_t watchdog;
  struct lconn *conns;
  long nconns;
  long ready;
  int measuring;
  int stopping;
  uint64_t start_ns;
  uint64_t end_ns;
  uint64_t ops;
  uint64_t errors;
  uint64_t timeouts;
  uint64_t bytes;
  struct bench_lat lat;
  /* idle */
  long next_open;
  long established;
  long failed;
  long lost;
  int holding;
  uint64_t open_start_ns;
  uint64_t open_ms;
  int watchdog_fired;
  uint8_t opening[512];
  size_t opening_len;
  uint8_t rbuf[LG_READ_BUF];
};

extern uint8_t request_buf[LG_CHUNK];
extern uint8_t up_chunk[LG_CHUNK];

void conn_start(struct lconn *c);
void idle_open_more(struct lthread *t);
void begin_measuring(struct lthread *t);

#endif
