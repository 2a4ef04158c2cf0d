/* The file under the CLI commands (src/cli/db.h). */
#include <stdio.h>
#include <string.h>

#include "hop/config.h"
#include "hop/store.h"
#include "db.h"

sqlite3 *hop_cli_db_open(const char *path)
{
  sqlite3 *db = NULL;
  char err[256];

  if (hop_store_make_dirs(path, err, sizeof err) < 0) {
    fprintf(stderr, "hopper: %s\n", err);
    return NULL;
  }
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    fprintf(stderr, "hopper: %s: %s\n", path, db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 5000);   /* the gateway's store thread may hold the write lock */
  if (hop_store_migrate(db, err, sizeof err) < 0) {
    fprintf(stderr, "hopper: %s: %s\n", path, err);
    sqlite3_close(db);
    return NULL;
  }
  return db;
}

const char *hop_cli_db_path(int *argc, char ***argv, char *buf, size_t cap)
{
  const char *path = "var/hopper.db";

  if (*argc >= 2 && strcmp((*argv)[0], "--db") == 0) {
    path = (*argv)[1];
    *argc -= 2;
    *argv += 2;
  } else if (*argc >= 2 && strcmp((*argv)[0], "--config") == 0) {
    struct hop_config cfg;
    char err[HOP_CONFIG_ERR_BYTES];

    if (hop_config_load((*argv)[1], &cfg, err, sizeof err) < 0) {
      fprintf(stderr, "hopper: %s\n", err);
      return NULL;
    }
    snprintf(buf, cap, "%s", cfg.store_path ? cfg.store_path : path);
    hop_config_free(&cfg);
    path = buf;
    *argc -= 2;
    *argv += 2;
  }
  return path;
}
