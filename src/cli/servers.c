/* hopper servers: list, add, set and rm rows of the servers table. Every change is validated the
 * way the running gateway will read it before it is written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <sqlite3.h>

#include "hop/cli.h"
#include "hop/config.h"
#include "hop/store.h"
#include "db.h"

static const char usage[] =
  "usage: hopper servers [--db FILE | --config FILE] list\n"
  "       hopper servers [--db FILE | --config FILE] add ID --host HOST [--host HOST...]\n"
  "                      --backend HOST:PORT [KEY=VALUE...]\n"
  "       hopper servers [--db FILE | --config FILE] set ID KEY=VALUE...\n"
  "       hopper servers [--db FILE | --config FILE] rm ID\n"
  "KEY: hosts (JSON array or comma list), backend, state, start_cmd, stop_cmd (JSON argv\n"
  "arrays), or any per-server option (join, auto_start, idle_stop_s, min_online_s,\n"
  "start_timeout_s, ready_grace_ms, cooldown_s, wake_allow, proxy_protocol, status).\n"
  "VALUE is JSON if it parses as JSON, else a string.\n";

struct row {
  cJSON *obj;                  /* the server as the gateway reads it */
};

/* ---- Rows as JSON ------------------------------------------------------------------------- */

/* JSON only if the whole value is JSON ("127.0.0.1:5" is not the number 127). */
static cJSON *parse_json(const char *v)
{
  return cJSON_ParseWithOpts(v, NULL, 1);
}

static cJSON *parse_or_string(const char *v)
{
  cJSON *j = parse_json(v);

  return j ? j : cJSON_CreateString(v);
}

static cJSON *load_row(sqlite3 *db, const char *id)
{
  sqlite3_stmt *st;
  cJSON *obj = NULL;

  if (sqlite3_prepare_v2(db, "SELECT hosts, backend, options, start_cmd, stop_cmd, state "
                             "FROM servers WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *opt = (const char *)sqlite3_column_text(st, 2);

    obj = opt ? cJSON_Parse(opt) : NULL;
    if (!cJSON_IsObject(obj)) {
      cJSON_Delete(obj);
      obj = cJSON_CreateObject();
    }
    cJSON_AddStringToObject(obj, "id", id);
    cJSON_AddItemToObject(obj, "hosts", parse_or_string((const char *)sqlite3_column_text(st, 0)));
    cJSON_AddStringToObject(obj, "backend", (const char *)sqlite3_column_text(st, 1));
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
      cJSON_AddItemToObject(obj, "start_cmd",
                            parse_or_string((const char *)sqlite3_column_text(st, 3)));
    if (sqlite3_column_type(st, 4) != SQLITE_NULL)
      cJSON_AddItemToObject(obj, "stop_cmd",
                            parse_or_string((const char *)sqlite3_column_text(st, 4)));
    cJSON_AddStringToObject(obj, "state", (const char *)sqlite3_column_text(st, 5));
  }
  sqlite3_finalize(st);
  return obj;
}

/* Applies KEY=VALUE; "hosts" also takes a comma-separated list. */
static int apply(cJSON *obj, const char *kv)
{
  const char *eq = strchr(kv, '=');
  char key[64];
  cJSON *v;

  if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
    fprintf(stderr, "hopper: expected KEY=VALUE, got \"%s\"\n", kv);
    return -1;
  }
  snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
  v = parse_json(eq + 1);
  if (!v && strcmp(key, "hosts") == 0) {
    char *list = strdup(eq + 1), *save = NULL;

    v = cJSON_CreateArray();
    for (char *h = strtok_r(list, ",", &save); h; h = strtok_r(NULL, ",", &save))
      cJSON_AddItemToArray(v, cJSON_CreateString(h));
    free(list);
  }
  if (!v)
    v = cJSON_CreateString(eq + 1);
  cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
  cJSON_AddItemToObject(obj, key, v);
  return 0;
}

/* Validates the server exactly as the gateway will: as a one-server routes document. */
static int validate(const cJSON *obj)
{
  cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "servers");
  struct hop_route_table *t = NULL;
  char err[HOP_CONFIG_ERR_BYTES], *json;
  int rc;

  cJSON_AddItemToArray(arr, cJSON_Duplicate(obj, 1));
  json = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  rc = json ? hop_routes_parse("server", json, strlen(json), HOP_ROUTES_EMBEDDED, &t, err,
                               sizeof err) : -1;
  if (rc < 0)
    fprintf(stderr, "hopper: %s\n", json ? err : "out of memory");
  hop_route_table_free(t);
  free(json);
  return rc;
}

/* Hosts must stay unique across all servers: checked against every other row. */
static int validate_all(sqlite3 *db, const cJSON *changed)
{
  cJSON *doc = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(doc, "servers");
  const char *id = cJSON_GetObjectItemCaseSensitive(changed, "id")->valuestring;
  struct hop_route_table *t = NULL;
  char err[HOP_CONFIG_ERR_BYTES], *json;
  sqlite3_stmt *st;
  int rc;

  if (sqlite3_prepare_v2(db, "SELECT id FROM servers WHERE id <> ?", -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
      cJSON *other = load_row(db, (const char *)sqlite3_column_text(st, 0));

      if (other)
        cJSON_AddItemToArray(arr, other);
    }
    sqlite3_finalize(st);
  }
  cJSON_AddItemToArray(arr, cJSON_Duplicate(changed, 1));   /* last: a clash names the other */
  json = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  rc = hop_routes_parse("servers", json, strlen(json), HOP_ROUTES_EMBEDDED, &t, err, sizeof err);
  if (rc < 0)
    fprintf(stderr, "hopper: %s\n", err);
  hop_route_table_free(t);
  free(json);
  return rc;
}

static char *print_field(const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

  return v ? cJSON_PrintUnformatted(v) : NULL;
}

static int save_row(sqlite3 *db, const cJSON *obj)
{
  static const char *const columns[] = { "id", "hosts", "backend", "start_cmd", "stop_cmd",
                                         "state", NULL };
  cJSON *options = cJSON_Duplicate(obj, 1);
  char *hosts = print_field(obj, "hosts"), *start = print_field(obj, "start_cmd");
  char *stop = print_field(obj, "stop_cmd"), *opts;
  const cJSON *state = cJSON_GetObjectItemCaseSensitive(obj, "state");
  sqlite3_stmt *st;
  int rc = -1;

  for (int i = 0; columns[i]; i++)
    cJSON_DeleteItemFromObjectCaseSensitive(options, columns[i]);
  opts = cJSON_PrintUnformatted(options);
  if (sqlite3_prepare_v2(db, "INSERT INTO servers (id, hosts, backend, options, start_cmd, "
                             "stop_cmd, state, updated_at) VALUES (?,?,?,?,?,?,?,?) "
                             "ON CONFLICT(id) DO UPDATE SET hosts = excluded.hosts, "
                             "backend = excluded.backend, options = excluded.options, "
                             "start_cmd = excluded.start_cmd, stop_cmd = excluded.stop_cmd, "
                             "state = excluded.state, updated_at = excluded.updated_at",
                         -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, cJSON_GetObjectItemCaseSensitive(obj, "id")->valuestring, -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, hosts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, cJSON_GetObjectItemCaseSensitive(obj, "backend")->valuestring, -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, opts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, start, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, stop, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, cJSON_IsString(state) ? state->valuestring : "sleeping", -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)time(NULL));
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    if (rc < 0)
      fprintf(stderr, "hopper: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(st);
  }
  cJSON_Delete(options);
  free(hosts);
  free(start);
  free(stop);
  free(opts);
  return rc;
}

/* ---- Commands ----------------------------------------------------------------------------- */

static int cmd_list(sqlite3 *db)
{
  sqlite3_stmt *st;

  if (sqlite3_prepare_v2(db, "SELECT id, state, backend, hosts, options, start_cmd, stop_cmd "
                             "FROM servers ORDER BY id", -1, &st, NULL) != SQLITE_OK)
    return 1;
  printf("%-20s %-9s %-24s %s\n", "ID", "STATE", "BACKEND", "HOSTS / OPTIONS");
  while (sqlite3_step(st) == SQLITE_ROW) {
    printf("%-20s %-9s %-24s %s %s", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1),
           sqlite3_column_text(st, 2), sqlite3_column_text(st, 3), sqlite3_column_text(st, 4));
    if (sqlite3_column_type(st, 5) != SQLITE_NULL)
      printf(" start_cmd=%s", sqlite3_column_text(st, 5));
    if (sqlite3_column_type(st, 6) != SQLITE_NULL)
      printf(" stop_cmd=%s", sqlite3_column_text(st, 6));
    printf("\n");
  }
  sqlite3_finalize(st);
  return 0;
}

static int cmd_add(sqlite3 *db, int argc, char **argv)
{
  cJSON *obj, *hosts;
  cJSON *existing;
  int rc = 1;

  if (argc < 1)
    return fputs(usage, stderr), 2;
  existing = load_row(db, argv[0]);
  if (existing) {
    cJSON_Delete(existing);
    fprintf(stderr, "hopper: server \"%s\" exists; use `hopper servers set`\n", argv[0]);
    return 1;
  }
  obj = cJSON_CreateObject();
  cJSON_AddStringToObject(obj, "id", argv[0]);
  hosts = cJSON_AddArrayToObject(obj, "hosts");
  cJSON_AddStringToObject(obj, "state", "sleeping");
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--host") == 0 && i + 1 < argc) {
      cJSON_AddItemToArray(hosts, cJSON_CreateString(argv[++i]));
    } else if (strcmp(argv[i], "--backend") == 0 && i + 1 < argc) {
      cJSON_AddStringToObject(obj, "backend", argv[++i]);
    } else if (apply(obj, argv[i]) < 0) {
      cJSON_Delete(obj);
      return 2;
    }
  }
  if (validate(obj) == 0 && validate_all(db, obj) == 0 && save_row(db, obj) == 0) {
    printf("added %s\n", argv[0]);
    rc = 0;
  }
  cJSON_Delete(obj);
  return rc;
}

static int cmd_set(sqlite3 *db, int argc, char **argv)
{
  cJSON *obj;
  int rc = 1;

  if (argc < 2)
    return fputs(usage, stderr), 2;
  if (!(obj = load_row(db, argv[0]))) {
    fprintf(stderr, "hopper: no server \"%s\"\n", argv[0]);
    return 1;
  }
  for (int i = 1; i < argc; i++)
    if (apply(obj, argv[i]) < 0) {
      cJSON_Delete(obj);
      return 2;
    }
  if (validate(obj) == 0 && validate_all(db, obj) == 0 && save_row(db, obj) == 0) {
    printf("updated %s\n", argv[0]);
    rc = 0;
  }
  cJSON_Delete(obj);
  return rc;
}

static int cmd_rm(sqlite3 *db, const char *id)
{
  sqlite3_stmt *st;
  int changed = 0;

  if (sqlite3_prepare_v2(db, "DELETE FROM servers WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
    return 1;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_DONE)
    changed = sqlite3_changes(db);
  sqlite3_finalize(st);
  if (!changed) {
    fprintf(stderr, "hopper: no server \"%s\"\n", id);
    return 1;
  }
  printf("removed %s\n", id);
  return 0;
}

int hop_cli_servers(int argc, char **argv)
{
  char buf[4096];
  const char *path = hop_cli_db_path(&argc, &argv, buf, sizeof buf);
  sqlite3 *db;
  int rc;

  if (!path)
    return 1;
  if (argc < 1)
    return fputs(usage, stderr), 2;
  if (!(db = hop_cli_db_open(path)))
    return 1;
  if (strcmp(argv[0], "list") == 0)
    rc = cmd_list(db);
  else if (strcmp(argv[0], "add") == 0)
    rc = cmd_add(db, argc - 1, argv + 1);
  else if (strcmp(argv[0], "set") == 0)
    rc = cmd_set(db, argc - 1, argv + 1);
  else if (strcmp(argv[0], "rm") == 0 && argc == 2)
    rc = cmd_rm(db, argv[1]);
  else
    rc = (fputs(usage, stderr), 2);
  sqlite3_close(db);
  return rc;
}
