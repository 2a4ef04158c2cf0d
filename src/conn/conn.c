/* The session core up to the pipe: read the opening bytes, route, connect, and either hand the
 * bytes to the relay or answer the player ourselves. Pure: no I/O, no clock, no allocation.
 * Holding a login while its server starts is in hold.c. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "hop/conn.h"
#include "hop/err.h"
#include "internal.h"

static const char text_timeout[] = "Timed out: your client did not finish logging in.";
static const char head_open[] = "{\"version\":{\"name\":\"";
static const char text_malformed[] = "Your client sent a connection request hopper cannot read.";

/* ---- Actions ------------------------------------------------------------------------------ */

static void push(struct hop_conn *c, enum hop_action_kind kind, const uint8_t *bytes, size_t len)
{
  struct hop_action *a;

  if (c->actions_len == HOP_CONN_ACTIONS_MAX)
    return;                    /* cannot happen: one event yields at most three actions */
  a = &c->actions[(c->actions_head + c->actions_len++) % HOP_CONN_ACTIONS_MAX];
  memset(a, 0, sizeof *a);
  a->kind = kind;
  a->bytes = bytes;
  a->len = len;
  a->reason = c->reason;
}

void hop_conn__close_with(struct hop_conn *c, enum hop_close reason)
{
  if (c->state == HOP_CONN_CLOSED || c->state == HOP_CONN_PIPED)
    return;
  if (c->connecting) {
    c->connecting = 0;
    push(c, HOP_ACT_DROP_BACKEND, NULL, 0);
  }
  c->reason = reason;
  c->state = HOP_CONN_CLOSED;
  push(c, HOP_ACT_CLOSE, NULL, 0);
}

uint8_t *hop_conn__out_room(struct hop_conn *c, size_t *cap)
{
  *cap = c->out_cap - c->out_used;
  return c->out + c->out_used;
}

void hop_conn__write_out(struct hop_conn *c, int n)
{
  if (n <= 0)
    return;                    /* an answer that does not fit is dropped; the close follows */
  push(c, HOP_ACT_WRITE, c->out + c->out_used, (size_t)n);
  c->out_used += (size_t)n;
}

/* ---- Answers hopper gives itself --------------------------------------------------------- */

static enum hop_intent intent_of(const struct hop_conn *c)
{
  if (c->legacy)
    return HOP_INTENT_LEGACY;
  return c->peek.have_handshake ? c->peek.hs.intent : HOP_INTENT_NONE;
}

static const char *host_of(const struct hop_conn *c)
{
  return c->legacy ? c->peek.legacy.host : c->peek.hs.host;
}

/* Fills a configured text's {host} and {server}. The host is the player's own bytes: control
 * characters become '?' so they cannot garble the message. */
static int render(const struct hop_conn *c, const char *tmpl, char *out, size_t cap)
{
  char host[HOP_HOST_BYTES_MAX + 1];
  const char *raw = host_of(c);
  size_t i = 0;

  for (; raw[i] && i < HOP_HOST_BYTES_MAX; i++)
    host[i] = (unsigned char)raw[i] < 0x20 || raw[i] == 0x7f ? '?' : raw[i];
  host[i] = '\0';

  char eta[16];

  snprintf(eta, sizeof eta, "%u", c->eta_s ? c->eta_s : 30u);
  const char *vars[] = { "host", host, "server", c->server ? c->server->id : host, "eta", eta,
                         NULL };
  int n = hop_template(out, cap, tmpl, vars);

  return n < 0 ? 0 : n;
}

void hop_conn__send_disconnect(struct hop_conn *c, const char *tmpl)
{
  char text[HOP_TEXT_BYTES_MAX + 2 * HOP_HOST_BYTES_MAX];
  size_t cap;
  uint8_t *out = hop_conn__out_room(c, &cap);
  int n = render(c, tmpl, text, sizeof text);

  hop_conn__write_out(c, hop_disconnect_encode(out, cap, text, (size_t)n));
}

static void send_legacy_kick(struct hop_conn *c, const char *motd_tmpl, int32_t players_max)
{
  char motd[HOP_TEXT_BYTES_MAX + 2 * HOP_HOST_BYTES_MAX];
  size_t cap;
  uint8_t *out = hop_conn__out_room(c, &cap);
  int32_t protocol = c->peek.legacy.protocol ? c->peek.legacy.protocol : 127;

  render(c, motd_tmpl, motd, sizeof motd);
  hop_conn__write_out(c, hop_legacy_kick_encode(out, cap, c->peek.legacy.form, protocol,
                                               c->cfg->version_name, motd, 0, players_max));
}

/* The status answer for a managed server that is not running: a head with the client's protocol
 * (built here) and the state's precomputed tail (in the server, alive while the table is). */
static void write_state_status(struct hop_conn *c)
{
  const struct hop_server *srv = c->server;
  char head[256], fallback[HOP_TEXT_BYTES_MAX * 2 + 96];
  const char *tail = srv->status.tail[c->server_state];
  size_t tail_len = srv->status.tail_len[c->server_state], pos = 0, cap;
  uint8_t *out = hop_conn__out_room(c, &cap);
  int head_len, n;

  memcpy(head, head_open, sizeof head_open - 1);
  pos = sizeof head_open - 1;
  if (hop_json_escape(head, sizeof head - 24, &pos, c->cfg->version_name,
                      strlen(c->cfg->version_name)))
    return;
  head_len = (int)pos + snprintf(head + pos, sizeof head - pos, "\",\"protocol\":%d",
                                 (int)c->peek.hs.protocol);
  if (!tail) {                 /* no precomputed answer: players 0/0 and the default MOTD */
    const char *motd = c->cfg->state_motd[c->server_state];
    size_t fpos = 0;

    n = snprintf(fallback, sizeof fallback,
                 "},\"players\":{\"max\":0,\"online\":0},\"description\":{\"text\":\"");
    fpos = (size_t)n;
    if (!motd || hop_json_escape(fallback, sizeof fallback - 4, &fpos, motd, strlen(motd)))
      return;
    memcpy(fallback + fpos, "\"}}", 3);
    tail = fallback;
    tail_len = fpos + 3;
  }
  {
    size_t json_len = (size_t)head_len + tail_len;
    size_t body = 1 + (size_t)hop_varint_size((int32_t)json_len) + json_len;
    size_t o = 0;

    if (cap < HOP_VARINT_BYTES_MAX * 2 + 1 + (size_t)head_len + (tail == fallback ? tail_len : 0))
      return;
    o += (size_t)hop_varint_encode(out, (int32_t)body);
    out[o++] = 0x00;
    o += (size_t)hop_varint_encode(out + o, (int32_t)json_len);
    memcpy(out + o, head, (size_t)head_len);
    o += (size_t)head_len;
    if (tail == fallback) {    /* the fallback lives on this stack: copy it too */
      memcpy(out + o, fallback, tail_len);
      o += tail_len;
      tail_len = 0;
    }
    push(c, HOP_ACT_WRITE, out, o);
    if (tail_len) {
      struct hop_action *a = &c->actions[(c->actions_head + c->actions_len - 1)
                                         % HOP_CONN_ACTIONS_MAX];

      a->more[0] = (const uint8_t *)tail;
      a->more_len[0] = tail_len;
    }
    c->out_used += o;
  }
}

/* Runs the status exchange over frames after the handshake: Request -> Response, Ping -> Pong
 * and close. The client may ping without asking for status first. */
static void answer_status(struct hop_conn *c)
{
  while (c->state == HOP_CONN_ANSWER) {
    struct hop_frame f;
    int64_t payload = 0;
    size_t room = c->cfg->preread_bytes_max - c->answer_pos;
    int n = hop_frame_parse(c->buf + c->answer_pos, c->buf_len - c->answer_pos, room, &f);
    int kind;

    if (n == 0 && c->buf_len < c->cfg->preread_bytes_max) {
      if (c->client_eof)
        hop_conn__close_with(c, c->answer_reason);   /* no Ping will come: done */
      return;
    }
    kind = n > 0 ? hop_status_classify(&f, &payload) : HOP_ESTATUS;
    if (kind < 0 || (kind == HOP_STATUS_REQUEST && c->answered_status)) {
      hop_conn__close_with(c, HOP_CLOSE_BAD_STATUS);
      return;
    }
    c->answer_pos += (size_t)n;
    if (kind == HOP_STATUS_REQUEST && c->state_answer) {
      c->answered_status = 1;
      write_state_status(c);
    } else if (kind == HOP_STATUS_REQUEST) {
      char json[HOP_CONN_OUT_BYTES];
      char motd[HOP_TEXT_BYTES_MAX + 2 * HOP_HOST_BYTES_MAX];
      size_t cap;
      uint8_t *out = hop_conn__out_room(c, &cap);
      int motd_len = render(c, c->answer_motd, motd, sizeof motd);
      int json_len = hop_status_json(json, sizeof json, c->cfg->version_name, motd,
                                     (size_t)motd_len, c->peek.hs.protocol, c->cfg->players_max);

      c->answered_status = 1;
      if (json_len > 0)
        hop_conn__write_out(c, hop_status_response_encode(out, cap, json, (size_t)json_len));
    } else {
      size_t cap;
      uint8_t *out = hop_conn__out_room(c, &cap);

      hop_conn__write_out(c, hop_pong_encode(out, cap, payload));
      hop_conn__close_with(c, c->answer_reason);
    }
  }
}

/* Speaks for a server that has no route (NO_ROUTE) or cannot be reached (the failure reason). */
static void answer(struct hop_conn *c, enum hop_close reason, const char *motd,
                   const char *disconnect)
{
  switch (intent_of(c)) {
  case HOP_INTENT_STATUS:
    if (reason == HOP_CLOSE_NO_ROUTE && c->cfg->unknown_status == HOP_UNKNOWN_STATUS_DROP)
      break;
    c->state = HOP_CONN_ANSWER;
    c->answer_reason = reason;
    c->answer_motd = motd;
    c->answer_pos = c->proxy_len + c->peek.pos;
    answer_status(c);
    return;
  case HOP_INTENT_LEGACY:
    send_legacy_kick(c, motd, c->cfg->players_max);
    break;
  case HOP_INTENT_LOGIN:
  case HOP_INTENT_TRANSFER:
    hop_conn__send_disconnect(c, disconnect);
    break;
  case HOP_INTENT_NONE:
    break;
  }
  hop_conn__close_with(c, reason);
}

static void answer_unreachable(struct hop_conn *c)
{
  answer(c, c->backend_failure, c->cfg->unreachable_motd, c->cfg->unreachable_disconnect);
}

/* Malformed or too slow: close with the cause, and tell a client that reached login why. */
static void refuse(struct hop_conn *c, enum hop_close reason, const char *text)
{
  enum hop_intent intent = intent_of(c);

  if (intent == HOP_INTENT_LOGIN || intent == HOP_INTENT_TRANSFER)
    hop_conn__send_disconnect(c, text);
  hop_conn__close_with(c, reason);
}

/* ---- Routing and the hand-off ------------------------------------------------------------ */

void hop_conn__connect_backend(struct hop_conn *c, uint64_t now_ms)
{
  c->connecting = 1;
  c->deadline_ms_connect = now_ms + c->cfg->timeout_ms_connect;
  push(c, HOP_ACT_CONNECT, NULL, 0);
}

static void route(struct hop_conn *c, uint64_t now_ms)
{
  c->routed = 1;
  c->server = hop_route_lookup(c->routes, host_of(c), strlen(host_of(c)));
  if (!c->server)
    return;
  c->server_state = c->server->managed ? (enum hop_state)atomic_load(&c->server->state)
                                       : HOP_STATE_RUNNING;
  if (c->server_state == HOP_STATE_RUNNING)
    hop_conn__connect_backend(c, now_ms);
}

/* A managed server that is not running: hopper speaks for it, and a login asks for a wake. */
static void answer_for_state(struct hop_conn *c)
{
  switch (intent_of(c)) {
  case HOP_INTENT_STATUS:
    c->state = HOP_CONN_ANSWER;
    c->state_answer = 1;
    c->answer_reason = HOP_CLOSE_SERVER_NOT_RUNNING;
    c->answer_pos = c->proxy_len + c->peek.pos;
    answer_status(c);
    return;
  case HOP_INTENT_LEGACY: {
    const struct hop_server_status *st = &c->server->status;
    const char *motd = st->motd_plain[c->server_state];

    send_legacy_kick(c, motd ? motd : c->cfg->state_motd[c->server_state],
                     st->players_max >= 0 ? st->players_max : c->cfg->players_max);
    hop_conn__close_with(c, HOP_CLOSE_SERVER_NOT_RUNNING);
    return;
  }
  case HOP_INTENT_LOGIN:
  case HOP_INTENT_TRANSFER:
    c->state = HOP_CONN_WAKING;
    push(c, HOP_ACT_WAKE, NULL, 0);
    return;
  case HOP_INTENT_NONE:
    break;
  }
  hop_conn__close_with(c, HOP_CLOSE_INTERNAL);
}

/* Everything the client must send before routing is in: decide, or wait for the backend. */
static void proceed(struct hop_conn *c)
{
  if (!c->ready || c->state != HOP_CONN_PREREAD)
    return;
  if (!c->server) {
    answer(c, HOP_CLOSE_NO_ROUTE, c->cfg->unknown_motd, c->cfg->unknown_disconnect);
  } else if (c->server_state != HOP_STATE_RUNNING) {
    answer_for_state(c);
  } else if (c->backend_ok && c->held && !c->answers_overdue &&
             (c->buf_len > c->keep_len || c->keepalive_answered < c->keepalive_id)) {
    return;                    /* a keepalive answer is still on its way: swallow it first */
  } else if (c->backend_ok) {
    c->state = HOP_CONN_PIPED;
    /* a PROXY header we received is not replayed: the backend gets its own, if configured */
    push(c, HOP_ACT_PIPE, c->buf + c->proxy_len,
         (c->held ? c->keep_len : c->buf_len) - c->proxy_len);
  } else if (c->backend_failure != HOP_CLOSE_NONE) {
    answer_unreachable(c);
  }
}

static void on_peek(struct hop_conn *c, int r, uint64_t now_ms)
{
  if (r < 0) {
    refuse(c, hop_close_from_err(r), text_malformed);
    return;
  }
  c->deadline_ms_settle = c->peek.legacy_pending ? now_ms + HOP_LEGACY_SETTLE_MS : NO_DEADLINE;
  if (r == HOP_PEEK_LEGACY)
    c->legacy = 1;
  if (r != HOP_PEEK_MORE)
    c->ready = 1;
  if (c->gate != HOP_GATE_OPEN && (c->legacy || c->peek.have_handshake)) {
    c->gate = HOP_GATE_WAITING;   /* the shell decides (hop_conn_open_gate or _refuse) */
    return;
  }
  if (!c->routed && (c->legacy || c->peek.have_handshake))
    route(c, now_ms);
  if (c->ready)
    proceed(c);
}

void hop_conn_set_gate(struct hop_conn *c)
{
  if (c->state == HOP_CONN_PREREAD && !c->routed)
    c->gate = HOP_GATE_CLOSED;
}

void hop_conn_open_gate(struct hop_conn *c, uint64_t now_ms)
{
  if (c->gate != HOP_GATE_WAITING || c->state != HOP_CONN_PREREAD)
    return;
  c->out_used = 0;
  c->gate = HOP_GATE_OPEN;
  route(c, now_ms);
  if (c->ready)
    proceed(c);
}

void hop_conn_refuse(struct hop_conn *c, enum hop_close reason, const char *text, int silent)
{
  if (c->state == HOP_CONN_CLOSED || c->state == HOP_CONN_PIPED)
    return;
  int was_connecting = c->connecting;

  c->actions_head = c->actions_len = 0;      /* a CONNECT that was not carried out yet */
  c->connecting = 0;
  c->server = NULL;
  if (was_connecting)
    push(c, HOP_ACT_DROP_BACKEND, NULL, 0);   /* or one that was: abandon it */
  if (silent || !c->ready) {
    hop_conn__close_with(c, reason);
    return;
  }
  if (intent_of(c) == HOP_INTENT_STATUS) {
    c->state = HOP_CONN_ANSWER;
    c->answer_reason = reason;
    c->answer_motd = text;
    c->answer_pos = c->proxy_len + c->peek.pos;
    answer_status(c);
    return;
  }
  answer(c, reason, text, text);
}

/* ---- PROXY protocol ----------------------------------------------------------------------- */

/* Before the Minecraft bytes: a PROXY header, accepted only from trusted peers. Returns 1 when
 * the peek may run (on buf + proxy_len), 0 while more bytes are needed or after a close. */
static int proxy_stage(struct hop_conn *c, const uint8_t *buf, size_t len)
{
  struct hop_proxy_header h;
  int d, n;

  if (c->proxy_done)
    return 1;
  d = hop_proxy_detect(buf, len);
  if (d == HOP_PROXY_MORE)
    return 0;
  if (d == HOP_PROXY_NO) {
    if (c->proxy_mode == HOP_PROXY_REQUIRE) {
      hop_conn__close_with(c, HOP_CLOSE_PROXY_MISSING);
      return 0;
    }
    c->proxy_done = 1;
    return 1;
  }
  if (c->proxy_mode == HOP_PROXY_REFUSE) {
    hop_conn__close_with(c, HOP_CLOSE_PROXY_UNTRUSTED);  /* anyone could claim any client address */
    return 0;
  }
  n = hop_proxy_parse(buf, len, HOP_PROXY_BYTES_DEFAULT, &h);
  if (n == 0)
    return len >= c->cfg->preread_bytes_max
           ? (hop_conn__close_with(c, HOP_CLOSE_PROXY_MALFORMED), 0) : 0;
  if (n < 0) {
    hop_conn__close_with(c, HOP_CLOSE_PROXY_MALFORMED);
    return 0;
  }
  c->proxy_done = 1;
  c->proxy_len = (size_t)n;
  c->peek.bytes_max -= (size_t)n;
  if (!h.local) {
    c->proxy_src = h.src;
    c->have_proxy_src = 1;
  }
  return 1;
}

void hop_conn_set_proxy(struct hop_conn *c, enum hop_proxy_mode mode)
{
  c->proxy_mode = mode;
}

/* ---- Events ------------------------------------------------------------------------------ */

void hop_conn_rebind(struct hop_conn *c, const struct hop_conn_config *cfg,
                     const struct hop_route_table *routes)
{
  if (c->state != HOP_CONN_PREREAD || c->routed)
    return;
  c->cfg = cfg;
  c->routes = routes;
}

void hop_conn_init(struct hop_conn *c, const struct hop_conn_config *cfg,
                   const struct hop_route_table *routes, uint8_t *out, size_t out_cap,
                   uint64_t now_ms)
{
  memset(c, 0, sizeof *c);
  c->out = out;
  c->out_cap = out_cap;
  c->cfg = cfg;
  c->routes = routes;
  c->state = HOP_CONN_PREREAD;
  hop_peek_init(&c->peek, cfg->preread_bytes_max, cfg->address_bytes_max);
  c->deadline_ms_handshake = now_ms + cfg->timeout_ms_handshake;
  c->deadline_ms_connect = NO_DEADLINE;
  c->deadline_ms_settle = NO_DEADLINE;
  c->deadline_ms_hold = NO_DEADLINE;
  c->deadline_ms_keepalive = NO_DEADLINE;
  c->deadline_ms_answers = NO_DEADLINE;
}

void hop_conn_on_bytes(struct hop_conn *c, const uint8_t *buf, size_t len, uint64_t now_ms)
{
  c->out_used = 0;
  c->buf = buf;
  c->buf_len = len;
  if (c->state == HOP_CONN_PREREAD && !c->ready && proxy_stage(c, buf, len))
    on_peek(c, hop_peek_feed(&c->peek, buf + c->proxy_len, len - c->proxy_len), now_ms);
  else if (c->state == HOP_CONN_ANSWER)
    answer_status(c);
  else if (c->state == HOP_CONN_PREREAD && c->held)
    proceed(c);                /* a swallowed keepalive answer completed: pipe if connected */
}

void hop_conn_on_eof(struct hop_conn *c, uint64_t now_ms)
{
  c->out_used = 0;
  c->client_eof = 1;
  if (c->state == HOP_CONN_ANSWER) {
    hop_conn__close_with(c, c->answer_reason);
  } else if (c->state == HOP_CONN_WAKING || c->state == HOP_CONN_HOLD) {
    hop_conn__close_with(c, HOP_CLOSE_EARLY_EOF);      /* the player gave up waiting */
  } else if (c->state == HOP_CONN_PREREAD && !c->ready) {
    if (c->peek.legacy_pending)
      on_peek(c, hop_peek_settle(&c->peek), now_ms);
    else
      hop_conn__close_with(c, HOP_CLOSE_EARLY_EOF);
  }
  /* Ready and waiting for the backend: the relay carries the half-close on once piped. */
}

void hop_conn_on_backend(struct hop_conn *c, int status, uint64_t now_ms)
{
  (void)now_ms;
  c->out_used = 0;
  if (!c->connecting)
    return;
  c->connecting = 0;
  c->deadline_ms_connect = NO_DEADLINE;
  if (status == 0)
    c->backend_ok = 1;
  else
    c->backend_failure = HOP_CLOSE_BACKEND_UNREACHABLE;
  proceed(c);
}

void hop_conn_on_route_gone(struct hop_conn *c, uint64_t now_ms)
{
  (void)now_ms;
  c->out_used = 0;
  if (c->state == HOP_CONN_WAKING || c->state == HOP_CONN_HOLD) {
    /* no state change will ever come for a server that is gone: do not hold the player for it */
    answer(c, HOP_CLOSE_NO_ROUTE, c->cfg->unknown_motd, c->cfg->unknown_disconnect);
    return;
  }
  if (c->state != HOP_CONN_PREREAD || (!c->connecting && !c->backend_ok))
    return;
  c->connecting = 0;
  c->backend_ok = 0;
  c->deadline_ms_connect = NO_DEADLINE;
  c->backend_failure = HOP_CLOSE_BACKEND_UNREACHABLE;
  push(c, HOP_ACT_DROP_BACKEND, NULL, 0);
  proceed(c);
}

void hop_conn_on_timer(struct hop_conn *c, uint64_t now_ms)
{
  c->out_used = 0;
  if (c->connecting && now_ms >= c->deadline_ms_connect) {
    c->connecting = 0;
    c->deadline_ms_connect = NO_DEADLINE;
    c->backend_failure = HOP_CLOSE_CONNECT_TIMEOUT;
    push(c, HOP_ACT_DROP_BACKEND, NULL, 0);
    proceed(c);
  }
  if (c->state == HOP_CONN_HOLD) {
    hop_conn__on_hold_timer(c, now_ms);
    return;
  }
  if (c->held && c->state == HOP_CONN_PREREAD && now_ms >= c->deadline_ms_answers) {
    c->answers_overdue = 1;
    proceed(c);
  }
  if (c->state == HOP_CONN_PREREAD && !c->ready && now_ms >= c->deadline_ms_settle)
    on_peek(c, hop_peek_settle(&c->peek), now_ms);
  if (now_ms < c->deadline_ms_handshake)
    return;
  if ((c->state == HOP_CONN_PREREAD && !c->ready) || c->state == HOP_CONN_WAKING)
    refuse(c, HOP_CLOSE_HANDSHAKE_TIMEOUT, text_timeout);
  else if (c->state == HOP_CONN_ANSWER)
    hop_conn__close_with(c, c->answer_reason);
}

int hop_conn_next_action(struct hop_conn *c, struct hop_action *out)
{
  if (c->actions_len == 0)
    return 0;
  *out = c->actions[c->actions_head];
  c->actions_head = (c->actions_head + 1) % HOP_CONN_ACTIONS_MAX;
  c->actions_len--;
  return 1;
}

uint64_t hop_conn_deadline(const struct hop_conn *c)
{
  uint64_t d = NO_DEADLINE;

  if (c->state == HOP_CONN_HOLD)
    return c->deadline_ms_hold < c->deadline_ms_keepalive ? c->deadline_ms_hold
                                                          : c->deadline_ms_keepalive;
  if ((c->state == HOP_CONN_PREREAD && !c->ready) || c->state == HOP_CONN_ANSWER ||
      c->state == HOP_CONN_WAKING)
    d = c->deadline_ms_handshake;
  if (c->connecting && c->deadline_ms_connect < d)
    d = c->deadline_ms_connect;
  if (c->held && c->state == HOP_CONN_PREREAD && c->backend_ok && c->deadline_ms_answers < d)
    d = c->deadline_ms_answers;
  if (c->state == HOP_CONN_PREREAD && c->peek.legacy_pending && c->deadline_ms_settle < d)
    d = c->deadline_ms_settle;
  return d;
}

enum hop_intent hop_conn_intent(const struct hop_conn *c)
{
  return intent_of(c);
}
