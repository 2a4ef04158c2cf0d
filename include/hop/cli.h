/* One-shot commands on hopper's SQLite file, run outside any event loop; a running hopper picks
 * changes up by polling. `hopper servers add|rm|list|set` edits the embedded provider's servers;
 * `hopper bans list|add|lift` the temporary IP bans. */
#ifndef HOP_CLI_H
#define HOP_CLI_H

/* argv starts after "servers". Returns the process exit code. */
int hop_cli_servers(int argc, char **argv);
/* argv starts after "bans". */
int hop_cli_bans(int argc, char **argv);

#endif
