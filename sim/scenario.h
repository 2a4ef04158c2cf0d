/* Scenarios: hydrated starting states of a farm, stored in SQLite (sim/schema.sql, seeded from
 * sim/scenarios.sql): servers with their states, hosts, policies and start/stop timings; arrival
 * plans for players, pingers, scanners and reconnect loops; fault probabilities. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "hop/farm.h"

struct sim_server_spec {
  char id[16];
  char host[64];
  enum hop_state state;        /* at the start of the run */
  enum hop_join join;
  uint32_t idle_stop_s, min_online_s, start_timeout_s;
  uint32_t start_ms;           /* start call -> accepts TCP */
  uint32_t start_jitter_ms;    /* + uniform [0, this] */
  uint32_t status_lag_ms;      /* accepts TCP -> answers status (probes pass) */
  uint32_t login_lag_ms;       /* answers status -> takes logins (0: at once) */
  uint32_t stop_ms;            /* stop call -> sleeping */
  double slow_start;           /* chance a start takes longer than start_timeout_s */
};

enum sim_pattern { PATTERN_STEADY, PATTERN_STORM, PATTERN_SCANNER, PATTERN_PINGER,
                   PATTERN_RECONNECT };

struct sim_plan {
  enum sim_pattern pattern;
  int server;                  /* index into servers, -1: any (uniform), -2: unknown hosts */
  uint32_t count;              /* storm / reconnect: clients */
  double per_min;              /* steady / scanner / pinger: mean arrivals per minute */
  uint32_t at_s, window_s;     /* when the plan runs (window 0: to the end) */
  uint32_t play_s;             /* mean time a player stays once in */
  uint32_t cycles;             /* reconnect: joins per client */
  int32_t protocol;            /* 0: a random one of a few real versions */
};

struct sim_faults {
  double api_5xx, api_timeout, api_garbage, api_stale;
  double backend_refuse, backend_reset, backend_stall;
  double client_drip, client_vanish, client_half_close;
  double sqlite_busy;
  double api_churn;            /* per routes fetch: one server leaves or rejoins the document */
  uint32_t outage_from_s, outage_to_s;   /* the API answers nothing at all in [from, to) */
};

struct sim_scenario {
  char name[48];
  char description[256];
  uint32_t minutes;            /* default run length */
  uint32_t replicas;
  uint32_t refresh_s;
  struct sim_faults faults;
  struct sim_server_spec *servers;
  size_t servers_len;
  struct sim_plan *plans;
  size_t plans_len;
};

/* Loads scenario `name` from the database `db_path` (created from the checked-in SQL when it
 * does not exist), or from an in-memory copy of the checked-in SQL when `db_path` is NULL.
 * Returns NULL and writes why into err. */
struct sim_scenario *sim_scenario_load(const char *db_path, const char *name, char *err,
                                       size_t err_bytes);
/* Prints the names and descriptions of every scenario. Returns 0 or -1. */
int sim_scenario_list(const char *db_path);
void sim_scenario_free(struct sim_scenario *sc);

#endif
