/* hop-sink: a Minecraft-ish backend for benchmarks, on libuv.
 *
 * Each connection first sends Handshake + Login Start (two VarInt-length frames); the sink answers one
 * marker byte (0x4b). What follows depends on the Login Start player name the client chose:
 *   hb_echo  (or anything else)  echo every byte back (connection setup, request/response, idle)
 *   hb_down                      send bytes as fast as the client reads them (bulk, backend -> client)
 *   hb_up                        discard bytes; on EOF answer the count as 8 bytes big-endian and close
 *
 * Several loops (--threads) each own a SO_REUSEPORT listener on the same port. Prints
 * "msg=listening addr=HOST:PORT" on stdout when it accepts. Exits on SIGINT/SIGTERM or after
 * --max-seconds. Loopback benchmarking only. */
#include "benchutil.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#define SINK_READ_BUF      (256u * 1024u)
#define SINK_SOURCE_CHUNK  (64u * 1024u)
#define SINK_SOURCE_DEPTH  4
#define SINK_QUEUE_HIGH    (4u * 1024u * 1024u)
#define SINK_QUEUE_LOW     (1u * 1024u * 1024u)
#define SINK_THREADS_MAX   64

struct worker {
  uv_loop_t loop;
  uv_tcp_t server;
  uv_thread_t thread;
  int fd;
  int backlog;
  atomic_ullong accepted;
  uint8_t rbuf[SINK_READ_BUF];
};

struct sconn {
  uv_tcp_t tcp;
  struct worker *w;
  enum bench_kind kind;
  int opened;                        /* marker sent; now in `kind` mode */
  int closing;
  int paused;                        /* reading stopped for backpressure */
  uint64_t count;                    /* hb_up: bytes received after the opening */
  uint8_t pre[BENCH_PREREAD_MAX * 2 + 16];
  size_t pre_len;
  uv_write_t source_req[SINK_SOURCE_DEPTH];
  uv_write_t count_req;
  uv_shutdown_t shutdown_req;
  uint8_t count_buf[8];
};

struct echo_write {
  uv_write_t req;
  struct sconn *c;
  size_t len;
  uint8_t data[];
};

static uint8_t source_chunk[SINK_SOURCE_CHUNK];
static const uint8_t marker_byte[1] = { BENCH_MARKER };

static void sconn_on_close(uv_handle_t *h)
{
  free(h->data);
}

static void sconn_close(struct sconn *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, sconn_on_close);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct sconn *c = h->data;
  (void)suggested;
  /* One buffer per loop: read callbacks consume or copy every byte before the next read. */
  *buf = uv_buf_init((char *)c->w->rbuf, SINK_READ_BUF);
}

static void on_echo_written(uv_write_t *req, int status)
{
  struct echo_write *ew = (struct echo_write *)req;
  struct sconn *c = ew->c;
  free(ew);
  if (status < 0) {
    sconn_close(c);
    return;
  }
  if (c->paused && !c->closing && c->tcp.write_queue_size < SINK_QUEUE_LOW) {
    c->paused = 0;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, NULL);
  }
}

static void sconn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void echo_bytes(struct sconn *c, const uint8_t *p, size_t len)
{
  uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)len);
  int n = 0;
  struct echo_write *ew;

  if (c->tcp.write_queue_size == 0) {
    n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == UV_EAGAIN)
      n = 0;
    if (n < 0) {
      sconn_close(c);
      return;
    }
    if ((size_t)n == len)
      return;
  }
  ew = malloc(sizeof *ew + (len - (size_t)n));
  if (ew == NULL) {
    sconn_close(c);
    return;
  }
  ew->c = c;
  ew->len = len - (size_t)n;
  memcpy(ew->data, p + n, ew->len);
  b = uv_buf_init((char *)ew->data, (unsigned)ew->len);
  if (uv_write(&ew->req, (uv_stream_t *)&c->tcp, &b, 1, on_echo_written) != 0) {
    free(ew);
    sconn_close(c);
    return;
  }
  if (c->tcp.write_queue_size > SINK_QUEUE_HIGH) {
    c->paused = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
  }
}

static void on_source_written(uv_write_t *req, int status)
{
  struct sconn *c = req->data;
  uv_buf_t b = uv_buf_init((char *)source_chunk, SINK_SOURCE_CHUNK);
  if (status < 0 || c->closing) {
    sconn_close(c);
    return;
  }
  if (uv_write(req, (uv_stream_t *)&c->tcp, &b, 1, on_source_written) != 0)
    sconn_close(c);
}

static void on_count_written(uv_write_t *req, int status)
{
  struct sconn *c = req->data;
  (void)status;
  sconn_close(c);
}

static void on_marker_written(uv_write_t *req, int status)
{
  struct sconn *c = req->data;
  if (status < 0)
    sconn_close(c);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  struct sconn *c = req->data;
  (void)status;
  sconn_close(c);
}

static void handle_eof(struct sconn *c)
{
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (c->opened && c->kind == BENCH_DISCARD) {
    uv_buf_t b = uv_buf_init((char *)c->count_buf, sizeof c->count_buf);
    for (int i = 0; i < 8; i++)
      c->count_buf[i] = (uint8_t)(c->count >> (56 - 8 * i));
    c->count_req.data = c;
    if (uv_write(&c->count_req, (uv_stream_t *)&c->tcp, &b, 1, on_count_written) != 0)
      sconn_close(c);
    return;
  }
  if (c->opened && c->kind == BENCH_ECHO) {
    c->shutdown_req.data = c;     /* flush pending echoes, then close */
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
      sconn_close(c);
    return;
  }
  sconn_close(c);
}

static void data_bytes(struct sconn *c, const uint8_t *p, size_t len)
{
  if (len == 0)
    return;
  switch (c->kind) {
  case BENCH_ECHO:
    echo_bytes(c, p, len);
    break;
  case BENCH_DISCARD:
    c->count += len;
    break;
  case BENCH_SOURCE:
    break;
  }
}

static enum bench_kind kind_from_login(const uint8_t *body, uint32_t len)
{
  uint32_t name_len = 0;
  int n;
  if (len < 2 || body[0] != 0x00)
    return BENCH_ECHO;
  n = bench_varint_decode(body + 1, len - 1, &name_len);
  if (n <= 0 || name_len > len - 1 - (uint32_t)n)
    return BENCH_ECHO;
  body += 1 + n;
  if (name_len == strlen(BENCH_NAME_SOURCE) && memcmp(body, BENCH_NAME_SOURCE, name_len) == 0)
    return BENCH_SOURCE;
  if (name_len == strlen(BENCH_NAME_DISCARD) && memcmp(body, BENCH_NAME_DISCARD, name_len) == 0)
    return BENCH_DISCARD;
  return BENCH_ECHO;
}

/* Tries to find two complete frames in c->pre; on success sends the marker, switches mode and hands the
 * rest on. Returns 0 to keep going, -1 on a malformed opening. */
static int try_open(struct sconn *c)
{
  size_t pos = 0;
  const uint8_t *login = NULL;
  uint32_t login_len = 0;
  uv_buf_t b;
  int n;

  for (int frame = 0; frame < 2; frame++) {
    uint32_t body_len = 0;
    int h = bench_frame_header(c->pre + pos, c->pre_len - pos, &body_len);
    if (h < 0)
      return -1;
    if (h == 0 || c->pre_len - pos - (size_t)h < body_len)
      return c->pre_len >= sizeof c->pre - BENCH_PREREAD_MAX ? -1 : 0;
    if (frame == 1) {
      login = c->pre + pos + (size_t)h;
      login_len = body_len;
    }
    pos += (size_t)h + body_len;
  }

  c->kind = kind_from_login(login, login_len);
  c->opened = 1;
  b = uv_buf_init((char *)(uintptr_t)marker_byte, 1);
  n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
  if (n == UV_EAGAIN || n == 0) {
    c->count_req.data = c;         /* count_req is free until EOF in hb_up mode */
    if (uv_write(&c->count_req, (uv_stream_t *)&c->tcp, &b, 1, on_marker_written) != 0)
      return -1;
  } else if (n != 1) {
    return -1;
  }
  if (c->kind == BENCH_SOURCE) {
    for (int i = 0; i < SINK_SOURCE_DEPTH; i++) {
      uv_buf_t sb = uv_buf_init((char *)source_chunk, SINK_SOURCE_CHUNK);
      c->source_req[i].data = c;
      if (uv_write(&c->source_req[i], (uv_stream_t *)&c->tcp, &sb, 1, on_source_written) != 0)
        return -1;
    }
  }
  data_bytes(c, c->pre + pos, c->pre_len - pos);
  return 0;
}

static void sconn_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct sconn *c = s->data;
  const uint8_t *p = (const uint8_t *)buf->base;
  size_t len;

  if (c->closing)
    return;
  if (nread == UV_EOF) {
    handle_eof(c);
    return;
  }
  if (nread < 0) {
    sconn_close(c);
    return;
  }
  len = (size_t)nread;
  if (c->opened) {
    data_bytes(c, p, len);
    return;
  }
  if (len > sizeof c->pre - c->pre_len) {
    sconn_close(c);
    return;
  }
  memcpy(c->pre + c->pre_len, p, len);
  c->pre_len += len;
  if (try_open(c) < 0)
    sconn_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
  struct worker *w = server->data;
  struct sconn *c;

  if (status < 0)
    return;
  c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  c->w = w;
  uv_tcp_init(&w->loop, &c->tcp);
  c->tcp.data = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    sconn_close(c);
    return;
  }
  atomic_fetch_add_explicit(&w->accepted, 1, memory_order_relaxed);
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, sconn_on_read) != 0)
    sconn_close(c);
}

static int listen_socket(const struct sockaddr_in *addr)
{
  int one = 1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
      bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

static void worker_main(void *arg)
{
  struct worker *w = arg;
  uv_run(&w->loop, UV_RUN_DEFAULT);
}

static void on_stop_signal(uv_signal_t *sig, int signum)
{
  (void)signum;
  uv_stop(sig->loop);
}

static void on_lifetime(uv_timer_t *t)
{
  fprintf(stderr, "hop-sink: --max-seconds reached, exiting\n");
  uv_stop(t->loop);
}

static void usage(FILE *f)
{
  fprintf(f,
          "usage: hop-sink [--listen HOST:PORT] [--threads N] [--backlog N] [--max-seconds S]\n"
          "  --listen       address to accept on (default 127.0.0.1:0, a free port)\n"
          "  --threads      event loops, each with a SO_REUSEPORT listener (default 1)\n"
          "  --backlog      listen backlog (default 4096)\n"
          "  --max-seconds  exit after this long in any case (default 1800)\n"
          "Prints 'msg=listening addr=HOST:PORT' on stdout once accepting.\n");
}

int main(int argc, char **argv)
{
  struct sockaddr_in addr;
  long threads = 1, backlog = 4096, max_seconds = 1800;
  static struct worker *workers[SINK_THREADS_MAX];
  uv_loop_t *main_loop = uv_default_loop();
  uv_signal_t sigint, sigterm;
  uv_timer_t lifetime;
  struct sockaddr_in bound;
  int bound_len = (int)sizeof bound;
  char ip[64];
  uint64_t accepted = 0;

  bench_parse_addr("127.0.0.1:0", &addr);
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--listen") == 0) {
      if (bench_parse_addr(bench_arg_value(argc, argv, &i), &addr) != 0) {
        fprintf(stderr, "--listen: expected HOST:PORT (IPv4)\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--threads") == 0) {
      threads = bench_parse_long("--threads", bench_arg_value(argc, argv, &i), 1, SINK_THREADS_MAX);
    } else if (strcmp(argv[i], "--backlog") == 0) {
      backlog = bench_parse_long("--backlog", bench_arg_value(argc, argv, &i), 1, 65535);
    } else if (strcmp(argv[i], "--max-seconds") == 0) {
      max_seconds = bench_parse_long("--max-seconds", bench_arg_value(argc, argv, &i), 1, 86400);
    } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }

  signal(SIGPIPE, SIG_IGN);
  memset(source_chunk, 0x5a, sizeof source_chunk);

  for (long t = 0; t < threads; t++) {
    struct worker *w = calloc(1, sizeof *w);
    int rc;
    if (w == NULL) {
      fprintf(stderr, "hop-sink: out of memory\n");
      return 1;
    }
    workers[t] = w;
    w->backlog = (int)backlog;
    w->fd = listen_socket(&addr);
    if (w->fd < 0) {
      fprintf(stderr, "hop-sink: bind: %s\n", strerror(-w->fd));
      return 1;
    }
    if (t == 0) {
      if (getsockname(w->fd, (struct sockaddr *)&bound, (socklen_t *)&bound_len) != 0) {
        fprintf(stderr, "hop-sink: getsockname: %s\n", strerror(errno));
        return 1;
      }
      addr.sin_port = bound.sin_port;    /* the other loops bind the port the first one got */
    }
    if ((rc = uv_loop_init(&w->loop)) != 0)
      bench_die_uv("uv_loop_init", rc);
    uv_tcp_init(&w->loop, &w->server);
    w->server.data = w;
    if ((rc = uv_tcp_open(&w->server, w->fd)) != 0)
      bench_die_uv("uv_tcp_open", rc);
    if ((rc = uv_listen((uv_stream_t *)&w->server, w->backlog, on_connection)) != 0)
      bench_die_uv("uv_listen", rc);
  }

  uv_ip4_name(&bound, ip, sizeof ip);
  printf("msg=listening addr=%s:%u threads=%ld\n", ip, (unsigned)ntohs(bound.sin_port), threads);
  fflush(stdout);

  for (long t = 0; t < threads; t++) {
    int rc = uv_thread_create(&workers[t]->thread, worker_main, workers[t]);
    if (rc != 0)
      bench_die_uv("uv_thread_create", rc);
  }

  uv_signal_init(main_loop, &sigint);
  uv_signal_init(main_loop, &sigterm);
  uv_signal_start(&sigint, on_stop_signal, SIGINT);
  uv_signal_start(&sigterm, on_stop_signal, SIGTERM);
  uv_timer_init(main_loop, &lifetime);
  uv_timer_start(&lifetime, on_lifetime, (uint64_t)max_seconds * 1000u, 0);
  uv_run(main_loop, UV_RUN_DEFAULT);

  /* Worker loops are not joined: the process exits with them running. */
  for (long t = 0; t < threads; t++)
    accepted += atomic_load_explicit(&workers[t]->accepted, memory_order_relaxed);
  printf("msg=stopped accepted=%llu\n", (unsigned long long)accepted);
  fflush(stdout);
  _exit(0);
}
