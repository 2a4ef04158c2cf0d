/* One server object (config file, API routes document or SQLite row options) -> a route table
 * entry with its options. Private to src/config. */
#ifndef HOP_CONFIG_SERVER_SPEC_H
#define HOP_CONFIG_SERVER_SPEC_H

#include <cjson/cJSON.h>

#include "hop/route.h"
#include "json_path.h"

enum {
  HOP_SPEC_STRICT = 1,         /* unknown keys are errors (operator files), else ignored (API) */
  HOP_SPEC_MANAGED = 2,        /* lifecycle fields allowed: state, join, idle_stop_s, ... */
  HOP_SPEC_COMMANDS = 4,       /* start_cmd / stop_cmd allowed (embedded provider) */
  HOP_SPEC_FILES = 8,          /* status.favicon may name a PNG file */
};

/* Parses `srv` at JSON path `path` into a new server of `t`. Returns 0, HOP_ECONFIG with the
 * message in jp, or -ENOMEM. */
int hop_server_spec_parse(const struct jp *jp, const char *path, const cJSON *srv,
                          struct hop_route_table *t, int flags);

/* Parses the `servers` array and `default_server` of `root` into `t`. */
int hop_servers_parse(const struct jp *jp, const cJSON *root, struct hop_route_table *t,
                      int flags);

#endif
