/* The admin listener: /metrics (Prometheus text), /healthz, /readyz and /servers (a read-only
 * JSON view of servers, states and live sessions). Served by libmicrohttpd on its own thread, so
 * a slow scraper never touches a worker loop. Loopback by default. */
#ifndef HOP_ADMIN_H
#define HOP_ADMIN_H

#include <stddef.h>

struct hop_admin;

/* Starts listening on `listen` ("host:port", port 0 picks one, logged as msg=admin_listening).
 * Returns 0 or a negative code with `err` filled. */
int hop_admin_start(const char *listen, struct hop_admin **out, char *err, size_t err_bytes);
void hop_admin_stop(struct hop_admin *a);

#endif
