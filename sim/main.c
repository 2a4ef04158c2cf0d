/* sim: a deterministic simulation of hopper's farm and sessions (docs/simulation.md).
 *
 *   sim --seed N --scenario NAME [--minutes M] [--db FILE] [--json] [--trace]
 *   sim --seeds A-B --scenario NAME [--minutes M]     sweep; stops at the first violation
 *   sim --determinism --seed N --scenario NAME        same seed twice: same hash
 *   sim --list [--db FILE]
 *   sim --live --seed N --scenario NAME [--hopper PATH] [--json]   the real hopper on loopback
 *
 * One seed drives every random choice through one PRNG; the clock is virtual and jumps from
 * event to event. A violated invariant stops the run and prints the one command replaying it. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

struct opts {
  const char *argv0;
  const char *scenario;
  const char *db;
  const char *hopper;          /* --live: the binary to drive */
  uint64_t seed, seed_last;
  uint32_t minutes;            /* 0: the scenario's */
  int sweep, json, trace, list, determinism, quiet, live;
};

/* ---- Clock, trace, faults, violations ------------------------------------------------------ */

void sim_at(struct sim *s, uint64_t delay_ms, int kind, uint32_t a, uint32_t b, int64_t c)
{
  if (sim_evq_push(&s->q, s->now + delay_ms, kind, a, b, c) < 0)
    sim_violation(s, "out of memory");
}

static void hash_u64(struct sim *s, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    s->hash = (s->hash ^ ((v >> (8 * i)) & 0xff)) * 0x100000001b3ull;
}

void sim_trace(struct sim *s, const char *what, uint64_t x, uint64_t y)
{
  for (const char *p = what; *p; p++)
    s->hash = (s->hash ^ (uint8_t)*p) * 0x100000001b3ull;
  hash_u64(s, x);
  hash_u64(s, y);
  if (s->trace)
    printf("%10" PRIu64 " %-12s %" PRIu64 " %" PRIu64 "\n", s->now, what, x, y);
}

void sim_violation(struct sim *s, const char *fmt, ...)
{
  va_list ap;

  if (s->violation[0])
    return;                    /* the first one is the one to replay */
  va_start(ap, fmt);
  vsnprintf(s->violation, sizeof s->violation, fmt, ap);
  va_end(ap);
  if (!s->violation[0])
    snprintf(s->violation, sizeof s->violation, "violation");
}

double sim_fault(const struct sim *s, double p)
{
  return s->draining ? 0 : p;
}

int sim_grow_sessions(struct sim *s)
{
  size_t cap = s->sessions_cap ? s->sessions_cap * 2 : 256;
  struct sim_session **g = realloc(s->sessions, cap * sizeof *g);

  if (!g)
    return 0;
  s->sessions = g;
  s->sessions_cap = cap;
  return 1;
}

/* ---- Setup -------------------------------------------------------------------------------- */

static void conn_config(struct hop_conn_config *c)
{
  *c = (struct hop_conn_config){
    .preread_bytes_max = HOP_PREREAD_BYTES_MAX, .address_bytes_max = HOP_ADDRESS_BYTES_MAX,
    .timeout_ms_handshake = 5000, .timeout_ms_connect = 5000,
    .unknown_motd = "unknown host", .unknown_disconnect = "no server at {host}",
    .unreachable_motd = "offline", .unreachable_disconnect = "{server} is unreachable",
    .version_name = "hopper", .players_max = 20,
    .state_motd = { "asleep", "starting", "running", "stopping", "failed" },
    .starting_disconnect = "{server} is starting, rejoin in {eta} s",
    .failed_disconnect = "{server} failed to start",
    .refused_disconnect = { "cooling down", "too many wakes", "not allowed", "no auto start" },
    .hold_keepalive_ms = 10000, .hold_silent_max_ms = 25000,
  };
}

static uint64_t plan_end_ms(const struct sim *s, const struct sim_plan *p)
{
  uint64_t end = p->window_s ? (uint64_t)(p->at_s + p->window_s) * 1000 : s->end_ms;

  return end < s->end_ms ? end : s->end_ms;
}

static int steady(const struct sim_plan *p)
{
  return p->pattern == PATTERN_STEADY || p->pattern == PATTERN_SCANNER ||
         p->pattern == PATTERN_PINGER;
}

static void next_arrival(struct sim *s, uint32_t plan, uint32_t ident)
{
  const struct sim_plan *p = &s->sc->plans[plan];
  uint64_t from = s->now > (uint64_t)p->at_s * 1000 ? s->now : (uint64_t)p->at_s * 1000;
  uint64_t at = from + sim_rng_exp_ms(&s->rng, 60000.0 / (p->per_min > 0 ? p->per_min : 1e-9));

  if (p->per_min > 0 && at < plan_end_ms(s, p))
    sim_at(s, at - s->now, EV_ARRIVE, plan, ident, 1);
}

static void plan_arrivals(struct sim *s)
{
  for (uint32_t i = 0; i < s->sc->plans_len; i++) {
    const struct sim_plan *p = &s->sc->plans[i];
    uint64_t from = (uint64_t)p->at_s * 1000, to = plan_end_ms(s, p);

    if (steady(p)) {
      next_arrival(s, i, 0);
      continue;
    }
    for (uint32_t k = 0; k < p->count && from < to; k++)
      sim_at(s, sim_rng_range(&s->rng, from, to - 1), EV_ARRIVE, i, k,
             p->pattern == PATTERN_RECONNECT ? (int64_t)p->cycles : 1);
  }
}

static int sim_init(struct sim *s, struct sim_scenario *sc, uint64_t seed, uint32_t minutes)
{
  memset(s, 0, sizeof *s);
  s->seed = seed;
  s->sc = sc;
  s->minutes = minutes ? minutes : sc->minutes;
  s->end_ms = (uint64_t)s->minutes * 60000;
  s->hash = 0xcbf29ce484222325ull;
  sim_rng_seed(&s->rng, seed);
  conn_config(&s->conn_cfg);
  hop_farm_config_default(&s->farm_cfg);
  if (sim_api_init(s) < 0)
    return -1;
  s->replicas_len = sc->replicas < 1 ? 1 : sc->replicas > SIM_REPLICAS_MAX ? SIM_REPLICAS_MAX
                                                                          : sc->replicas;
  for (uint32_t i = 0; i < s->replicas_len; i++)
    if (sim_gateway_init(s, &s->replicas[i], i) < 0)
      return -1;
  plan_arrivals(s);
  sim_at(s, s->end_ms, EV_END, 0, 0, 0);
  return 0;
}

/* ---- The run ------------------------------------------------------------------------------ */

static void on_arrive(struct sim *s, const struct sim_event *ev)
{
  if (s->draining)
    return;
  if (steady(&s->sc->plans[ev->a]))
    next_arrival(s, ev->a, ev->b + 1);
  sim_session_arrive(s, ev->a, ev->b, (uint32_t)ev->c);
}

/* The scenario's time is up: no more arrivals or faults; players leave within a minute. */
static void on_end(struct sim *s)
{
  s->draining = 1;
  for (size_t i = 0; i < s->sessions_len; i++) {
    const struct sim_session *ss = s->sessions[i];

    if (ss && !ss->closes && ss->piped)
      sim_at(s, sim_rng_below(&s->rng, 60000), EV_PIPE_END, ss->id, 0, HOP_CLOSE_CLIENT_CLOSED);
  }
}

static void dispatch(struct sim *s, const struct sim_event *ev)
{
  switch (ev->kind) {
  case EV_ARRIVE:
    on_arrive(s, ev);
    break;
  case EV_END:
    on_end(s);
    break;
  case EV_SERVER:
    sim_api_on_event(s, ev);
    break;
  case EV_OUTBOX_SEND:
  case EV_OUTBOX_STORE:
  case EV_EVENTS_REPLY:
    sim_outbox_on_event(s, ev);
    break;
  case EV_STATE_MSG:
  case EV_SESSION_MSG:
  case EV_FARM_TIMER:
  case EV_PROBE:
  case EV_FETCH:
  case EV_FETCH_REPLY:
  case EV_CALL:
  case EV_CALL_REPLY:
    sim_gateway_on_event(s, ev);
    break;
  default:
    sim_session_on_event(s, ev);
    break;
  }
}

/* Nothing may be left once everyone has gone: sessions, undelivered events, queued messages. */
static void check_end(struct sim *s)
{
  if (s->sessions_live)
    for (size_t i = 0; i < s->sessions_len && !s->violation[0]; i++)
      if (s->sessions[i])
        sim_violation(s, "session %zu still open at the end (conn state %d)", i,
                      (int)s->sessions[i]->conn.state);
  for (uint32_t k = 0; k < s->replicas_len && !s->violation[0]; k++) {
    struct sim_replica *r = &s->replicas[k];

    if (!sim_gateway_idle(s, r))
      sim_violation(s, "%s: %zu events queued, %zu in the outbox at the end", r->name,
                    r->pending_len, r->rows_len);
    for (uint64_t seq = 1; seq <= r->next_seq && !s->violation[0]; seq++) {
      char id[48];

      snprintf(id, sizeof id, "%s-%llu", r->name, (unsigned long long)seq);
      if (!sim_api_delivered(s, id))
        sim_violation(s, "event %s never reached the API", id);
    }
  }
}

static void sim_free(struct sim *s)
{
  sim_sessions_free(s);
  for (uint32_t i = 0; i < s->replicas_len; i++)
    sim_gateway_free(s, &s->replicas[i]);
  for (size_t i = 0; i < s->calls_len; i++)
    s->calls[i].used = 0;
  free(s->calls);
  sim_api_free(s);
  sim_evq_free(&s->q);
  sim_stats_free(&s->stats);
}

/* Runs one seed. Returns 0, or 1 on a violation (s->violation says which). */
static int run(struct sim *s, struct sim_scenario *sc, const struct opts *o, uint64_t seed)
{
  struct sim_event ev;
  int snaps;

  if (sim_init(s, sc, seed, o->minutes) < 0)
    sim_violation(s, "setup failed (out of memory, or the first document was rejected)");
  s->trace = o->trace;
  while (!s->violation[0] && sim_evq_pop(&s->q, &ev)) {
    if (ev.at_ms > s->end_ms + SIM_DRAIN_MS)
      break;
    s->now = ev.at_ms;
    hash_u64(s, ev.at_ms);
    hash_u64(s, (uint64_t)ev.kind | (uint64_t)ev.a << 8 | (uint64_t)ev.b << 40);
    hash_u64(s, (uint64_t)ev.c);
    dispatch(s, &ev);
  }
  if (!s->violation[0])
    check_end(s);
  snaps = s->snaps_live;
  sim_sessions_free(s);
  for (uint32_t i = 0; i < s->replicas_len; i++)
    sim_gateway_free(s, &s->replicas[i]);
  s->replicas_len = 0;
  if (!s->violation[0] && s->snaps_live != 0)
    sim_violation(s, "%d route snapshot(s) left after teardown (%d before)", s->snaps_live,
                  snaps);
  return s->violation[0] ? 1 : 0;
}

static void print_replay(const struct sim *s, const struct opts *o)
{
  printf("VIOLATION at %" PRIu64 " ms: %s\n", s->now, s->violation);
  printf("replay: %s --seed %" PRIu64 " --scenario %s --minutes %u%s%s\n", o->argv0, s->seed,
         s->sc->name, s->minutes, o->db ? " --db " : "", o->db ? o->db : "");
}

/* ---- Modes -------------------------------------------------------------------------------- */

static int one(struct sim_scenario *sc, const struct opts *o)
{
  struct sim s;
  int rc = run(&s, sc, o, o->seed);

  if (!o->quiet)
    sim_stats_print(&s, o->json);
  if (rc)
    print_replay(&s, o);
  sim_free(&s);
  return rc;
}

static int sweep(struct sim_scenario *sc, const struct opts *o)
{
  struct sim s;
  uint64_t n = 0, joins = 0, logins = 0;

  for (uint64_t seed = o->seed; seed <= o->seed_last; seed++, n++) {
    int rc = run(&s, sc, o, seed);

    joins += s.stats.joins_ok;
    logins += s.stats.logins;
    if (rc) {
      print_replay(&s, o);
      sim_free(&s);
      return 1;
    }
    sim_free(&s);
  }
  printf("%s: %" PRIu64 " seeds, no violation (joins ok %" PRIu64 " of %" PRIu64 ")\n",
         sc->name, n, joins, logins);
  return 0;
}

static int determinism(struct sim_scenario *sc, const struct opts *o)
{
  struct sim s;
  uint64_t h[3];

  for (int i = 0; i < 3; i++) {
    if (run(&s, sc, o, o->seed + (i == 2)) != 0) {
      print_replay(&s, o);
      sim_free(&s);
      return 1;
    }
    h[i] = s.hash;
    sim_free(&s);
  }
  printf("%s: seed %" PRIu64 " -> %016" PRIx64 " twice; seed %" PRIu64 " -> %016" PRIx64 "\n",
         sc->name, o->seed, h[0], o->seed + 1, h[2]);
  if (h[0] != h[1])
    printf("FAIL: the same seed gave two hashes (%016" PRIx64 ")\n", h[1]);
  if (h[0] == h[2])
    printf("FAIL: two seeds gave the same hash\n");
  return h[0] == h[1] && h[0] != h[2] ? 0 : 1;
}

static int usage(void)
{
  fprintf(stderr, "usage: sim --seed N --scenario NAME [--minutes M] [--db FILE] [--json] "
          "[--trace]\n       sim --seeds A-B --scenario NAME [--minutes M]\n"
          "       sim --determinism --seed N --scenario NAME [--minutes M]\n"
          "       sim --list [--db FILE]\n"
          "       sim --live --seed N --scenario NAME [--hopper PATH] [--json]\n");
  return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
  memset(o, 0, sizeof *o);
  o->argv0 = argv[0];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp(a, "--json") == 0)
      o->json = 1;
    else if (strcmp(a, "--trace") == 0)
      o->trace = 1;
    else if (strcmp(a, "--list") == 0)
      o->list = 1;
    else if (strcmp(a, "--quiet") == 0)
      o->quiet = 1;
    else if (strcmp(a, "--determinism") == 0)
      o->determinism = 1;
    else if (strcmp(a, "--live") == 0)
      o->live = 1;
    else if (!v)
      return -1;
    else if (strcmp(a, "--seed") == 0 && ++i)
      o->seed = strtoull(v, NULL, 10);
    else if (strcmp(a, "--seeds") == 0 && ++i) {
      char *end;

      o->sweep = 1;
      o->seed = strtoull(v, &end, 10);
      o->seed_last = *end == '-' ? strtoull(end + 1, NULL, 10) : o->seed;
    } else if (strcmp(a, "--scenario") == 0 && ++i)
      o->scenario = v;
    else if (strcmp(a, "--minutes") == 0 && ++i)
      o->minutes = (uint32_t)strtoul(v, NULL, 10);
    else if (strcmp(a, "--db") == 0 && ++i)
      o->db = v;
    else if (strcmp(a, "--hopper") == 0 && ++i)
      o->hopper = v;
    else
      return -1;
  }
  return o->list || o->scenario ? 0 : -1;
}

int main(int argc, char **argv)
{
  struct opts o;
  struct sim_scenario *sc;
  char err[512] = "";
  int rc;

  if (parse(argc, argv, &o) < 0)
    return usage();
  if (o.list)
    return sim_scenario_list(o.db) < 0 ? 2 : 0;
  if (!(sc = sim_scenario_load(o.db, o.scenario, err, sizeof err))) {
    fprintf(stderr, "sim: %s\n", err);
    return 2;
  }
  if (o.live)
    rc = sim_live(sc, o.seed, o.hopper ? o.hopper : SIM_HOPPER_PATH, o.json, o.argv0);
  else
    rc = o.determinism ? determinism(sc, &o) : o.sweep ? sweep(sc, &o) : one(sc, &o);
  sim_scenario_free(sc);
  return rc;
}
