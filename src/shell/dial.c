/* Dialing a backend: resolve the name on libuv's thread pool (never on the loop), then try each
 * address in turn until one connects. An IP literal skips resolution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/fault.h"
#include "shell.h"

struct hop_dial {
  struct hop_session *s;       /* NULL once dropped: callbacks then only clean up */
  uv_getaddrinfo_t gai;
  uv_connect_t connect;
  struct addrinfo *res;        /* resolved addresses (freed with the dial) */
  struct addrinfo *next;       /* the next one to try */
  uint64_t started_ns;         /* for the connect latency histogram */
  int resolving;
  int dropped;                 /* the session gave up on it; the next callback frees it */
};

static void dial_free(struct hop_dial *d)
{
  if (d->res)
    uv_freeaddrinfo(d->res);
  free(d);
}

static void on_connected(uv_connect_t *req, int status);

static int connect_to(struct hop_dial *d, const struct sockaddr *addr)
{
  struct hop_session *s = d->s;
  int rc = uv_tcp_init(&s->w->loop, &s->backend);

  if (rc < 0)
    return rc;
  s->backend.data = s;
  s->backend_open = 1;
  s->open_handles++;
  uv_tcp_nodelay(&s->backend, 1);
  rc = uv_tcp_connect(&d->connect, &s->backend, addr, on_connected);
  if (rc == 0)
    hop_pipe_watch_backend(s);
  return rc;
}

/* Ends the dial and tells the session (unless it was dropped). */
static void finish(struct hop_dial *d, int status)
{
  struct hop_session *s = d->s;

  uint64_t took_ns = uv_hrtime() - d->started_ns;

  dial_free(d);
  if (s) {
    s->dial = NULL;
    if (status == 0)
      hop_hist_observe(&s->w->metrics->connect, took_ns / 1000);
    hop_session_on_dialed(s, status);
  }
}

static void try_next(struct hop_dial *d, int last_status)
{
  while (d->next) {
    struct addrinfo *ai = d->next;
    int rc;

    d->next = ai->ai_next;
    rc = connect_to(d, ai->ai_addr);
    if (rc == 0)
      return;
    last_status = rc;
    if (d->s->backend_open)
      break;                   /* the handle is up: it is closed with the session */
  }
  finish(d, last_status);
}

static void on_retry_closed(uv_handle_t *h)
{
  struct hop_session *s = h->data;
  struct hop_dial *d = s->dial;

  if (d->dropped) {
    s->dial = NULL;
    dial_free(d);
    hop_session_on_handle_closed(h);
    return;
  }
  s->open_handles--;
  try_next(d, UV_ECONNREFUSED);
}

static void on_connected(uv_connect_t *req, int status)
{
  struct hop_dial *d = (struct hop_dial *)((char *)req - offsetof(struct hop_dial, connect));
  struct hop_session *s = d->s;

  if (d->dropped) {
    s->dial = NULL;
    dial_free(d);
    return;
  }
  if (status == 0 && HOP_FAULT(0.01))
    status = UV_ECONNREFUSED;  /* as the kernel says it; the next address is tried */
  if (status < 0 && d->next) {
    s->backend_open = 0;
    uv_close((uv_handle_t *)&s->backend, on_retry_closed);
    return;
  }
  finish(d, status);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  struct hop_dial *d = (struct hop_dial *)((char *)req - offsetof(struct hop_dial, gai));

  d->resolving = 0;
  d->res = res;
  d->next = res;
  if (!d->s) {
    dial_free(d);
    return;
  }
  if (status < 0 || !res) {
    finish(d, status < 0 ? status : UV_EAI_NONAME);
    return;
  }
  try_next(d, UV_EAI_NONAME);
}

int hop_dial_start(struct hop_session *s)
{
  const struct hop_server *srv = s->server;
  struct hop_dial *d = calloc(1, sizeof *d);
  union { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; } addr;
  struct addrinfo hints;
  char port[8];
  int rc;

  if (!d)
    return UV_ENOMEM;
  d->s = s;
  d->started_ns = uv_hrtime();
  s->dial = d;
  if (uv_ip4_addr(srv->backend_host, srv->backend_port, &addr.in) == 0 ||
      uv_ip6_addr(srv->backend_host, srv->backend_port, &addr.in6) == 0) {
    rc = connect_to(d, &addr.sa);
  } else {
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    snprintf(port, sizeof port, "%u", srv->backend_port);
    d->resolving = 1;
    rc = uv_getaddrinfo(&s->w->loop, &d->gai, on_resolved, srv->backend_host, port, &hints);
  }
  if (rc < 0) {
    s->dial = NULL;
    dial_free(d);
  }
  return rc;
}

void hop_dial_drop(struct hop_session *s)
{
  struct hop_dial *d = s->dial;

  if (!d) {
    if (s->backend_open && !s->piped) {   /* connected, not handed off: close it now */
      s->backend_open = 0;
      uv_close((uv_handle_t *)&s->backend, hop_session_on_handle_closed);
    }
    return;
  }
  if (d->resolving) {
    s->dial = NULL;
    d->s = NULL;
    uv_cancel((uv_req_t *)&d->gai);    /* its callback frees the dial either way */
    return;
  }
  /* A connect in flight ends with UV_ECANCELED once the handle closes; that callback frees the
   * dial. During a retry the handle is already closing and on_retry_closed frees it. */
  d->dropped = 1;
  if (s->backend_open) {
    s->backend_open = 0;
    uv_close((uv_handle_t *)&s->backend, hop_session_on_handle_closed);
  }
}
