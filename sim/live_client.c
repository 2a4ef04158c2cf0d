/* Live mode's clients: the scenario's arrivals, drawn as the simulation draws them, compressed
 * into LIVE_ARRIVE_MS of wall time (at most LIVE_CLIENTS_MAX of them), each built by the
 * simulator's client factory (sim/client.c) and played over a real socket: the same bytes, the
 * same splits, drips, vanishing and half-closes, its pauses divided by LIVE_CLIENT_SLOWDOWN. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/proto.h"
#include "live.h"

enum { NEXT_CONNECT, NEXT_SEND, NEXT_LEAVE };

struct arrival {
  uint64_t at_ms;              /* scenario time */
  uint32_t plan;
};

struct arrivals {
  struct arrival *v;
  size_t len, cap;
};

/* ---- Arrivals (the plans of sim/main.c, without the virtual clock) -------------------------- */

static int push(struct arrivals *a, uint64_t at_ms, uint32_t plan)
{
  if (a->len == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 512;
    struct arrival *g = realloc(a->v, cap * sizeof *g);

    if (!g)
      return -1;
    a->v = g;
    a->cap = cap;
  }
  a->v[a->len++] = (struct arrival){ at_ms, plan };
  return 0;
}

static int plan_arrivals(struct live *L, struct arrivals *a, uint32_t i)
{
  struct sim *s = &L->s;
  const struct sim_plan *p = &s->sc->plans[i];
  uint64_t from = (uint64_t)p->at_s * 1000, end = s->end_ms, t = from;
  uint64_t to = p->window_s ? from + (uint64_t)p->window_s * 1000 : end;
  int rc = 0;

  to = to < end ? to : end;
  if (p->pattern == PATTERN_STEADY || p->pattern == PATTERN_SCANNER ||
      p->pattern == PATTERN_PINGER) {
    while (rc == 0 && p->per_min > 0 && a->len < 50000 &&
           (t += sim_rng_exp_ms(&s->rng, 60000.0 / p->per_min)) < to)
      rc = push(a, t, i);
    return rc;
  }
  for (uint32_t k = 0; rc == 0 && k < p->count && from < to; k++) {
    t = sim_rng_range(&s->rng, from, to - 1);
    rc = push(a, t, i);
    for (uint32_t c = 1; rc == 0 && p->pattern == PATTERN_RECONNECT && c < p->cycles; c++)
      rc = push(a, t += sim_rng_range(&s->rng, 2000, 10000), i);  /* as session_close */
  }
  return rc;
}

static int by_time(const void *x, const void *y)
{
  const struct arrival *a = x, *b = y;

  return a->at_ms < b->at_ms ? -1 : a->at_ms > b->at_ms ? 1 : (a->plan > b->plan) - (a->plan < b->plan);
}

static void client_make(struct live *L, struct live_client *c, uint32_t idx,
                        const struct arrival *a)
{
  uint64_t play;

  c->L = L;
  c->idx = idx;
  c->ss.id = idx;
  c->ss.plan = a->plan;
  snprintf(c->ss.player, sizeof c->ss.player, "L%u", idx);   /* the backend's key back to us */
  sim_client_make(&L->s, &c->ss, &L->s.sc->plans[a->plan]);
  sim_rng_seed(&c->rng, L->s.seed * 0x9e3779b97f4a7c15ull + idx);
  c->at_ms = a->at_ms * L->scale_num / L->scale_den;
  play = c->ss.play_ms * L->scale_num / L->scale_den;
  c->play_ms = play < 50 ? 50 : play > 1500 ? 1500 : play;
}

/* Draws the arrivals, keeps the first LIVE_CLIENTS_MAX, and builds their clients. */
int live_clients_make(struct live *L)
{
  struct arrivals a = { 0 };

  for (uint32_t i = 0; i < L->s.sc->plans_len; i++)
    if (plan_arrivals(L, &a, i) < 0) {
      free(a.v);
      return -1;
    }
  qsort(a.v, a.len, sizeof *a.v, by_time);
  L->arrivals_total = a.len;
  L->clients_len = a.len < LIVE_CLIENTS_MAX ? a.len : LIVE_CLIENTS_MAX;
  L->last_ms = L->clients_len ? a.v[L->clients_len - 1].at_ms : 0;
  L->scale_num = L->last_ms > LIVE_ARRIVE_MS ? LIVE_ARRIVE_MS : 1;
  L->scale_den = L->last_ms > LIVE_ARRIVE_MS ? L->last_ms : 1;
  L->clients = calloc(L->clients_len ? L->clients_len : 1, sizeof *L->clients);
  for (size_t i = 0; L->clients && i < L->clients_len; i++)
    client_make(L, &L->clients[i], (uint32_t)i, &a.v[i]);
  free(a.v);
  return L->clients ? 0 : -1;
}

/* ---- Closing -------------------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
  struct live_client *c = h->data;

  if (h == (uv_handle_t *)&c->tcp)
    c->tcp_open = 0;
  else
    c->timer_open = 0;
  if (!c->tcp_open && !c->timer_open) {
    c->done = 1;
    c->L->clients_open--;
  }
}

static void client_close(struct live_client *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  if (c->tcp_open)
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
  if (c->timer_open)
    uv_close((uv_handle_t *)&c->timer, handle_closed);
}

/* ---- Sending -------------------------------------------------------------------------------- */

static void client_write(struct live_client *c, const uint8_t *p, size_t n)
{
  uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);

  if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != (int)n)
    client_close(c);           /* a few hundred bytes into a fresh loopback socket: gone */
}

static void on_timer(uv_timer_t *t);

/* The factory's pauses are scenario time; the client's own are shortened to fit the window. */
static void after(struct live_client *c, uint64_t ms, int next)
{
  c->next = next;
  uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* As client_send in sim/session.c: a piece of what is left (one byte when dripping), stopping
 * for good at the vanishing point, then the half-close if the client does that. */
static void send_some(struct live_client *c)
{
  struct sim_session *ss = &c->ss;
  size_t left = ss->script_len - ss->sent, n = left;

  if (ss->sent >= ss->vanish_at || left == 0 || c->closing)
    return;
  if (ss->drip)
    n = 1;
  else if (left > 1 && sim_rng_chance(&c->rng, 0.3))
    n = (size_t)sim_rng_range(&c->rng, 1, left - 1);
  if (ss->vanish_at != SIZE_MAX && ss->sent + n > ss->vanish_at)
    n = ss->vanish_at - ss->sent;
  ss->sent += n;
  client_write(c, ss->script + ss->sent - n, n);
  if (c->closing)
    return;
  if (ss->sent < ss->script_len && ss->sent < ss->vanish_at)
    after(c, (ss->drip ? sim_rng_range(&c->rng, 100, 700) : sim_rng_range(&c->rng, 1, 200)) /
             LIVE_CLIENT_SLOWDOWN, NEXT_SEND);
  else if (ss->sent == ss->script_len && ss->half_close && !ss->eof_sent) {
    ss->eof_sent = 1;
    uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, NULL);
  }
}

/* ---- Reading what comes back (from hopper, or from the backend through it) -------------------- */

/* The backend answered our status: hopper piped us, and what it replayed must be our first
 * bytes, exactly. */
static void backend_answered(struct live_client *c, const struct hop_frame *f)
{
  struct live *L = c->L;
  const char *mark = "live-backend #";
  const char *p = memmem(f->body, f->body_len, mark, strlen(mark));
  unsigned long idx;
  const struct live_bconn *b;

  if (!p)
    return;
  idx = strtoul(p + strlen(mark), NULL, 10);
  if (idx >= L->bconns_len) {
    live_violation(L, "client %u: status answer from an unknown backend connection", c->idx);
    return;
  }
  b = L->bconns[idx];
  c->backend_status = (int)idx + 1;
  if (b->used > c->ss.sent || memcmp(b->rx, c->ss.script, b->used) != 0)
    live_violation(L, "client %u: the backend's first %zu bytes are not the client's first "
                   "bytes", c->idx, b->used);
  if (c->ss.server < 0 || (uint32_t)c->ss.server != b->server)
    live_violation(L, "client %u aimed at server %d was piped to %s", c->idx, c->ss.server,
                   L->s.servers[b->server].spec->id);
}

static void on_frame(struct live_client *c, const struct hop_frame *f)
{
  struct hop_reader rd = hop_reader_make(f->body, f->body_len);
  int32_t id = -1, msg_id = 0;
  uint8_t answer[16];

  if (hop_read_varint(&rd, &id) < 0)
    return;
  if (c->ss.kind == CLIENT_PINGER || c->ss.kind == CLIENT_SCANNER) {
    if (id == 0x00 && !c->got_status++) {
      backend_answered(c, f);
      sim_client_ping(&c->ss);
      after(c, sim_rng_range(&c->rng, 1, 50) / LIVE_CLIENT_SLOWDOWN, NEXT_SEND);
    } else if (id == 0x01) {
      c->got_pong = 1;
      client_close(c);         /* the list entry is drawn: the client goes */
    }
    return;
  }
  if (id == 0x00)
    c->got_disconnect = 1;
  else if (id == 0x04 && hop_read_varint(&rd, &msg_id) == 0 && c->ss.sent < c->ss.vanish_at) {
    c->L->keepalives++;        /* a held login kept alive: answered, hopper must swallow it */
    client_write(c, answer, sim_client_plugin_answer(answer, msg_id));
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct live_client *c = h->data;

  if (c->rx_len == sizeof c->rx)
    c->rx_len = 0;             /* no frame in 4 KiB: not one we would react to */
  *buf = uv_buf_init((char *)c->rx + c->rx_len, (unsigned)(sizeof c->rx - c->rx_len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  struct live_client *c = st->data;
  struct hop_frame f;
  size_t used = 0;
  int k = 0;

  if (n < 0) {
    client_close(c);           /* hopper (or the backend through it) closed: so do we */
    return;
  }
  c->rx_len += (size_t)n;
  while (!c->closing &&
         (k = hop_frame_parse(c->rx + used, c->rx_len - used, LIVE_RX_BYTES, &f)) > 0) {
    used += (size_t)k;
    on_frame(c, &f);
  }
  if (k < 0)
    used = c->rx_len;          /* not the protocol (a legacy kick): nothing to react to */
  memmove(c->rx, c->rx + used, c->rx_len - used);
  c->rx_len -= used;
}

/* ---- Connecting ------------------------------------------------------------------------------- */

static void on_connect(uv_connect_t *req, int status)
{
  struct live_client *c = req->data;
  struct sockaddr_storage me;
  int len = sizeof me;

  if (status < 0 || c->closing) {
    c->connect_failed = status < 0;
    client_close(c);
    return;
  }
  c->connected = 1;
  if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&me, &len) == 0)
    c->port = ntohs(((struct sockaddr_in *)&me)->sin_port);
  if (c->leave_on_connect || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
    c->cut = c->leave_on_connect;
    client_close(c);
    return;
  }
  after(c, sim_rng_range(&c->rng, 1, 30), NEXT_SEND);
}

static void client_connect(struct live_client *c)
{
  struct sockaddr_in a;

  uv_ip4_addr("127.0.0.1", c->L->port, &a);
  uv_tcp_init(&c->L->loop, &c->tcp);
  c->tcp.data = c->creq.data = c;
  c->tcp_open = 1;
  c->connect_ns = uv_hrtime();
  c->held = c->L->farm && c->ss.server >= 0 && !c->L->backends[c->ss.server].up;
  if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&a, on_connect) < 0) {
    c->connect_failed = 1;
    client_close(c);
  }
}

static void on_timer(uv_timer_t *t)
{
  struct live_client *c = t->data;

  if (c->closing)
    return;
  if (c->next == NEXT_CONNECT)
    client_connect(c);
  else if (c->next == NEXT_SEND)
    send_some(c);
  else
    client_close(c);           /* a player's time on the server is up */
}

/* ---- The run's side --------------------------------------------------------------------------- */

void live_clients_launch(struct live *L)
{
  for (size_t i = 0; i < L->clients_len; i++) {
    struct live_client *c = &L->clients[i];

    uv_timer_init(&L->loop, &c->timer);
    c->timer.data = c;
    c->timer_open = c->launched = 1;
    L->clients_open++;
    after(c, c->at_ms, NEXT_CONNECT);
  }
}

/* The deadline: whoever is still here leaves now. */
void live_clients_cut(struct live *L)
{
  for (size_t i = 0; i < L->clients_len; i++) {
    struct live_client *c = &L->clients[i];

    if (c->tcp_open && !c->connected && !c->closing) {
      c->leave_on_connect = 1;   /* hopper may have accepted it: wait for the port */
    } else if (c->launched && !c->closing) {
      c->cut = c->connected;
      client_close(c);
    }
  }
}

/* The backend has this client's login: it plays a while, then leaves. */
void live_client_joined(struct live *L, struct live_client *c)
{
  c->joined = 1;
  sim_sample(&L->join_wait_ms, (c->join_ns - c->connect_ns) / 1000000);
  if (c->held)                 /* its server was down: hopper woke it and held the login */
    sim_sample(&L->held_wait_ms, (c->join_ns - c->connect_ns) / 1000000);
  if (!c->closing)
    after(c, c->play_ms, NEXT_LEAVE);
}
