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
 * itself. Loopback benchmarking only.
 * This file: the command line, the threads and the result line; the connections are in loadgen_conn.c. */
#include "loadgen.h"

#include <signal.h>
#include <unistd.h>

static const char *const mode_names[] = {"setup", "rr", "bulk", "idle", NULL};   /* --mode, in enum order */

struct opts opt;

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
  free(lat.v);
  return (ops > 0 && !watchdog) ? 0 : 1;
}
