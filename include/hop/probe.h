/* Readiness probe: a real status exchange with a backend (TCP accepting is not enough: servers
 * accept before they take logins). Runs on the control loop; names resolve off the loop. */
#ifndef HOP_PROBE_H
#define HOP_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* ok: 1 when a Status Response arrived; `json` is its document (valid during the call). */
typedef void (*hop_probe_cb)(void *arg, int ok, const char *json, size_t json_len);

/* Connects to host:port, sends Handshake(next state 1, `address`) + Status Request and waits for
 * the Status Response, for at most `timeout_ms`. The callback runs exactly once, never from
 * inside this call. Returns 0 or a negative code (and the callback never runs). */
int hop_probe_start(uv_loop_t *loop, const char *host, uint16_t port, const char *address,
                    uint32_t timeout_ms, hop_probe_cb cb, void *arg);

#endif
