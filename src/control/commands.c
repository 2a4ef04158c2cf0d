#include <stdint.h>
#include <stdlib.h>

#include "hop/commands.h"

struct hop_command {
  uv_process_t proc;
  hop_command_cb cb;
  void *arg;
};

static void on_closed(uv_handle_t *h)
{
  free(h->data);
}

static void on_command_exit(uv_process_t *proc, int64_t status, int term_signal)
{
  struct hop_command *cmd = proc->data;

  if (cmd->cb)
    cmd->cb(cmd->arg, status, term_signal);
  uv_close((uv_handle_t *)proc, on_closed);
}

int hop_command_run(uv_loop_t *loop, char *const *argv, hop_command_cb cb, void *arg,
                    struct hop_command **out)
{
  struct hop_command *cmd = calloc(1, sizeof *cmd);
  uv_stdio_container_t stdio[3];
  uv_process_options_t opt = { 0 };
  int rc;

  if (!cmd)
    return UV_ENOMEM;
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_INHERIT_FD;
  stdio[1].data.fd = 2;        /* the server's chatter joins hopper's log stream */
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  opt.file = argv[0];
  opt.args = (char **)(uintptr_t)argv;
  opt.exit_cb = on_command_exit;
  opt.stdio = stdio;
  opt.stdio_count = 3;
  cmd->cb = cb;
  cmd->arg = arg;
  cmd->proc.data = cmd;
  rc = uv_spawn(loop, &cmd->proc, &opt);
  if (rc < 0) {
    /* libuv still wants the handle closed after a failed spawn */
    uv_close((uv_handle_t *)&cmd->proc, on_closed);
    return rc;
  }
  *out = cmd;
  return 0;
}

int hop_command_kill(struct hop_command *cmd, int signum)
{
  return uv_process_kill(&cmd->proc, signum);
}

void hop_command_detach(struct hop_command *cmd)
{
  cmd->cb = NULL;
  /* Closing the handle stops watching the child without killing it: a server we started keeps
   * running and no longer keeps hopper's loop alive. */
  if (!uv_is_closing((uv_handle_t *)&cmd->proc))
    uv_close((uv_handle_t *)&cmd->proc, on_closed);
}
