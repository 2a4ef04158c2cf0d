/* The relay: bytes both ways with backpressure and half-close, after the replay.
 * One read buffer per direction, from the worker's pool, held only while bytes are in flight. */
#include <stdlib.h>

#include "hop/proxy.h"
#include "shell.h"
#include "sockio.h"

/* ---- Writes ------------------------------------------------------------------------------- */

struct hop_write *hop_write_new(struct hop_session *s, void *chunk, int to_client)
{
  struct hop_write *wr = hop_pool_get(&s->w->write_pool);

  if (wr) {
    wr->s = s;
    wr->chunk = chunk;
    wr->to_client = (uint8_t)to_client;
    wr->replay = 0;
  }
  return wr;
}

void hop_write_release(struct hop_write *wr)
{
  struct hop_worker *w = wr->s->w;

  hop_pool_put(&w->buf_pool, wr->chunk);
  hop_pool_put(&w->write_pool, wr);
}

/* ---- Directions --------------------------------------------------------------------------- */

static uv_stream_t *client_of(struct hop_session *s)
{
  return (uv_stream_t *)&s->client;
}

static uv_stream_t *backend_of(struct hop_session *s)
{
  return (uv_stream_t *)&s->backend;
}

/* libuv reports readiness only: a zero-length buffer makes it call back with UV_ENOBUFS before it
 * reads (uv_alloc_cb's contract), and pump() then reads with recv(2) (sockio.h says why). */
static void on_no_buffer(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(NULL, 0);
}

static void on_readable(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void resume(struct hop_session *s, int to_client)
{
  struct hop_dir *d = to_client ? &s->b2c : &s->c2b;

  if (!d->paused || d->eof)
    return;
  d->paused = 0;
  uv_read_start(to_client ? backend_of(s) : client_of(s), on_no_buffer, on_readable);
}

static void maybe_end(struct hop_session *s)
{
  if (s->c2b.done && s->b2c.done)
    hop_session_close(s, s->first_eof);
}

static void on_relay_written(uv_write_t *req, int status)
{
  struct hop_write *wr = (struct hop_write *)req;
  struct hop_session *s = wr->s;
  int to_client = wr->to_client;
  uv_stream_t *dst = to_client ? client_of(s) : backend_of(s);

  if (wr->replay)
    hop_session_greet_release(s);
  hop_write_release(wr);
  if (s->closing)
    return;
  if (status < 0) {
    hop_session_close(s, to_client ? HOP_CLOSE_CLIENT_RESET : HOP_CLOSE_BACKEND_RESET);
    return;
  }
  if (dst->write_queue_size < HOP_RELAY_LOW_BYTES)
    resume(s, to_client);      /* hysteresis: resume below the low mark */
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  struct hop_session *s = req->handle->data;
  int client_side = req->handle == client_of(s);

  (void)status;                /* a failed shutdown still ends that direction */
  free(req);
  if (s->closing)
    return;
  if (client_side)
    s->b2c.done = 1;
  else
    s->c2b.done = 1;
  maybe_end(s);
}

/* The source sent EOF: pass it on once everything before it is written (libuv orders it). */
static void half_close(struct hop_session *s, int from_client)
{
  struct hop_dir *d = from_client ? &s->c2b : &s->b2c;
  uv_shutdown_t *req = malloc(sizeof *req);

  d->eof = 1;
  if (s->first_eof == HOP_CLOSE_NONE)
    s->first_eof = from_client ? HOP_CLOSE_CLIENT_CLOSED : HOP_CLOSE_BACKEND_CLOSED;
  if (!req || uv_shutdown(req, from_client ? backend_of(s) : client_of(s), on_shutdown) < 0) {
    free(req);
    d->done = 1;
    maybe_end(s);
  }
}

/* Passes n bytes read from one side (in chunk, which it takes) to the other: written at once when
 * the socket takes them, else queued, and the source paused above the high mark. */
static void relay(struct hop_session *s, int from_client, char *chunk, size_t n)
{
  uv_tcp_t *dst = from_client ? &s->backend : &s->client;
  enum hop_close dst_err = from_client ? HOP_CLOSE_BACKEND_RESET : HOP_CLOSE_CLIENT_RESET;
  ssize_t sent = hop_sock_try_send(dst, chunk, n);
  size_t done = sent > 0 ? (size_t)sent : 0;
  uv_buf_t out;
  struct hop_write *wr;

  if (done == n) {
    hop_pool_put(&s->w->buf_pool, chunk);
    return;
  }
  if (sent < 0 && sent != UV_EAGAIN) {
    hop_pool_put(&s->w->buf_pool, chunk);
    hop_session_close(s, dst_err);
    return;
  }
  out = uv_buf_init(chunk + done, (unsigned)(n - done));
  wr = hop_write_new(s, chunk, !from_client);
  if (!wr || uv_write(&wr->req, (uv_stream_t *)dst, &out, 1, on_relay_written) < 0) {
    if (wr)
      hop_write_release(wr);
    else
      hop_pool_put(&s->w->buf_pool, chunk);
    hop_session_close(s, wr ? dst_err : HOP_CLOSE_INTERNAL);
    return;
  }
  if (dst->write_queue_size > HOP_RELAY_HIGH_BYTES) {
    (from_client ? &s->c2b : &s->b2c)->paused = 1;
    uv_read_stop(from_client ? client_of(s) : backend_of(s));   /* resumed by on_relay_written */
  }
}

/* Reads what one side has and relays it. Like libuv's own reads, it reads again while each read
 * fills the buffer, up to a bound that keeps one busy session from starving the loop. */
static void pump(struct hop_session *s, int from_client)
{
  uv_tcp_t *src = from_client ? &s->client : &s->backend;
  struct hop_dir *d = from_client ? &s->c2b : &s->b2c;
  int turns = 32;
  ssize_t n;

  do {
    char *chunk = hop_pool_get(&s->w->buf_pool);

    if (!chunk) {
      hop_session_close(s, HOP_CLOSE_INTERNAL);
      return;
    }
    n = hop_sock_recv(src, chunk, HOP_RELAY_BUF_BYTES);
    if (n <= 0) {
      hop_pool_put(&s->w->buf_pool, chunk);
      if (n == 0) {
        uv_read_stop((uv_stream_t *)src);   /* libuv would have, had it seen the EOF */
        half_close(s, from_client);
      } else if (n != UV_EAGAIN) {
        hop_session_close(s, from_client ? HOP_CLOSE_CLIENT_RESET : HOP_CLOSE_BACKEND_RESET);
      }
      return;
    }
    s->active_ms = uv_now(&s->w->loop);
    *(from_client ? &s->bytes_c2b : &s->bytes_b2c) += (uint64_t)n;
    relay(s, from_client, chunk, (size_t)n);
  } while (n == HOP_RELAY_BUF_BYTES && --turns && !s->closing && !d->paused);
}

static void on_readable(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  struct hop_session *s = stream->data;

  (void)nread;                 /* always UV_ENOBUFS: on_no_buffer gave libuv nothing to read into */
  (void)buf;
  if (!s->closing)
    pump(s, stream == client_of(s));
}

/* ---- Before the hand-off ------------------------------------------------------------------ */

static void on_parked(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  struct hop_session *s = stream->data;

  (void)nread;
  (void)buf;
  uv_read_stop(stream);        /* the backend spoke first: its bytes wait for the hand-off */
  s->b2c.paused = 1;
}

/* Called once the connect is under way. libuv stops the connect's POLLOUT before its callback, and
 * a handle left with no events is re-registered the hard way: a failed EPOLL_CTL_ADD, then a MOD.
 * Reading from the start keeps POLLIN registered throughout (ADD of IN|OUT, then one MOD), which
 * saves that failed syscall in every session. Nothing is read until the hand-off; b2c.paused says
 * whether the backend is being read. */
void hop_pipe_watch_backend(struct hop_session *s)
{
  s->b2c.paused = uv_read_start(backend_of(s), on_no_buffer, on_parked) < 0;
}

/* ---- Start and idle ----------------------------------------------------------------------- */

static void arm_idle(struct hop_session *s)
{
  uint32_t idle = s->snap->cfg->timeout_ms_idle;

  if (idle)
    hop_session_arm_timer(s, s->active_ms + idle);
}

void hop_pipe_on_idle_timer(struct hop_session *s)
{
  uint32_t idle = s->snap->cfg->timeout_ms_idle;

  if (uv_now(&s->w->loop) - s->active_ms >= idle)
    hop_session_close(s, HOP_CLOSE_IDLE_TIMEOUT);
  else
    arm_idle(s);               /* traffic moved the deadline: sleep until the new one */
}

/* The PROXY header this server wants, into a pooled chunk: the client as we know it (from a
 * trusted proxy or the socket), and the address it connected to. Returns its length, or 0. */
static size_t proxy_header(struct hop_session *s, void **chunk)
{
  union { struct sockaddr sa; struct sockaddr_storage ss; } local;
  int len = sizeof local, n;

  *chunk = NULL;
  if (s->server->proxy_protocol == HOP_PROXY_SEND_NONE ||
      uv_tcp_getsockname(&s->client, &local.sa, &len) < 0 ||
      !(*chunk = hop_pool_get(&s->w->buf_pool)))
    return 0;
  n = hop_proxy_encode(*chunk, HOP_PROXY_ENCODE_BYTES_MAX,
                       s->server->proxy_protocol == HOP_PROXY_SEND_V1 ? 1 : 2, &s->peer.sa,
                       &local.sa);
  return n > 0 ? (size_t)n : 0;
}

void hop_pipe_start(struct hop_session *s, const uint8_t *replay, size_t replay_len)
{
  uv_buf_t bufs[2];
  void *chunk;
  size_t header = proxy_header(s, &chunk);
  struct hop_write *wr = hop_write_new(s, chunk, 0);
  unsigned n = 0;

  if (!wr) {
    hop_pool_put(&s->w->buf_pool, chunk);
    hop_session_close(s, HOP_CLOSE_INTERNAL);
    return;
  }
  if (header)
    bufs[n++] = uv_buf_init(chunk, (unsigned)header);   /* before anything of the client's */
  bufs[n++] = uv_buf_init((char *)(uintptr_t)replay, (unsigned)replay_len);
  wr->replay = 1;              /* every preread byte goes first, before any relayed byte */
  if (uv_write(&wr->req, backend_of(s), bufs, n, on_relay_written) < 0) {
    hop_write_release(wr);
    hop_session_close(s, HOP_CLOSE_BACKEND_RESET);
    return;
  }
  s->active_ms = uv_now(&s->w->loop);
  if (s->c2b.eof) {
    s->c2b.eof = 0;
    half_close(s, 1);          /* the client finished before we were piped */
  } else if (s->client_paused) {
    s->client_paused = 0;      /* the greet filled up while the backend connected */
    uv_read_start(client_of(s), on_no_buffer, on_readable);
  } else {
    /* Still reading: swap the callbacks (public fields of uv_stream_t) instead of a stop and a
     * start, which cost two epoll_ctl calls per session. */
    s->client.alloc_cb = on_no_buffer;
    s->client.read_cb = on_readable;
  }
  if (s->closing)
    return;
  if (s->b2c.paused) {
    resume(s, 1);
  } else {
    s->backend.read_cb = on_readable; /* watched since the connect: swap, as above */
  }
  if (!s->closing)
    arm_idle(s);
}
