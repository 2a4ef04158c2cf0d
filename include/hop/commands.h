/* start_cmd / stop_cmd of the embedded provider: argv run with uv_spawn (no shell, nothing waits
 * on the loop). A start command may exit at once (it asked a supervisor) or keep running (it is
 * the server); either way readiness is proven by probes, not by the command. */
#ifndef HOP_COMMANDS_H
#define HOP_COMMANDS_H

#include <stdint.h>

#include <uv.h>

/* status: the exit code (>= 0), or a negative code if it could not be spawned. `term_signal`
 * is the signal that ended it, or 0. */
typedef void (*hop_command_cb)(void *arg, int64_t status, int term_signal);

struct hop_command;

/* Spawns `argv` (argv[0] looked up in PATH) with stdin from /dev/null and stdout/stderr on
 * hopper's stderr. `cb` runs once when it exits (never from inside this call). Returns 0 and
 * the handle in *out (valid until cb has run), or a negative code. */
int hop_command_run(uv_loop_t *loop, char *const *argv, hop_command_cb cb, void *arg,
                    struct hop_command **out);

/* Sends `signum` to a running command. */
int hop_command_kill(struct hop_command *cmd, int signum);

/* Forgets the command: it runs on, its callback never runs, and `cmd` is freed. */
void hop_command_detach(struct hop_command *cmd);

#endif
