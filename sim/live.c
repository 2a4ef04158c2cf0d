/* sim --live: one run of the real hopper on loopback, in phases on a 10 ms tick:
 *   START    hopper spawned; wait for msg=ready (LIVE_READY_MS at most)
 *   TRAFFIC  the clients arrive and play (LIVE_TRAFFIC_MS at most; then whoever is left is cut)
 *   SETTLE   wait until every client's session line is in and hopper closed every backend
 *   METRICS  one GET /metrics
 *   STOP     SIGTERM; SIGKILL if hopper has not exited LIVE_STOP_MS later
 * Then the checks of live_check.c and the figures. Nothing outlives the run: hopper is reaped,
 * every socket is closed and the loop must close empty. */
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "live.h"

void live_violation(struct live *L, const char *fmt, ...)
{
  va_list ap;

  if (L->s.violation[0])
    return;                    /* the first one is the one to look at */
  va_start(ap, fmt);
  vsnprintf(L->s.violation, sizeof L->s.violation, fmt, ap);
  va_end(ap);
}

uint64_t live_now(struct live *L)
{
  return uv_now(&L->loop) - L->t0_ms;
}

static void phase(struct live *L, enum live_phase p)
{
  L->phase = p;
  L->phase_ms = live_now(L);
}

static size_t connected(const struct live *L)
{
  size_t n = 0;

  for (size_t i = 0; i < L->clients_len; i++)
    n += L->clients[i].connected != 0;
  return n;
}

/* ---- Phases ----------------------------------------------------------------------------------- */

static void on_start(struct live *L, uint64_t in)
{
  if (L->exited) {
    live_violation(L, "hopper exited before it was ready");
    phase(L, PH_STOP);
  } else if (L->ready && L->port) {
    live_clients_launch(L);
    phase(L, PH_TRAFFIC);
  } else if (in >= LIVE_READY_MS) {
    live_violation(L, "hopper was not ready within %u ms", LIVE_READY_MS);
    live_hopper_term(L);
    phase(L, PH_STOP);
  }
}

static void on_settle(struct live *L, uint64_t in)
{
  int settled = L->clients_open == 0 && L->bconns_open == 0 && L->lines_len >= connected(L);
  int quiet = !L->farm || live_farm_quiet(L);

  /* With the farm, also wait a while for the idle stops of the servers woken in the run. */
  if (!(settled && quiet) && in < (settled ? LIVE_FARM_SETTLE_MS : LIVE_SETTLE_MS))
    return;
  L->farm_quiet = L->farm && live_farm_quiet(L);
  if (L->bconns_open)
    live_violation(L, "%zu backend connection(s) still open %u ms after every client left",
                   L->bconns_open, LIVE_SETTLE_MS);
  if (L->admin_port)
    live_metrics_fetch(L);
  else
    L->metrics_done = 1;
  phase(L, PH_METRICS);
}

static void finish(struct live *L)
{
  live_bconns_close(L);
  live_backends_close(L);
  uv_close((uv_handle_t *)&L->tick, NULL);
  phase(L, PH_DONE);
}

static void on_stop(struct live *L, uint64_t in)
{
  if (L->exited && !L->err_open && !L->http_open && L->clients_open == 0) {
    finish(L);
  } else if (in >= LIVE_STOP_MS && !L->exited && !L->killed) {
    live_violation(L, "hopper did not exit within %u ms of SIGTERM (killed)", LIVE_STOP_MS);
    live_hopper_kill(L);
    L->killed = 1;
  } else if (in >= LIVE_STOP_MS + 2000) {
    live_clients_cut(L);       /* hopper is gone; nothing of ours may hold the loop */
    live_metrics_abort(L);
    if (L->err_open && !uv_is_closing((uv_handle_t *)&L->err))
      uv_close((uv_handle_t *)&L->err, NULL);
    L->err_open = 0;
  }
}

static void on_tick(uv_timer_t *t)
{
  struct live *L = t->data;
  uint64_t in = live_now(L) - L->phase_ms;

  live_farm_poll(L);
  switch (L->phase) {
  case PH_START:
    on_start(L, in);
    break;
  case PH_TRAFFIC:
    if (L->clients_open == 0 || in >= LIVE_TRAFFIC_MS || L->exited) {
      live_clients_cut(L);
      phase(L, PH_SETTLE);
    }
    break;
  case PH_SETTLE:
    on_settle(L, in);
    break;
  case PH_METRICS:
    if (L->metrics_done || in >= 2000) {
      live_metrics_abort(L);
      live_hopper_term(L);
      phase(L, PH_STOP);
    }
    break;
  case PH_STOP:
    on_stop(L, in);
    break;
  case PH_DONE:
    break;
  }
}

/* ---- Setup and teardown ---------------------------------------------------------------------- */

static int world(struct live *L, struct sim_scenario *sc, uint64_t seed)
{
  struct sim *s = &L->s;

  s->seed = seed;
  s->sc = sc;
  s->minutes = sc->minutes;
  s->end_ms = (uint64_t)s->minutes * 60000;
  sim_rng_seed(&s->rng, seed);
  s->servers = calloc(sc->servers_len ? sc->servers_len : 1, sizeof *s->servers);
  if (!s->servers)
    return -1;
  s->servers_len = sc->servers_len;
  for (size_t i = 0; i < sc->servers_len; i++) {
    s->servers[i].spec = &sc->servers[i];
    snprintf(s->servers[i].id, sizeof s->servers[i].id, "%s", sc->servers[i].id);
  }
  return 0;
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* The loop must be empty now: a handle left open is a socket or timer we leaked. */
static void loop_close(struct live *L)
{
  if (uv_loop_close(&L->loop) == 0)
    return;
  live_violation(L, "handles left open at the end of the run");
  uv_walk(&L->loop, on_walk_close, NULL);
  uv_run(&L->loop, UV_RUN_DEFAULT);
  uv_loop_close(&L->loop);
}

static void live_free(struct live *L)
{
  if (L->config[0])
    unlink(L->config);
  if (L->farm) {
    char p[128];

    unlink(L->farm_file);
    unlink(L->db);
    snprintf(p, sizeof p, "%s-wal", L->db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", L->db);
    unlink(p);
  }
  if (L->dir[0])
    rmdir(L->dir);
  for (size_t i = 0; i < L->bconns_len; i++)
    free(L->bconns[i]);
  free(L->bconns);
  free(L->backends);
  free(L->clients);
  free(L->lines);
  free(L->metrics);
  free(L->join_wait_ms.v);
  free(L->held_wait_ms.v);
  free(L->busy_ids);
  free(L->s.servers);
  free(L);
}

static int setup(struct live *L, struct sim_scenario *sc, uint64_t seed)
{
  /* On tmpfs when there is one: each `hopper servers add` commits to the store, and an fsync
   * on a loaded disk costs hundreds of ms, times 50 servers. */
  snprintf(L->dir, sizeof L->dir, "/dev/shm/sim-live-XXXXXX");
  if (!mkdtemp(L->dir))
    snprintf(L->dir, sizeof L->dir, "/tmp/sim-live-XXXXXX");
  if (!L->dir[0] || (L->dir[1] == 't' && !mkdtemp(L->dir))) {
    L->dir[0] = 0;
    return -1;
  }
  return world(L, sc, seed) < 0 || live_backends_start(L) < 0 || live_clients_make(L) < 0 ||
         live_hopper_config(L) < 0 || live_hopper_servers(L) < 0 ? -1 : 0;
}

static void print_replay(const struct live *L, const char *argv0, const char *hopper)
{
  printf("VIOLATION (live): %s\n", L->s.violation);
  printf("replay: %s --live --seed %llu --scenario %s --hopper %s\n", argv0,
         (unsigned long long)L->s.seed, L->s.sc->name, hopper);
  for (unsigned i = L->tail_n > 8 ? L->tail_n - 8 : 0; i < L->tail_n; i++)
    printf("  hopper: %s\n", L->tail[i % 8]);
}

int sim_live(struct sim_scenario *sc, uint64_t seed, const char *hopper, int json,
             const char *argv0)
{
  struct live *L = calloc(1, sizeof *L);
  int rc;

  signal(SIGPIPE, SIG_IGN);    /* a write to a socket hopper closed must fail, not kill us
                                  (hopper ignores it too, so inheriting this changes nothing) */
  if (!L || uv_loop_init(&L->loop) != 0) {
    free(L);
    return 2;
  }
  if (!realpath(hopper, L->hopper_abs)) {  /* hopper runs in the temp dir: a relative path
                                              would not find it there */
    fprintf(stderr, "sim --live: no hopper at %s (skipped)\n", hopper);
    live_free(L);
    return 77;
  }
  L->hopper_path = L->hopper_abs;
  if (setup(L, sc, seed) < 0) {
    fprintf(stderr, "sim --live: setup failed (temp dir, loopback listeners or memory)\n");
    rc = 2;
  } else if ((rc = live_hopper_spawn(L)) < 0) {
    fprintf(stderr, "sim --live: cannot spawn %s: %s (skipped)\n", hopper, uv_strerror(rc));
    rc = 77;
  } else {
    uv_timer_init(&L->loop, &L->tick);
    L->tick.data = L;
    L->t0_ms = uv_now(&L->loop);
    uv_timer_start(&L->tick, on_tick, 10, 10);
    rc = 0;
  }
  if (rc)
    live_backends_close(L);
  uv_run(&L->loop, UV_RUN_DEFAULT);
  loop_close(L);
  if (rc == 0) {
    live_check(L);
    live_report(L, json);
    if (L->s.violation[0]) {
      print_replay(L, argv0, hopper);
      rc = 1;
    }
  }
  live_free(L);
  return rc;
}
