/* A session from accept to close: feed the greet bytes to conn, carry out its actions, hand over
 * to the relay, and end with exactly one reason and one log line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/log.h"
#include "limits.h"
#include "shell.h"

static void run_actions(struct hop_session *s);
static void post_session(struct hop_session *s, enum hop_msg_kind kind);
static void refresh_snapshot(struct hop_session *s);

/* ---- Lifetime ----------------------------------------------------------------------------- */

void hop_session_greet_release(struct hop_session *s)
{
  struct hop_greet *g = s->greet;

  if (!g)
    return;
  s->greet = NULL;
  if (sizeof *g + g->cap <= s->w->greet_slab.chunk_bytes)
    hop_slab_put(&s->w->greet_slab, g);
  else
    free(g);
}

static void session_free(struct hop_session *s)
{
  hop_session_greet_release(s);
  free(s->label);
  hop_snapshot_unref(s->snap);
  free(s);
}

void hop_session_on_handle_closed(uv_handle_t *h)
{
  struct hop_session *s = h->data;

  if (--s->open_handles == 0)
    session_free(s);           /* the only place a session is freed */
}

static void unlink_session(struct hop_session *s)
{
  struct hop_worker *w = s->w;

  if (s->prev)
    s->prev->next = s->next;
  else
    w->sessions = s->next;
  if (s->next)
    s->next->prev = s->prev;
  atomic_fetch_sub_explicit(&w->live, 1, memory_order_relaxed);
  if (!w->sessions)
    hop_worker_on_idle(w);
}

/* ---- The log line ------------------------------------------------------------------------- */

/* Who this was, from the greet while it lives, else from the label saved at the hand-off. */
static void identity(const struct hop_session *s, const char **host, const char **player,
                     size_t *player_len, char uuid[37])
{
  uuid[0] = '\0';
  *host = *player = NULL;
  *player_len = 0;
  if (s->greet) {
    const struct hop_peek *pk = &s->greet->conn.peek;

    *host = s->greet->conn.legacy ? pk->legacy.host : pk->have_handshake ? pk->hs.host : NULL;
    if (pk->have_login) {
      *player = pk->login.name.ptr;
      *player_len = pk->login.name.len;
      if (pk->login.has_uuid)
        hop_uuid_format(pk->login.uuid, uuid);
    }
  } else if (s->label) {
    *host = s->label;
    *player = s->label + strlen(s->label) + 1;
    *player_len = strlen(*player);
    strcpy(uuid, *player + *player_len + 1);
  }
}

static void format_peer(const struct hop_session *s, char *out, size_t cap)
{
  char ip[64] = "-";
  int port = 0;

  if (s->peer.sa.sa_family == AF_INET) {
    uv_ip4_name(&s->peer.in, ip, sizeof ip);
    port = ntohs(s->peer.in.sin_port);
    snprintf(out, cap, "%s:%d", ip, port);
  } else if (s->peer.sa.sa_family == AF_INET6) {
    uv_ip6_name(&s->peer.in6, ip, sizeof ip);
    port = ntohs(s->peer.in6.sin6_port);
    snprintf(out, cap, "[%s]:%d", ip, port);
  } else {
    snprintf(out, cap, "-");
  }
}

static void log_session(const struct hop_session *s)
{
  struct hop_logline l;
  const char *host, *player;
  size_t player_len;
  char uuid[37], peer[80];
  enum hop_intent intent = s->greet ? hop_conn_intent(&s->greet->conn)
                                    : (enum hop_intent)s->intent;
  int32_t protocol = s->greet ? (s->greet->conn.legacy ? s->greet->conn.peek.legacy.protocol
                                 : s->greet->conn.peek.hs.protocol) : s->protocol;

  if (!hop_log_begin(&l, HOP_LOG_INFO, "session"))
    return;
  identity(s, &host, &player, &player_len, uuid);
  format_peer(s, peer, sizeof peer);
  hop_log_str(&l, "client", peer);
  hop_log_str(&l, "host", host);
  hop_log_str(&l, "server", s->server ? s->server->id : NULL);
  hop_log_strn(&l, "player", player, player_len);
  hop_log_str(&l, "uuid", uuid);
  hop_log_str(&l, "intent", hop_intent_name(intent));
  if (intent == HOP_INTENT_NONE || (intent == HOP_INTENT_LEGACY && protocol == 0))
    hop_log_str(&l, "protocol", NULL);
  else
    hop_log_int(&l, "protocol", protocol);
  hop_log_str(&l, "reason", hop_close_name(s->reason));
  hop_log_int(&l, "duration_ms", (int64_t)(uv_now(&s->w->loop) - s->accepted_ms));
  hop_log_int(&l, "bytes_c2b", (int64_t)s->bytes_c2b);
  hop_log_int(&l, "bytes_b2c", (int64_t)s->bytes_b2c);
  hop_log_end(&l);
}

/* ---- Closing ------------------------------------------------------------------------------ */

void hop_session_close(struct hop_session *s, enum hop_close reason)
{
  if (s->closing)
    return;
  s->closing = 1;
  if (s->reason == HOP_CLOSE_NONE)
    s->reason = reason;
  hop_metrics_inc(&s->w->metrics->closes[s->reason]);   /* before the log line: a reader of
                                                            the line finds it counted */
  if (s->admitted)
    hop_limits_release(s->ip_counted ? &s->peer.sa : NULL);
  s->admitted = 0;
  if (s->greet)
    hop_session_adopt_proxy_source(s);
  hop_session_strike(s);
  log_session(s);
  if (s->piped && s->server)
    hop_metrics_session_end(s->server->id, s->bytes_c2b, s->bytes_b2c);
  if (s->counted)
    post_session(s, HOP_MSG_SESSION_END);
  unlink_session(s);
  hop_dial_drop(s);
  uv_close((uv_handle_t *)&s->client, hop_session_on_handle_closed);
  uv_close((uv_handle_t *)&s->timer, hop_session_on_handle_closed);
  if (s->backend_open) {
    s->backend_open = 0;
    uv_close((uv_handle_t *)&s->backend, hop_session_on_handle_closed);
  }
}

void hop_session_arm_timer(struct hop_session *s, uint64_t deadline_ms);

static void on_shutdown(uv_shutdown_t *req, int status)
{
  (void)status;
  free(req);
}

/* Our answer is flushed: send FIN and read to the client's EOF (or a short linger), so closing
 * with unread bytes never turns into a reset that could eat the answer. */
static void linger(struct hop_session *s)
{
  uv_shutdown_t *req;

  s->lingering = 1;
  if (s->c2b.eof) {            /* the client already closed its side: nothing to wait for */
    hop_session_close(s, s->reason);
    return;
  }
  req = malloc(sizeof *req);
  if (!req || uv_shutdown(req, (uv_stream_t *)&s->client, on_shutdown) < 0) {
    free(req);
    hop_session_close(s, s->reason);
    return;
  }
  hop_session_arm_timer(s, uv_now(&s->w->loop) + HOP_LINGER_MS);
}

/* conn decided to close: flush what we wrote first, then linger if we said anything. */
static void finish(struct hop_session *s, enum hop_close reason)
{
  s->reason = reason;
  if (s->writes_client) {
    s->flushing = 1;           /* bounded: a client that never reads is dropped at the linger */
    hop_session_arm_timer(s, uv_now(&s->w->loop) + HOP_LINGER_MS);
  } else if (s->bytes_b2c)
    linger(s);
  else
    hop_session_close(s, reason);
}

/* ---- Talking to the client before the hand-off -------------------------------------------- */

static void on_answer_written(uv_write_t *req, int status)
{
  struct hop_write *wr = (struct hop_write *)req;
  struct hop_session *s = wr->s;

  hop_write_release(wr);
  s->writes_client--;
  if (s->closing)
    return;
  if (status < 0)
    hop_session_close(s, s->reason != HOP_CLOSE_NONE ? s->reason : HOP_CLOSE_CLIENT_RESET);
  else if (s->flushing && s->writes_client == 0)
    linger(s);
}

/* Writes an answer (up to HOP_ACTION_BUFS pieces); what the socket does not take at once is
 * copied, since conn's bytes live only until the next event. */
static void write_answer(struct hop_session *s, const struct hop_action *a)
{
  uv_buf_t bufs[HOP_ACTION_BUFS];
  unsigned n = 0;
  size_t total = 0, copied = 0;
  struct hop_write *wr;
  void *chunk;
  int done;

  bufs[n++] = uv_buf_init((char *)(uintptr_t)a->bytes, (unsigned)a->len);
  for (int i = 0; i < HOP_ACTION_BUFS - 1 && a->more[i]; i++)
    bufs[n++] = uv_buf_init((char *)(uintptr_t)a->more[i], (unsigned)a->more_len[i]);
  for (unsigned i = 0; i < n; i++)
    total += bufs[i].len;
  done = uv_try_write((uv_stream_t *)&s->client, bufs, n);
  if (done < 0 && done != UV_EAGAIN) {
    hop_session_close(s, HOP_CLOSE_CLIENT_RESET);
    return;
  }
  if (done > 0)
    s->bytes_b2c += (uint64_t)done;
  if (done > 0 && (size_t)done == total)
    return;
  chunk = total - (size_t)(done > 0 ? done : 0) <= HOP_RELAY_BUF_BYTES
            ? hop_pool_get(&s->w->buf_pool) : NULL;
  wr = chunk ? hop_write_new(s, chunk, 1) : NULL;
  if (!wr) {
    hop_pool_put(&s->w->buf_pool, chunk);
    hop_session_close(s, HOP_CLOSE_INTERNAL);
    return;
  }
  for (unsigned i = 0, skip = done > 0 ? (unsigned)done : 0; i < n; i++) {
    size_t from = skip < bufs[i].len ? skip : bufs[i].len;

    memcpy((char *)chunk + copied, bufs[i].base + from, bufs[i].len - from);
    copied += bufs[i].len - from;
    skip -= (unsigned)from;
  }
  bufs[0] = uv_buf_init(chunk, (unsigned)copied);
  s->bytes_b2c += copied;
  s->writes_client++;
  if (uv_write(&wr->req, (uv_stream_t *)&s->client, bufs, 1, on_answer_written) < 0) {
    s->writes_client--;
    hop_write_release(wr);
    hop_session_close(s, HOP_CLOSE_CLIENT_RESET);
  }
}

/* Keeps host, player and uuid for the log line once the greet goes back to its slab. */
static void save_label(struct hop_session *s)
{
  const char *host, *player;
  size_t player_len, host_len;
  char uuid[37];

  identity(s, &host, &player, &player_len, uuid);
  host_len = host ? strlen(host) : 0;
  s->label = malloc(host_len + player_len + strlen(uuid) + 3);
  if (!s->label)
    return;
  memcpy(s->label, host ? host : "", host_len + 1);
  memcpy(s->label + host_len + 1, player ? player : "", player_len);
  s->label[host_len + 1 + player_len] = '\0';
  strcpy(s->label + host_len + player_len + 2, uuid);
  s->intent = (uint8_t)hop_conn_intent(&s->greet->conn);
  s->protocol = s->greet->conn.legacy ? s->greet->conn.peek.legacy.protocol
                                      : s->greet->conn.peek.hs.protocol;
}

/* ---- Driving conn ------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
  struct hop_session *s = t->data;

  if (s->closing)
    return;
  if (s->lingering || s->flushing)
    hop_session_close(s, s->reason);
  else if (s->piped)
    hop_pipe_on_idle_timer(s);
  else if (s->greet) {
    refresh_snapshot(s);       /* a legacy ping routes when its silence times out */
    if (s->closing || s->piped)
      return;
    hop_conn_on_timer(&s->greet->conn, uv_now(&s->w->loop));
    run_actions(s);
  }
}

void hop_session_arm_timer(struct hop_session *s, uint64_t deadline_ms)
{
  uint64_t now = uv_now(&s->w->loop);

  if (deadline_ms == UINT64_MAX)
    uv_timer_stop(&s->timer);
  else
    uv_timer_start(&s->timer, on_timer, deadline_ms > now ? deadline_ms - now : 0, 0);
}

/* Whether the server we dialled is still in the newest routes: the control plane may have
 * removed it while we connected, and a player must not reach a backend that is no longer theirs
 * (found by sim, scenario churn). */
static int still_routed(struct hop_session *s)
{
  struct hop_worker *w = s->w;
  const struct hop_server *srv = s->greet->conn.server;

  hop_snapshot_refresh(&w->snap, &w->snap_gen);
  return !srv || !w->snap || w->snap == s->snap ||
         hop_route_table_find_id(w->snap->routes, srv->id) != NULL;
}

void hop_session_on_dialed(struct hop_session *s, int status)
{
  if (s->closing || !s->greet)
    return;
  if (status == 0 && !still_routed(s)) {
    s->backend_open = 0;       /* answered as unreachable: it is, for this player */
    uv_close((uv_handle_t *)&s->backend, hop_session_on_handle_closed);
    status = UV_ECONNABORTED;
  }
  hop_conn_on_backend(&s->greet->conn, status, uv_now(&s->w->loop));
  run_actions(s);
}

/* ---- Messages to and from the control loop ------------------------------------------------ */

static void peer_ip(const struct hop_session *s, char *out, size_t cap)
{
  if (s->peer.sa.sa_family == AF_INET)
    uv_ip4_name(&s->peer.in, out, cap);
  else if (s->peer.sa.sa_family == AF_INET6)
    uv_ip6_name(&s->peer.in6, out, cap);
  else
    snprintf(out, cap, "-");
}

static struct hop_msg *msg_new(struct hop_session *s, enum hop_msg_kind kind)
{
  struct hop_msg *m = calloc(1, sizeof *m);
  const char *host, *player;
  size_t player_len;
  char uuid[37];

  if (!m)
    return NULL;
  m->kind = kind;
  m->worker = s->w->id;
  m->session = s->serial;
  snprintf(m->server_id, sizeof m->server_id, "%s", s->server ? s->server->id : "");
  peer_ip(s, m->client_ip, sizeof m->client_ip);
  identity(s, &host, &player, &player_len, uuid);
  snprintf(m->player, sizeof m->player, "%.*s", (int)player_len, player ? player : "");
  snprintf(m->uuid, sizeof m->uuid, "%s", uuid);
  return m;
}

static void post_wake(struct hop_session *s)
{
  struct hop_msg *m;

  hop_session_adopt_proxy_source(s);       /* the wake quota counts the real client */
  m = msg_new(s, HOP_MSG_WAKE);

  if (!m || !s->w->control) {
    free(m);
    hop_conn_on_wake(&s->greet->conn, HOP_WAKE_UNKNOWN, 0, uv_now(&s->w->loop));
    return;                    /* run_actions goes on with conn's answer */
  }
  hop_mailbox_post(s->w->control, m);
}

/* Tells the control loop a player is relayed to a server with a lifecycle (counts for idle stop;
 * join and leave events). */
static void post_session(struct hop_session *s, enum hop_msg_kind kind)
{
  struct hop_msg *m;

  if (!s->w->control || !s->server || !s->server->managed)
    return;
  m = msg_new(s, kind);
  if (!m)
    return;
  m->intent = s->intent;
  m->protocol = s->protocol;
  m->duration_ms = uv_now(&s->w->loop) - s->accepted_ms;
  m->bytes_c2b = s->bytes_c2b;
  m->bytes_b2c = s->bytes_b2c;
  s->counted = kind == HOP_MSG_SESSION_BEGIN;
  hop_mailbox_post(s->w->control, m);
}

void hop_session_on_msg(struct hop_worker *w, const struct hop_msg *m)
{
  struct hop_session *s, *next;

  for (s = w->sessions; s; s = next) {
    struct hop_conn *c;

    next = s->next;
    if (s->closing || s->piped || !s->greet || !s->server)
      continue;
    c = &s->greet->conn;
    if (m->kind == HOP_MSG_WAKE_REPLY && s->serial == m->session)
      hop_conn_on_wake(c, m->result, m->eta_s, uv_now(&w->loop));
    else if (m->kind == HOP_MSG_STATE && strcmp(s->server->id, m->server_id) == 0)
      hop_conn_on_server_state(c, (enum hop_state)m->state, uv_now(&w->loop));
    else
      continue;
    run_actions(s);
  }
}

static void hand_off(struct hop_session *s, const uint8_t *bytes, size_t len)
{
  hop_session_adopt_proxy_source(s);
  save_label(s);
  hop_metrics_session_begin(s->server->id);
  if (s->intent == HOP_INTENT_LOGIN || s->intent == HOP_INTENT_TRANSFER)
    post_session(s, HOP_MSG_SESSION_BEGIN);
  s->piped = 1;
  uv_timer_stop(&s->timer);
  hop_pipe_start(s, bytes, len);
}

static void run_actions(struct hop_session *s)
{
  struct hop_conn *c = &s->greet->conn;
  struct hop_action a;

  hop_session_check_limits(s, c);
  if (!s->server)
    s->server = c->server;     /* routed: its id goes in the log line whatever happens next */
  while (!s->closing && !s->piped && hop_conn_next_action(c, &a)) {
    if (!s->decided) {         /* the first action is the routing decision */
      s->decided = 1;
      hop_hist_observe(&s->w->metrics->handshake, (uv_now(&s->w->loop) - s->accepted_ms) * 1000);
    }
    switch (a.kind) {
    case HOP_ACT_CONNECT: {
      int rc;

      s->server = c->server;
      rc = hop_dial_start(s);
      if (rc < 0)
        hop_conn_on_backend(c, rc, uv_now(&s->w->loop));
      break;
    }
    case HOP_ACT_WRITE:
      write_answer(s, &a);
      break;
    case HOP_ACT_WAKE:
      s->server = c->server;
      post_wake(s);
      break;
    case HOP_ACT_PIPE:
      hand_off(s, a.bytes, a.len);
      return;
    case HOP_ACT_DROP_BACKEND:
      hop_dial_drop(s);
      break;
    case HOP_ACT_CLOSE:
      uv_timer_stop(&s->timer);
      finish(s, a.reason);
      return;
    }
  }
  if (!s->closing && !s->piped)
    hop_session_arm_timer(s, hop_conn_deadline(c));
}

static void on_greet_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct hop_session *s = h->data;
  struct hop_greet *g = s->greet;

  (void)suggested;
  if (s->lingering || !g)
    *buf = uv_buf_init((char *)s->w->discard, sizeof s->w->discard);
  else
    *buf = uv_buf_init((char *)g->preread + g->len, (unsigned)(g->cap - g->len));
}

/* Follow the newest snapshot until the hand-off: before routing, a session moves to it (a
 * document published while the opening trickled in may have removed or moved the server);
 * after routing, a server gone from it is not piped to (found by sim, scenario churn). */
static void refresh_snapshot(struct hop_session *s)
{
  struct hop_worker *w = s->w;
  struct hop_conn *c = &s->greet->conn;

  hop_snapshot_refresh(&w->snap, &w->snap_gen);
  if (!w->snap || w->snap == s->snap)
    return;
  if (!c->routed) {
    hop_snapshot_ref(w->snap);
    hop_snapshot_unref(s->snap);
    s->snap = w->snap;
    hop_conn_rebind(c, &s->snap->cfg->conn, s->snap->routes);
  } else if (c->server && !hop_route_table_find_id(w->snap->routes, c->server->id)) {
    hop_conn_on_route_gone(c, uv_now(&w->loop));
    run_actions(s);            /* its answer, before the next event reuses the out buffer */
  }
}

/* A login waiting for its wake or held reads next to nothing, so no event of its own shows it a
 * snapshot without its server: the worker calls this four times a second, and it walks the
 * sessions only when a new snapshot came. */
void hop_session_follow_routes(struct hop_worker *w)
{
  struct hop_session *s, *next;

  hop_snapshot_refresh(&w->snap, &w->snap_gen);
  if (w->snap_gen == w->followed_gen)
    return;
  w->followed_gen = w->snap_gen;
  for (s = w->sessions; s; s = next) {
    next = s->next;
    if (!s->closing && !s->piped && s->greet && s->greet->conn.routed)
      refresh_snapshot(s);
  }
}

static void on_greet_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  struct hop_session *s = stream->data;
  struct hop_greet *g = s->greet;
  uint64_t now = uv_now(&s->w->loop);

  (void)buf;
  if (s->closing || nread == 0)
    return;
  if (s->lingering) {
    if (nread < 0)
      hop_session_close(s, s->reason);
    return;
  }
  if (nread > 0) {
    g->len += (size_t)nread;
    s->bytes_c2b += (uint64_t)nread;
    g->len = hop_conn_compact(&g->conn, g->preread, g->len);
    refresh_snapshot(s);
    if (s->closing)
      return;
    hop_conn_on_bytes(&g->conn, g->preread, g->len, now);
    if (g->len == g->cap && g->conn.ready) {
      uv_read_stop(stream);    /* full while the backend connects: the relay reads on */
      s->client_paused = 1;
    }
  } else if (nread == UV_EOF) {
    s->c2b.eof = 1;            /* carried on to the backend if this session gets piped */
    hop_conn_on_eof(&g->conn, now);
  } else if (nread == UV_ENOBUFS) {
    hop_session_close(s, HOP_CLOSE_FRAME_TOO_LARGE);
    return;
  } else {
    hop_session_close(s, HOP_CLOSE_CLIENT_RESET);
    return;
  }
  run_actions(s);
}

/* ---- Accept ------------------------------------------------------------------------------- */

static struct hop_greet *greet_new(struct hop_worker *w, size_t cap)
{
  struct hop_greet *g = sizeof *g + cap <= w->greet_slab.chunk_bytes   /* else a reload raised it */
                          ? hop_slab_get(&w->greet_slab) : malloc(sizeof *g + cap);

  if (g) {
    g->len = 0;
    g->cap = cap;
  }
  return g;
}

/* Closes a session that never got going, without a log line. */
static void drop_unlogged(struct hop_session *s)
{
  s->closing = 1;
  unlink_session(s);
  uv_close((uv_handle_t *)&s->client, hop_session_on_handle_closed);
  uv_close((uv_handle_t *)&s->timer, hop_session_on_handle_closed);
}

void hop_session_accept(struct hop_worker *w, uv_stream_t *listener)
{
  struct hop_session *s = calloc(1, sizeof *s);
  const struct hop_config *cfg;
  int namelen = sizeof s->peer;

  if (!s)
    return;                    /* the connection waits in the backlog for the next try */
  s->w = w;
  s->serial = ++w->next_serial;
  uv_tcp_init(&w->loop, &s->client);
  s->client.data = s;
  uv_timer_init(&w->loop, &s->timer);
  s->timer.data = s;
  s->open_handles = 2;
  s->accepted_ms = uv_now(&w->loop);
  hop_metrics_inc(&w->metrics->accepted);
  hop_snapshot_refresh(&w->snap, &w->snap_gen);
  s->snap = w->snap;
  hop_snapshot_ref(s->snap);
  cfg = s->snap->cfg;
  s->next = w->sessions;
  if (w->sessions)
    w->sessions->prev = s;
  w->sessions = s;
  atomic_fetch_add_explicit(&w->live, 1, memory_order_relaxed);

  if (uv_accept(listener, (uv_stream_t *)&s->client) < 0) {
    s->reason = HOP_CLOSE_INTERNAL;
    drop_unlogged(s);          /* nothing happened: no log line */
    return;
  }
  uv_tcp_getpeername(&s->client, &s->peer.sa, &namelen);   /* TCP_NODELAY: from the listener */
  if (hop_session_admit(s, cfg) != HOP_CLOSE_NONE) {
    drop_unlogged(s);          /* one accept, one close: no log line, no buffer */
    return;
  }
  s->greet = greet_new(w, cfg->conn.preread_bytes_max);
  if (!s->greet) {
    hop_session_close(s, HOP_CLOSE_INTERNAL);
    return;
  }
  hop_conn_init(&s->greet->conn, &cfg->conn, s->snap->routes, w->answer, sizeof w->answer,
                s->accepted_ms);
  if (!s->ip_counted)           /* a trusted proxy */
    hop_conn_set_proxy(&s->greet->conn, cfg->proxy_required ? HOP_PROXY_REQUIRE
                                                            : HOP_PROXY_ACCEPT);
  if (hop_session_needs_gate(s))
    hop_conn_set_gate(&s->greet->conn);
  if (uv_read_start((uv_stream_t *)&s->client, on_greet_alloc, on_greet_read) < 0) {
    hop_session_close(s, HOP_CLOSE_CLIENT_RESET);
    return;
  }
  hop_session_arm_timer(s, hop_conn_deadline(&s->greet->conn));
}
