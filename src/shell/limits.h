/* Per-client-IP limits shared by every worker: open sessions, two token buckets (status and
 * login), strikes and temporary bans, in a sharded table so workers rarely meet on a lock. With SO_REUSEPORT one IP's
 * connections spread over all workers, so per-worker tables would miss them. Private to src/shell. */
#ifndef HOP_SHELL_LIMITS_H
#define HOP_SHELL_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hop/close.h"
#include "hop/config.h"

/* At accept. Returns HOP_CLOSE_NONE (admitted: call hop_limits_release at the end),
 * HOP_CLOSE_DENIED, HOP_CLOSE_BANNED or HOP_CLOSE_SESSION_LIMIT (the global cap, or with
 * *over_ip set the per-IP cap plus the few over it already waiting to be told) for a refusal at
 * once, or marks
 * *over_ip when the per-IP cap is passed (admitted and counted, refused once its intent is
 * known, so the player can be told). */
enum hop_close hop_limits_admit(const struct hop_limits *l, const struct sockaddr *peer,
                                int *over_ip);
/* Counts a session admitted with a NULL peer (a trusted proxy's) under its client's own address,
 * once the PROXY header told it; release it with that address. Returns 1 if over the per-IP cap. */
int hop_limits_count_ip(const struct hop_limits *l, const struct sockaddr *peer);
/* `peer` NULL: the session was admitted without per-IP counting (a trusted proxy's). */
void hop_limits_release(const struct sockaddr *peer);

/* Takes a token from the client's status or login bucket. Returns 1 if it had one. */
int hop_limits_rate(const struct hop_limits *l, const struct sockaddr *peer, int login,
                    uint64_t now_ms);

/* ---- Strikes and bans (docs/bans.md) ----------------------------------------------------------
 * A session that ends in a strike reason (malformed opening, handshake timeout, a limit hit)
 * strikes its client's IP; l->ban_strikes strikes within l->ban_window_s ban it for l->ban_s.
 * Bans live in this table (the source of truth for refusals) and are stored by the control loop,
 * which takes each new one from a queue and reconciles with hopper's SQLite file. */
struct hop_ban {
  uint8_t key[16];             /* IPv6, IPv4 mapped (hop_ip_key) */
  int64_t until_ms;            /* unix ms */
  uint32_t strikes;
  uint8_t reason;              /* enum hop_close of the last strike */
};

/* Whether sessions closed for `reason` count as strikes. */
int hop_limits_strikes(enum hop_close reason);
/* Counts a strike (if limits.ban is on, the reason strikes and peer is not exempt). Returns 1
 * when this strike banned peer, with the ban in *out (also queued for the control loop). */
int hop_limits_strike(const struct hop_limits *l, const struct sockaddr *peer,
                      enum hop_close reason, uint64_t now_ms, struct hop_ban *out);
/* Whether peer is banned now (for clients whose address comes from a PROXY header). */
int hop_limits_banned(const struct sockaddr *peer);
/* Installs a ban (from the store or an operator). Returns -1 if the table had no room. */
int hop_limits_ban(const struct hop_ban *b);
void hop_limits_unban(const uint8_t key[16]);
/* Moves up to `max` bans made since the last call into `out`; returns how many. */
size_t hop_limits_take_new_bans(struct hop_ban *out, size_t max);
/* Bans in force: fills up to `max`, returns how many there are. */
size_t hop_limits_list_bans(struct hop_ban *out, size_t max);

void hop_ip_key(const struct sockaddr *sa, uint8_t key[16]);
int hop_ip_key_format(const uint8_t key[16], char *out, size_t cap);   /* 0 or a UV_ error */
int hop_ip_key_parse(const char *text, uint8_t key[16]);               /* 0 or -1 */
int64_t hop_wall_ms(void);

#endif
