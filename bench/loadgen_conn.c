/* hop-loadgen's connections: connect, the opening, reads, the setup/rr/bulk/idle handling, close, retry and
 * timeouts, and the measuring window (begin_measuring, on_stop). The command line and threads: loadgen.c. */
#include "loadgen.h"

uint8_t request_buf[LG_CHUNK];
uint8_t up_chunk[LG_CHUNK];

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct lconn *c = h->data;
  (void)suggested;
  /* One buffer per loop: every read callback consumes its bytes before the next read. */
  *buf = uv_buf_init((char *)c->t->rbuf, LG_READ_BUF);
}

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

void conn_start(struct lconn *c)
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

void idle_open_more(struct lthread *t)
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

void begin_measuring(struct lthread *t)
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
