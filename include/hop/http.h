/* HTTP client for the control plane: libcurl's multi-socket API driven by a libuv loop
 * (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION with uv_poll_t and uv_timer_t). Nothing blocks the
 * loop: name resolution runs on curl's threaded resolver, transfers on the loop's poll. */
#ifndef HOP_HTTP_H
#define HOP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct hop_http;

struct hop_http_request {
  const char *method;          /* "GET" or "POST" */
  const char *url;
  const char *bearer;          /* Authorization: Bearer <token>, or NULL; never logged */
  const char *if_none_match;   /* ETag for a conditional GET, or NULL */
  const char *body;            /* POST body (JSON), or NULL */
  size_t body_len;
  uint32_t timeout_ms;         /* whole transfer; connect included */
  size_t response_bytes_max;   /* a longer body fails the request */
};

struct hop_http_response {
  int status;                  /* HTTP status (200, 304, 500...), or < 0: no HTTP answer */
  const char *error;           /* why, when status < 0 (timeout, refused, too large, ...) */
  const char *body;            /* NUL-terminated; valid during the callback only */
  size_t body_len;
  const char *etag;            /* response ETag, or NULL */
};

typedef void (*hop_http_cb)(void *arg, const struct hop_http_response *res);

/* Creates a client on `loop`. Returns 0 or a negative code. */
int hop_http_new(uv_loop_t *loop, struct hop_http **out);

/* Starts a request; everything in `req` is copied. The callback runs exactly once, on the loop,
 * never from inside this call. Returns 0, or a negative code (and the callback never runs). */
int hop_http_send(struct hop_http *h, const struct hop_http_request *req, hop_http_cb cb,
                  void *arg);

/* Fails every request in flight (callbacks run with status < 0, error "cancelled") and releases
 * the client once its libuv handles have closed; the loop can then end. */
void hop_http_free(struct hop_http *h);

/* ---- Backoff: exponential with full jitter, from a caller-supplied random source ----------- */

struct hop_backoff {
  uint32_t base_ms;
  uint32_t max_ms;
  uint32_t attempt;            /* failures so far */
};

/* The delay before the next try, in [0, min(max, base * 2^attempt)]; counts the attempt. */
uint64_t hop_backoff_next(struct hop_backoff *b, uint64_t random_u64);
void hop_backoff_reset(struct hop_backoff *b);

#endif
