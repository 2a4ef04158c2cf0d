/* Per-client-IP limits shared by every worker: open sessions and two token buckets (status and
 * login), in a sharded table so workers rarely meet on a lock. With SO_REUSEPORT one IP's
 * connections spread over all workers, so per-worker tables would miss them. Private to src/shell. */
#ifndef HOP_SHELL_LIMITS_H
#define HOP_SHELL_LIMITS_H

#include <stdint.h>
#include <sys/socket.h>

#include "hop/close.h"
#include "hop/config.h"

/* At accept. Returns HOP_CLOSE_NONE (admitted: call hop_limits_release at the end),
 * HOP_CLOSE_DENIED or HOP_CLOSE_SESSION_LIMIT (global cap) for a refusal at once, or marks
 * *over_ip when the per-IP cap is passed (admitted and counted, refused once its intent is
 * known, so the player can be told). */
enum hop_close hop_limits_admit(const struct hop_limits *l, const struct sockaddr *peer,
                                int *over_ip);
/* `peer` NULL: the session was admitted without per-IP counting (a trusted proxy's). */
void hop_limits_release(const struct sockaddr *peer);

/* Takes a token from the client's status or login bucket. Returns 1 if it had one. */
int hop_limits_rate(const struct hop_limits *l, const struct sockaddr *peer, int login,
                    uint64_t now_ms);

#endif
