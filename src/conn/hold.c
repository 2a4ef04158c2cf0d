/* The session core while a login waits for its sleeping server (docs/hold.md): the wake's reply,
 * the hold with its keepalives (Login Plugin Requests on our own channel, whose answers are
 * swallowed), the hold timer, and the way out to the backend once the server runs. Pure, like
 * conn.c. */
#include <stddef.h>
#include <string.h>

#include "hop/conn.h"
#include "internal.h"

#define PLUGIN_REQUEST_PROTOCOL_MIN 393    /* 1.13: Login Plugin Request exists */
#define HOLD_SLACK_MS 10000                /* past start_timeout_s, the farm has said failed */

static const char keepalive_channel[] = "hopper:hold";

static void enter_hold(struct hop_conn *c, uint64_t now_ms)
{
  c->state = HOP_CONN_HOLD;
  c->held = 1;
  c->keep_len = c->proxy_len + c->peek.pos;
  if (c->peek.hs.protocol >= PLUGIN_REQUEST_PROTOCOL_MIN) {
    c->deadline_ms_keepalive = now_ms + c->cfg->hold_keepalive_ms;
    c->deadline_ms_hold = now_ms + (uint64_t)c->server->policy.start_timeout_s * 1000
                          + HOLD_SLACK_MS;
  } else {
    c->deadline_ms_keepalive = NO_DEADLINE;    /* nothing keeps an old client waiting */
    c->deadline_ms_hold = now_ms + c->cfg->hold_silent_max_ms;
  }
}

/* A Login Plugin Request on our own channel: the client answers "not understood", and its read
 * timeout starts over. */
static void send_keepalive(struct hop_conn *c)
{
  size_t cap, o = 0;
  uint8_t *out = hop_conn__out_room(c, &cap);
  size_t chan = sizeof keepalive_channel - 1;
  int32_t body = 1 + hop_varint_size(c->keepalive_id) + hop_varint_size((int32_t)chan)
                 + (int32_t)chan;

  if (cap < (size_t)body + HOP_VARINT_BYTES_MAX)
    return;
  o += (size_t)hop_varint_encode(out, body);
  out[o++] = 0x04;
  o += (size_t)hop_varint_encode(out + o, c->keepalive_id++);
  o += (size_t)hop_varint_encode(out + o, (int32_t)chan);
  memcpy(out + o, keepalive_channel, chan);
  hop_conn__write_out(c, (int)(o + chan));
}

#define HOLD_ANSWER_WAIT_MS 3000          /* clients answer at once; a stuck one is not waited for */

static void leave_for_backend(struct hop_conn *c, uint64_t now_ms)
{
  c->state = HOP_CONN_PREREAD;
  c->deadline_ms_answers = now_ms + HOLD_ANSWER_WAIT_MS;
  c->server_state = HOP_STATE_RUNNING;
  c->deadline_ms_hold = c->deadline_ms_keepalive = NO_DEADLINE;
  hop_conn__connect_backend(c, now_ms);
}

void hop_conn_on_wake(struct hop_conn *c, int wake_result, uint32_t eta_s, uint64_t now_ms)
{
  c->out_used = 0;
  if (c->state != HOP_CONN_WAKING)
    return;
  c->eta_s = eta_s;
  switch (wake_result) {
  case HOP_WAKE_RUNNING:
    leave_for_backend(c, now_ms);
    return;
  case HOP_WAKE_STARTED:
  case HOP_WAKE_JOINED:
    if (c->server->policy.join == HOP_JOIN_HOLD) {
      enter_hold(c, now_ms);
      return;
    }
    hop_conn__send_disconnect(c, c->cfg->starting_disconnect);
    hop_conn__close_with(c, HOP_CLOSE_SERVER_STARTING);
    return;
  case HOP_WAKE_REFUSED_COOLDOWN:
  case HOP_WAKE_REFUSED_QUOTA:
  case HOP_WAKE_REFUSED_NOT_ALLOWED:
  case HOP_WAKE_REFUSED_NO_AUTOSTART:
    hop_conn__send_disconnect(c,
                              c->cfg->refused_disconnect[wake_result - HOP_WAKE_REFUSED_COOLDOWN]);
    hop_conn__close_with(c, HOP_CLOSE_WAKE_REFUSED);
    return;
  default:
    hop_conn__send_disconnect(c, c->cfg->unknown_disconnect);
    hop_conn__close_with(c, HOP_CLOSE_NO_ROUTE);
  }
}

void hop_conn_on_server_state(struct hop_conn *c, enum hop_state state, uint64_t now_ms)
{
  c->out_used = 0;
  if (c->state != HOP_CONN_WAKING && c->state != HOP_CONN_HOLD)
    return;
  if (state == HOP_STATE_RUNNING) {
    leave_for_backend(c, now_ms);
  } else if (state == HOP_STATE_FAILED && c->state == HOP_CONN_HOLD) {
    hop_conn__send_disconnect(c, c->cfg->failed_disconnect);
    hop_conn__close_with(c, HOP_CLOSE_START_FAILED);
  }
}

size_t hop_conn_compact(struct hop_conn *c, uint8_t *buf, size_t len)
{
  size_t pos;

  if (!c->held || (c->state != HOP_CONN_HOLD && c->state != HOP_CONN_PREREAD))
    return len;
  pos = c->keep_len;
  for (;;) {
    struct hop_frame f;
    int n = hop_frame_parse(buf + pos, len - pos, c->cfg->preread_bytes_max, &f);

    if (n <= 0)
      break;                   /* incomplete (kept) or garbage (the relay will carry it) */
    memmove(buf + pos, buf + pos + n, len - pos - (size_t)n);
    len -= (size_t)n;          /* a Login Plugin Response to our keepalive: swallowed */
    c->keepalive_answered++;
  }
  return len;
}

void hop_conn__on_hold_timer(struct hop_conn *c, uint64_t now_ms)
{
  if (now_ms >= c->deadline_ms_hold) {
    hop_conn__send_disconnect(c, c->cfg->starting_disconnect);
    hop_conn__close_with(c, HOP_CLOSE_SERVER_STARTING);
    return;
  }
  if (now_ms >= c->deadline_ms_keepalive) {
    send_keepalive(c);
    c->deadline_ms_keepalive = now_ms + c->cfg->hold_keepalive_ms;
  }
}
