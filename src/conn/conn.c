/* The session core up to the pipe: read the opening bytes, route, connect, and either hand the
 * bytes to the relay or answer the player ourselves. Pure: no I/O, no clock, no allocation. */
#include <stddef.h>
#include <string.h>

#include "hop/conn.h"
#include "hop/err.h"

#define NO_DEADLINE UINT64_MAX

static const char text_timeout[] = "Timed out: your client did not finish logging in.";
static const char text_malformed[] = "Your client sent a connection request hopper cannot read.";

/* ---- Actions ------------------------------------------------------------------------------ */

static void push(struct hop_conn *c, enum hop_action_kind kind, const uint8_t *bytes, size_t len)
{
  struct hop_action *a;

  if (c->actions_len == HOP_CONN_ACTIONS_MAX)
    return;                    /* cannot happen: one event yields at most three actions */
  a = &c->actions[(c->actions_head + c->actions_len++) % HOP_CONN_ACTIONS_MAX];
  a->kind = kind;
  a->bytes = bytes;
  a->len = len;
  a->reason = c->reason;
}

static void close_with(struct hop_conn *c, enum hop_close reason)
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

/* Reserves `cap` bytes of the output area; NULL if it is used up. */
static uint8_t *out_room(struct hop_conn *c, size_t *cap)
{
  *cap = sizeof c->out - c->out_used;
  return c->out + c->out_used;
}

static void write_out(struct hop_conn *c, int n)
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

  const char *vars[] = { "host", host, "server", c->server ? c->server->id : host, NULL };
  int n = hop_template(out, cap, tmpl, vars);

  return n < 0 ? 0 : n;
}

static void send_disconnect(struct hop_conn *c, const char *tmpl)
{
  char text[HOP_TEXT_BYTES_MAX + 2 * HOP_HOST_BYTES_MAX];
  size_t cap;
  uint8_t *out = out_room(c, &cap);
  int n = render(c, tmpl, text, sizeof text);

  write_out(c, hop_disconnect_encode(out, cap, text, (size_t)n));
}

static void send_legacy_kick(struct hop_conn *c, const char *motd_tmpl)
{
  char motd[HOP_TEXT_BYTES_MAX + 2 * HOP_HOST_BYTES_MAX];
  size_t cap;
  uint8_t *out = out_room(c, &cap);
  int32_t protocol = c->peek.legacy.protocol ? c->peek.legacy.protocol : 127;

  render(c, motd_tmpl, motd, sizeof motd);
  write_out(c, hop_legacy_kick_encode(out, cap, c->peek.legacy.form, protocol,
                                      c->cfg->version_name, motd, 0, c->cfg->players_max));
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

    if (n == 0 && c->buf_len < c->cfg->preread_bytes_max)
      return;
    kind = n > 0 ? hop_status_classify(&f, &payload) : HOP_ESTATUS;
    if (kind < 0 || (kind == HOP_STATUS_REQUEST && c->answered_status)) {
      close_with(c, HOP_CLOSE_BAD_STATUS);
      return;
    }
    c->answer_pos += (size_t)n;
    if (kind == HOP_STATUS_REQUEST) {
      char json[HOP_CONN_OUT_BYTES];
      char motd[HOP_TEXT_BYTES_MAX + 2 * HOP_HOST_BYTES_MAX];
      size_t cap;
      uint8_t *out = out_room(c, &cap);
      int motd_len = render(c, c->answer_motd, motd, sizeof motd);
      int json_len = hop_status_json(json, sizeof json, c->cfg->version_name, motd,
                                     (size_t)motd_len, c->peek.hs.protocol, c->cfg->players_max);

      c->answered_status = 1;
      if (json_len > 0)
        write_out(c, hop_status_response_encode(out, cap, json, (size_t)json_len));
    } else {
      size_t cap;
      uint8_t *out = out_room(c, &cap);

      write_out(c, hop_pong_encode(out, cap, payload));
      close_with(c, c->answer_reason);
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
    c->answer_pos = c->peek.pos;
    answer_status(c);
    return;
  case HOP_INTENT_LEGACY:
    send_legacy_kick(c, motd);
    break;
  case HOP_INTENT_LOGIN:
  case HOP_INTENT_TRANSFER:
    send_disconnect(c, disconnect);
    break;
  case HOP_INTENT_NONE:
    break;
  }
  close_with(c, reason);
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
    send_disconnect(c, text);
  close_with(c, reason);
}

/* ---- Routing and the hand-off ------------------------------------------------------------ */

static void route(struct hop_conn *c, uint64_t now_ms)
{
  c->routed = 1;
  c->server = hop_route_lookup(c->routes, host_of(c), strlen(host_of(c)));
  if (!c->server)
    return;
  c->connecting = 1;
  c->deadline_ms_connect = now_ms + c->cfg->timeout_ms_connect;
  push(c, HOP_ACT_CONNECT, NULL, 0);
}

/* Everything the client must send before routing is in: decide, or wait for the backend. */
static void proceed(struct hop_conn *c)
{
  if (!c->ready || c->state != HOP_CONN_PREREAD)
    return;
  if (!c->server) {
    answer(c, HOP_CLOSE_NO_ROUTE, c->cfg->unknown_motd, c->cfg->unknown_disconnect);
  } else if (c->backend_ok) {
    c->state = HOP_CONN_PIPED;
    push(c, HOP_ACT_PIPE, c->buf, c->buf_len);
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
  if (!c->routed && (c->legacy || c->peek.have_handshake))
    route(c, now_ms);
  if (r != HOP_PEEK_MORE) {
    c->ready = 1;
    proceed(c);
  }
}

/* ---- Events ------------------------------------------------------------------------------ */

void hop_conn_init(struct hop_conn *c, const struct hop_conn_config *cfg,
                   const struct hop_route_table *routes, uint64_t now_ms)
{
  memset(c, 0, offsetof(struct hop_conn, out));
  c->cfg = cfg;
  c->routes = routes;
  c->state = HOP_CONN_PREREAD;
  hop_peek_init(&c->peek, cfg->preread_bytes_max, cfg->address_bytes_max);
  c->deadline_ms_handshake = now_ms + cfg->timeout_ms_handshake;
  c->deadline_ms_connect = NO_DEADLINE;
  c->deadline_ms_settle = NO_DEADLINE;
}

void hop_conn_on_bytes(struct hop_conn *c, const uint8_t *buf, size_t len, uint64_t now_ms)
{
  c->out_used = 0;
  c->buf = buf;
  c->buf_len = len;
  if (c->state == HOP_CONN_PREREAD && !c->ready)
    on_peek(c, hop_peek_feed(&c->peek, buf, len), now_ms);
  else if (c->state == HOP_CONN_ANSWER)
    answer_status(c);
}

void hop_conn_on_eof(struct hop_conn *c, uint64_t now_ms)
{
  c->out_used = 0;
  if (c->state == HOP_CONN_ANSWER) {
    close_with(c, c->answer_reason);
  } else if (c->state == HOP_CONN_PREREAD && !c->ready) {
    if (c->peek.legacy_pending)
      on_peek(c, hop_peek_settle(&c->peek), now_ms);
    else
      close_with(c, HOP_CLOSE_EARLY_EOF);
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
  if (c->state == HOP_CONN_PREREAD && !c->ready && now_ms >= c->deadline_ms_settle)
    on_peek(c, hop_peek_settle(&c->peek), now_ms);
  if (now_ms < c->deadline_ms_handshake)
    return;
  if (c->state == HOP_CONN_PREREAD && !c->ready)
    refuse(c, HOP_CLOSE_HANDSHAKE_TIMEOUT, text_timeout);
  else if (c->state == HOP_CONN_ANSWER)
    close_with(c, c->answer_reason);
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

  if ((c->state == HOP_CONN_PREREAD && !c->ready) || c->state == HOP_CONN_ANSWER)
    d = c->deadline_ms_handshake;
  if (c->connecting && c->deadline_ms_connect < d)
    d = c->deadline_ms_connect;
  if (c->state == HOP_CONN_PREREAD && c->peek.legacy_pending && c->deadline_ms_settle < d)
    d = c->deadline_ms_settle;
  return d;
}

enum hop_intent hop_conn_intent(const struct hop_conn *c)
{
  return intent_of(c);
}
