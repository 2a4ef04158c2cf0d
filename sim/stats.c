/* Server-farm statistics at the end of a run, as a table or as one JSON object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

void sim_sample(struct sim_samples *x, uint64_t v)
{
  if (x->len == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 64;
    uint64_t *g = realloc(x->v, cap * sizeof *g);

    if (!g)
      return;                  /* a lost sample skews a percentile, nothing more */
    x->v = g;
    x->cap = cap;
  }
  x->v[x->len++] = v;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile; 0 with no samples. Sorts in place. */
static uint64_t pct(struct sim_samples *x, unsigned p)
{
  size_t rank;

  if (x->len == 0)
    return 0;
  qsort(x->v, x->len, sizeof *x->v, cmp_u64);
  rank = (x->len * p + 99) / 100;
  return x->v[rank ? rank - 1 : 0];
}

uint64_t sim_percentile(struct sim_samples *x, unsigned p)
{
  return pct(x, p);
}

static double rate(uint64_t num, uint64_t den)
{
  return den ? (double)num / (double)den : 0.0;
}

static void print_json(const struct sim *s, struct sim_stats *st)
{
  int first = 1;

  printf("{\"scenario\":\"%s\",\"seed\":%llu,\"minutes\":%u,\"hash\":\"%016llx\","
         "\"violation\":%s%s%s,", s->sc->name, (unsigned long long)s->seed, s->minutes,
         (unsigned long long)s->hash, s->violation[0] ? "\"" : "",
         s->violation[0] ? s->violation : "null", s->violation[0] ? "\"" : "");
  printf("\"starts\":%llu,\"stops\":%llu,\"failed_starts\":%llu,\"start_calls_failed\":%llu,",
         (unsigned long long)st->starts, (unsigned long long)st->stops,
         (unsigned long long)st->failed_starts, (unsigned long long)st->start_calls_failed);
  printf("\"logins\":%llu,\"joins_ok\":%llu,\"join_success_rate\":%.4f,",
         (unsigned long long)st->logins, (unsigned long long)st->joins_ok,
         rate(st->joins_ok, st->logins));
  printf("\"join_wait_ms\":{\"p50\":%llu,\"p99\":%llu},",
         (unsigned long long)pct(&st->join_wait_ms, 50),
         (unsigned long long)pct(&st->join_wait_ms, 99));
  printf("\"events\":{\"made\":%llu,\"delivered\":%llu,\"duplicates\":%llu,"
         "\"delay_ms\":{\"p50\":%llu,\"p99\":%llu}},",
         (unsigned long long)st->events_made, (unsigned long long)st->events_delivered,
         (unsigned long long)st->events_dup, (unsigned long long)pct(&st->event_delay_ms, 50),
         (unsigned long long)pct(&st->event_delay_ms, 99));
  printf("\"fetches\":{\"sent\":%llu,\"ok\":%llu,\"rejected\":%llu,\"failed\":%llu},",
         (unsigned long long)st->fetches, (unsigned long long)st->fetch_ok,
         (unsigned long long)st->fetch_rejected, (unsigned long long)st->fetch_failed);
  printf("\"sessions\":%llu,\"closes\":{", (unsigned long long)st->sessions);
  for (int r = 1; r < HOP_CLOSE_COUNT; r++) {
    if (!st->closes[r])
      continue;
    printf("%s\"%s\":%llu", first ? "" : ",", hop_close_name((enum hop_close)r),
           (unsigned long long)st->closes[r]);
    first = 0;
  }
  printf("}}\n");
}

static void print_table(const struct sim *s, struct sim_stats *st)
{
  printf("scenario %s, seed %llu, %u simulated minutes (+%u drain)\n", s->sc->name,
         (unsigned long long)s->seed, s->minutes, SIM_DRAIN_MS / 60000);
  printf("  %-24s %llu\n", "starts", (unsigned long long)st->starts);
  printf("  %-24s %llu\n", "stops", (unsigned long long)st->stops);
  printf("  %-24s %llu\n", "failed starts", (unsigned long long)st->failed_starts);
  printf("  %-24s %llu\n", "start calls failed", (unsigned long long)st->start_calls_failed);
  printf("  %-24s %llu of %llu (%.1f%%)\n", "joins ok", (unsigned long long)st->joins_ok,
         (unsigned long long)st->logins, 100.0 * rate(st->joins_ok, st->logins));
  printf("  %-24s p50 %llu ms, p99 %llu ms\n", "join wait",
         (unsigned long long)pct(&st->join_wait_ms, 50),
         (unsigned long long)pct(&st->join_wait_ms, 99));
  printf("  %-24s %llu of %llu (%llu duplicates dropped by id)\n", "events delivered",
         (unsigned long long)st->events_delivered, (unsigned long long)st->events_made,
         (unsigned long long)st->events_dup);
  printf("  %-24s p50 %llu ms, p99 %llu ms\n", "event delay",
         (unsigned long long)pct(&st->event_delay_ms, 50),
         (unsigned long long)pct(&st->event_delay_ms, 99));
  printf("  %-24s %llu sent, %llu ok, %llu rejected, %llu failed\n", "routes fetches",
         (unsigned long long)st->fetches, (unsigned long long)st->fetch_ok,
         (unsigned long long)st->fetch_rejected, (unsigned long long)st->fetch_failed);
  printf("  %-24s %llu\n", "sessions", (unsigned long long)st->sessions);
  for (int r = 1; r < HOP_CLOSE_COUNT; r++)
    if (st->closes[r])
      printf("    %-22s %llu\n", hop_close_name((enum hop_close)r),
             (unsigned long long)st->closes[r]);
  printf("  %-24s %016llx\n", "trace hash", (unsigned long long)s->hash);
}

/* Sorts the samples (percentiles), hence not const. */
void sim_stats_print(struct sim *s, int json)
{
  struct sim_stats *st = &s->stats;

  if (json)
    print_json(s, st);
  else
    print_table(s, st);
}

void sim_stats_free(struct sim_stats *st)
{
  free(st->join_wait_ms.v);
  free(st->event_delay_ms.v);
  memset(st, 0, sizeof *st);
}
