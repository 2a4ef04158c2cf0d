/* Client sessions on a simulated gateway: the real hop_conn fed with the client's bytes (split,
 * dripped, half-closed or abandoned), its actions carried out the way src/shell/session.c does
 * (connect, wake over the mailbox, write, pipe, drop, close), and a simulated backend behind it.
 * The invariants about one session are checked here, as its actions come out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/proto.h"
#include "sim.h"

#define NO_TIMER UINT64_MAX
#define ETA_S 30

static void run_actions(struct sim *s, struct sim_session *ss);

static struct sim_session *session_get(struct sim *s, uint32_t id)
{
  return id < s->sessions_len ? s->sessions[id] : NULL;
}

/* ---- Life --------------------------------------------------------------------------------- */

static void session_free(struct sim *s, struct sim_session *ss)
{
  s->sessions[ss->id] = NULL;
  s->sessions_live--;
  sim_snap_unref(s, ss->snap);
  free(ss);
}

static void maybe_free(struct sim *s, struct sim_session *ss)
{
  if (ss->closes && ss->msgs == 0)
    session_free(s, ss);
}

void sim_session_arrive(struct sim *s, uint32_t plan, uint32_t ident, uint32_t cycles)
{
  struct sim_session *ss = calloc(1, sizeof *ss);
  struct sim_replica *r = &s->replicas[sim_rng_below(&s->rng, s->replicas_len)];

  if (!ss || (s->sessions_len == s->sessions_cap && !sim_grow_sessions(s))) {
    free(ss);
    sim_violation(s, "out of memory");
    return;
  }
  ss->id = (uint32_t)s->sessions_len;
  s->sessions[s->sessions_len++] = ss;
  s->sessions_live++;
  s->stats.sessions++;
  ss->r = r;
  ss->snap = r->snap;
  r->snap->refs++;               /* until it routes: then the newest (refresh_snapshot) */
  ss->plan = plan;
  ss->ident = ident;
  ss->cycles = cycles;
  ss->routed = -1;
  ss->timer_ms = NO_TIMER;
  ss->arrive_ms = s->now;
  snprintf(ss->player, sizeof ss->player, "p%u_%u", plan, ident);
  snprintf(ss->ip, sizeof ss->ip, "10.%u.%u.%u", plan & 0xff, (ident >> 8) & 0xff, ident & 0xff);
  sim_client_make(s, ss, &s->sc->plans[plan]);
  if (ss->kind == CLIENT_PLAYER)
    s->stats.logins++;
  sim_trace(s, "arrive", ss->id, (uint64_t)ss->kind);
  hop_conn_init(&ss->conn, &s->conn_cfg, ss->snap->t, s->scratch, sizeof s->scratch, s->now);
  sim_at(s, sim_rng_range(&s->rng, 1, 30), EV_CLIENT_SEND, ss->id, 0, 0);
  if (ss->kind == CLIENT_PLAYER)
    sim_at(s, ss->patience_ms, EV_CLIENT_EOF, ss->id, 0, 1);
  run_actions(s, ss);
}

/* The one place a session ends. Exactly once, with a real reason. */
static void session_close(struct sim *s, struct sim_session *ss, enum hop_close reason)
{
  if (++ss->closes > 1) {
    sim_violation(s, "session %u closed twice (%s, then %s)", ss->id, hop_close_name(ss->reason),
                  hop_close_name(reason));
    return;
  }
  if (reason == HOP_CLOSE_NONE)
    sim_violation(s, "session %u closed without a reason", ss->id);
  ss->reason = reason;
  s->stats.closes[reason]++;
  sim_trace(s, "close", ss->id, (uint64_t)reason);
  if (ss->counted) {
    ss->r->live[ss->routed]--;
    s->servers[ss->routed].live--;
    sim_gateway_session_msg(s, ss->r, (uint32_t)ss->routed, 0, ss);
  }
  if (ss->kind == CLIENT_PLAYER && ss->cycles > 1 && !s->draining)
    sim_at(s, sim_rng_range(&s->rng, 2000, 10000), EV_ARRIVE, ss->plan, ss->ident,
           (int64_t)ss->cycles - 1);
  maybe_free(s, ss);
}

/* ---- The backend ---------------------------------------------------------------------------- */

static int accepts_tcp(const struct sim *s, const struct sim_server *srv)
{
  return srv->state == HOP_STATE_RUNNING || srv->state == HOP_STATE_STOPPING ||
         (srv->state == HOP_STATE_STARTING && s->now >= srv->tcp_at_ms);
}

static void backend_connect(struct sim *s, struct sim_session *ss)
{
  const struct sim_faults *f = &s->sc->faults;
  const struct sim_server *srv = &s->servers[ss->routed];
  uint32_t gen = ++ss->connect_gen;
  uint64_t rtt = sim_rng_range(&s->rng, 1, 30);

  ss->connecting = 1;
  if (sim_rng_chance(&s->rng, sim_fault(s, f->backend_stall)))
    return;                    /* SYNs into the void: conn's connect deadline decides */
  if (!accepts_tcp(s, srv) || sim_rng_chance(&s->rng, sim_fault(s, f->backend_refuse)))
    sim_at(s, rtt, EV_BACKEND, ss->id, gen, -ECONNREFUSED);
  else
    sim_at(s, rtt, EV_BACKEND, ss->id, gen, 0);
}

/* Piped: what the backend does with the replayed login decides how the session ends. */
static void backend_piped(struct sim *s, struct sim_session *ss)
{
  const struct sim_faults *f = &s->sc->faults;
  const struct sim_server *srv = &s->servers[ss->routed];
  int login = hop_conn_intent(&ss->conn) == HOP_INTENT_LOGIN;

  if (!accepts_tcp(s, srv) || sim_rng_chance(&s->rng, sim_fault(s, f->backend_reset))) {
    sim_at(s, sim_rng_range(&s->rng, 0, 2000), EV_PIPE_END, ss->id, 0, HOP_CLOSE_BACKEND_RESET);
    return;
  }
  if (!login) {                /* a status exchange with the real server, then the client goes */
    sim_at(s, sim_rng_range(&s->rng, 5, 100), EV_PIPE_END, ss->id, 0, HOP_CLOSE_CLIENT_CLOSED);
    return;
  }
  if (srv->state != HOP_STATE_RUNNING || s->now < srv->login_at_ms) {
    ss->login_refused = 1;     /* the backend's own Disconnect: it is not taking logins yet */
    sim_at(s, sim_rng_range(&s->rng, 5, 50), EV_PIPE_END, ss->id, 0, HOP_CLOSE_BACKEND_CLOSED);
    return;
  }
  s->stats.joins_ok++;
  sim_sample(&s->stats.join_wait_ms, s->now - ss->arrive_ms);
  if (s->draining)              /* let in after the end: leaves within the minute, as all do */
    ss->play_ms = sim_rng_below(&s->rng, 60000);
  sim_at(s, ss->play_ms, EV_PIPE_END, ss->id, 0, HOP_CLOSE_CLIENT_CLOSED);
}

/* A server the world stopped: everyone still on it is thrown off. */
void sim_session_server_stopped(struct sim *s, uint32_t server)
{
  for (size_t i = 0; i < s->sessions_len; i++) {
    struct sim_session *ss = s->sessions[i];

    if (ss && !ss->closes && ss->piped && ss->routed == (int)server)
      sim_at(s, 0, EV_PIPE_END, ss->id, 0, HOP_CLOSE_BACKEND_CLOSED);
  }
}

/* ---- Invariants at the routing decision and the hand-off ----------------------------------- */

/* The server conn chose must be in this replica's current snapshot. */
static int check_route(struct sim *s, struct sim_session *ss, const char *what)
{
  const struct hop_server *srv = ss->conn.server;

  if (!srv) {
    sim_violation(s, "session %u: %s with no server", ss->id, what);
    return -1;
  }
  if (!hop_route_table_find_id(ss->r->snap->t, srv->id)) {
    sim_violation(s, "session %u: %s to server %s, which the current snapshot of %s does not "
                  "have", ss->id, what, srv->id, ss->r->name);
    return -1;
  }
  ss->routed = sim_api_server_index(s, srv->id);
  if (ss->routed < 0) {
    sim_violation(s, "session %u: routed to unknown server %s", ss->id, srv->id);
    return -1;
  }
  return 0;
}

/* Replayed bytes must be exactly what the client sent, in order, keepalive answers left out;
 * all of it when nothing was held back. */
static void check_replay(struct sim *s, struct sim_session *ss, const struct hop_action *a)
{
  if (a->len > ss->sent || memcmp(a->bytes, ss->script, a->len) != 0)
    sim_violation(s, "session %u: replayed %zu bytes that are not the client's first bytes",
                  ss->id, a->len);
  else if (!ss->conn.held && a->len != ss->len)
    sim_violation(s, "session %u: replayed %zu of %zu preread bytes", ss->id, a->len, ss->len);
  else if (ss->conn.held && a->len != ss->script_len)
    sim_violation(s, "session %u: held login replayed %zu bytes, the login is %zu", ss->id,
                  a->len, ss->script_len);
}

static void on_pipe(struct sim *s, struct sim_session *ss, const struct hop_action *a)
{
  if (ss->piped) {
    sim_violation(s, "session %u piped twice", ss->id);
    return;
  }
  check_replay(s, ss, a);
  if (ss->eof_sent)            /* the client half-closed while we connected: it goes soon */
    sim_at(s, sim_rng_range(&s->rng, 1, 20), EV_PIPE_END, ss->id, 0, HOP_CLOSE_CLIENT_CLOSED);
  if (check_route(s, ss, "piped") < 0)
    return;
  ss->piped = 1;
  ss->piped_ms = s->now;
  sim_trace(s, "pipe", ss->id, (uint64_t)ss->routed);
  /* A player on a server (not a status ping passing through) is what must stop a stop. */
  if (hop_conn_intent(&ss->conn) == HOP_INTENT_LOGIN && ss->conn.server->managed) {
    ss->counted = 1;
    ss->r->live[ss->routed]++;
    s->servers[ss->routed].live++;
    sim_gateway_session_msg(s, ss->r, (uint32_t)ss->routed, 1, ss);
  }
  backend_piped(s, ss);
}

/* ---- What the client does with our answers -------------------------------------------------- */

static void client_reads(struct sim *s, struct sim_session *ss, const struct hop_action *a)
{
  struct hop_frame f;
  int32_t id = -1, msg_id = 0;
  struct hop_reader rd;

  if (hop_frame_parse(a->bytes, a->len, 1 << 20, &f) <= 0 ||
      (rd = hop_reader_make(f.body, f.body_len), hop_read_varint(&rd, &id)) < 0)
    return;                    /* a legacy kick or a piece: nothing to react to */
  if (hop_conn_intent(&ss->conn) == HOP_INTENT_STATUS) {
    if (id == 0x00 && !ss->got_status++)
      sim_at(s, sim_rng_range(&s->rng, 1, 50), EV_CLIENT_REPLY, ss->id, 0, 2);
    return;
  }
  if (id == 0x00) {
    ss->got_disconnect = 1;
  } else if (id == 0x04 && hop_read_varint(&rd, &msg_id) == 0) {
    ss->keepalives_seen++;
    if (ss->sent < ss->vanish_at)  /* a vanished client answers nothing */
      sim_at(s, sim_rng_range(&s->rng, 5, 80), EV_CLIENT_REPLY, ss->id, (uint32_t)msg_id, 1);
  }
}

/* ---- Driving conn --------------------------------------------------------------------------- */

static void arm_timer(struct sim *s, struct sim_session *ss)
{
  uint64_t d = hop_conn_deadline(&ss->conn);

  if (d == ss->timer_ms)
    return;
  ss->timer_ms = d;
  if (d != NO_TIMER)
    sim_at(s, d > s->now ? d - s->now : 0, EV_CONN_TIMER, ss->id, 0, (int64_t)d);
}

static void run_actions(struct sim *s, struct sim_session *ss)
{
  struct hop_action a;

  while (!ss->closes && hop_conn_next_action(&ss->conn, &a)) {
    if (ss->piped) {
      sim_violation(s, "session %u: action %d after the hand-off", ss->id, (int)a.kind);
      return;
    }
    switch (a.kind) {
    case HOP_ACT_CONNECT:
      if (check_route(s, ss, "connect") == 0)
        backend_connect(s, ss);
      break;
    case HOP_ACT_WAKE:
      if (check_route(s, ss, "wake") == 0) {
        ss->msgs++;
        sim_at(s, SIM_MSG_MS, EV_WAKE, ss->id, ss->r->idx, 0);
      }
      break;
    case HOP_ACT_WRITE:
      client_reads(s, ss, &a);
      break;
    case HOP_ACT_PIPE:
      on_pipe(s, ss, &a);
      break;
    case HOP_ACT_DROP_BACKEND:
      ss->connecting = 0;
      ss->connect_gen++;         /* its result, if any comes, must not be reported */
      break;
    case HOP_ACT_CLOSE:
      session_close(s, ss, a.reason);
      return;
    }
  }
  if (!ss->closes && !ss->piped)
    arm_timer(s, ss);
}

/* As src/shell/session.c: before routing, the replica's newest snapshot replaces the one taken
 * at accept; after routing, a server gone from it is not piped to. */
static void refresh_snapshot(struct sim *s, struct sim_session *ss)
{
  if (ss->snap == ss->r->snap)
    return;
  if (!ss->conn.routed) {
    ss->r->snap->refs++;
    sim_snap_unref(s, ss->snap);
    ss->snap = ss->r->snap;
    hop_conn_rebind(&ss->conn, &s->conn_cfg, ss->snap->t);
  } else if (ss->conn.server && !hop_route_table_find_id(ss->r->snap->t, ss->conn.server->id)) {
    hop_conn_on_route_gone(&ss->conn, s->now);
    run_actions(s, ss);            /* its DROP_BACKEND abandons a dial in flight */
  }
}

/* As src/shell/session.c: a server removed while we dialled it is not piped to. */
static int still_routed(const struct sim_session *ss)
{
  return !ss->conn.server || ss->snap == ss->r->snap ||
         hop_route_table_find_id(ss->r->snap->t, ss->conn.server->id) != NULL;
}

static void feed(struct sim *s, struct sim_session *ss, const uint8_t *bytes, size_t n)
{
  if (n > sizeof ss->buf - ss->len)
    n = sizeof ss->buf - ss->len;  /* the shell stops reading at a full buffer */
  memcpy(ss->buf + ss->len, bytes, n);
  ss->len += n;
  ss->len = hop_conn_compact(&ss->conn, ss->buf, ss->len);
  refresh_snapshot(s, ss);
  if (!ss->closes)
    hop_conn_on_bytes(&ss->conn, ss->buf, ss->len, s->now);
}

static void client_send(struct sim *s, struct sim_session *ss)
{
  size_t left = ss->script_len - ss->sent, n = left;

  if (ss->sent >= ss->vanish_at || left == 0)
    return;                    /* gone quiet for good, or waiting for an answer */
  if (ss->drip)
    n = 1;
  else if (left > 1 && sim_rng_chance(&s->rng, 0.3))
    n = (size_t)sim_rng_range(&s->rng, 1, left - 1);
  if (ss->vanish_at != SIZE_MAX && ss->sent + n > ss->vanish_at)
    n = ss->vanish_at - ss->sent;
  feed(s, ss, ss->script + ss->sent, n);
  ss->sent += n;
  if (ss->sent < ss->script_len)
    sim_at(s, ss->drip ? sim_rng_range(&s->rng, 100, 700) : sim_rng_range(&s->rng, 1, 200),
           EV_CLIENT_SEND, ss->id, 0, 0);
  else if (ss->half_close)
    sim_at(s, sim_rng_range(&s->rng, 0, 50), EV_CLIENT_EOF, ss->id, 0, 0);
  run_actions(s, ss);
}

static void client_reply(struct sim *s, struct sim_session *ss, const struct sim_event *ev)
{
  uint8_t answer[16];

  if (ev->c == 1) {            /* a keepalive's answer */
    feed(s, ss, answer, sim_client_plugin_answer(answer, (int32_t)ev->b));
    ss->keepalives_answered++;
    run_actions(s, ss);
  } else if (ev->c == 2) {     /* the status answer came: ping */
    sim_client_ping(ss);
    client_send(s, ss);
  }
}

static void on_wake(struct sim *s, struct sim_session *ss)
{
  struct sim_replica *r = ss->r;
  enum hop_wake_result res = hop_farm_wake(r->farm, ss->conn.server->id, ss->ip, ss->player,
                                           s->now);

  sim_trace(s, "wake", ss->id, (uint64_t)res);
  sim_gateway_drain_farm(s, r);
  sim_at(s, SIM_MSG_MS, EV_WAKE_REPLY, ss->id, 0, res);
}

void sim_session_on_event(struct sim *s, const struct sim_event *ev)
{
  struct sim_session *ss = session_get(s, ev->a);

  if (!ss)
    return;
  if (ev->kind == EV_WAKE) {
    on_wake(s, ss);            /* the message was posted: it arrives even if the client left */
    return;
  }
  if (ev->kind == EV_WAKE_REPLY) {
    ss->msgs--;
    if (ss->closes) {
      maybe_free(s, ss);       /* the client left while the wake was out */
      return;
    }
    hop_conn_on_wake(&ss->conn, (int)ev->c, ETA_S, s->now);
    run_actions(s, ss);        /* a close here frees it: msgs is 0 again */
    return;
  }
  if (ss->closes)
    return;
  switch (ev->kind) {
  case EV_CLIENT_SEND:
    if (!ss->piped)
      client_send(s, ss);
    break;
  case EV_CLIENT_EOF:
    if (ss->piped) {
      if (ev->c == 0)          /* a half-close relayed: the backend closes its side */
        sim_at(s, sim_rng_range(&s->rng, 1, 20), EV_PIPE_END, ss->id, 0, HOP_CLOSE_CLIENT_CLOSED);
    } else if (!ss->eof_sent) {
      ss->eof_sent = 1;
      ss->vanish_at = ss->sent;    /* nothing more comes after an EOF */
      hop_conn_on_eof(&ss->conn, s->now);
      run_actions(s, ss);
    }
    break;
  case EV_CLIENT_REPLY:
    if (!ss->piped && !ss->eof_sent)
      client_reply(s, ss, ev);
    break;
  case EV_CONN_TIMER:
    if (!ss->piped && ss->timer_ms == (uint64_t)ev->c) {
      ss->timer_ms = NO_TIMER;
      refresh_snapshot(s, ss);
      if (!ss->closes && !ss->piped)
        hop_conn_on_timer(&ss->conn, s->now);
      run_actions(s, ss);
    }
    break;
  case EV_BACKEND:
    if (ss->connecting && ev->b == ss->connect_gen) {
      int status = (int)ev->c;

      ss->connecting = 0;
      if (status == 0 && !still_routed(ss))
        status = -103;             /* as src/shell/session.c: the server left while we dialled */
      hop_conn_on_backend(&ss->conn, status, s->now);
      run_actions(s, ss);
    }
    break;
  case EV_PIPE_END:
    if (ss->piped)
      session_close(s, ss, (enum hop_close)ev->c);
    break;
  default:
    break;
  }
}

void sim_session_server_state(struct sim *s, struct sim_replica *r, uint32_t server,
                              enum hop_state state)
{
  for (size_t i = 0; i < s->sessions_len; i++) {
    struct sim_session *ss = s->sessions[i];

    if (!ss || ss->r != r || ss->closes || ss->piped || ss->routed != (int)server)
      continue;
    hop_conn_on_server_state(&ss->conn, state, s->now);
    run_actions(s, ss);
  }
}

void sim_sessions_free(struct sim *s)
{
  for (size_t i = 0; i < s->sessions_len; i++)
    if (s->sessions[i])
      session_free(s, s->sessions[i]);
  free(s->sessions);
  s->sessions = NULL;
  s->sessions_len = s->sessions_cap = 0;
}
