/* A status probe: resolve, connect, Handshake + Status Request, read one Status Response. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/err.h"
#include "hop/probe.h"
#include "hop/proto.h"

#define PROBE_PROTOCOL   47            /* status is the same in every version; 1.8 is widest */
#define RESPONSE_MAX     (256 * 1024)  /* favicons make status answers large */

struct probe {
  uv_getaddrinfo_t gai;
  uv_connect_t connect;
  uv_write_t write;
  uv_tcp_t tcp;
  uv_timer_t timer;
  hop_probe_cb cb;
  void *arg;
  int handles;                 /* open handles; freed at 0 */
  int reported;
  int tcp_open;
  uint16_t port;
  uint8_t request[HOP_HOST_BYTES_MAX + 32];
  size_t request_len;
  uint8_t *in;
  size_t in_len, in_cap;
};

static void on_handle_closed(uv_handle_t *h)
{
  struct probe *p = h->data;

  if (--p->handles == 0) {
    free(p->in);
    free(p);
  }
}

/* Reports once, then closes everything. */
static void finish(struct probe *p, int ok, const char *json, size_t len)
{
  if (p->reported)
    return;
  p->reported = 1;
  p->cb(p->arg, ok, json, len);
  uv_close((uv_handle_t *)&p->timer, on_handle_closed);
  if (p->tcp_open)
    uv_close((uv_handle_t *)&p->tcp, on_handle_closed);
}

static void on_timeout(uv_timer_t *t)
{
  finish(t->data, 0, NULL, 0);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct probe *p = h->data;

  (void)suggested;
  if (p->in_cap - p->in_len < 4096 && p->in_cap < RESPONSE_MAX + 8) {
    size_t cap = p->in_cap ? p->in_cap * 2 : 8192;

    if (cap > RESPONSE_MAX + 8)
      cap = RESPONSE_MAX + 8;    /* the frame's length prefix and packet id come on top */
    uint8_t *grown = realloc(p->in, cap);

    if (grown) {
      p->in = grown;
      p->in_cap = cap;
    }
  }
  *buf = uv_buf_init((char *)p->in + p->in_len, (unsigned)(p->in_cap - p->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct probe *p = s->data;
  struct hop_frame f;
  struct hop_reader r;
  struct hop_str json;
  int32_t id;
  int n;

  (void)buf;
  if (nread < 0) {
    finish(p, 0, NULL, 0);
    return;
  }
  p->in_len += (size_t)nread;
  n = hop_frame_parse(p->in, p->in_len, RESPONSE_MAX, &f);
  if (n == 0 && p->in_len < p->in_cap)
    return;
  r = hop_reader_make(f.body, n > 0 ? f.body_len : 0);
  if (n > 0 && hop_read_varint(&r, &id) == 0 && id == 0x00 &&
      hop_read_string(&r, RESPONSE_MAX, &json) == 0 && json.len > 1 && json.ptr[0] == '{') {
    char *copy = malloc(json.len + 1);

    if (copy) {
      memcpy(copy, json.ptr, json.len);
      copy[json.len] = '\0';
    }
    finish(p, copy != NULL, copy, json.len);
    free(copy);
    return;
  }
  finish(p, 0, NULL, 0);
}

static void on_written(uv_write_t *w, int status)
{
  struct probe *p = w->data;

  if (status < 0 || uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) < 0)
    finish(p, 0, NULL, 0);
}

static void on_connected(uv_connect_t *c, int status)
{
  struct probe *p = c->data;
  uv_buf_t buf = uv_buf_init((char *)p->request, (unsigned)p->request_len);

  if (p->reported)
    return;
  p->write.data = p;
  if (status < 0 || uv_write(&p->write, (uv_stream_t *)&p->tcp, &buf, 1, on_written) < 0)
    finish(p, 0, NULL, 0);
}

static int connect_to(struct probe *p, const struct sockaddr *addr)
{
  uv_loop_t *loop = p->timer.loop;

  uv_tcp_init(loop, &p->tcp);
  p->tcp.data = p;
  p->tcp_open = 1;
  p->handles++;
  p->connect.data = p;
  return uv_tcp_connect(&p->connect, &p->tcp, addr, on_connected);
}

/* A failure inside hop_probe_start is reported from the loop, like any other. */
static void fail_soon(struct probe *p)
{
  uv_timer_start(&p->timer, on_timeout, 0, 0);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  struct probe *p = req->data;

  if (status < 0 || !res || p->reported || connect_to(p, res->ai_addr) < 0)
    finish(p, 0, NULL, 0);
  uv_freeaddrinfo(res);
  if (--p->handles == 0) {     /* the request counted as a handle while in flight */
    free(p->in);
    free(p);
  }
}

int hop_probe_start(uv_loop_t *loop, const char *host, uint16_t port, const char *address,
                    uint32_t timeout_ms, hop_probe_cb cb, void *arg)
{
  struct probe *p = calloc(1, sizeof *p);
  union { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; } addr;
  struct addrinfo hints;
  char port_s[8];
  int n;

  if (!p)
    return UV_ENOMEM;
  p->cb = cb;
  p->arg = arg;
  p->port = port;
  n = hop_handshake_encode(p->request, sizeof p->request - 2, PROBE_PROTOCOL, address,
                           strlen(address), port, HOP_INTENT_STATUS);
  if (n < 0) {
    free(p);
    return n;
  }
  p->request[n] = 0x01;        /* Status Request: length 1, id 0x00 */
  p->request[n + 1] = 0x00;
  p->request_len = (size_t)n + 2;
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  p->handles = 1;
  uv_timer_start(&p->timer, on_timeout, timeout_ms, 0);
  if (uv_ip4_addr(host, port, &addr.in) == 0 || uv_ip6_addr(host, port, &addr.in6) == 0) {
    if (connect_to(p, &addr.sa) < 0)
      fail_soon(p);
    return 0;
  }
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port_s, sizeof port_s, "%u", port);
  p->gai.data = p;
  p->handles++;
  if (uv_getaddrinfo(loop, &p->gai, on_resolved, host, port_s, &hints) < 0) {
    p->handles--;
    fail_soon(p);
  }
  return 0;
}
