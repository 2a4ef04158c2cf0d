/* The SQLite file the one-shot CLI commands edit: found from --db or --config, opened with the
 * running gateway's migrations. Private to src/cli. */
#ifndef HOP_CLI_DB_H
#define HOP_CLI_DB_H

#include <stddef.h>

#include <sqlite3.h>

/* Takes a leading `--db FILE` or `--config FILE` off argv; the default is var/hopper.db. NULL
 * (after printing why) when the config does not load. */
const char *hop_cli_db_path(int *argc, char ***argv, char *buf, size_t cap);

/* Opens (creating and migrating as needed) or prints why and returns NULL. */
sqlite3 *hop_cli_db_open(const char *path);

#endif
