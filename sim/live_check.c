/* Live mode's end-of-run checks over what hopper said (its session lines, /metrics, its exit)
 * against what our clients and backends saw, and the figures, as a table or one JSON object.
 * The replay check itself runs as each backend gets its bytes (live_backend.c, live_client.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"

static int cmp_u16(const void *a, const void *b)
{
  return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int known_server(const struct live *L, const char *id)
{
  if (strcmp(id, "-") == 0)
    return 1;                  /* no server: an unknown host, junk, or closed before routing */
  for (size_t i = 0; i < L->s.servers_len; i++)
    if (strcmp(L->s.servers[i].spec->id, id) == 0)
      return 1;
  return 0;
}

static int reason_index(const char *name)
{
  for (int r = 1; r < HOP_CLOSE_COUNT; r++)
    if (strcmp(hop_close_name((enum hop_close)r), name) == 0)
      return r;
  return 0;
}

/* Every line names a real close reason and a configured server (or none). */
static void check_lines(struct live *L, uint64_t closes[HOP_CLOSE_COUNT])
{
  for (size_t i = 0; i < L->lines_len; i++) {
    const struct live_line *ln = &L->lines[i];
    int r = reason_index(ln->reason);

    if (!r)
      live_violation(L, "session line for client port %u has reason \"%s\"", ln->port,
                     ln->reason);
    if (!known_server(L, ln->server))
      live_violation(L, "session line for client port %u names server \"%s\", which is not in "
                     "the config", ln->port, ln->server);
    closes[r]++;
  }
}

/* Exactly one session line per connection: the multiset of our clients' local ports equals the
 * multiset of ports in the lines (a port may be reused by a later client). */
static void check_one_line_each(struct live *L)
{
  size_t n = 0, i;
  uint16_t *mine = calloc(L->clients_len + 1, sizeof *mine);
  uint16_t *seen = calloc(L->lines_len + 1, sizeof *seen);

  if (!mine || !seen) {
    live_violation(L, "out of memory");
    goto out;
  }
  for (i = 0; i < L->clients_len; i++)
    if (L->clients[i].connected)
      mine[n++] = L->clients[i].port;
  for (i = 0; i < L->lines_len; i++)
    seen[i] = L->lines[i].port;
  qsort(mine, n, sizeof *mine, cmp_u16);
  qsort(seen, L->lines_len, sizeof *seen, cmp_u16);
  for (i = 0; i < n && i < L->lines_len && mine[i] == seen[i]; i++)
    ;
  if (i < n || i < L->lines_len)
    live_violation(L, "%zu connections, %zu session lines; first mismatch at client port %u",
                   n, L->lines_len, (unsigned)(i < n ? mine[i] : seen[i]));
out:
  free(mine);
  free(seen);
}

/* A client whose backend answered was routed to its own server, and hopper's line says so.
 * A local port can serve several clients in one run (hopper closed first, so the port was free
 * at once): one of the lines for the port must name the server. */
static void check_routed(struct live *L)
{
  for (size_t i = 0; i < L->clients_len; i++) {
    const struct live_client *c = &L->clients[i];
    const char *want, *other = "none";
    int found = 0;

    if (!c->joined && !c->backend_status)
      continue;
    want = L->s.servers[c->ss.server].spec->id;
    for (size_t k = 0; k < L->lines_len && !found; k++)
      if (L->lines[k].port == c->port) {
        found = strcmp(L->lines[k].server, want) == 0;
        other = L->lines[k].server;
      }
    if (!found)
      live_violation(L, "client %zu (port %u) was piped to %s but no session line for its port "
                     "names it (server=%s)", i, (unsigned)c->port, want, other);
  }
}

/* /metrics agrees with the lines, and no relayed session is left open. */
static void check_metrics(struct live *L, const uint64_t closes[HOP_CLOSE_COUNT])
{
  char series[160];

  if (!L->metrics_len) {
    live_violation(L, "GET /metrics on the admin listener gave nothing");
    return;
  }
  for (int r = 1; r < HOP_CLOSE_COUNT; r++) {
    long long v;

    snprintf(series, sizeof series, "hopper_sessions_closed_total{reason=\"%s\"}",
             hop_close_name((enum hop_close)r));
    v = live_metric(L, series);
    if (v >= 0 && (uint64_t)v != closes[r])
      live_violation(L, "%s is %lld, the session lines say %llu", series, v,
                     (unsigned long long)closes[r]);
  }
  for (size_t i = 0; i < L->s.servers_len; i++) {
    snprintf(series, sizeof series, "hopper_server_sessions{server=\"%s\"}",
             L->s.servers[i].spec->id);
    if (live_metric(L, series) > 0)
      live_violation(L, "%s is %lld after every client left", series, live_metric(L, series));
  }
}

static long long metric0(const struct live *L, const char *series)
{
  long long v = live_metric(L, series);

  return v < 0 ? 0 : v;
}

/* The farm: each start_cmd run is one start in /metrics (ready or failed), once nothing is
 * starting; the woken servers' backends got probes only (checked as status exchanges). */
static void check_farm(struct live *L)
{
  long long starts = metric0(L, "hopper_starts_total{outcome=\"ready\"}") +
                     metric0(L, "hopper_starts_total{outcome=\"failed\"}");

  if (L->farm_quiet && starts != (long long)L->start_runs)
    live_violation(L, "start_cmd ran %u times, hopper_starts_total says %lld", L->start_runs,
                   starts);
}

void live_check(struct live *L)
{
  uint64_t closes[HOP_CLOSE_COUNT] = { 0 };

  if (!L->exited || L->exit_status != 0 || L->term_signal != 0)
    live_violation(L, "hopper ended with status %lld, signal %d after SIGTERM (want 0)",
                   (long long)L->exit_status, L->term_signal);
  check_lines(L, closes);
  check_one_line_each(L);
  check_routed(L);
  if (L->metrics_done)
    check_metrics(L, closes);
  if (L->farm && L->metrics_done && L->metrics_len)
    check_farm(L);
}

/* ---- Figures ---------------------------------------------------------------------------------- */

struct figures {
  uint64_t clients, connected, connect_failed, logins, joins, status_backend, status_hopper;
  uint64_t disconnects, cut, closes[HOP_CLOSE_COUNT];
};

static void count(struct live *L, struct figures *f)
{
  memset(f, 0, sizeof *f);
  f->clients = L->clients_len;
  for (size_t i = 0; i < L->clients_len; i++) {
    const struct live_client *c = &L->clients[i];

    f->connected += c->connected != 0;
    f->connect_failed += c->connect_failed != 0;
    f->logins += c->ss.kind == CLIENT_PLAYER;
    f->joins += c->joined != 0;
    f->status_backend += c->backend_status != 0;
    f->status_hopper += c->got_status && !c->backend_status;
    f->disconnects += c->got_disconnect != 0;
    f->cut += c->cut != 0;
  }
  for (size_t i = 0; i < L->lines_len; i++)
    f->closes[reason_index(L->lines[i].reason)]++;
}

/* hopper_wakes_total, every result. */
static long long wakes(const struct live *L)
{
  long long n = 0;
  const char *k = "hopper_wakes_total{";

  for (const char *p = L->metrics; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, k, strlen(k)) == 0 && strchr(p, ' '))
      n += strtoll(strchr(p, ' ') + 1, NULL, 10);
  return n;
}

static double rate(uint64_t num, uint64_t den)
{
  return den ? (double)num / (double)den : 0.0;
}

static void print_json(struct live *L, const struct figures *f)
{
  int first = 1;

  printf("{\"mode\":\"live\",\"scenario\":\"%s\",\"seed\":%llu,\"violation\":%s%s%s,",
         L->s.sc->name, (unsigned long long)L->s.seed, L->s.violation[0] ? "\"" : "",
         L->s.violation[0] ? L->s.violation : "null", L->s.violation[0] ? "\"" : "");
  printf("\"clients\":%llu,\"arrivals\":%zu,\"connected\":%llu,\"connect_failed\":%llu,",
         (unsigned long long)f->clients, L->arrivals_total, (unsigned long long)f->connected,
         (unsigned long long)f->connect_failed);
  printf("\"logins\":%llu,\"joins_ok\":%llu,\"join_success_rate\":%.4f,",
         (unsigned long long)f->logins, (unsigned long long)f->joins, rate(f->joins, f->logins));
  printf("\"join_wait_ms\":{\"p50\":%llu,\"p99\":%llu},",
         (unsigned long long)sim_percentile(&L->join_wait_ms, 50),
         (unsigned long long)sim_percentile(&L->join_wait_ms, 99));
  printf("\"status\":{\"backend\":%llu,\"hopper\":%llu},\"disconnects\":%llu,\"cut\":%llu,",
         (unsigned long long)f->status_backend, (unsigned long long)f->status_hopper,
         (unsigned long long)f->disconnects, (unsigned long long)f->cut);
  if (L->farm)
    printf("\"farm\":{\"start_cmd\":%u,\"stop_cmd\":%u,\"starting\":%u,\"ready\":%u,"
           "\"failed\":%u,\"stopped\":%u,\"wakes\":%lld,\"starts_ready\":%lld,"
           "\"starts_failed\":%lld,\"held_joins\":%zu,\"keepalives\":%u,"
           "\"held_wait_ms\":{\"p50\":%llu,\"p99\":%llu}},", L->start_runs, L->stop_runs, L->log_starting, L->log_running,
           L->log_failed, L->log_stopped, wakes(L),
           metric0(L, "hopper_starts_total{outcome=\"ready\"}"),
           metric0(L, "hopper_starts_total{outcome=\"failed\"}"), L->held_wait_ms.len,
           L->keepalives, (unsigned long long)sim_percentile(&L->held_wait_ms, 50),
           (unsigned long long)sim_percentile(&L->held_wait_ms, 99));
  printf("\"sessions\":%zu,\"closes\":{", L->lines_len);
  for (int r = 1; r < HOP_CLOSE_COUNT; r++) {
    if (!f->closes[r])
      continue;
    printf("%s\"%s\":%llu", first ? "" : ",", hop_close_name((enum hop_close)r),
           (unsigned long long)f->closes[r]);
    first = 0;
  }
  printf("}}\n");
}

static void print_table(struct live *L, const struct figures *f)
{
  printf("live: scenario %s, seed %llu: %llu of %zu arrivals in %llu ms (scenario time x%.4g)\n",
         L->s.sc->name, (unsigned long long)L->s.seed, (unsigned long long)f->clients,
         L->arrivals_total, (unsigned long long)(L->last_ms * L->scale_num / L->scale_den),
         (double)L->scale_num / (double)L->scale_den);
  printf("  %-24s %llu (%llu failed to connect)\n", "connections",
         (unsigned long long)f->connected, (unsigned long long)f->connect_failed);
  printf("  %-24s %llu of %llu (%.1f%%)\n", "joins ok", (unsigned long long)f->joins,
         (unsigned long long)f->logins, 100.0 * rate(f->joins, f->logins));
  printf("  %-24s p50 %llu ms, p99 %llu ms (connect to the backend having the login)\n",
         "join wait", (unsigned long long)sim_percentile(&L->join_wait_ms, 50),
         (unsigned long long)sim_percentile(&L->join_wait_ms, 99));
  printf("  %-24s %llu by the backend, %llu by hopper\n", "status answered",
         (unsigned long long)f->status_backend, (unsigned long long)f->status_hopper);
  printf("  %-24s %llu\n", "hopper disconnects", (unsigned long long)f->disconnects);
  printf("  %-24s %llu\n", "cut at the deadline", (unsigned long long)f->cut);
  if (L->farm) {
    printf("  %-24s %u start_cmd, %u stop_cmd; hopper: %u starting, %u ready, %u failed, "
           "%u stopped\n", "farm", L->start_runs, L->stop_runs, L->log_starting, L->log_running,
           L->log_failed, L->log_stopped);
    printf("  %-24s %lld wakes; hopper_starts_total ready %lld, failed %lld\n", "",
           wakes(L), metric0(L, "hopper_starts_total{outcome=\"ready\"}"),
           metric0(L, "hopper_starts_total{outcome=\"failed\"}"));
    printf("  %-24s %zu held, p50 %llu ms, p99 %llu ms (connect to replay); %u keepalives "
           "answered\n", "held joins", L->held_wait_ms.len,
           (unsigned long long)sim_percentile(&L->held_wait_ms, 50),
           (unsigned long long)sim_percentile(&L->held_wait_ms, 99), L->keepalives);
  }
  printf("  %-24s %zu (session lines)\n", "sessions", L->lines_len);
  for (int r = 1; r < HOP_CLOSE_COUNT; r++)
    if (f->closes[r])
      printf("    %-22s %llu\n", hop_close_name((enum hop_close)r),
             (unsigned long long)f->closes[r]);
}

void live_report(struct live *L, int json)
{
  struct figures f;

  count(L, &f);
  if (json)
    print_json(L, &f);
  else
    print_table(L, &f);
}
