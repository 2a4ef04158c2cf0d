/* hop-loadgen: loopback load for hop-sink, directly or through a proxy, on libuv.
 *
 * Every connection opens like a Minecraft login: Handshake (next state 2, address --address) and Login Start
 * in one write; the sink answers one marker byte. Modes:
 *   setup  --conns N connectors, each: connect, opening, wait for the marker, close, again.
 *          Latency is connect start -> marker. Reports conn/s, p50, p99.
 *   rr     --conns C persistent connections; each sends --size byte requests and waits for the echo.
 *          Reports round trips/s, p50, p99.
 *   bulk   --conns C connections stream bytes for --seconds; --dir down (sink -> loadgen, default) or
 *          up (loadgen -> sink; the sink reports what it received after our EOF). Reports MiB/s.
 *   idle   open --sessions N sessions (opening + marker), print "msg=holding ..." and hold them idle for
 *          --seconds; reports how many stayed open.
 * The result is one line on stdout starting with "result ". Every phase is bounded; the process exits by
 * itself. Loopback benchmarking only. */
#include "benchutil.h"

#include <signal.h>
#include <unistd.h>

#define LG_READ_BUF     (256u * 1024u)
#define LG_CHUNK        (64u * 1024u)
#define LG_UP_DEPTH     4
#define LG_THREADS_MAX  16
#define LG_SAMPLES_MAX  (32u * 1024u * 1024u)

enum mode { MODE_SETUP, MODE_RR, MODE_BULK, MODE_IDLE };
static const char *const mode_names[] = {"setup", "rr", "bulk", "idle", NULL};   /* --mode, in enum order */
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

static struct opts opt;

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

static uint8_t request_buf[LG_CHUNK];
static uint8_t up_chunk[LG_CHUNK];

static void conn_start(struct lconn *c);
static void idle_open_more(struct lthread *t);

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct lconn *c = h->data;
  (void)suggested;
  /* One buffer per loop: every read callback consumes its bytes before the next read. */
  *buf = uv_buf_init((char *)c->t->rbuf, LG_READ_BUF);
}

static void begin_measuring(struct lthread *t);

static void on_retry(uv_timer_t *timer)
{
  struct lconn *c = timer->data;
  if (!c->t->stopping)
    conn_start(c);
}

static void on_conn_closed(uv_handle_t *h)
{
  struct lconn *c = h->data;
  struct lthread *t = c->t;
  c->handle_open = 0;
  c->state = C_IDLE;
  if (opt.mode == MODE_SETUP && !t->stopping) {
    if (c->retry) {
      c->retry = 0;
      uv_timer_start(&c->timer, on_retry, 10, 0);
    } else {
      conn_start(c);
    }
  }
}

static void conn_close(struct lconn *c, int reset)
{
  if (!c->handle_open || uv_is_closing((uv_handle_t *)&c->tcp))
    return;
  uv_timer_stop(&c->timer);
  bench_close_tcp(&c->tcp, reset, on_conn_closed);
}

/* bulk up: one connection is finished with, counted or not. */
static void bulk_up_done(struct lconn *c)
{
  struct lthread *t = c->t;
  if (c->state == C_DONE)
    return;
  c->state = C_DONE;
  conn_close(c, 0);
  if (--t->ready == 0 && t->stopping)
    uv_stop(&t->loop);
}

/* A connection failed before its marker or was lost. */
static void conn_failed(struct lconn *c, int timed_out)
{
  struct lthread *t = c->t;
  enum cstate was = c->state;
  if (opt.mode == MODE_BULK && opt.dir_up && t->measuring + t->stopping > 0 &&
      (was == C_READY || was == C_COUNTING)) {
    t->errors++;
    bulk_up_done(c);
    return;
  }
  if (t->stopping && opt.mode != MODE_BULK) {
    conn_close(c, 1);
    return;
  }
  t->errors++;
  if (timed_out)
    t->timeouts++;
  c->state = C_DONE;
  c->retry = 1;
  if (opt.mode == MODE_IDLE) {
    if (was == C_READY && t->holding)
      t->lost++;
    else if (was == C_READY)
      t->established--, t->failed++;
    else
      t->failed++;
    conn_close(c, 1);
    idle_open_more(t);
    return;
  }
  conn_close(c, 1);
}

static void on_conn_timeout(uv_timer_t *timer)
{
  struct lconn *c = timer->data;
  conn_failed(c, 1);
}

static int send_request(struct lconn *c)
{
  uv_buf_t b = uv_buf_init((char *)request_buf, (unsigned)opt.size);
  int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == UV_EAGAIN)
    n = 0;
  if (n < 0)
    return n;
  if (n == opt.size)
    return 0;
  b = uv_buf_init((char *)request_buf + n, (unsigned)(opt.size - n));
  return uv_write(&c->rreq, (uv_stream_t *)&c->tcp, &b, 1, NULL);
}

static void up_write(struct lconn *c, uv_write_t *req);

static void on_up_written(uv_write_t *req, int status)
{
  struct lconn *c = req->data;
  struct lthread *t = c->t;
  c->up_inflight--;
  if (status < 0) {
    if (c->state != C_DONE)
      conn_failed(c, 0);
    return;
  }
  c->up_acked += LG_CHUNK;
  if (!t->stopping) {
    up_write(c, req);
    return;
  }
  if (c->up_inflight == 0 && c->state == C_READY) {
    c->state = C_COUNTING;
    if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, NULL) != 0)
      conn_failed(c, 0);
  }
}

static void up_write(struct lconn *c, uv_write_t *req)
{
  uv_buf_t b = uv_buf_init((char *)up_chunk, LG_CHUNK);
  req->data = c;
  if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_up_written) != 0) {
    conn_failed(c, 0);
    return;
  }
  c->up_inflight++;
}

static void on_ready(struct lconn *c)
{
  struct lthread *t = c->t;
  uint64_t now = uv_hrtime();
  c->state = C_READY;
  uv_timer_stop(&c->timer);

  switch (opt.mode) {
  case MODE_SETUP:
    if (t->measuring) {
      t->ops++;
      bench_lat_record(&t->lat, now - c->t0, LG_SAMPLES_MAX);
    }
    conn_close(c, opt.close_how == CLOSE_RST);
    return;
  case MODE_IDLE:
    t->established++;
    idle_open_more(t);
    return;
  case MODE_RR:
    c->got = 0;
    c->t0 = now;
    if (send_request(c) != 0)
      conn_failed(c, 0);
    break;
  case MODE_BULK:
    break;
  }
  t->ready++;
  if (t->ready == t->nconns && !t->measuring && !t->stopping)
    begin_measuring(t);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct lconn *c = s->data;
  struct lthread *t = c->t;
  const uint8_t *p = (const uint8_t *)buf->base;
  size_t len;

  if (nread == 0)
    return;
  if (nread < 0) {
    if (c->state == C_COUNTING) {
      bulk_up_done(c);           /* EOF before the whole count: reported as not counted */
      return;
    }
    if (t->stopping && opt.mode != MODE_IDLE) {
      conn_close(c, 0);
      return;
    }
    conn_failed(c, 0);
    return;
  }
  len = (size_t)nread;

  if (c->state == C_OPENING) {
    if (p[0] != BENCH_MARKER) {
      fprintf(stderr, "hop-loadgen: expected the marker byte, got 0x%02x\n", p[0]);
      conn_failed(c, 0);
      return;
    }
    p++;
    len--;
    on_ready(c);
    if (c->state != C_READY || len == 0)
      return;
  }

  switch (opt.mode) {
  case MODE_RR:
    c->got += len;
    while (c->got >= (size_t)opt.size && c->state == C_READY) {
      uint64_t now = uv_hrtime();
      c->got -= (size_t)opt.size;
      if (t->measuring) {
        t->ops++;
        bench_lat_record(&t->lat, now - c->t0, LG_SAMPLES_MAX);
      }
      if (t->stopping)
        return;
      c->t0 = now;
      if (send_request(c) != 0)
        conn_failed(c, 0);
    }
    break;
  case MODE_BULK:
    if (!opt.dir_up) {
      if (t->measuring)
        t->bytes += len;
      break;
    }
    if (c->state != C_COUNTING)
      break;
    while (len > 0 && c->count_got < sizeof c->count_buf) {
      c->count_buf[c->count_got++] = *p++;
      len--;
    }
    if (c->count_got == sizeof c->count_buf) {
      c->count = 0;
      for (int i = 0; i < 8; i++)
        c->count = (c->count << 8) | c->count_buf[i];
      c->count_at = uv_hrtime();
      bulk_up_done(c);
    }
    break;
  case MODE_SETUP:
  case MODE_IDLE:
    break;
  }
}

static void on_opening_written(uv_write_t *req, int status)
{
  struct lconn *c = req->data;
  if (status < 0 && c->state == C_OPENING)
    conn_failed(c, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
  struct lconn *c = req->data;
  struct lthread *t = c->t;
  uv_buf_t b;

  if (status < 0) {
    if (status != UV_ECANCELED)
      conn_failed(c, 0);
    return;
  }
  if (c->state != C_CONNECTING)
    return;
  c->state = C_OPENING;
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
    conn_failed(c, 0);
    return;
  }
  b = uv_buf_init((char *)t->opening, (unsigned)t->opening_len);
  c->wreq.data = c;
  if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_opening_written) != 0)
    conn_failed(c, 0);
}

static void conn_start(struct lconn *c)
{
  struct lthread *t = c->t;
  int rc;
  uv_tcp_init(&t->loop, &c->tcp);
  c->tcp.data = c;
  c->handle_open = 1;
  c->state = C_CONNECTING;
  c->got = 0;
  c->t0 = uv_hrtime();
  c->creq.data = c;
  if (opt.mode == MODE_SETUP || opt.mode == MODE_IDLE)
    uv_timer_start(&c->timer, on_conn_timeout, (uint64_t)opt.timeout_ms, 0);
  rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&opt.target, on_connect);
  if (rc != 0) {
    fprintf(stderr, "hop-loadgen: connect: %s\n", uv_strerror(rc));
    c->state = C_DONE;
    t->errors++;
    if (opt.mode == MODE_IDLE)
      t->failed++;
    uv_close((uv_handle_t *)&c->tcp, NULL);
    c->handle_open = 0;
    uv_timer_stop(&c->timer);
  }
}

static void idle_open_more(struct lthread *t)
{
  long inflight = t->next_open - t->established - t->failed;
  while (t->next_open < t->nconns && inflight < opt.parallel) {
    conn_start(&t->conns[t->next_open++]);
    inflight++;
  }
  if (!t->holding && t->established + t->failed == t->nconns) {
    t->holding = 1;
    t->open_ms = (uv_hrtime() - t->open_start_ns) / 1000000u;
    printf("msg=holding sessions=%ld established=%ld failed=%ld open_ms=%llu\n", t->nconns,
           t->established, t->failed, (unsigned long long)t->open_ms);
    fflush(stdout);
    begin_measuring(t);
  }
}

static void on_stop(uv_timer_t *timer)
{
  struct lthread *t = timer->data;
  t->end_ns = uv_hrtime();
  t->measuring = 0;
  t->stopping = 1;
  if (opt.mode == MODE_BULK && opt.dir_up) {
    /* Stop writing; each connection half-closes once its writes are done and waits for the count. */
    for (long i = 0; i < t->nconns; i++) {
      struct lconn *c = &t->conns[i];
      if (c->state == C_READY && c->up_inflight == 0) {
        c->state = C_COUNTING;
        if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, NULL) != 0)
          conn_failed(c, 0);
      }
    }
    if (t->ready > 0)
      return;
  }
  uv_stop(&t->loop);
}

static void begin_measuring(struct lthread *t)
{
  uv_timer_stop(&t->ready_timer);
  t->measuring = 1;
  t->start_ns = uv_hrtime();
  uv_timer_start(&t->stop_timer, on_stop, (uint64_t)(opt.seconds * 1000.0), 0);
  if (opt.mode == MODE_BULK && opt.dir_up) {
    for (long i = 0; i < t->nconns; i++) {
      struct lconn *c = &t->conns[i];
      for (int k = 0; k < LG_UP_DEPTH && c->state == C_READY; k++)
        up_write(c, &c->up_req[k]);
    }
  }
}

static void on_ready_timeout(uv_timer_t *timer)
{
  struct lthread *t = timer->data;
  fprintf(stderr, "hop-loadgen: only %ld of %ld connections ready after %ld ms\n", t->ready, t->nconns,
          opt.timeout_ms);
  t->errors += (uint64_t)(t->nconns - t->ready);
  if (t->ready == 0) {
    t->stopping = 1;
    uv_stop(&t->loop);
    return;
  }
  begin_measuring(t);
}

static void on_watchdog(uv_timer_t *timer)
{
  struct lthread *t = timer->data;
  fprintf(stderr, "hop-loadgen: watchdog: giving up\n");
  t->watchdog_fired = 1;
  t->stopping = 1;
  if (t->end_ns == 0)
    t->end_ns = uv_hrtime();
  uv_stop(&t->loop);
}

static void thread_main(void *arg)
{
  struct lthread *t = arg;
  uint64_t watchdog_ms;

  uv_timer_init(&t->loop, &t->stop_timer);
  uv_timer_init(&t->loop, &t->ready_timer);
  uv_timer_init(&t->loop, &t->watchdog);
  t->stop_timer.data = t->ready_timer.data = t->watchdog.data = t;
  watchdog_ms = (uint64_t)(opt.seconds * 1000.0) + (uint64_t)opt.timeout_ms * 2u + 10000u;
  if (opt.mode == MODE_IDLE)
    watchdog_ms += (uint64_t)opt.timeout_ms * (uint64_t)(opt.sessions / opt.parallel + 1) + 60000u;
  uv_timer_start(&t->watchdog, on_watchdog, watchdog_ms, 0);
  for (long i = 0; i < t->nconns; i++) {
    t->conns[i].t = t;
    uv_timer_init(&t->loop, &t->conns[i].timer);
    t->conns[i].timer.data = &t->conns[i];
  }

  switch (opt.mode) {
  case MODE_SETUP:
    begin_measuring(t);
    for (long i = 0; i < t->nconns; i++)
      conn_start(&t->conns[i]);
    break;
  case MODE_RR:
  case MODE_BULK:
    uv_timer_start(&t->ready_timer, on_ready_timeout, (uint64_t)opt.timeout_ms, 0);
    for (long i = 0; i < t->nconns; i++)
      conn_start(&t->conns[i]);
    break;
  case MODE_IDLE:
    t->open_start_ns = uv_hrtime();
    idle_open_more(t);
    break;
  }
  uv_run(&t->loop, UV_RUN_DEFAULT);
  if (t->end_ns == 0)
    t->end_ns = uv_hrtime();
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: hop-loadgen --mode setup|rr|bulk|idle --target HOST:PORT [options]\n"
          "  --seconds S      measuring time, or idle hold time (default 5)\n"
          "  --conns N        setup: concurrent connectors (32); rr: connections (32); bulk: connections (1)\n"
          "  --size B         rr request/echo size in bytes (64)\n"
          "  --dir down|up    bulk direction: down = sink -> loadgen (default), up = loadgen -> sink\n"
          "  --sessions N     idle: sessions to open and hold (5000)\n"
          "  --parallel N     idle: connects in flight while opening (256)\n"
          "  --threads N      event loops, connections split between them (1; idle uses 1)\n"
          "  --address NAME   server address in the Handshake (bench.test)\n"
          "  --close fin|rst  setup: how each connection ends (fin)\n"
          "  --timeout-ms MS  per-connection opening deadline (5000)\n"
          "Prints one line starting with 'result ' on stdout. Loopback targets only.\n");
}

int main(int argc, char **argv)
{
  static struct lthread *threads[LG_THREADS_MAX];
  const char *mode_s = NULL, *target_s = NULL;
  long conns = -1;
  uint64_t ops = 0, errors = 0, timeouts = 0, bytes = 0, elapsed_ns = 0;
  size_t nlat = 0;
  struct bench_lat lat = {0};
  int watchdog = 0;
  const char *player = BENCH_NAME_ECHO;

  opt.address = "bench.test";
  opt.seconds = 5.0;
  opt.threads = 1;
  opt.size = 64;
  opt.sessions = 5000;
  opt.parallel = 256;
  opt.timeout_ms = 5000;
  opt.close_how = CLOSE_FIN;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--mode") == 0) {
      mode_s = bench_arg_value(argc, argv, &i);
    } else if (strcmp(a, "--target") == 0) {
      target_s = bench_arg_value(argc, argv, &i);
    } else if (strcmp(a, "--seconds") == 0) {
      opt.seconds = bench_parse_double(a, bench_arg_value(argc, argv, &i), 0.1, 600.0);
    } else if (strcmp(a, "--conns") == 0) {
      conns = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, 100000);
    } else if (strcmp(a, "--size") == 0) {
      opt.size = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, (long)LG_CHUNK);
    } else if (strcmp(a, "--dir") == 0) {
      opt.dir_up = bench_parse_choice(a, bench_arg_value(argc, argv, &i),
                                      (const char *const[]){"down", "up", NULL});
    } else if (strcmp(a, "--sessions") == 0) {
      opt.sessions = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, 100000);
    } else if (strcmp(a, "--parallel") == 0) {
      opt.parallel = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, 10000);
    } else if (strcmp(a, "--threads") == 0) {
      opt.threads = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, LG_THREADS_MAX);
    } else if (strcmp(a, "--address") == 0) {
      opt.address = bench_arg_value(argc, argv, &i);
    } else if (strcmp(a, "--close") == 0) {
      opt.close_how = (enum close_how)bench_parse_choice(a, bench_arg_value(argc, argv, &i),
                                                         (const char *const[]){"fin", "rst", NULL});
    } else if (strcmp(a, "--timeout-ms") == 0) {
      opt.timeout_ms = bench_parse_long(a, bench_arg_value(argc, argv, &i), 10, 600000);
    } else {
      bench_arg_other(a, usage);
    }
  }
  if (mode_s == NULL || target_s == NULL)
    bench_usage_error(usage);
  opt.mode = (enum mode)bench_parse_choice("--mode", mode_s, mode_names);
  if (bench_parse_addr(target_s, &opt.target) != 0) {
    fprintf(stderr, "--target: expected HOST:PORT (IPv4)\n");
    return 2;
  }
  if (!bench_is_loopback(&opt.target)) {
    fprintf(stderr, "--target: loopback (127.0.0.0/8) only\n");
    return 2;
  }
  if (conns < 0)
    conns = opt.mode == MODE_BULK ? 1 : 32;
  opt.conns = opt.mode == MODE_IDLE ? opt.sessions : conns;
  if (opt.mode == MODE_IDLE)
    opt.threads = 1;
  if (opt.threads > opt.conns)
    opt.threads = opt.conns;
  if (opt.mode == MODE_BULK)
    player = opt.dir_up ? BENCH_NAME_DISCARD : BENCH_NAME_SOURCE;

  signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < sizeof request_buf; i++)
    request_buf[i] = (uint8_t)('a' + i % 26);
  memset(up_chunk, 0xa5, sizeof up_chunk);

  for (long k = 0; k < opt.threads; k++) {
    struct lthread *t = calloc(1, sizeof *t);
    int rc;
    if (t == NULL) {
      fprintf(stderr, "hop-loadgen: out of memory\n");
      return 1;
    }
    threads[k] = t;
    t->nconns = opt.conns / opt.threads + (k < opt.conns % opt.threads ? 1 : 0);
    t->conns = calloc((size_t)t->nconns, sizeof *t->conns);
    if (t->conns == NULL) {
      fprintf(stderr, "hop-loadgen: out of memory\n");
      return 1;
    }
    t->opening_len = bench_opening(t->opening, opt.address, ntohs(opt.target.sin_port), player);
    if ((rc = uv_loop_init(&t->loop)) != 0)
      bench_die_uv("uv_loop_init", rc);
  }
  for (long k = 0; k < opt.threads; k++) {
    int rc = uv_thread_create(&threads[k]->thread, thread_main, threads[k]);
    if (rc != 0)
      bench_die_uv("uv_thread_create", rc);
  }
  for (long k = 0; k < opt.threads; k++)
    uv_thread_join(&threads[k]->thread);

  for (long k = 0; k < opt.threads; k++) {
    struct lthread *t = threads[k];
    ops += t->ops;
    errors += t->errors;
    timeouts += t->timeouts;
    bytes += t->bytes;
    nlat += t->lat.n;
    watchdog |= t->watchdog_fired;
    if (t->end_ns > t->start_ns && t->start_ns != 0 && t->end_ns - t->start_ns > elapsed_ns)
      elapsed_ns = t->end_ns - t->start_ns;
  }

  if (opt.mode == MODE_IDLE) {
    struct lthread *t = threads[0];
    printf("result mode=idle sessions=%ld established=%ld failed=%ld lost=%ld open_ms=%llu hold_s=%.2f "
           "errors=%llu watchdog=%d cpu_ms=%lld\n",
           t->nconns, t->established, t->failed, t->lost, (unsigned long long)t->open_ms,
           (double)elapsed_ns / 1e9, (unsigned long long)errors, watchdog, bench_cpu_ms());
    return (t->failed == 0 && t->lost == 0 && !watchdog) ? 0 : 1;
  }

  if (opt.mode == MODE_BULK) {
    double secs = (double)elapsed_ns / 1e9;
    const char *src = "loadgen";
    if (opt.dir_up) {
      uint64_t last = 0, acked = 0;
      int all = 1;
      uint64_t start = threads[0]->start_ns;
      bytes = 0;
      for (long k = 0; k < opt.threads; k++) {
        for (long i = 0; i < threads[k]->nconns; i++) {
          struct lconn *c = &threads[k]->conns[i];
          acked += c->up_acked;
          if (c->count_got == sizeof c->count_buf) {
            bytes += c->count;
            if (c->count_at > last)
              last = c->count_at;
          } else {
            all = 0;
          }
        }
        if (threads[k]->start_ns < start)
          start = threads[k]->start_ns;
      }
      if (all && last > start) {
        secs = (double)(last - start) / 1e9;
        src = "sink";
      } else {
        fprintf(stderr, "hop-loadgen: the sink's byte count did not come back after our EOF "
                        "(half-close not relayed?); using bytes written\n");
        errors++;
        bytes = acked;
        src = "written";
      }
    }
    printf("result mode=bulk dir=%s conns=%ld bytes=%llu seconds=%.3f mib_s=%.1f counted_by=%s errors=%llu "
           "watchdog=%d cpu_ms=%lld\n",
           opt.dir_up ? "up" : "down", opt.conns, (unsigned long long)bytes, secs,
           secs > 0 ? (double)bytes / 1048576.0 / secs : 0.0, src, (unsigned long long)errors, watchdog,
           bench_cpu_ms());
    return (errors == 0 && !watchdog) ? 0 : 1;
  }

  lat.v = malloc((nlat ? nlat : 1) * sizeof *lat.v);
  if (lat.v == NULL) {
    fprintf(stderr, "hop-loadgen: out of memory\n");
    return 1;
  }
  for (long k = 0; k < opt.threads; k++) {
    if (threads[k]->lat.n)
      memcpy(lat.v + lat.n, threads[k]->lat.v, threads[k]->lat.n * sizeof *lat.v);
    lat.n += threads[k]->lat.n;
  }
  bench_lat_sort(&lat);
  {
    double secs = (double)elapsed_ns / 1e9;
    printf("result mode=%s conns=%ld ops=%llu seconds=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f "
           "errors=%llu timeouts=%llu watchdog=%d cpu_ms=%lld\n",
           mode_names[opt.mode], opt.conns, (unsigned long long)ops, secs, secs > 0 ? (double)ops / secs : 0.0,
           bench_lat_pct_us(&lat, 0.50), bench_lat_pct_us(&lat, 0.99), bench_lat_pct_us(&lat, 1.0),
           (unsigned long long)errors, (unsigned long long)timeouts, watchdog, bench_cpu_ms());
  }
  return (ops > 0 && !watchdog) ? 0 : 1;
}
