/* Live mode's backends: one loopback listener per scenario server, behind hopper. A backend
 * reads the Handshake; a status exchange gets a Status Response and a Pong, as a real server
 * answers; a login is checked against the client that sent it (the replayed bytes must be that
 * client's first bytes, exactly) and then kept open until hopper closes it, or reset when the
 * scenario's backend_reset fault fires. A server that is not running in the scenario refuses.
 * With the farm (the sqlite provider), hopper's start_cmd and stop_cmd append "start ID" or
 * "stop ID" to a file that the tick reads: a start makes the backend listen after the scenario's
 * start delay (scaled), a stop makes it reset what it accepts until the next start. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "live.h"

/* ---- Connections ---------------------------------------------------------------------------- */

static void bconn_closed(uv_handle_t *h)
{
  struct live_bconn *b = h->data;

  b->L->bconns_open--;
}

static void bconn_close(struct live_bconn *b, int reset)
{
  if (!b->open)
    return;
  b->open = 0;
  if (!reset || uv_tcp_close_reset(&b->tcp, bconn_closed) < 0)
    uv_close((uv_handle_t *)&b->tcp, bconn_closed);
}

static void bconn_send(struct live_bconn *b, const uint8_t *p, size_t n)
{
  uv_buf_t buf = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);

  if (uv_try_write((uv_stream_t *)&b->tcp, &buf, 1) != (int)n)
    bconn_close(b, 0);         /* a few bytes on loopback: a short write means trouble */
}

static void status_answer(struct live_bconn *b)
{
  char json[160];
  uint8_t out[256];
  int n = snprintf(json, sizeof json, "{\"version\":{\"name\":\"live\",\"protocol\":%d},"
                   "\"players\":{\"max\":20,\"online\":0},\"description\":{\"text\":"
                   "\"live-backend #%u\"}}", (int)b->protocol, (unsigned)b->idx);

  n = hop_status_response_encode(out, sizeof out, json, (size_t)n);
  if (n > 0)
    bconn_send(b, out, (size_t)n);
}

/* The login's name is "L<client index>": the client it came from. Its bytes must be exactly
 * that client's script, and they must be the first bytes this connection got. */
static void login_arrived(struct live_bconn *b, const struct hop_frame *f)
{
  struct live *L = b->L;
  struct hop_login lg;
  char name[24] = "";
  unsigned long idx;
  struct live_client *c;

  if (hop_login_parse(f, b->protocol, &lg) < 0 || lg.name.len >= sizeof name) {
    live_violation(L, "backend %s got a Login Start it cannot parse",
                   L->s.servers[b->server].spec->id);
    return;
  }
  memcpy(name, lg.name.ptr, lg.name.len);
  idx = strtoul(name + 1, NULL, 10);
  if (name[0] != 'L' || idx >= L->clients_len) {
    live_violation(L, "backend got a login from no client of ours (%s)", name);
    return;
  }
  c = &L->clients[idx];
  b->client = (int)idx;
  if (b->used != c->ss.script_len || memcmp(b->rx, c->ss.script, b->used) != 0)
    live_violation(L, "client %lu: the backend's first %zu bytes are not the client's %zu "
                   "login bytes", idx, b->used, c->ss.script_len);
  if (c->ss.server < 0 || (uint32_t)c->ss.server != b->server)
    live_violation(L, "client %lu aimed at server %d reached backend %s", idx, c->ss.server,
                   L->s.servers[b->server].spec->id);
  c->join_ns = uv_hrtime();
  live_client_joined(L, c);
  if (sim_rng_chance(&L->s.rng, L->s.sc->faults.backend_reset))
    bconn_close(b, 1);
}

static void status_frame(struct live_bconn *b, const struct hop_frame *f)
{
  int64_t payload = 0;
  uint8_t out[16];
  int kind = hop_status_classify(f, &payload), n;

  if (kind == HOP_STATUS_REQUEST) {
    status_answer(b);
  } else if (kind == HOP_STATUS_PING) {
    n = hop_pong_encode(out, sizeof out, payload);
    if (n > 0)
      bconn_send(b, out, (size_t)n);
  }
}

static void handshake_frame(struct live_bconn *b, const struct hop_frame *f)
{
  struct hop_handshake hs;

  if (hop_handshake_parse(f, 1024, &hs) < 0) {
    live_violation(b->L, "backend %s: the first bytes hopper sent are not a Handshake",
                   b->L->s.servers[b->server].spec->id);
    b->stage = 3;
    return;
  }
  b->protocol = hs.protocol;
  b->stage = hs.intent == HOP_INTENT_STATUS ? 1 : 2;
}

static void parse_frames(struct live_bconn *b)
{
  struct hop_frame f;
  int n;

  while (b->stage < 3 && b->open &&
         (n = hop_frame_parse(b->rx + b->used, b->len - b->used, LIVE_RX_BYTES, &f)) > 0) {
    b->used += (size_t)n;
    if (b->stage == 0) {
      handshake_frame(b, &f);
    } else if (b->stage == 1) {
      status_frame(b, &f);
    } else {
      b->stage = 3;            /* after the login, the rest is the game's business */
      login_arrived(b, &f);
    }
  }
}

static void bconn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  static char sink[4096];
  struct live_bconn *b = h->data;

  if (b->len < sizeof b->rx)
    *buf = uv_buf_init((char *)b->rx + b->len, (unsigned)(sizeof b->rx - b->len));
  else
    *buf = uv_buf_init(sink, sizeof sink);     /* past what the checks look at */
}

static void bconn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  struct live_bconn *b = st->data;
  int had_login;

  if (n < 0) {
    bconn_close(b, 0);
    return;
  }
  had_login = b->client >= 0;
  if (buf->base == (char *)b->rx + b->len)
    b->len += (size_t)n;
  parse_frames(b);
  /* Our clients send their login and nothing more (a held one also answers hopper's Login
   * Plugin Requests, which hopper must swallow): no byte may follow the login. */
  if (b->client >= 0 && !b->extra && (had_login ? n > 0 : b->len > b->used)) {
    b->extra = 1;
    live_violation(b->L, "client %d: backend %s got bytes after the login (a keepalive answer "
                   "forwarded?)", b->client, b->L->s.servers[b->server].spec->id);
  }
}

static int bconn_track(struct live *L, struct live_bconn *b)
{
  if (L->bconns_len == L->bconns_cap) {
    size_t cap = L->bconns_cap ? L->bconns_cap * 2 : 128;
    struct live_bconn **g = realloc(L->bconns, cap * sizeof *g);

    if (!g)
      return -1;
    L->bconns = g;
    L->bconns_cap = cap;
  }
  b->idx = (uint32_t)L->bconns_len;
  L->bconns[L->bconns_len++] = b;
  return 0;
}

static void on_accept(uv_stream_t *server, int status)
{
  struct live_backend *be = server->data;
  struct live_bconn *b = calloc(1, sizeof *b);

  if (status < 0 || !b || bconn_track(be->L, b) < 0) {
    free(b);
    return;
  }
  b->L = be->L;
  b->server = be->server;
  b->client = -1;
  uv_tcp_init(&be->L->loop, &b->tcp);
  b->tcp.data = b;
  b->open = 1;
  be->L->bconns_open++;
  if (uv_accept(server, (uv_stream_t *)&b->tcp) < 0 || !be->up) {
    bconn_close(b, 1);         /* stopped: a reset, as a port with nothing behind it */
    return;
  }
  if (
      uv_read_start((uv_stream_t *)&b->tcp, bconn_alloc, bconn_read) < 0)
    bconn_close(b, 0);
}

/* ---- Listeners ------------------------------------------------------------------------------ */

static int backend_start(struct live *L, struct live_backend *be)
{
  struct sockaddr_in a;
  struct sockaddr_storage got;
  int len = sizeof got;

  uv_ip4_addr("127.0.0.1", 0, &a);
  uv_tcp_init(&L->loop, &be->tcp);
  be->tcp.data = be;
  if (uv_tcp_bind(&be->tcp, (const struct sockaddr *)&a, 0) < 0 ||
      uv_tcp_getsockname(&be->tcp, (struct sockaddr *)&got, &len) < 0)
    return -1;
  be->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
  /* Bound but not listening: the kernel answers a SYN with RST, so connects are refused, and
   * the port stays ours for the run. */
  if (be->server < L->s.servers_len && L->s.servers[be->server].spec->state != HOP_STATE_RUNNING)
    return 0;
  be->listening = be->up = 1;
  return uv_listen((uv_stream_t *)&be->tcp, LIVE_BACKLOG, on_accept) < 0 ? -1 : 0;
}

int live_backends_start(struct live *L)
{
  L->backends = calloc(L->s.servers_len ? L->s.servers_len : 1, sizeof *L->backends);
  if (!L->backends)
    return -1;
  for (size_t i = 0; i < L->s.servers_len; i++) {
    L->backends[i].L = L;
    L->backends[i].server = (uint32_t)i;
    if (backend_start(L, &L->backends[i]) < 0)
      return -1;
  }
  return 0;
}

/* ---- The farm ------------------------------------------------------------------------------- */

static int server_index(const struct live *L, const char *id)
{
  for (size_t i = 0; i < L->s.servers_len; i++)
    if (strcmp(L->s.servers[i].spec->id, id) == 0)
      return (int)i;
  return -1;
}

/* The scenario's start delay (to TCP, then to status answers), scaled like its clock. */
static uint64_t start_delay(struct live *L, const struct sim_server_spec *sp)
{
  uint64_t ms = sp->start_ms + sp->status_lag_ms +
                (sp->start_jitter_ms ? sim_rng_below(&L->s.rng, sp->start_jitter_ms + 1) : 0);

  ms = ms * L->scale_num / L->scale_den;
  return ms < LIVE_START_MIN_MS ? LIVE_START_MIN_MS : ms > LIVE_START_MAX_MS ? LIVE_START_MAX_MS
                                                                             : ms;
}

static void farm_line(struct live *L, const char *line)
{
  char what[8] = "", id[24] = "";
  int i;
  struct live_backend *be;

  if (sscanf(line, "%7s %23s", what, id) != 2 || (i = server_index(L, id)) < 0) {
    live_violation(L, "a start_cmd or stop_cmd wrote \"%s\"", line);
    return;
  }
  be = &L->backends[i];
  if (strcmp(what, "start") == 0) {
    L->start_runs++;
    be->starts++;
    if (!be->up && !be->up_at_ms)
      be->up_at_ms = live_now(L) + start_delay(L, L->s.servers[i].spec);
  } else {
    L->stop_runs++;
    be->stops++;
    be->up = 0;
    be->up_at_ms = 0;
  }
}

void live_farm_poll(struct live *L)
{
  char buf[4096], *start, *nl;
  ssize_t n;
  int fd;

  if (!L->farm)
    return;
  if ((fd = open(L->farm_file, O_RDONLY)) >= 0) {
    n = pread(fd, buf, sizeof buf - 1, (off_t)L->farm_off);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      for (start = buf; (nl = strchr(start, '\n')); start = nl + 1) {
        *nl = 0;
        farm_line(L, start);
      }
      L->farm_off += (uint64_t)(start - buf);   /* a partial last line is read again */
    }
  }
  for (size_t i = 0; i < L->s.servers_len; i++) {
    struct live_backend *be = &L->backends[i];

    if (!be->up_at_ms || live_now(L) < be->up_at_ms)
      continue;
    be->up_at_ms = 0;
    be->up = 1;
    if (!be->listening) {
      be->listening = 1;
      if (uv_listen((uv_stream_t *)&be->tcp, LIVE_BACKLOG, on_accept) < 0)
        live_violation(L, "backend %s cannot listen", L->s.servers[i].spec->id);
    }
  }
}

/* Nothing starting or stopping, and every server that was started during the run is down. */
int live_farm_quiet(const struct live *L)
{
  if (L->busy)
    return 0;
  for (size_t i = 0; i < L->s.servers_len; i++)
    if (L->backends[i].up_at_ms || (L->backends[i].starts && L->backends[i].up))
      return 0;
  return 1;
}

void live_backends_close(struct live *L)
{
  for (size_t i = 0; L->backends && i < L->s.servers_len; i++)
    if (L->backends[i].L && !uv_is_closing((uv_handle_t *)&L->backends[i].tcp))
      uv_close((uv_handle_t *)&L->backends[i].tcp, NULL);
}

/* Connections hopper left open (a violation by then, already noted): closed so the loop ends. */
void live_bconns_close(struct live *L)
{
  for (size_t i = 0; i < L->bconns_len; i++)
    bconn_close(L->bconns[i], 0);
}
