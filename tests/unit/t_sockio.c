/* sockio: recv(2)/send(2) on libuv TCP handles, over a real loopback connection. What the relay relies
 * on: EOF, "nothing yet" and resets come back as libuv codes, and a send never jumps ahead of bytes
 * libuv still holds in its write queue. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "../../src/shell/sockio.h"
#include "test.h"

struct pair {
  uv_loop_t loop;
  uv_tcp_t listener, a, b;     /* a: connected from here; b: accepted */
  uv_connect_t connect;
  int accepted, connected;
};

static void on_connection(uv_stream_t *l, int status)
{
  struct pair *p = l->data;

  CHECK_EQ(0, status);
  uv_tcp_init(&p->loop, &p->b);
  CHECK_EQ(0, uv_accept(l, (uv_stream_t *)&p->b));
  p->accepted = 1;
}

static void on_connect(uv_connect_t *req, int status)
{
  struct pair *p = req->data;

  CHECK_EQ(0, status);
  p->connected = 1;
}

static void pair_open(struct pair *p)
{
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof bound;

  memset(p, 0, sizeof *p);
  uv_loop_init(&p->loop);
  uv_tcp_init(&p->loop, &p->listener);
  p->listener.data = p;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  CHECK_EQ(0, uv_tcp_bind(&p->listener, (const struct sockaddr *)&addr, 0));
  CHECK_EQ(0, uv_listen((uv_stream_t *)&p->listener, 4, on_connection));
  uv_tcp_getsockname(&p->listener, (struct sockaddr *)&bound, &len);
  uv_tcp_init(&p->loop, &p->a);
  p->connect.data = p;
  CHECK_EQ(0, uv_tcp_connect(&p->connect, &p->a, (const struct sockaddr *)&bound, on_connect));
  while (!p->accepted || !p->connected)
    uv_run(&p->loop, UV_RUN_ONCE);
}

static void pair_close(struct pair *p)
{
  uv_close((uv_handle_t *)&p->listener, NULL);
  uv_close((uv_handle_t *)&p->a, NULL);
  if (!uv_is_closing((uv_handle_t *)&p->b))
    uv_close((uv_handle_t *)&p->b, NULL);
  uv_run(&p->loop, UV_RUN_DEFAULT);
  CHECK_EQ(0, uv_loop_close(&p->loop));
}

/* Reads what b has, waiting for the loopback to deliver (it does so within the send). */
static ssize_t recv_some(struct pair *p, char *buf, size_t len)
{
  ssize_t n;

  for (int i = 0; i < 100 && (n = hop_sock_recv(&p->b, buf, len)) == UV_EAGAIN; i++)
    usleep(1000);
  return n;
}

static void test_round_trip_and_eof(void)
{
  struct pair p;
  char buf[64];

  TEST_CTX("%s", "round trip and eof");
  pair_open(&p);
  CHECK_EQ(UV_EAGAIN, hop_sock_recv(&p.b, buf, sizeof buf));      /* nothing sent yet */
  CHECK_EQ(5, hop_sock_try_send(&p.a, "hello", 5));
  CHECK_EQ(5, recv_some(&p, buf, sizeof buf));
  CHECK(memcmp(buf, "hello", 5) == 0);
  shutdown(p.a.io_watcher.fd, SHUT_WR);
  CHECK_EQ(0, recv_some(&p, buf, sizeof buf));                     /* EOF */
  pair_close(&p);
}

static void test_reset(void)
{
  struct pair p;
  struct linger hard = { 1, 0 };
  char buf[64];
  ssize_t n;

  TEST_CTX("%s", "reset");
  pair_open(&p);
  setsockopt(p.a.io_watcher.fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  uv_close((uv_handle_t *)&p.a, NULL);                             /* close with RST */
  uv_run(&p.loop, UV_RUN_NOWAIT);
  n = recv_some(&p, buf, sizeof buf);
  CHECK_EQ(UV_ECONNRESET, n);
  CHECK_EQ(UV_EPIPE, hop_sock_try_send(&p.b, "x", 1));            /* and no SIGPIPE */
  uv_close((uv_handle_t *)&p.b, NULL);
  uv_close((uv_handle_t *)&p.listener, NULL);
  uv_run(&p.loop, UV_RUN_DEFAULT);
  CHECK_EQ(0, uv_loop_close(&p.loop));
}

static void on_written(uv_write_t *req, int status)
{
  (void)req;
  CHECK_EQ(0, status);
}

/* Fill a's socket until the kernel refuses, queue one more write in libuv, drain the peer: libuv's
 * queued bytes must still come before anything hop_sock_try_send is given. */
static void test_queue_goes_first(void)
{
  static char chunk[65536], in[65536], queued_text[] = "QUEUED";
  struct pair p;
  uv_write_t req;
  uv_buf_t queued = uv_buf_init(queued_text, 6);
  size_t total = 0, got = 0;
  ssize_t n;
  int saw_queued = 0, saw_late = 0;

  TEST_CTX("%s", "queue goes first");
  memset(chunk, 'f', sizeof chunk);
  pair_open(&p);
  while ((n = hop_sock_try_send(&p.a, chunk, sizeof chunk)) > 0)
    total += (size_t)n;
  CHECK_EQ(UV_EAGAIN, n);                                          /* the socket is full */
  CHECK_EQ(0, uv_write(&req, (uv_stream_t *)&p.a, &queued, 1, on_written));
  CHECK(p.a.write_queue_size > 0);
  CHECK_EQ(UV_EAGAIN, hop_sock_try_send(&p.a, "LATE", 4));        /* behind libuv's queue */
  while (got < total + 6) {                                        /* drain b; libuv writes QUEUED */
    n = hop_sock_recv(&p.b, in, sizeof in);
    if (n == UV_EAGAIN) {
      uv_run(&p.loop, UV_RUN_NOWAIT);
      continue;
    }
    CHECK(n > 0);
    if (n <= 0)
      break;
    got += (size_t)n;
    saw_queued |= memmem(in, (size_t)n, "QUEUED", 6) != NULL;
  }
  CHECK(saw_queued);
  CHECK_EQ(0, (int)p.a.write_queue_size);
  CHECK_EQ(4, hop_sock_try_send(&p.a, "LATE", 4));                /* now it goes, after QUEUED */
  n = recv_some(&p, in, sizeof in);
  saw_late = n == 4 && memcmp(in, "LATE", 4) == 0;
  CHECK(saw_late);
  uv_run(&p.loop, UV_RUN_NOWAIT);                                  /* the write callback */
  pair_close(&p);
}

int main(void)
{
  test_round_trip_and_eof();
  test_reset();
  test_queue_goes_first();
  return TEST_DONE();
}
