/* hopper: argv, config, then the control loop. Exit codes: 0 ok, 1 config or bind error, 2 usage. */
#include <stdio.h>
#include <string.h>

#include "hop/cli.h"
#include "hop/config.h"
#include "hop/control.h"
#include "hop/log.h"

#define HOPPER_VERSION "0.1.0"

static int usage(FILE *to)
{
  fprintf(to, "usage: hopper --config FILE      run the gateway\n"
              "       hopper check-config FILE  validate FILE and exit\n"
              "       hopper servers ...        edit the embedded provider's servers\n"
              "       hopper bans list|add|lift  show, add or lift temporary IP bans\n"
              "       hopper --version\n");
  return to == stdout ? 0 : 2;
}

static int check_config(const char *path)
{
  struct hop_config cfg;
  char err[HOP_CONFIG_ERR_BYTES];

  if (hop_config_load(path, &cfg, err, sizeof err) < 0) {
    fprintf(stderr, "hopper: %s\n", err);
    return 1;
  }
  printf("%s: ok (%zu servers)\n", path, hop_route_table_servers(cfg.routes));
  hop_config_free(&cfg);
  return 0;
}

static int run(const char *path)
{
  struct hop_config cfg;
  char err[HOP_CONFIG_ERR_BYTES];

  if (hop_config_load(path, &cfg, err, sizeof err) < 0) {
    hop_log_msg(HOP_LOG_ERROR, "config_invalid", err);
    return 1;
  }
  hop_log_setup(cfg.log_format, cfg.log_level);
  return hop_control_run(path, &cfg);
}

int main(int argc, char **argv)
{
  if (argc >= 2 && strcmp(argv[1], "servers") == 0)
    return hop_cli_servers(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "bans") == 0)
    return hop_cli_bans(argc - 2, argv + 2);
  if (argc == 3 && strcmp(argv[1], "check-config") == 0)
    return check_config(argv[2]);
  if (argc == 3 && (strcmp(argv[1], "--config") == 0 || strcmp(argv[1], "-c") == 0))
    return run(argv[2]);
  if (argc == 2 && strncmp(argv[1], "--config=", 9) == 0)
    return run(argv[1] + 9);
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("hopper " HOPPER_VERSION "\n");
    return 0;
  }
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
    return usage(stdout);
  return usage(stderr);
}
