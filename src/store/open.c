/* Opening the file: its directory, the connection settings and the schema migrations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "internal.h"

#define BUSY_TIMEOUT_MS 5000   /* the `hopper servers` CLI may hold the write lock briefly */

/* ---- Migrations ------------------------------------------------------------------------- *
 * migrations[i] takes the schema from user_version i to i + 1. Append only: a shipped entry
 * is never edited, because files in the field already ran it. */
static const char *const migrations[] = {
  /* 1: the first schema (see include/hop/store.h). updated_at has a default so that a row
   * inserted by hand with any SQLite client is valid. */
  "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE servers(id TEXT PRIMARY KEY, hosts TEXT NOT NULL, backend TEXT NOT NULL,"
  "  options TEXT NOT NULL DEFAULT '{}', start_cmd TEXT, stop_cmd TEXT,"
  "  state TEXT NOT NULL DEFAULT 'sleeping',"
  "  updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)));"
  "CREATE TABLE routes_doc(id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL,"
  "  etag TEXT, fetched_at INTEGER NOT NULL);"
  "CREATE TABLE status_cache(server_id TEXT PRIMARY KEY, status_json TEXT NOT NULL,"
  "  seen_at INTEGER NOT NULL);"
  "CREATE TABLE outbox(seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE,"
  "  body TEXT NOT NULL, created_at INTEGER NOT NULL);",
  /* 2: temporary IP bans (docs/bans.md); defaults so an operator can insert one by hand. */
  "CREATE TABLE bans(ip TEXT PRIMARY KEY, until_ms INTEGER NOT NULL,"
  "  reason TEXT NOT NULL DEFAULT 'operator', strikes INTEGER NOT NULL DEFAULT 0,"
  "  created_ms INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER) * 1000));",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == HOP_STORE_SCHEMA_VERSION,
               "one migration per schema version");

static int fail_db(sqlite3 *db, int rc, char *err, size_t err_bytes, const char *what)
{
  int code = hop_store_map_rc(db, rc);

  if (err_bytes)
    snprintf(err, err_bytes, "%s: %s", what, sqlite3_errmsg(db));
  return code ? code : UV_EIO;
}

static int exec(sqlite3 *db, const char *sql, char *err, size_t err_bytes, const char *what)
{
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

  return rc == SQLITE_OK ? 0 : fail_db(db, rc, err, err_bytes, what);
}

static int read_user_version(sqlite3 *db, int *out, char *err, size_t err_bytes)
{
  sqlite3_stmt *s;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);

  if (rc != SQLITE_OK)
    return fail_db(db, rc, err, err_bytes, "read user_version");
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int(s, 0);
  else
    rc = fail_db(db, rc, err, err_bytes, "read user_version");
  sqlite3_finalize(s);
  return rc == SQLITE_ROW ? 0 : rc;
}

static int refuse_newer(int version, char *err, size_t err_bytes)
{
  if (err_bytes)
    snprintf(err, err_bytes,
             "schema version %d is newer than this hopper knows (%d); refusing to use the "
             "file (run a newer hopper, or restore a backup)",
             version, HOP_STORE_SCHEMA_VERSION);
  return UV_ENOTSUP;
}

/* Runs migrations[version] and bumps user_version, inside the caller's transaction. */
static int migrate_one(sqlite3 *db, int version, char *err, size_t err_bytes)
{
  char sql[64];
  char what[32];
  int rc;

  snprintf(what, sizeof what, "migration %d", version + 1);
  rc = exec(db, migrations[version], err, err_bytes, what);
  if (rc < 0)
    return rc;
  snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version + 1);
  return exec(db, sql, err, err_bytes, what);
}

int hop_store_migrate(sqlite3 *db, char *err, size_t err_bytes)
{
  int version, rc;

  if (err_bytes)
    err[0] = '\0';
  rc = read_user_version(db, &version, err, err_bytes);
  if (rc < 0)
    return rc;
  if (version > HOP_STORE_SCHEMA_VERSION)
    return refuse_newer(version, err, err_bytes);
  /* One transaction per step, version re-read under the write lock: another process (the CLI)
   * may be migrating the same file right now. */
  while (version < HOP_STORE_SCHEMA_VERSION) {
    rc = exec(db, "BEGIN IMMEDIATE", err, err_bytes, "begin migration");
    if (rc < 0)
      return rc;
    rc = read_user_version(db, &version, err, err_bytes);
    if (rc == 0 && version > HOP_STORE_SCHEMA_VERSION)
      rc = refuse_newer(version, err, err_bytes);
    if (rc == 0 && version < HOP_STORE_SCHEMA_VERSION)
      rc = migrate_one(db, version, err, err_bytes);
    if (rc == 0)
      rc = exec(db, "COMMIT", err, err_bytes, "commit migration");
    if (rc < 0) {
      if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      return rc;
    }
    rc = read_user_version(db, &version, err, err_bytes);
    if (rc < 0)
      return rc;
  }
  return 0;
}

/* ---- Opening ---------------------------------------------------------------------------- */

int hop_store_make_dirs(const char *path, char *err, size_t err_bytes)
{
  char *dir = strdup(path);
  char *slash, *p;
  struct stat sb;
  int rc = 0;

  if (!dir)
    return UV_ENOMEM;
  slash = strrchr(dir, '/');
  if (!slash || slash == dir) {
    free(dir);
    return 0;                  /* the working directory or "/" */
  }
  *slash = '\0';
  for (p = dir + 1; rc == 0; p++) {
    char c = *p;

    if (c != '/' && c != '\0')
      continue;
    *p = '\0';
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
      rc = -errno;
    else if (c == '\0' && (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)))
      rc = UV_ENOTDIR;
    *p = c;
    if (c == '\0')
      break;
  }
  if (rc < 0)
    snprintf(err, err_bytes, "%s: cannot create directory %s: %s", path, dir, uv_strerror(rc));
  free(dir);
  return rc;
}

/* Settings of our connection. A file from a newer hopper is refused before anything here
 * could write to it (journal_mode=WAL rewrites the header). */
static int set_pragmas(sqlite3 *db, char *err, size_t err_bytes)
{
  sqlite3_stmt *s;
  int rc, wal, version;
  char sql[64];

  snprintf(sql, sizeof sql, "PRAGMA busy_timeout = %d", BUSY_TIMEOUT_MS);
  rc = exec(db, sql, err, err_bytes, "busy_timeout");
  if (rc < 0)
    return rc;
  rc = read_user_version(db, &version, err, err_bytes);
  if (rc < 0)
    return rc;
  if (version > HOP_STORE_SCHEMA_VERSION)
    return refuse_newer(version, err, err_bytes);
  rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
  if (rc != SQLITE_OK)
    return fail_db(db, rc, err, err_bytes, "journal_mode");
  rc = sqlite3_step(s);
  wal = rc == SQLITE_ROW && sqlite3_stricmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
  if (rc != SQLITE_ROW)
    rc = fail_db(db, rc, err, err_bytes, "journal_mode");
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW)
    return rc;
  if (!wal) {
    /* The CLI reads and writes beside us; without WAL its readers would block our writer. */
    snprintf(err, err_bytes, "journal_mode: the file cannot use WAL mode");
    return UV_ENOTSUP;
  }
  return exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err, err_bytes,
              "pragmas");
}

int hop_store_open_db(struct hop_store *st)
{
  char why[sizeof st->open_err - 32];
  sqlite3 *db = NULL;
  int rc;

  why[0] = '\0';
  rc = hop_store_make_dirs(st->path, st->open_err, sizeof st->open_err);
  if (rc < 0)
    return rc;
  rc = sqlite3_open_v2(st->path, &db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc == SQLITE_OK) {
    sqlite3_extended_result_codes(db, 1);
    rc = set_pragmas(db, why, sizeof why);
    if (rc == 0)
      rc = hop_store_migrate(db, why, sizeof why);
  } else {
    rc = fail_db(db, rc, why, sizeof why, "open");
  }
  if (rc < 0) {
    snprintf(st->open_err, sizeof st->open_err, "%s: %s", st->path, why);
    sqlite3_close(db);         /* harmless on NULL; nothing is prepared yet */
    return rc;
  }
  st->db = db;
  return 0;
}

void hop_store_close_db(struct hop_store *st)
{
  hop_store_finalize_all(st);
  /* _v2: a generic job that leaked a statement must not keep the file open forever. */
  sqlite3_close_v2(st->db);
  st->db = NULL;
}
