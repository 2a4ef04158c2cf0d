/* Private to src/control: libcurl's multi-socket API driven by a libuv loop.
 *
 * The glue owns one CURLM, one uv_timer_t and a uv_poll_t per socket curl asks it to watch.
 * It knows nothing about requests: it adds and removes easy handles and reports each finished
 * transfer (already removed from the multi) through `done`. http.c builds on it. */
#ifndef HOP_CONTROL_CURL_UV_H
#define HOP_CONTROL_CURL_UV_H

#include <curl/curl.h>
#include <uv.h>

struct hop_curl_poll;

/* A finished transfer. `easy` is no longer in the multi; the callee owns it again. */
typedef void (*hop_curl_uv_done_cb)(void *arg, CURL *easy, CURLcode result);

/* All libuv handles are closed; the memory holding the glue may be released now. */
typedef void (*hop_curl_uv_closed_cb)(void *arg);

struct hop_curl_uv {
  uv_loop_t *loop;
  CURLM *multi;                  /* NULL once cleaned up */
  uv_timer_t timer;              /* curl's one timeout (CURLMOPT_TIMERFUNCTION) */
  struct hop_curl_poll *polls;   /* live poll contexts (not yet handed to uv_close) */
  int handles_open;              /* timer + poll handles not yet through their close callback */
  int dispatching;               /* > 0 while `done` callbacks run from the drain loop */
  int close_requested;           /* hop_curl_uv_close() called; the glue accepts no more work */
  int closed;                    /* the multi is cleaned up and every handle is closing */
  hop_curl_uv_done_cb done;
  hop_curl_uv_closed_cb on_closed;
  void *arg;
};

/* Initialises `cu` on `loop`: creates the multi, the timer and installs curl's callbacks.
 * Calls curl_global_init once per process (thread-safe). Returns 0 or a negative libuv code;
 * on failure nothing needs closing. */
int hop_curl_uv_init(struct hop_curl_uv *cu, uv_loop_t *loop, hop_curl_uv_done_cb done,
                     void *arg);

/* Adds a configured easy handle; the transfer starts on a later loop iteration, never inside
 * this call. Returns 0, or a negative code (the handle is then not in the multi). */
int hop_curl_uv_add(struct hop_curl_uv *cu, CURL *easy);

/* Takes an unfinished transfer out of the multi; `done` is not called for it. */
void hop_curl_uv_remove(struct hop_curl_uv *cu, CURL *easy);

/* Cleans up the multi and closes the timer and every poll; `closed` runs once the last handle
 * has gone through its close callback. Call it after removing every easy handle. Safe from
 * inside a `done` callback: the drain loop stops and the close happens when it unwinds.
 * Idempotent. */
void hop_curl_uv_close(struct hop_curl_uv *cu, hop_curl_uv_closed_cb closed);

/* 1 when this libcurl resolves names off the calling thread (threaded resolver or c-ares). */
int hop_curl_uv_async_dns(void);

#endif
