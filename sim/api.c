/* The simulated control-plane API and the servers behind it. It serves the routes document
 * (ETag, 304), takes start and stop calls (idempotent; a stop runs only once every replica has
 * asked for it since the last start, as docs/scaling.md describes), takes events and
 * de-duplicates them by id, and fails the way real ones do: 5xx, timeouts (some after the work
 * was done), garbage and stale documents, and a full outage window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define TIMEOUT_MS 10000       /* the client's request timeout (provider_api.c) */

/* ---- Faults ------------------------------------------------------------------------------- */

static int outage(const struct sim *s)
{
  const struct sim_faults *f = &s->sc->faults;
  uint64_t t = s->now / 1000;

  return !s->draining && t >= f->outage_from_s && t < f->outage_to_s;
}

static uint64_t rtt(struct sim *s)
{
  return sim_rng_range(&s->rng, 2, 80);
}

/* ---- The routes document ------------------------------------------------------------------ */

static const char *join_name(enum hop_join j)
{
  return j == HOP_JOIN_KICK ? "kick" : "hold";
}

static char *doc_build(const struct sim *s)
{
  size_t cap = 256 + s->servers_len * 400, pos = 0;
  char *doc = malloc(cap);

  if (!doc)
    return NULL;
  pos += (size_t)snprintf(doc + pos, cap - pos, "{\"revision\":\"r%u\",\"servers\":[",
                          s->api.revision);
  for (size_t i = 0, n = 0; i < s->servers_len; i++) {
    const struct sim_server *v = &s->servers[i];
    const struct sim_server_spec *p = v->spec;

    if (v->unlisted)
      continue;
    pos += (size_t)snprintf(doc + pos, cap - pos,
      "%s{\"id\":\"%s\",\"hosts\":[\"%s\"],\"backend\":\"10.0.%zu.%zu:25565\","
      "\"state\":\"%s\",\"auto_start\":true,\"join\":\"%s\",\"idle_stop_s\":%u,"
      "\"min_online_s\":%u,\"start_timeout_s\":%u}", n++ ? "," : "", v->id, p->host, i / 250,
      i % 250 + 1, hop_state_name(v->state), join_name(p->join), p->idle_stop_s,
      p->min_online_s, p->start_timeout_s);
  }
  snprintf(doc + pos, cap - pos, "]}");
  return doc;
}

/* A new revision: the old one is kept for the "stale" fault. */
int sim_api_doc_refresh(struct sim *s)
{
  struct sim_api *a = &s->api;
  char *doc;

  a->revision++;
  if (!(doc = doc_build(s)))
    return -1;
  free(a->doc_old);
  a->doc_old = a->doc;
  memcpy(a->etag_old, a->etag, sizeof a->etag);
  a->doc = doc;
  snprintf(a->etag, sizeof a->etag, "\"r%u\"", a->revision);
  sim_trace(s, "revision", a->revision, 0);
  return 0;
}

/* Rejected as a whole by hop_routes_parse, each in its own way. */
static char *garbage(struct sim *s)
{
  const char *doc = s->api.doc;
  size_t len = strlen(doc);
  char *g = NULL;

  switch (sim_rng_below(&s->rng, 3)) {
  case 0:                      /* cut off mid-way */
    g = strdup(doc);
    if (g)
      g[sim_rng_below(&s->rng, len)] = '\0';
    break;
  case 1:                      /* a proxy's error page with a 200 */
    g = strdup("<html><body>502 Bad Gateway</body></html>");
    break;
  default:                     /* valid JSON, invalid document: one host on two servers */
    g = malloc(len + 128);
    if (g)
      snprintf(g, len + 128, "%.*s,{\"id\":\"dup\",\"hosts\":[\"%s\"],\"backend\":\"10.9.9.9:1\"}"
               "]}", (int)(len - 2), doc, s->servers[0].spec->host);
    break;
  }
  return g;
}

static uint32_t reply_slot(struct sim *s)
{
  size_t i;

  for (i = 0; i < s->replies_len && s->replies[i].used; i++)
    ;
  if (i == s->replies_len) {
    if (s->replies_len == s->replies_cap) {
      size_t cap = s->replies_cap ? s->replies_cap * 2 : 8;
      struct sim_fetch_reply *g = realloc(s->replies, cap * sizeof *g);

      if (!g)
        abort();               /* a handful of slots: not worth a path of its own */
      s->replies = g;
      s->replies_cap = cap;
    }
    s->replies_len++;
  }
  memset(&s->replies[i], 0, sizeof s->replies[i]);
  s->replies[i].used = 1;
  return (uint32_t)i;
}

void sim_api_get_routes(struct sim *s, uint32_t replica)
{
  const struct sim_faults *f = &s->sc->faults;
  uint32_t slot = reply_slot(s);
  struct sim_fetch_reply *rep = &s->replies[slot];
  uint64_t delay = rtt(s);

  if (sim_rng_chance(&s->rng, sim_fault(s, f->api_churn))) {
    struct sim_server *v = &s->servers[sim_rng_below(&s->rng, s->servers_len)];

    v->unlisted = !v->unlisted;    /* an operator removes a server, or puts it back */
    sim_api_doc_refresh(s);
  }
  if (outage(s) || sim_rng_chance(&s->rng, sim_fault(s, f->api_timeout))) {
    rep->status = -1;
    delay = TIMEOUT_MS;
  } else if (sim_rng_chance(&s->rng, sim_fault(s, f->api_5xx))) {
    rep->status = 500 + (int)sim_rng_below(&s->rng, 4);
  } else if (sim_rng_chance(&s->rng, sim_fault(s, f->api_garbage))) {
    rep->status = 200;
    rep->body = garbage(s);
    snprintf(rep->etag, sizeof rep->etag, "\"garbage\"");
  } else if (s->api.doc_old && sim_rng_chance(&s->rng, sim_fault(s, f->api_stale))) {
    rep->status = 200;         /* a lagging cache or read replica */
    rep->body = strdup(s->api.doc_old);
    memcpy(rep->etag, s->api.etag_old, sizeof rep->etag);
  } else if (strcmp(s->replicas[replica].etag, s->api.etag) == 0) {
    rep->status = 304;
  } else {
    rep->status = 200;
    rep->body = strdup(s->api.doc);
    memcpy(rep->etag, s->api.etag, sizeof rep->etag);
  }
  if (rep->status == 200 && !rep->body)
    rep->status = 503;
  sim_at(s, delay, EV_FETCH_REPLY, replica, slot, 0);
}

/* ---- Servers ------------------------------------------------------------------------------ */

int sim_api_server_index(const struct sim *s, const char *id)
{
  char *end;
  long i;

  if (!id || id[0] != 's')
    return -1;
  i = strtol(id + 1, &end, 10);
  if (*end || i < 0 || (size_t)i >= s->servers_len || strcmp(s->servers[i].id, id) != 0)
    return -1;
  return (int)i;
}

static void world_start(struct sim *s, uint32_t idx)
{
  struct sim_server *v = &s->servers[idx];
  const struct sim_server_spec *p = v->spec;
  uint64_t up = p->start_ms + sim_rng_below(&s->rng, (uint64_t)p->start_jitter_ms + 1);

  v->stop_votes = 0;
  if (v->state == HOP_STATE_STOPPING) {
    v->restart = 1;
    return;
  }
  if (v->state != HOP_STATE_SLEEPING && v->state != HOP_STATE_FAILED)
    return;                    /* idempotent: starting or running already */
  if (sim_rng_chance(&s->rng, sim_fault(s, p->slow_start)))
    up += (uint64_t)p->start_timeout_s * 1000 + 20000;   /* outlasts the gateway's patience */
  v->state = HOP_STATE_STARTING;
  v->gen++;
  v->tcp_at_ms = s->now + up;
  v->status_at_ms = v->tcp_at_ms + p->status_lag_ms;
  v->login_at_ms = v->status_at_ms + p->login_lag_ms;
  sim_at(s, v->status_at_ms - s->now, EV_SERVER, 0, idx, v->gen);
  sim_api_doc_refresh(s);
}

/* A stop runs once every replica has asked since the last start: a replica only asks with no
 * session of its own on the server, so together they prove it empty. */
static void world_stop(struct sim *s, uint32_t idx, uint32_t replica)
{
  struct sim_server *v = &s->servers[idx];
  uint32_t all = (1u << s->replicas_len) - 1;

  v->stop_votes |= 1u << replica;
  if (v->state != HOP_STATE_RUNNING || (v->stop_votes & all) != all)
    return;
  if (v->live > 0)
    sim_violation(s, "server %s stopped with %u live session(s)", v->id, v->live);
  v->state = HOP_STATE_STOPPING;
  v->stop_votes = 0;
  v->gen++;
  s->stats.stops++;
  sim_at(s, v->spec->stop_ms, EV_SERVER, 0, idx, v->gen);
  sim_api_doc_refresh(s);
}

static void on_server_timer(struct sim *s, uint32_t idx, uint32_t gen)
{
  struct sim_server *v = &s->servers[idx];

  if (gen != v->gen)
    return;
  if (v->state == HOP_STATE_STARTING) {
    v->state = HOP_STATE_RUNNING;
  } else if (v->state == HOP_STATE_STOPPING) {
    v->state = HOP_STATE_SLEEPING;
    sim_session_server_stopped(s, idx);
    if (v->restart) {
      v->restart = 0;
      world_start(s, idx);
      return;
    }
  }
  sim_api_doc_refresh(s);
}

/* How a start/stop call or an events POST fares: its status (-1: no answer), whether the API did
 * the work, and when the answer arrives. One helper, so both draw from the RNG the same way. */
struct answer {
  int status;
  int done;
  uint64_t delay;
};

static struct answer answer(struct sim *s, int ok_status)
{
  const struct sim_faults *f = &s->sc->faults;
  struct answer a = { ok_status, 1, rtt(s) };

  if (outage(s)) {
    a.status = -1;
    a.done = 0;
    a.delay = TIMEOUT_MS;
  } else if (sim_rng_chance(&s->rng, sim_fault(s, f->api_timeout))) {
    a.status = -1;             /* half of these did the work and lost the answer */
    a.done = sim_rng_chance(&s->rng, 0.5);
    a.delay = TIMEOUT_MS;
  } else if (sim_rng_chance(&s->rng, sim_fault(s, f->api_5xx))) {
    a.status = 503;
    a.done = 0;
  }
  return a;
}

void sim_api_call(struct sim *s, uint32_t slot)
{
  const struct sim_call *c = &s->calls[slot];
  struct answer a = answer(s, 202);

  if (a.done && c->f.stop)
    world_stop(s, c->server, c->replica);
  else if (a.done)
    world_start(s, c->server);
  sim_at(s, a.delay, EV_CALL_REPLY, slot, 0, a.status);
}

/* ---- Events ------------------------------------------------------------------------------- */

static uint64_t fnv(const char *p)
{
  uint64_t h = 0xcbf29ce484222325ull;

  for (; *p; p++)
    h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
  return h;
}

static struct sim_delivered *seen_slot(const struct sim_api *a, const char *id)
{
  size_t mask = a->seen_cap - 1;

  for (size_t i = fnv(id) & mask;; i = (i + 1) & mask)
    if (!a->seen[i].id[0] || strcmp(a->seen[i].id, id) == 0)
      return &a->seen[i];
}

static int seen_grow(struct sim_api *a)
{
  struct sim_api grown = { 0 };

  grown.seen_cap = a->seen_cap ? a->seen_cap * 2 : 1024;
  grown.seen = calloc(grown.seen_cap, sizeof *grown.seen);
  if (!grown.seen)
    return -1;
  for (size_t i = 0; i < a->seen_cap; i++)
    if (a->seen[i].id[0])
      *seen_slot(&grown, a->seen[i].id) = a->seen[i];
  free(a->seen);
  a->seen = grown.seen;
  a->seen_cap = grown.seen_cap;
  return 0;
}

static void take_event(struct sim *s, const struct sim_outbox_row *row)
{
  struct sim_api *a = &s->api;
  struct sim_delivered *d;
  uint64_t h = fnv(row->body ? row->body : "");

  if ((a->seen_len + 1) * 2 > a->seen_cap && seen_grow(a) < 0) {
    sim_violation(s, "out of memory");
    return;
  }
  d = seen_slot(a, row->id);
  if (d->id[0]) {              /* a retry of something we have: de-duplicated */
    s->stats.events_dup++;
    if (d->body_hash != h)
      sim_violation(s, "event %s delivered twice with different bodies", row->id);
    return;
  }
  memcpy(d->id, row->id, sizeof d->id);
  d->body_hash = h;
  d->at_ms = s->now;
  a->seen_len++;
  s->stats.events_delivered++;
  sim_sample(&s->stats.event_delay_ms, s->now - row->created_ms);
}

void sim_api_post_events(struct sim *s, uint32_t replica, size_t n)
{
  const struct sim_replica *r = &s->replicas[replica];
  struct answer a = answer(s, 200);

  for (size_t i = 0; a.done && i < n; i++)
    take_event(s, &r->rows[i]);
  sim_at(s, a.delay, EV_EVENTS_REPLY, replica, 0, a.status);
}

int sim_api_delivered(const struct sim *s, const char *id)
{
  return s->api.seen_cap && seen_slot(&s->api, id)->id[0] != '\0';
}

/* ---- Life --------------------------------------------------------------------------------- */

void sim_api_on_event(struct sim *s, const struct sim_event *ev)
{
  if (ev->kind == EV_SERVER)
    on_server_timer(s, ev->b, (uint32_t)ev->c);
}

int sim_api_init(struct sim *s)
{
  s->servers_len = s->sc->servers_len;
  s->servers = calloc(s->servers_len, sizeof *s->servers);
  if (!s->servers)
    return -1;
  for (size_t i = 0; i < s->servers_len; i++) {
    struct sim_server *v = &s->servers[i];

    v->spec = &s->sc->servers[i];
    snprintf(v->id, sizeof v->id, "s%u", (unsigned)(i % 100000));   /* positional: s0..sN */
    v->state = v->spec->state == HOP_STATE_FAILED ? HOP_STATE_SLEEPING : v->spec->state;
    if (v->state == HOP_STATE_STARTING)
      v->state = HOP_STATE_SLEEPING;   /* a start in flight is not part of a starting state */
  }
  return sim_api_doc_refresh(s);
}

void sim_api_free(struct sim *s)
{
  free(s->api.doc);
  free(s->api.doc_old);
  free(s->api.seen);
  for (size_t i = 0; i < s->replies_len; i++)
    free(s->replies[i].body);
  free(s->replies);
  free(s->servers);
}
