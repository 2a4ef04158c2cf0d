/* The control loop (main thread): binds listeners, starts workers, reloads on SIGHUP and drains
 * on SIGTERM/SIGINT. */
#ifndef HOP_CONTROL_H
#define HOP_CONTROL_H

#include "hop/config.h"

/* Runs hopper with `cfg` (taken over) until it is told to stop. `config_path` is re-read on
 * SIGHUP. Returns the process exit code. */
int hop_control_run(const char *config_path, struct hop_config *cfg);

#endif
