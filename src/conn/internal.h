/* What conn.c (peek, route, answer, hand-off) and hold.c (wake, hold, keepalives) share: the
 * helpers that queue actions and answers. Private to src/conn; the interface is hop/conn.h. */
#ifndef HOP_CONN_INTERNAL_H
#define HOP_CONN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hop/conn.h"

#define NO_DEADLINE UINT64_MAX

/* Ends the session once with `reason` (not after the hand-off), dropping a connect under way. */
void hop_conn__close_with(struct hop_conn *c, enum hop_close reason);

/* The unused rest of this event's output area; its size goes to *cap (0 once used up). */
uint8_t *hop_conn__out_room(struct hop_conn *c, size_t *cap);

/* Queues a WRITE of the n bytes just built at hop_conn__out_room; n <= 0 queues nothing. */
void hop_conn__write_out(struct hop_conn *c, int n);

/* Sends a login the configured text `tmpl` as a Disconnect, its placeholders filled. */
void hop_conn__send_disconnect(struct hop_conn *c, const char *tmpl);

/* Asks the shell for a backend connect, due within timeout_ms_connect of now. */
void hop_conn__connect_backend(struct hop_conn *c, uint64_t now_ms);

/* hold.c: in HOLD, sends a keepalive when one is due, and gives up at the hold deadline. */
void hop_conn__on_hold_timer(struct hop_conn *c, uint64_t now_ms);

#endif
