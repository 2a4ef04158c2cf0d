/* Shared fixture for the tests of the control plane's HTTP client (t_http_*.c, which t_http.c
 * once held): starts and stops server.py (loopback servers, Python 3 standard library), records
 * every callback in a struct result, runs each scenario on its own loop under a watchdog
 * (env_open/env_wait/env_close), and builds, sends and fetches requests. Every callback is
 * counted, and every loop must end with uv_loop_close() == 0. Everything is static inline, so
 * each test program uses what it needs; the globals are per program.
 *
 * argv[1] = python3, argv[2] = server.py. Exit 77 (skip) if the server cannot be started. */
#ifndef HOP_HTTP_FIXTURE_H
#define HOP_HTTP_FIXTURE_H

#include <curl/curl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hop/http.h"
#include "test.h"

#define WATCHDOG_MS 20000      /* a scenario that runs longer has hung */
#define CAP_DEFAULT 65536

static int port_http, port_junk, port_empty, port_closed, port_tls;
static int in_send;            /* set around hop_http_send: a callback seeing it ran synchronously */
static int pending;            /* callbacks still expected in the current scenario */
static uv_loop_t *cur_loop;    /* the scenario's loop, stopped when `pending` reaches 0 */

/* libuv runs timers before it polls, so a loop iteration whose callbacks all came from curl's
 * timer would then block in the poll; stopping the loop ends the wait at once. */
static inline void one_done(void)
{
  if (--pending == 0 && cur_loop)
    uv_stop(cur_loop);
}

/* ---- Test server ------------------------------------------------------------------------- */

static pid_t server_pid = -1;
static int server_stdin = -1;

static inline int server_start(const char *python, const char *script)
{
  int in[2], out[2];
  char line[256];
  FILE *f;

  if (pipe(in) < 0 || pipe(out) < 0)
    return -1;
  server_pid = fork();
  if (server_pid < 0)
    return -1;
  if (server_pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    execl(python, python, script, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  server_stdin = in[1];
  f = fdopen(out[0], "r");
  if (!f)
    return -1;
  if (!fgets(line, sizeof line, f) ||
      sscanf(line, "READY http=%d junk=%d empty=%d closed=%d tls=%d", &port_http, &port_junk,
             &port_empty, &port_closed, &port_tls) != 5) {
    fclose(f);
    return -1;
  }
  fclose(f);
  return 0;
}

static inline void server_stop(void)
{
  int st;

  if (server_stdin >= 0)
    close(server_stdin);     /* the server exits on EOF */
  if (server_pid > 0)
    waitpid(server_pid, &st, 0);
}

/* ---- Recording callbacks ----------------------------------------------------------------- */

struct result {
  int calls;
  int sync_calls;              /* callbacks that ran inside hop_http_send */
  int status;
  char *error;
  char *body;
  size_t body_len;
  int body_nul;                /* body[body_len] was '\0' */
  char *etag;
};

static inline char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

static inline void result_clear(struct result *r)
{
  free(r->error);
  free(r->body);
  free(r->etag);
  memset(r, 0, sizeof *r);
}

static inline void on_result(void *arg, const struct hop_http_response *res)
{
  struct result *r = arg;

  r->calls++;
  if (in_send)
    r->sync_calls++;
  free(r->error);
  free(r->body);
  free(r->etag);
  r->status = res->status;
  r->error = dup_or_null(res->error);
  r->body_nul = res->body && res->body[res->body_len] == '\0';
  r->body = malloc(res->body_len + 1);
  if (r->body && res->body) {
    memcpy(r->body, res->body, res->body_len);
    r->body[res->body_len] = '\0';
  }
  r->body_len = res->body_len;
  r->etag = dup_or_null(res->etag);
  one_done();
}

/* ---- A loop per scenario ----------------------------------------------------------------- */

struct env {
  uv_loop_t loop;
  uv_timer_t watchdog;
  struct hop_http *h;
  int hung;
};

static inline void on_watchdog(uv_timer_t *t)
{
  struct env *e = t->data;

  e->hung = 1;
  uv_stop(&e->loop);
}

static inline void env_open(struct env *e)
{
  memset(e, 0, sizeof *e);
  CHECK_EQ(0, uv_loop_init(&e->loop));
  CHECK_EQ(0, uv_timer_init(&e->loop, &e->watchdog));
  e->watchdog.data = e;
  CHECK_EQ(0, hop_http_new(&e->loop, &e->h));
  pending = 0;
  cur_loop = &e->loop;
}

/* Runs the loop until every expected callback has run. */
static inline void env_wait(struct env *e)
{
  uv_timer_start(&e->watchdog, on_watchdog, WATCHDOG_MS, 0);
  while (pending > 0 && !e->hung)
    uv_run(&e->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&e->watchdog);
  CHECK(!e->hung);
  CHECK_EQ(0, pending);
}

/* Frees the client (if the scenario did not), lets the close callbacks run, closes the loop. */
static inline void env_close(struct env *e)
{
  int spins = 0;

  if (e->h)
    hop_http_free(e->h);
  e->h = NULL;
  uv_close((uv_handle_t *)&e->watchdog, NULL);
  while (uv_run(&e->loop, UV_RUN_NOWAIT) && spins < 100000)
    spins++;
  if (!CHECK_EQ(0, uv_loop_close(&e->loop)))
    uv_print_all_handles(&e->loop, stdout);
}

static inline int send_req(struct hop_http *h, const struct hop_http_request *req,
                           struct result *r)
{
  int rc;

  in_send = 1;
  rc = hop_http_send(h, req, on_result, r);
  in_send = 0;
  if (rc == 0)
    pending++;
  return rc;
}

static inline struct hop_http_request get(const char *url)
{
  return (struct hop_http_request){ .method = "GET", .url = url, .timeout_ms = 5000,
                                    .response_bytes_max = CAP_DEFAULT };
}

static inline const char *url(char *buf, size_t n, const char *scheme, int port, const char *path)
{
  snprintf(buf, n, "%s://127.0.0.1:%d%s", scheme, port, path);
  return buf;
}

/* One request, run to completion on its own loop. */
static inline void fetch(const struct hop_http_request *req, struct result *r)
{
  struct env e;

  memset(r, 0, sizeof *r);
  env_open(&e);
  CHECK_EQ(0, send_req(e.h, req, r));
  env_wait(&e);
  env_close(&e);
  CHECK_EQ(1, r->calls);
  CHECK_EQ(0, r->sync_calls);
  CHECK(r->body_nul);
}

/* ---- Per program ------------------------------------------------------------------------- */

/* Starts the server. Returns 0 to go on, else what main() returns: 2 on bad usage, 77 (skip)
 * when the server cannot be started. */
static inline int http_fixture_begin(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s PYTHON3 server.py\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* Proxies from the environment would swallow loopback requests. */
  setenv("no_proxy", "*", 1);
  setenv("NO_PROXY", "*", 1);
  if (server_start(argv[1], argv[2]) < 0) {
    printf("# cannot start %s %s: skipped\n", argv[1], argv[2]);
    server_stop();
    return 77;
  }
  return 0;
}

static inline void http_fixture_end(void)
{
  server_stop();
  curl_global_cleanup();       /* balances hop_http's one curl_global_init, for LeakSanitizer */
}

#endif
