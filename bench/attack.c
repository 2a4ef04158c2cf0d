/* hop-attack: the attacker side of bench/attack (loopback only), on libuv. One mode per process:
 *
 *   slowloris  keep --conns connections open from --bind, each dripping one byte of a (valid) Handshake +
 *              Login Start every --drip-ms, so the opening never completes; when the proxy closes one it
 *              reconnects after --reconnect-ms. Connects are spread over --ramp-ms at the start and at most
 *              --parallel are in flight. Every --tick-ms prints "tick ..." with the connections open now.
 *   ping       --conns concurrent pingers from --bind, each in a loop: connect, send Handshake (next state 1)
 *              + Status Request + Ping in one write, read the answer, close, again. --address may list up to
 *              4 names (comma-separated); pinger i uses name i mod n, and each name is counted apart. An
 *              answer from the proxy itself (Status Response + Pong; the proxy then closes, we close on its
 *              EOF) counts as refused if its text holds --refused-text, else as answered. A relayed ping
 *              reaches hop-sink, which answers its one marker byte: answered (we close at once, with FIN).
 *              A close before any answer counts as dropped, no answer within --timeout-ms as a timeout.
 *
 * Binding to --bind (e.g. 127.0.0.2) makes every attacker connection come from one IP, apart from the
 * legitimate clients on 127.0.0.1. IP_BIND_ADDRESS_NO_PORT leaves the port choice to connect(), so the
 * 28,000 ephemeral ports are shared per destination. Ends by itself after --seconds, or at SIGTERM/SIGINT,
 * and prints one "result key=value ..." line on stdout. */
#include "benchutil.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define AT_SAMPLES_MAX (8u * 1024u * 1024u)
#define AT_HOSTS_MAX   4

enum mode { MODE_SLOWLORIS, MODE_PING };
static const char *const mode_names[] = {"slowloris", "ping", NULL};   /* --mode, in enum order */
enum astate { A_IDLE, A_WAITING, A_CONNECTING, A_OPEN, A_CLOSING };

struct opts {
  enum mode mode;
  struct sockaddr_in target;
  struct sockaddr_in bind;
  int have_bind;
  const char *address;
  const char *refused_text;
  long conns;
  long parallel;
  double seconds;
  long drip_ms;
  long ramp_ms;
  long reconnect_ms;
  long tick_ms;
  long timeout_ms;
};

static struct opts opt;

struct aconn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t creq;
  uv_write_t wreq;
  enum astate state;
  int handle_open;
  uint64_t t0;                     /* connect start */
  uint64_t opened_at;              /* connect done */
  size_t drip_pos;                 /* slowloris: next opening byte */
  /* ping: the answer so far */
  uint8_t rbuf[2048];
  size_t rlen;
  int got_response;
  int refused;
  int got_pong;
  int host;                        /* ping: index into hosts[] */
};

static uv_loop_t *loop;
static struct aconn *conns;
static uv_timer_t stop_timer, tick_timer, pump_timer;
static uv_signal_t sig_term, sig_int;
static int stopping;
static long connecting;            /* connects in flight */
static long open_now, open_max;
static uint64_t t_start;
static uint8_t opening[512];
static size_t opening_len;
static const char *hosts[AT_HOSTS_MAX];
static int nhosts;
static uint8_t ping_req[AT_HOSTS_MAX][600];
static size_t ping_req_len[AT_HOSTS_MAX];
static uint64_t h_answered[AT_HOSTS_MAX], h_refused[AT_HOSTS_MAX], h_dropped[AT_HOSTS_MAX];
static long next_ramp;             /* slowloris: connections not yet started by the ramp */

/* counters */
static uint64_t n_connects, n_connect_errors, n_peer_closed, n_peer_closed_fast, n_bytes_dripped;
static uint64_t n_write_errors, lifetime_ms_sum, lifetime_n;
static uint64_t n_pings, n_answered, n_refused, n_dropped, n_timeouts;
static struct bench_lat lat;

static void conn_connect(struct aconn *c);
static void conn_closed_again(struct aconn *c);

static uint64_t now_ms(void) { return uv_hrtime() / 1000000u; }

static uint64_t unix_ms(void)
{
  uv_timeval64_t tv;
  if (uv_gettimeofday(&tv) != 0)
    return 0;
  return (uint64_t)tv.tv_sec * 1000u + (uint64_t)tv.tv_usec / 1000u;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  static char sink_buf[65536];
  struct aconn *c = h->data;
  (void)suggested;
  if (opt.mode == MODE_PING && c->rlen < sizeof c->rbuf)
    *buf = uv_buf_init((char *)c->rbuf + c->rlen, (unsigned)(sizeof c->rbuf - c->rlen));
  else
    *buf = uv_buf_init(sink_buf, sizeof sink_buf);
}

static void on_closed(uv_handle_t *h)
{
  struct aconn *c = h->data;
  c->handle_open = 0;
  c->state = A_IDLE;
  conn_closed_again(c);
}

/* Ends the connection; `reset` sends RST (no TIME_WAIT on our side). */
static void conn_close(struct aconn *c, int reset)
{
  if (!c->handle_open || c->state == A_CLOSING)
    return;
  if (c->state == A_OPEN) {
    open_now--;
    if (c->opened_at) {
      lifetime_ms_sum += now_ms() - c->opened_at;
      lifetime_n++;
    }
  }
  if (c->state == A_CONNECTING)
    connecting--;
  c->state = A_CLOSING;
  uv_timer_stop(&c->timer);
  bench_close_tcp(&c->tcp, reset, on_closed);
}

static void on_reconnect_timer(uv_timer_t *t)
{
  struct aconn *c = t->data;
  if (!stopping && c->state == A_WAITING) {
    c->state = A_IDLE;
    conn_connect(c);
  }
}

/* The handle is closed: start over, unless we are stopping. */
static void conn_closed_again(struct aconn *c)
{
  if (stopping)
    return;
  if (opt.mode == MODE_SLOWLORIS && opt.reconnect_ms > 0) {
    c->state = A_WAITING;
    uv_timer_start(&c->timer, on_reconnect_timer, (uint64_t)opt.reconnect_ms, 0);
    return;
  }
  conn_connect(c);
}

/* ---- slowloris ------------------------------------------------------------------------------- */

static void on_drip(uv_timer_t *t)
{
  struct aconn *c = t->data;
  uv_buf_t b;
  int n;

  if (c->state != A_OPEN || stopping)
    return;
  if (c->drip_pos >= opening_len)
    c->drip_pos = 0;           /* (not reached with a 5 s handshake timeout: the opening is ~40 bytes) */
  b = uv_buf_init((char *)opening + c->drip_pos, 1);
  n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == 1) {
    c->drip_pos++;
    n_bytes_dripped++;
  } else if (n != UV_EAGAIN) {
    n_write_errors++;
    conn_close(c, 1);
    return;
  }
  uv_timer_start(&c->timer, on_drip, (uint64_t)opt.drip_ms, 0);
}

/* ---- ping ------------------------------------------------------------------------------------ */

/* Parses one frame at c->rbuf + *pos: returns 1 with the body, 0 if incomplete, -1 if malformed. */
static int take_frame(struct aconn *c, size_t *pos, const uint8_t **body, uint32_t *len)
{
  uint32_t l = 0;
  int h = bench_varint_decode(c->rbuf + *pos, c->rlen - *pos, &l);
  if (h < 0 || (h > 0 && (l == 0 || l > 32768)))
    return -1;
  if (h == 0 || c->rlen - *pos - (size_t)h < l)
    return 0;
  *body = c->rbuf + *pos + h;
  *len = l;
  *pos += (size_t)h + l;
  return 1;
}

static int contains(const uint8_t *p, size_t n, const char *needle)
{
  size_t k = strlen(needle);
  if (k == 0 || k > n)
    return 0;
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(p + i, needle, k) == 0)
      return 1;
  return 0;
}

static void ping_done(struct aconn *c, int outcome)   /* 0 answered, 1 refused, 2 dropped, 3 timeout */
{
  n_pings++;
  switch (outcome) {
  case 0: n_answered++; h_answered[c->host]++; bench_lat_record(&lat, uv_hrtime() - c->t0, AT_SAMPLES_MAX); break;
  case 1: n_refused++; h_refused[c->host]++; break;
  case 2: n_dropped++; h_dropped[c->host]++; break;
  default: n_timeouts++; h_dropped[c->host]++; break;
  }
}

static void ping_parse(struct aconn *c)
{
  size_t pos = 0;
  const uint8_t *body;
  uint32_t len;
  int r;

  if (!c->got_response && c->rbuf[0] == BENCH_MARKER) {
    /* relayed to hop-sink (a refusal is a Status Response of 100+ bytes: its length byte is not 0x4b) */
    c->got_response = 1;
    ping_done(c, 0);
    conn_close(c, 0);
    return;
  }
  if (!c->got_response) {
    r = take_frame(c, &pos, &body, &len);
    if (r < 0 || (r == 1 && body[0] != 0x00)) {
      ping_done(c, 2);
      conn_close(c, 1);
      return;
    }
    if (r == 0)
      return;
    c->got_response = 1;
    c->refused = opt.refused_text[0] && contains(body, len, opt.refused_text);
    ping_done(c, c->refused ? 1 : 0);
  } else {
    /* skip the response frame again */
    if (take_frame(c, &pos, &body, &len) != 1)
      return;
  }
  if (!c->got_pong) {
    r = take_frame(c, &pos, &body, &len);
    if (r == 1)
      c->got_pong = 1;           /* the proxy closes now; we close on its EOF (no TIME_WAIT here) */
  }
}

/* ---- common ---------------------------------------------------------------------------------- */

static void on_timeout(uv_timer_t *t)
{
  struct aconn *c = t->data;
  if (opt.mode == MODE_PING && !c->got_response && c->state != A_CLOSING)
    ping_done(c, 3);
  conn_close(c, 1);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct aconn *c = s->data;
  (void)buf;
  if (nread == 0)
    return;
  if (nread < 0) {
    if (opt.mode == MODE_SLOWLORIS) {
      n_peer_closed++;
      if (c->opened_at && now_ms() - c->opened_at < 500)
        n_peer_closed_fast++;
    } else if (!c->got_response) {
      ping_done(c, 2);
    }
    conn_close(c, nread != UV_EOF);
    return;
  }
  if (opt.mode == MODE_PING && c->rlen < sizeof c->rbuf) {
    c->rlen += (size_t)nread;
    ping_parse(c);
  }
  /* slowloris: whatever the proxy says (a Disconnect) is discarded; its close follows */
}

static void on_written(uv_write_t *req, int status)
{
  struct aconn *c = req->data;
  if (status < 0 && c->state == A_OPEN) {
    n_write_errors++;
    if (opt.mode == MODE_PING && !c->got_response)
      ping_done(c, 2);
    conn_close(c, 1);
  }
}

static void pump(void);

static void on_connect(uv_connect_t *req, int status)
{
  struct aconn *c = req->data;
  if (c->state != A_CONNECTING)
    return;
  connecting--;
  if (status < 0) {
    c->state = A_OPEN;          /* so conn_close does not count it as connecting again */
    open_now++;
    c->opened_at = 0;
    n_connect_errors++;
    if (opt.mode == MODE_PING)
      ping_done(c, 2);
    conn_close(c, 1);
    pump();
    return;
  }
  c->state = A_OPEN;
  c->opened_at = now_ms();
  n_connects++;
  if (++open_now > open_max)
    open_max = open_now;
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
    conn_close(c, 1);
    pump();
    return;
  }
  if (opt.mode == MODE_SLOWLORIS) {
    c->drip_pos = 0;
    on_drip(&c->timer);          /* the first byte now, then one every --drip-ms */
  } else {
    uv_buf_t b = uv_buf_init((char *)ping_req[c->host], (unsigned)ping_req_len[c->host]);
    c->wreq.data = c;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
      conn_close(c, 1);
    } else {
      uv_timer_start(&c->timer, on_timeout, (uint64_t)opt.timeout_ms, 0);
    }
  }
  pump();
}

/* Connections waiting for a connect slot (slowloris: started by the ramp, parallel cap reached). */
static long *queue;
static long q_head, q_len;

static void enqueue(struct aconn *c)
{
  queue[(q_head + q_len) % opt.conns] = c - conns;
  q_len++;
}

static int start_connect(struct aconn *c)
{
  int fd, one = 1, rc;

  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  c->handle_open = 1;
  c->rlen = 0;
  c->got_response = c->got_pong = c->refused = 0;
  c->opened_at = 0;
  if (opt.have_bind) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one) != 0 ||
        bind(fd, (const struct sockaddr *)&opt.bind, sizeof opt.bind) != 0 || uv_tcp_open(&c->tcp, fd) != 0) {
      if (fd >= 0)
        close(fd);
      n_connect_errors++;
      c->state = A_CLOSING;
      uv_close((uv_handle_t *)&c->tcp, on_closed);
      return -1;
    }
  }
  c->state = A_CONNECTING;
  connecting++;
  c->t0 = uv_hrtime();
  c->creq.data = c;
  rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&opt.target, on_connect);
  if (rc != 0) {
    n_connect_errors++;
    conn_close(c, 0);
    return -1;
  }
  return 0;
}

static void pump(void)
{
  while (!stopping && q_len > 0 && connecting < opt.parallel) {
    struct aconn *c = &conns[queue[q_head]];
    q_head = (q_head + 1) % opt.conns;
    q_len--;
    start_connect(c);
  }
}

static void conn_connect(struct aconn *c)
{
  if (stopping)
    return;
  enqueue(c);
  pump();
}

/* Starts the connections the ramp allows by now. */
static void on_pump_timer(uv_timer_t *t)
{
  uint64_t el = now_ms() - t_start;
  long due = opt.ramp_ms > 0 ? (long)((double)opt.conns * (double)el / (double)opt.ramp_ms) : opt.conns;
  if (due > opt.conns)
    due = opt.conns;
  while (next_ramp < due)
    enqueue(&conns[next_ramp++]);
  pump();
  if (next_ramp >= opt.conns)
    uv_timer_stop(t);
}

static void on_tick(uv_timer_t *t)
{
  (void)t;
  if (open_now > open_max)
    open_max = open_now;
  printf("tick t_ms=%llu unix_ms=%llu open=%ld connecting=%ld connects=%llu peer_closed=%llu pings=%llu answered=%llu "
         "refused=%llu\n",
         (unsigned long long)(now_ms() - t_start), (unsigned long long)unix_ms(), open_now,
         connecting, (unsigned long long)n_connects,
         (unsigned long long)n_peer_closed, (unsigned long long)n_pings, (unsigned long long)n_answered,
         (unsigned long long)n_refused);
  fflush(stdout);
}

static void walk_close(uv_handle_t *h, void *arg)
{
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

static long open_at_stop;

static void on_stop(uv_timer_t *t)
{
  (void)t;
  if (stopping)
    return;
  open_at_stop = open_now;
  stopping = 1;
  for (long i = 0; i < opt.conns; i++) {
    struct aconn *c = &conns[i];
    if (c->handle_open && c->state != A_CLOSING)
      conn_close(c, 0);          /* FIN: hopper counts an unfinished opening as early_eof */
  }
  uv_walk(loop, walk_close, NULL);
}

/* SIGTERM / SIGINT: stop now and print the result, as at the end of --seconds. */
static void on_signal(uv_signal_t *h, int signum)
{
  (void)h;
  (void)signum;
  on_stop(&stop_timer);
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: hop-attack --mode slowloris|ping --target HOST:PORT [options]\n"
          "  --bind IP          source address of every connection (e.g. 127.0.0.2)\n"
          "  --conns N          slowloris: connections to hold (5000); ping: concurrent pingers (16)\n"
          "  --seconds S        run time (20)\n"
          "  --address NAME     server address in the Handshake (bench.test); ping: NAME[,NAME...] (4 at most)\n"
          "  --drip-ms MS       slowloris: one byte every MS per connection (2000)\n"
          "  --ramp-ms MS       slowloris: spread the first connects over MS (5000)\n"
          "  --reconnect-ms MS  slowloris: pause before reconnecting a closed connection (100)\n"
          "  --parallel N       connects in flight at most (256)\n"
          "  --refused-text S   ping: a response holding S counts as refused (\"Too many connections\")\n"
          "  --timeout-ms MS    ping: per-ping deadline (5000)\n"
          "  --tick-ms MS       print a tick line this often (500; 0 = never)\n"
          "Prints one line starting with 'result ' on stdout. Loopback targets only.\n");
}

int main(int argc, char **argv)
{
  const char *mode_s = NULL, *target_s = NULL, *bind_s = NULL;
  long nconns_arg = -1;

  opt.seconds = 20.0;
  opt.drip_ms = 2000;
  opt.ramp_ms = 5000;
  opt.reconnect_ms = 100;
  opt.parallel = 256;
  opt.tick_ms = 500;
  opt.timeout_ms = 5000;
  opt.refused_text = "Too many connections";

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--mode") == 0)
      mode_s = bench_arg_value(argc, argv, &i);
    else if (strcmp(a, "--target") == 0)
      target_s = bench_arg_value(argc, argv, &i);
    else if (strcmp(a, "--bind") == 0)
      bind_s = bench_arg_value(argc, argv, &i);
    else if (strcmp(a, "--conns") == 0)
      nconns_arg = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, 60000);
    else if (strcmp(a, "--seconds") == 0)
      opt.seconds = bench_parse_double(a, bench_arg_value(argc, argv, &i), 0.1, 600.0);
    else if (strcmp(a, "--address") == 0)
      opt.address = bench_arg_value(argc, argv, &i);
    else if (strcmp(a, "--drip-ms") == 0)
      opt.drip_ms = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, 600000);
    else if (strcmp(a, "--ramp-ms") == 0)
      opt.ramp_ms = bench_parse_long(a, bench_arg_value(argc, argv, &i), 0, 600000);
    else if (strcmp(a, "--reconnect-ms") == 0)
      opt.reconnect_ms = bench_parse_long(a, bench_arg_value(argc, argv, &i), 0, 600000);
    else if (strcmp(a, "--parallel") == 0)
      opt.parallel = bench_parse_long(a, bench_arg_value(argc, argv, &i), 1, 60000);
    else if (strcmp(a, "--refused-text") == 0)
      opt.refused_text = bench_arg_value(argc, argv, &i);
    else if (strcmp(a, "--timeout-ms") == 0)
      opt.timeout_ms = bench_parse_long(a, bench_arg_value(argc, argv, &i), 10, 600000);
    else if (strcmp(a, "--tick-ms") == 0)
      opt.tick_ms = bench_parse_long(a, bench_arg_value(argc, argv, &i), 0, 600000);
    else
      bench_arg_other(a, usage);
  }
  if (mode_s == NULL || target_s == NULL)
    bench_usage_error(usage);
  opt.mode = (enum mode)bench_parse_choice("--mode", mode_s, mode_names);
  if (bench_parse_addr(target_s, &opt.target) != 0 || !bench_is_loopback(&opt.target)) {
    fprintf(stderr, "--target: expected a loopback HOST:PORT (127.0.0.0/8)\n");
    return 2;
  }
  if (bind_s != NULL) {
    if (uv_ip4_addr(bind_s, 0, &opt.bind) != 0 || !bench_is_loopback(&opt.bind)) {
      fprintf(stderr, "--bind: expected a loopback IPv4 address\n");
      return 2;
    }
    opt.have_bind = 1;
  }
  if (opt.address == NULL)
    opt.address = "bench.test";
  opt.conns = nconns_arg > 0 ? nconns_arg : (opt.mode == MODE_SLOWLORIS ? 5000 : 16);

  signal(SIGPIPE, SIG_IGN);
  opening_len = bench_opening(opening, opt.mode == MODE_SLOWLORIS ? opt.address : "bench.test",
                             ntohs(opt.target.sin_port), "slowloris");

  /* ping: Handshake (next state 1) + Status Request + Ping, one write, per name */
  {
    char *list = strdup(opt.address), *save = NULL, *tok;
    for (tok = strtok_r(list, ",", &save); tok != NULL && nhosts < AT_HOSTS_MAX; tok = strtok_r(NULL, ",", &save))
      hosts[nhosts++] = tok;
    if (nhosts == 0) {
      fprintf(stderr, "--address: expected a name\n");
      return 2;
    }
  }
  for (int h = 0; h < nhosts; h++) {
    uint8_t *p = ping_req[h];
    size_t n = bench_handshake(p, hosts[h], ntohs(opt.target.sin_port), 0x01);
    p[n++] = 0x01;                     /* Status Request: length 1, id 0 */
    p[n++] = 0x00;
    p[n++] = 0x09;                     /* Ping: length 9, id 1, 8-byte payload */
    p[n++] = 0x01;
    for (int i = 0; i < 8; i++)
      p[n++] = (uint8_t)(0x40 + i);
    ping_req_len[h] = n;
  }

  loop = uv_default_loop();
  conns = calloc((size_t)opt.conns, sizeof *conns);
  queue = calloc((size_t)opt.conns, sizeof *queue);
  if (conns == NULL || queue == NULL) {
    fprintf(stderr, "hop-attack: out of memory\n");
    return 1;
  }
  for (long i = 0; i < opt.conns; i++) {
    uv_timer_init(loop, &conns[i].timer);
    conns[i].timer.data = &conns[i];
    conns[i].host = (int)(i % nhosts);
  }
  t_start = now_ms();
  uv_timer_init(loop, &stop_timer);
  uv_timer_start(&stop_timer, on_stop, (uint64_t)(opt.seconds * 1000.0), 0);
  uv_signal_init(loop, &sig_term);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_timer_init(loop, &tick_timer);
  if (opt.tick_ms > 0)
    uv_timer_start(&tick_timer, on_tick, (uint64_t)opt.tick_ms, (uint64_t)opt.tick_ms);
  uv_timer_init(loop, &pump_timer);
  if (opt.mode == MODE_SLOWLORIS) {
    uv_timer_start(&pump_timer, on_pump_timer, 0, 10);
  } else {
    for (long i = 0; i < opt.conns; i++)
      enqueue(&conns[i]);
    pump();
  }
  uv_run(loop, UV_RUN_DEFAULT);

  {
    double secs = (double)(now_ms() - t_start) / 1000.0;
    bench_lat_sort(&lat);
    if (opt.mode == MODE_SLOWLORIS)
      printf("result mode=slowloris conns=%ld seconds=%.2f open_max=%ld open_end=%ld connects=%llu "
             "connect_errors=%llu peer_closed=%llu peer_closed_fast=%llu mean_life_ms=%llu bytes_dripped=%llu "
             "write_errors=%llu cpu_ms=%lld\n",
             opt.conns, secs, open_max, open_at_stop, (unsigned long long)n_connects,
             (unsigned long long)n_connect_errors, (unsigned long long)n_peer_closed,
             (unsigned long long)n_peer_closed_fast,
             (unsigned long long)(lifetime_n ? lifetime_ms_sum / lifetime_n : 0),
             (unsigned long long)n_bytes_dripped, (unsigned long long)n_write_errors, bench_cpu_ms());
    else
      printf("result mode=ping conns=%ld seconds=%.2f pings=%llu rate=%.1f answered=%llu refused=%llu "
             "dropped=%llu timeouts=%llu connect_errors=%llu p50_us=%.1f p99_us=%.1f cpu_ms=%lld\n",
             opt.conns, secs, (unsigned long long)n_pings, secs > 0 ? (double)n_pings / secs : 0.0,
             (unsigned long long)n_answered, (unsigned long long)n_refused, (unsigned long long)n_dropped,
             (unsigned long long)n_timeouts, (unsigned long long)n_connect_errors, bench_lat_pct_us(&lat, 0.50),
             bench_lat_pct_us(&lat, 0.99), bench_cpu_ms());
    if (opt.mode == MODE_PING) {
      for (int h = 0; h < nhosts; h++)
        printf("host name=%s answered=%llu refused=%llu dropped=%llu\n", hosts[h], (unsigned long long)h_answered[h],
               (unsigned long long)h_refused[h], (unsigned long long)h_dropped[h]);
    }
  }
  return 0;
}
