/* One gateway replica on the simulated control loop: the real hop_farm fed the way
 * src/shell/farmctl.c feeds it, route tables built by the real routes parser from the simulated
 * API's documents, the real fetcher (include/hop/fetcher.h: ETag, refresh, backoff with the seeded
 * jitter, start and stop calls with their retries) driven as src/shell/provider_api.c drives it,
 * probes, and the session counts and events that come from the workers over the mailbox. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/config.h"
#include "sim.h"

#define NO_TIMER UINT64_MAX
#define PROBE_TIMEOUT_MS 3000  /* farmctl.c */

static void run(struct sim *s, struct sim_replica *r, const struct hop_fetcher_out *out);

/* ---- Snapshots ---------------------------------------------------------------------------- */

void sim_snap_unref(struct sim *s, struct sim_snap *snap)
{
  if (!snap || --snap->refs > 0)
    return;
  hop_route_table_free(snap->t);
  free(snap);
  s->snaps_live--;
}

static void set_state(struct hop_route_table *t, const char *id, enum hop_state state)
{
  const struct hop_server *srv = hop_route_table_find_id(t, id);

  if (srv)                     /* as farmctl.c's publish_state: the one writer of this field */
    atomic_store(&((struct hop_server *)(uintptr_t)srv)->state, (int)state);
}

/* hop_provider_publish + hop_farmctl_sync: parse, sync the farm, write its states into the new
 * table, carry out what the sync decided, then swap. Returns 0, or < 0 when rejected. */
static int publish(struct sim *s, struct sim_replica *r, const char *doc)
{
  char err[HOP_CONFIG_ERR_BYTES];
  struct hop_route_table *t;
  struct hop_farm_server_spec *specs;
  struct sim_snap *snap;
  size_t n;
  int rc = hop_routes_parse("api", doc, strlen(doc), HOP_ROUTES_API, &t, err, sizeof err);

  if (rc < 0)
    return rc;
  hop_routes_build_status(t, &s->conn_cfg);
  n = hop_route_table_servers(t);
  specs = calloc(n ? n : 1, sizeof *specs);
  snap = calloc(1, sizeof *snap);
  if (!specs || !snap) {
    free(specs);
    free(snap);
    hop_route_table_free(t);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    const struct hop_server *srv = hop_route_table_server(t, i);

    specs[i].id = srv->id;
    specs[i].policy = srv->policy;
    specs[i].provider_state = (enum hop_state)atomic_load(&srv->state);
  }
  rc = hop_farm_sync(r->farm, specs, n, s->now);
  free(specs);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const struct hop_server *srv = hop_route_table_server(t, i);

    set_state(t, srv->id, hop_farm_state(r->farm, srv->id));
  }
  sim_gateway_drain_farm(s, r);
  snap->t = t;
  snap->refs = 1;
  s->snaps_live++;
  sim_snap_unref(s, r->snap);
  r->snap = snap;
  return 0;
}

/* ---- The farm's actions (farmctl.c's drain) ----------------------------------------------- */

static void call_new(struct sim *s, struct sim_replica *r, uint32_t server, int stop,
                     uint32_t sessions)
{
  struct hop_fetcher_out out = { 0 };
  size_t i;

  for (i = 0; i < s->calls_len && s->calls[i].used; i++)
    ;
  if (i == s->calls_len) {
    if (s->calls_len == s->calls_cap) {
      size_t cap = s->calls_cap ? s->calls_cap * 2 : 16;
      struct sim_call *g = realloc(s->calls, cap * sizeof *g);

      if (!g) {
        sim_violation(s, "out of memory");
        return;
      }
      s->calls = g;
      s->calls_cap = cap;
    }
    s->calls_len++;
  }
  s->calls[i] = (struct sim_call){ .used = 1, .replica = r->idx, .server = server,
                                   .sessions = sessions };
  hop_fetcher_call(&r->fetcher, s->now, &s->calls[i].f, stop, &out);
  run(s, r, &out);
}

static void probe(struct sim *s, struct sim_replica *r, uint32_t server)
{
  const struct sim_server *srv = &s->servers[server];
  const struct sim_faults *f = &s->sc->faults;
  int up = srv->state == HOP_STATE_RUNNING || srv->state == HOP_STATE_STOPPING;

  s->stats.probes++;
  if (sim_rng_chance(&s->rng, sim_fault(s, f->backend_stall)))
    sim_at(s, PROBE_TIMEOUT_MS, EV_PROBE, r->idx, server, 0);
  else
    sim_at(s, sim_rng_range(&s->rng, 2, 40), EV_PROBE, r->idx, server, up);
}

static void event_json(struct sim *s, struct sim_replica *r, const struct hop_farm_action *a)
{
  char json[256];

  snprintf(json, sizeof json, "{\"type\":\"%s\",\"server\":\"%s\",\"wait_ms\":%llu}",
           hop_farm_event_name(a->event), a->id, (unsigned long long)a->wait_ms);
  sim_gateway_event(s, r, json);
}

static void on_state(struct sim *s, struct sim_replica *r, const struct hop_farm_action *a,
                     int server)
{
  if (r->snap)                 /* none yet while the first document is published */
    set_state(r->snap->t, a->id, a->state);
  if (a->state != HOP_STATE_STARTING)
    r->attempt_open[server] = 0;
  if (a->state == HOP_STATE_FAILED)
    s->stats.failed_starts++;
  sim_at(s, SIM_MSG_MS, EV_STATE_MSG, r->idx, (uint32_t)server, a->state);
}

static void on_start(struct sim *s, struct sim_replica *r, int server)
{
  if (r->attempt_open[server])
    sim_violation(s, "%s: a second start of server %s while one is in flight", r->name,
                  s->servers[server].id);
  r->attempt_open[server] = 1;
  s->stats.starts++;
  call_new(s, r, (uint32_t)server, 0, 0);
}

static void arm_farm_timer(struct sim *s, struct sim_replica *r)
{
  uint64_t d = hop_farm_deadline(r->farm);

  if (d == r->farm_timer_ms)
    return;
  r->farm_timer_ms = d;
  if (d != NO_TIMER)
    sim_at(s, d > s->now ? d - s->now : 0, EV_FARM_TIMER, r->idx, 0, (int64_t)d);
}

void sim_gateway_drain_farm(struct sim *s, struct sim_replica *r)
{
  struct hop_farm_action a;

  while (hop_farm_next_action(r->farm, &a)) {
    int server = sim_api_server_index(s, a.id);

    sim_trace(s, "farm", (uint64_t)a.kind, (uint64_t)server);
    if (server < 0) {
      sim_violation(s, "%s: farm action for unknown server %s", r->name, a.id);
      continue;
    }
    switch (a.kind) {
    case HOP_FARM_START:
      on_start(s, r, server);
      break;
    case HOP_FARM_STOP:
      call_new(s, r, (uint32_t)server, 1, a.sessions);
      break;
    case HOP_FARM_PROBE:
      probe(s, r, (uint32_t)server);
      break;
    case HOP_FARM_STATE:
      on_state(s, r, &a, server);
      break;
    case HOP_FARM_EVENT:
      event_json(s, r, &a);
      break;
    }
  }
  arm_farm_timer(s, r);
}

/* ---- Mailbox from the workers ------------------------------------------------------------- */

void sim_gateway_session_msg(struct sim *s, struct sim_replica *r, uint32_t server, int begin,
                             const struct sim_session *ss)
{
  char json[256];
  struct sim_msg *m;

  if (r->msgs_len == r->msgs_cap) {
    size_t cap = r->msgs_cap ? r->msgs_cap * 2 : 16;
    struct sim_msg *g = malloc(cap * sizeof *g);

    if (!g) {
      sim_violation(s, "out of memory");
      return;
    }
    for (size_t i = 0; i < r->msgs_len; i++)
      g[i] = r->msgs[(r->msgs_head + i) % r->msgs_cap];
    free(r->msgs);
    r->msgs = g;
    r->msgs_cap = cap;
    r->msgs_head = 0;
  }
  snprintf(json, sizeof json, "{\"type\":\"%s\",\"server\":\"%s\",\"player\":\"%s\","
           "\"client_ip\":\"%s\",\"protocol\":%d,\"session\":%u}", begin ? "join" : "leave",
           s->servers[server].id, ss->player, ss->ip, (int)ss->protocol, ss->id);
  m = &r->msgs[(r->msgs_head + r->msgs_len++) % r->msgs_cap];
  m->server = server;
  m->begin = begin;
  m->json = strdup(json);
  sim_at(s, SIM_MSG_MS, EV_SESSION_MSG, r->idx, server, begin);
}

static void on_session_msg(struct sim *s, struct sim_replica *r)
{
  struct sim_msg m;

  if (r->msgs_len == 0)
    return;
  m = r->msgs[r->msgs_head];
  r->msgs_head = (r->msgs_head + 1) % r->msgs_cap;
  r->msgs_len--;
  if (m.begin)
    hop_farm_session_begin(r->farm, s->servers[m.server].id, s->now);
  else
    hop_farm_session_end(r->farm, s->servers[m.server].id, s->now);
  if (m.json)
    sim_gateway_event(s, r, m.json);
  free(m.json);
  sim_gateway_drain_farm(s, r);
}

void sim_gateway_event(struct sim *s, struct sim_replica *r, const char *json)
{
  r->events_made++;
  s->stats.events_made++;
  sim_outbox_add(s, r, json);
}

/* ---- The fetcher's actions (provider_api.c's run) ---------------------------------------- */

static int any_starting(const struct sim_replica *r)
{
  for (size_t i = 0; i < hop_route_table_servers(r->snap->t); i++)
    if (atomic_load(&hop_route_table_server(r->snap->t, i)->state) == HOP_STATE_STARTING)
      return 1;
  return 0;
}

static void call_done(struct sim *s, struct sim_replica *r, struct sim_call *c, int ok)
{
  const char *id = s->servers[c->server].id;

  c->used = 0;
  if (!ok && !c->f.stop)
    s->stats.start_calls_failed++;
  if (c->f.stop)
    hop_farm_stop_result(r->farm, id, ok, s->now);
  else
    hop_farm_start_result(r->farm, id, ok, s->now);
  sim_gateway_drain_farm(s, r);
}

static void run(struct sim *s, struct sim_replica *r, const struct hop_fetcher_out *out)
{
  for (size_t i = 0; i < out->len; i++) {
    const struct hop_fetcher_action *a = &out->a[i];
    struct sim_call *c = (struct sim_call *)a->call;
    uint32_t slot = c ? (uint32_t)(c - s->calls) : 0;

    sim_trace(s, "fetcher", (uint64_t)a->kind, a->delay_ms);
    switch (a->kind) {
    case HOP_FETCHER_GET:
      s->stats.fetches++;
      sim_api_get_routes(s, r->idx);
      break;
    case HOP_FETCHER_ARM:
      sim_at(s, a->delay_ms, EV_FETCH, r->idx, 0, ++r->fetch_gen);
      break;
    case HOP_FETCHER_COUNT:
      if (a->count == HOP_FETCHER_OK)
        s->stats.fetch_ok++;
      else if (a->count == HOP_FETCHER_REJECTED)
        s->stats.fetch_rejected++;
      else if (a->count != HOP_FETCHER_NOT_MODIFIED)
        s->stats.fetch_failed++;
      break;
    case HOP_FETCHER_LOG_FAILED:
      break;
    case HOP_FETCHER_CALL_SEND:
      sim_at(s, 0, EV_CALL, slot, 0, 0);
      break;
    case HOP_FETCHER_CALL_LATER:
      sim_at(s, a->delay_ms, EV_CALL, slot, 0, 0);
      break;
    case HOP_FETCHER_CALL_DONE:
      call_done(s, r, c, a->ok);
      break;
    }
  }
}

static void on_fetch_reply(struct sim *s, struct sim_replica *r, uint32_t slot)
{
  struct sim_fetch_reply *rep = &s->replies[slot];
  struct hop_fetcher_out out = { 0 };
  int valid = 0;

  if (rep->status == 200 && (valid = publish(s, r, rep->body) == 0))
    snprintf(r->etag, sizeof r->etag, "%s", rep->etag);
  hop_fetcher_on_fetched(&r->fetcher, s->now, rep->status, valid, any_starting(r),
                         sim_rng_u64(&s->rng), &out);
  free(rep->body);
  memset(rep, 0, sizeof *rep);
  run(s, r, &out);
}

static void on_call_reply(struct sim *s, uint32_t slot, int status)
{
  struct sim_call *c = &s->calls[slot];
  struct sim_replica *r = &s->replicas[c->replica];
  struct hop_fetcher_out out = { 0 };

  hop_fetcher_on_called(&r->fetcher, s->now, &c->f, status, 0, &out);
  run(s, r, &out);
}

/* ---- Events and life ---------------------------------------------------------------------- */

void sim_gateway_on_event(struct sim *s, const struct sim_event *ev)
{
  struct sim_replica *r = &s->replicas[ev->a < s->replicas_len ? ev->a : 0];

  switch (ev->kind) {
  case EV_STATE_MSG:
    sim_session_server_state(s, r, ev->b, (enum hop_state)ev->c);
    break;
  case EV_SESSION_MSG:
    on_session_msg(s, r);
    break;
  case EV_FARM_TIMER:
    if ((uint64_t)ev->c == r->farm_timer_ms) {
      r->farm_timer_ms = NO_TIMER;
      hop_farm_on_timer(r->farm, s->now);
      sim_gateway_drain_farm(s, r);
    }
    break;
  case EV_PROBE:
    hop_farm_probe_result(r->farm, s->servers[ev->b].id, (int)ev->c, s->now);
    sim_gateway_drain_farm(s, r);
    break;
  case EV_FETCH:
    if ((uint32_t)ev->c == r->fetch_gen) {
      struct hop_fetcher_out out = { 0 };

      hop_fetcher_on_timer(&r->fetcher, s->now, r->snap != NULL, &out);
      run(s, r, &out);
    }
    break;
  case EV_FETCH_REPLY:
    on_fetch_reply(s, r, ev->b);
    break;
  case EV_CALL:
    sim_api_call(s, ev->a);
    break;
  case EV_CALL_REPLY:
    on_call_reply(s, ev->a, (int)ev->c);
    break;
  default:
    break;
  }
}

int sim_gateway_init(struct sim *s, struct sim_replica *r, uint32_t idx)
{
  struct hop_fetcher_config fcfg;
  struct hop_fetcher_out out = { 0 };

  r->idx = idx;
  snprintf(r->name, sizeof r->name, "replica%u", idx);
  r->farm_timer_ms = NO_TIMER;
  hop_fetcher_config_default(&fcfg);
  fcfg.refresh_ms = (uint64_t)s->sc->refresh_s * 1000;
  hop_fetcher_init(&r->fetcher, &fcfg);
  r->farm = hop_farm_new(&s->farm_cfg);
  r->attempt_open = calloc(s->servers_len, sizeof *r->attempt_open);
  r->live = calloc(s->servers_len, sizeof *r->live);
  if (!r->farm || !r->attempt_open || !r->live)
    return -1;
  /* The stored document routes until the API answers (provider_api.c's on_doc_loaded). */
  if (publish(s, r, s->api.doc) < 0)
    return -1;
  snprintf(r->etag, sizeof r->etag, "%s", s->api.etag);
  sim_outbox_init(s, r);
  hop_fetcher_start(&r->fetcher, s->now, sim_rng_below(&s->rng, fcfg.refresh_ms), &out);
  run(s, r, &out);
  return 0;
}

int sim_gateway_idle(const struct sim *s, const struct sim_replica *r)
{
  (void)s;
  return sim_outbox_idle(r) && r->msgs_len == 0;
}

void sim_gateway_free(struct sim *s, struct sim_replica *r)
{
  while (r->msgs_len) {
    free(r->msgs[r->msgs_head].json);
    r->msgs_head = (r->msgs_head + 1) % r->msgs_cap;
    r->msgs_len--;
  }
  free(r->msgs);
  sim_outbox_free(r);
  hop_farm_free(r->farm);
  free(r->attempt_open);
  free(r->live);
  sim_snap_unref(s, r->snap);
  r->snap = NULL;
}
