/* Loading a scenario from SQLite. The database is built from the checked-in schema.sql and
 * scenarios.sql (SIM_SQL_DIR, set by meson) when no --db is given or the file does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "scenario.h"

#ifndef SIM_SQL_DIR
#define SIM_SQL_DIR "sim"
#endif

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;

  if (!f)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1))) {
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    } else {
      buf[n] = '\0';
    }
  }
  fclose(f);
  return buf;
}

static int exec_file(sqlite3 *db, const char *name, char *err, size_t err_bytes)
{
  char path[1024];
  char *sql, *msg = NULL;
  int rc;

  snprintf(path, sizeof path, "%s/%s", SIM_SQL_DIR, name);
  if (!(sql = slurp(path))) {
    snprintf(err, err_bytes, "%s: cannot read", path);
    return -1;
  }
  rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    snprintf(err, err_bytes, "%s: %s", path, msg ? msg : sqlite3_errstr(rc));
  sqlite3_free(msg);
  free(sql);
  return rc == SQLITE_OK ? 0 : -1;
}

static sqlite3 *open_db(const char *db_path, char *err, size_t err_bytes)
{
  sqlite3 *db = NULL;
  FILE *f = db_path ? fopen(db_path, "rb") : NULL;
  int fresh = !f;

  if (f)
    fclose(f);
  if (sqlite3_open(db_path ? db_path : ":memory:", &db) != SQLITE_OK) {
    snprintf(err, err_bytes, "%s: %s", db_path ? db_path : ":memory:", sqlite3_errmsg(db));
    sqlite3_close(db);
    return NULL;
  }
  if (fresh && (exec_file(db, "schema.sql", err, err_bytes) < 0 ||
                exec_file(db, "scenarios.sql", err, err_bytes) < 0)) {
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

static void copy_text(char *out, size_t cap, sqlite3_stmt *st, int col)
{
  const unsigned char *t = sqlite3_column_text(st, col);

  snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int load_row(sqlite3_stmt *st, struct sim_scenario *sc)
{
  struct sim_faults *f = &sc->faults;

  copy_text(sc->name, sizeof sc->name, st, 0);
  copy_text(sc->description, sizeof sc->description, st, 1);
  sc->minutes = (uint32_t)sqlite3_column_int(st, 2);
  sc->replicas = (uint32_t)sqlite3_column_int(st, 3);
  sc->refresh_s = (uint32_t)sqlite3_column_int(st, 4);
  f->api_5xx = sqlite3_column_double(st, 5);
  f->api_timeout = sqlite3_column_double(st, 6);
  f->api_garbage = sqlite3_column_double(st, 7);
  f->api_stale = sqlite3_column_double(st, 8);
  f->backend_refuse = sqlite3_column_double(st, 9);
  f->backend_reset = sqlite3_column_double(st, 10);
  f->backend_stall = sqlite3_column_double(st, 11);
  f->client_drip = sqlite3_column_double(st, 12);
  f->client_vanish = sqlite3_column_double(st, 13);
  f->client_half_close = sqlite3_column_double(st, 14);
  f->sqlite_busy = sqlite3_column_double(st, 15);
  f->outage_from_s = (uint32_t)sqlite3_column_int(st, 16);
  f->outage_to_s = (uint32_t)sqlite3_column_int(st, 17);
  f->api_churn = sqlite3_column_double(st, 18);
  return 0;
}

static int load_servers(sqlite3 *db, struct sim_scenario *sc)
{
  static const char sql[] =
    "SELECT id, host, state, join_policy, idle_stop_s, min_online_s, start_timeout_s, start_ms,"
    " start_jitter_ms, status_lag_ms, login_lag_ms, stop_ms, slow_start FROM server"
    " WHERE scenario = ?1 ORDER BY rowid";
  sqlite3_stmt *st;
  int rc;

  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(st, 1, sc->name, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct sim_server_spec *g = realloc(sc->servers, (sc->servers_len + 1) * sizeof *g), *v;
    int state;

    if (!g)
      break;
    sc->servers = g;
    v = &g[sc->servers_len++];
    memset(v, 0, sizeof *v);
    copy_text(v->id, sizeof v->id, st, 0);
    copy_text(v->host, sizeof v->host, st, 1);
    state = hop_state_parse((const char *)sqlite3_column_text(st, 2));
    v->state = state < 0 ? HOP_STATE_SLEEPING : (enum hop_state)state;
    v->join = strcmp((const char *)sqlite3_column_text(st, 3), "kick") == 0 ? HOP_JOIN_KICK
                                                                              : HOP_JOIN_HOLD;
    v->idle_stop_s = (uint32_t)sqlite3_column_int(st, 4);
    v->min_online_s = (uint32_t)sqlite3_column_int(st, 5);
    v->start_timeout_s = (uint32_t)sqlite3_column_int(st, 6);
    v->start_ms = (uint32_t)sqlite3_column_int(st, 7);
    v->start_jitter_ms = (uint32_t)sqlite3_column_int(st, 8);
    v->status_lag_ms = (uint32_t)sqlite3_column_int(st, 9);
    v->login_lag_ms = (uint32_t)sqlite3_column_int(st, 10);
    v->stop_ms = (uint32_t)sqlite3_column_int(st, 11);
    v->slow_start = sqlite3_column_double(st, 12);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

static int server_index(const struct sim_scenario *sc, const char *id)
{
  if (!id)
    return -1;
  if (strcmp(id, "?") == 0)
    return -2;
  for (size_t i = 0; i < sc->servers_len; i++)
    if (strcmp(sc->servers[i].id, id) == 0)
      return (int)i;
  return -3;
}

static enum sim_pattern pattern_of(const char *p)
{
  static const char *const names[] = { "steady", "storm", "scanner", "pinger", "reconnect" };

  for (int i = 0; i < 5; i++)
    if (strcmp(p, names[i]) == 0)
      return (enum sim_pattern)i;
  return PATTERN_STEADY;
}

static int load_plans(sqlite3 *db, struct sim_scenario *sc, char *err, size_t err_bytes)
{
  static const char sql[] =
    "SELECT pattern, server, count, per_min, at_s, window_s, play_s, cycles, protocol"
    " FROM players WHERE scenario = ?1 ORDER BY rowid";
  sqlite3_stmt *st;
  int rc;

  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(st, 1, sc->name, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct sim_plan *g = realloc(sc->plans, (sc->plans_len + 1) * sizeof *g), *p;

    if (!g)
      break;
    sc->plans = g;
    p = &g[sc->plans_len++];
    p->pattern = pattern_of((const char *)sqlite3_column_text(st, 0));
    p->server = server_index(sc, (const char *)sqlite3_column_text(st, 1));
    p->count = (uint32_t)sqlite3_column_int(st, 2);
    p->per_min = sqlite3_column_double(st, 3);
    p->at_s = (uint32_t)sqlite3_column_int(st, 4);
    p->window_s = (uint32_t)sqlite3_column_int(st, 5);
    p->play_s = (uint32_t)sqlite3_column_int(st, 6);
    p->cycles = (uint32_t)sqlite3_column_int(st, 7);
    p->protocol = sqlite3_column_int(st, 8);
    if (p->server == -3) {
      snprintf(err, err_bytes, "scenario %s: players row names no server of it", sc->name);
      sqlite3_finalize(st);
      return -1;
    }
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

struct sim_scenario *sim_scenario_load(const char *db_path, const char *name, char *err,
                                       size_t err_bytes)
{
  static const char sql[] =
    "SELECT name, description, minutes, replicas, refresh_s, api_5xx, api_timeout, api_garbage,"
    " api_stale, backend_refuse, backend_reset, backend_stall, client_drip, client_vanish,"
    " client_half_close, sqlite_busy, outage_from_s, outage_to_s, api_churn FROM scenario"
    " WHERE name = ?1";
  sqlite3 *db = open_db(db_path, err, err_bytes);
  struct sim_scenario *sc = NULL;
  sqlite3_stmt *st = NULL;

  if (!db)
    return NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    snprintf(err, err_bytes, "%s", sqlite3_errmsg(db));
    goto out;
  }
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_ROW) {
    snprintf(err, err_bytes, "no scenario named \"%s\" (sim --list shows them)", name);
    goto out;
  }
  if (!(sc = calloc(1, sizeof *sc)))
    goto out;
  load_row(st, sc);
  if (load_servers(db, sc) < 0 || load_plans(db, sc, err, err_bytes) < 0 ||
      sc->servers_len == 0) {
    if (!*err)
      snprintf(err, err_bytes, "scenario %s: no servers, or %s", name, sqlite3_errmsg(db));
    sim_scenario_free(sc);
    sc = NULL;
  }
out:
  sqlite3_finalize(st);
  sqlite3_close(db);
  return sc;
}

int sim_scenario_list(const char *db_path)
{
  char err[512] = "";
  sqlite3 *db = open_db(db_path, err, sizeof err);
  sqlite3_stmt *st;

  if (!db) {
    fprintf(stderr, "sim: %s\n", err);
    return -1;
  }
  if (sqlite3_prepare_v2(db, "SELECT name, minutes, description FROM scenario ORDER BY rowid",
                         -1, &st, NULL) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW)
      printf("%-16s %3d min  %s\n", sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
             sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return 0;
}

void sim_scenario_free(struct sim_scenario *sc)
{
  if (!sc)
    return;
  free(sc->servers);
  free(sc->plans);
  free(sc);
}
