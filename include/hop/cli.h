/* `hopper servers add|rm|list|set`: edits the embedded provider's servers in the SQLite file.
 * Runs outside any event loop (a one-shot command); a running hopper picks changes up by polling. */
#ifndef HOP_CLI_H
#define HOP_CLI_H

/* argv starts after "servers". Returns the process exit code. */
int hop_cli_servers(int argc, char **argv);

#endif
