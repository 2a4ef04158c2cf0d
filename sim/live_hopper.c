/* Live mode's hopper: its config file, the process, what its stderr says (ports, readiness,
 * one msg=session line per connection), SIGTERM at the end, and one GET /metrics. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "live.h"

extern char **environ;

/* ---- Config ------------------------------------------------------------------------------- */

/* With every scenario server running, the static provider, in the config. Otherwise the farm:
 * the sqlite provider, whose servers are added with the real CLI (live_hopper_servers). */
int live_hopper_config(struct live *L)
{
  FILE *f;

  for (size_t i = 0; i < L->s.servers_len; i++)
    L->farm |= L->s.servers[i].spec->state != HOP_STATE_RUNNING;
  snprintf(L->config, sizeof L->config, "%s/hopper.json", L->dir);
  if (!(f = fopen(L->config, "w")))
    return -1;
  fprintf(f, "{\"listen\":[\"127.0.0.1:0\"],\"workers\":2,\"drain_s\":1,"
          "\"timeouts_ms\":{\"handshake\":%d,\"connect\":1000},"
          "\"admin\":{\"listen\":\"127.0.0.1:0\"},\"log\":{\"level\":\"info\"},",
          LIVE_HANDSHAKE_MS);
  if (L->farm) {
    snprintf(L->db, sizeof L->db, "%s/hopper.db", L->dir);
    snprintf(L->farm_file, sizeof L->farm_file, "%s/farm", L->dir);
    fprintf(f, "\"provider\":\"sqlite\",\"store\":{\"path\":\"%s\"},\"farm\":{"
            "\"probe_interval_ms\":100,\"wake_quota\":0,\"hold_keepalive_ms\":1000}}\n", L->db);
    return fclose(f) == 0 ? 0 : -1;
  }
  fprintf(f, "\"provider\":\"static\",\"servers\":[");
  for (size_t i = 0; i < L->s.servers_len; i++)
    fprintf(f, "%s{\"id\":\"%s\",\"hosts\":[\"%s\"],\"backend\":\"127.0.0.1:%u\"}",
            i ? "," : "", L->s.servers[i].spec->id, L->s.servers[i].spec->host,
            (unsigned)L->backends[i].port);
  fprintf(f, "]}\n");
  return fclose(f) == 0 ? 0 : -1;
}

/* Scenario seconds, scaled like the clock, rounded up and clamped to [lo, hi] (0 stays 0). */
static unsigned scaled_s(const struct live *L, uint32_t s, unsigned lo, unsigned hi)
{
  uint64_t ms = (uint64_t)s * 1000 * L->scale_num / L->scale_den, v = (ms + 999) / 1000;

  return s == 0 ? 0 : v < lo ? lo : v > hi ? hi : (unsigned)v;
}

/* Runs `hopper servers --db DB add ...` and waits for it; 0 when it exited 0. */
static int cli_add(struct live *L, size_t i)
{
  const struct sim_server_spec *sp = L->s.servers[i].spec;
  char backend[32], state[32], start[300], stop[300], join[16], idle[32], online[32], grace[32];
#define W(x) ((char *)(uintptr_t)(x))  /* argv is not written to */
  char *args[] = { L->hopper_abs, W("servers"), W("--db"), L->db, W("add"), W(sp->id),
                   W("--host"), W(sp->host), W("--backend"), backend, state, start, stop, join,
                   idle, online, W("start_timeout_s=5"), grace, NULL };
#undef W
  uint64_t lag = (uint64_t)sp->login_lag_ms * L->scale_num / L->scale_den;
  posix_spawn_file_actions_t fa;
  pid_t pid;
  int status = -1, rc;

  snprintf(backend, sizeof backend, "127.0.0.1:%u", (unsigned)L->backends[i].port);
  snprintf(state, sizeof state, "state=%s",
           sp->state == HOP_STATE_RUNNING ? "running" : "sleeping");
  snprintf(start, sizeof start, "start_cmd=[\"/bin/sh\",\"-c\",\"echo start %s >> %s\"]", sp->id,
           L->farm_file);
  snprintf(stop, sizeof stop, "stop_cmd=[\"/bin/sh\",\"-c\",\"echo stop %s >> %s\"]", sp->id,
           L->farm_file);
  snprintf(join, sizeof join, "join=%s", sp->join == HOP_JOIN_KICK ? "kick" : "hold");
  snprintf(idle, sizeof idle, "idle_stop_s=%u", scaled_s(L, sp->idle_stop_s, 1, 2));
  snprintf(online, sizeof online, "min_online_s=%u", scaled_s(L, sp->min_online_s, 0, 1));
  snprintf(grace, sizeof grace, "ready_grace_ms=%u", (unsigned)(lag > 500 ? 500 : lag));
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  rc = posix_spawn(&pid, L->hopper_abs, &fa, NULL, args, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    return -1;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int live_hopper_servers(struct live *L)
{
  if (!L->farm)
    return 0;
  if (!(L->busy_ids = calloc(L->s.servers_len + 1, 1)))
    return -1;
  for (size_t i = 0; i < L->s.servers_len; i++)
    if (cli_add(L, i) < 0) {
      fprintf(stderr, "sim --live: hopper servers add %s failed\n", L->s.servers[i].spec->id);
      return -1;
    }
  return 0;
}

/* ---- stderr -------------------------------------------------------------------------------- */

/* Copies the logfmt value of `key` (e.g. "client=") in `line` into out; "" when absent. */
static void field(const char *line, const char *key, char *out, size_t cap)
{
  const char *p = strstr(line, key);
  size_t n = 0;

  while (p && p != line && p[-1] != ' ')
    p = strstr(p + 1, key);
  if (p)
    for (p += strlen(key); *p && *p != ' ' && n + 1 < cap; p++)
      out[n++] = *p;
  out[n] = 0;
}

static uint16_t addr_port(const char *line, const char *key)
{
  char v[80];
  const char *colon;

  field(line, key, v, sizeof v);
  colon = strrchr(v, ':');
  return colon ? (uint16_t)atoi(colon + 1) : 0;
}

static void on_session_line(struct live *L, const char *line)
{
  struct live_line *ln;

  if (L->lines_len == L->lines_cap) {
    size_t cap = L->lines_cap ? L->lines_cap * 2 : 256;
    struct live_line *g = realloc(L->lines, cap * sizeof *g);

    if (!g) {
      live_violation(L, "out of memory");
      return;
    }
    L->lines = g;
    L->lines_cap = cap;
  }
  ln = &L->lines[L->lines_len++];
  ln->port = addr_port(line, "client=");
  field(line, "server=", ln->server, sizeof ln->server);
  field(line, "reason=", ln->reason, sizeof ln->reason);
}

/* The farm's transitions: starts, readiness, failures and stops, and who is busy. */
static void on_state_line(struct live *L, const char *line)
{
  char id[24], state[16];
  size_t i;
  int busy;

  field(line, "server=", id, sizeof id);
  field(line, "state=", state, sizeof state);
  for (i = 0; i < L->s.servers_len && strcmp(L->s.servers[i].spec->id, id) != 0; i++)
    ;
  if (i == L->s.servers_len || !L->busy_ids)
    return;
  L->log_starting += strcmp(state, "starting") == 0;
  L->log_running += strcmp(state, "running") == 0 && L->busy_ids[i];
  L->log_failed += strcmp(state, "failed") == 0;
  L->log_stopped += strcmp(state, "sleeping") == 0 && L->busy_ids[i];
  busy = strcmp(state, "starting") == 0 || strcmp(state, "stopping") == 0;
  L->busy += (uint32_t)(busy - L->busy_ids[i]);
  L->busy_ids[i] = (char)busy;
}

static void on_line(struct live *L, const char *line)
{
  char *t = L->tail[L->tail_n++ % 8];
  size_t n = strlen(line) < sizeof L->tail[0] - 1 ? strlen(line) : sizeof L->tail[0] - 1;

  memcpy(t, line, n);          /* kept to show when hopper fails; cut to fit */
  t[n] = 0;
  if (strstr(line, " msg=session "))
    on_session_line(L, line);
  else if (strstr(line, " msg=listening "))
    L->port = addr_port(line, "addr=");
  else if (strstr(line, " msg=admin_listening "))
    L->admin_port = addr_port(line, "addr=");
  else if (strstr(line, " msg=server_state "))
    on_state_line(L, line);
  else if (strstr(line, " msg=ready"))
    L->ready = 1;
}

static void on_err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct live *L = h->data;

  if (L->errlen == sizeof L->errbuf - 1)
    L->errlen = 0;             /* a line longer than the buffer: drop it */
  *buf = uv_buf_init(L->errbuf + L->errlen, (unsigned)(sizeof L->errbuf - 1 - L->errlen));
}

static void on_err_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  struct live *L = st->data;
  char *start = L->errbuf, *nl;

  if (n < 0) {
    uv_close((uv_handle_t *)st, NULL);
    L->err_open = 0;
    return;
  }
  L->errlen += (size_t)n;
  L->errbuf[L->errlen] = 0;
  while ((nl = strchr(start, '\n'))) {
    *nl = 0;
    on_line(L, start);
    start = nl + 1;
  }
  L->errlen -= (size_t)(start - L->errbuf);
  memmove(L->errbuf, start, L->errlen);
}

/* ---- The process ---------------------------------------------------------------------------- */

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
  struct live *L = p->data;

  L->exited = 1;
  L->exit_status = status;
  L->term_signal = sig;
  uv_close((uv_handle_t *)p, NULL);
}

/* Returns 0, or a negative uv error when hopper cannot be spawned at all (the caller skips). */
int live_hopper_spawn(struct live *L)
{
  char *args[] = { (char *)(uintptr_t)L->hopper_path, (char *)(uintptr_t)"--config", L->config,
                   NULL };
  uv_stdio_container_t stdio[3];
  uv_process_options_t o;
  int rc;

  memset(&o, 0, sizeof o);
  uv_pipe_init(&L->loop, &L->err, 0);
  L->err.data = L;
  L->err_open = 1;
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_IGNORE;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&L->err;
  o.file = L->hopper_path;
  o.cwd = L->dir;               /* anything hopper writes lands in the temp dir */
  o.args = args;
  o.stdio = stdio;
  o.stdio_count = 3;
  o.exit_cb = on_exit_cb;
  L->proc.data = L;
  if ((rc = uv_spawn(&L->loop, &L->proc, &o)) < 0) {
    uv_close((uv_handle_t *)&L->err, NULL);
    L->err_open = 0;
    return rc;
  }
  L->spawned = 1;
  uv_read_start((uv_stream_t *)&L->err, on_err_alloc, on_err_read);
  return 0;
}

void live_hopper_term(struct live *L)
{
  if (L->spawned && !L->exited)
    uv_process_kill(&L->proc, SIGTERM);
}

void live_hopper_kill(struct live *L)
{
  if (L->spawned && !L->exited)
    uv_process_kill(&L->proc, SIGKILL);
}

/* ---- GET /metrics --------------------------------------------------------------------------- */

static void http_closed(uv_handle_t *h)
{
  struct live *L = h->data;

  L->http_open = 0;
  L->metrics_done = 1;
}

static void http_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  struct live *L = h->data;

  if (L->metrics_cap - L->metrics_len < 4096) {
    size_t cap = L->metrics_cap ? L->metrics_cap * 2 : 65536;
    char *g = realloc(L->metrics, cap);

    if (g) {
      L->metrics = g;
      L->metrics_cap = cap;
    }
  }
  *buf = uv_buf_init(L->metrics + L->metrics_len,
                     L->metrics ? (unsigned)(L->metrics_cap - L->metrics_len - 1) : 0);
}

static void http_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
  struct live *L = st->data;

  if (n > 0) {
    L->metrics_len += (size_t)n;
    L->metrics[L->metrics_len] = 0;
  } else if (n < 0) {
    uv_close((uv_handle_t *)st, http_closed);
  }
}

static void http_connected(uv_connect_t *req, int status)
{
  struct live *L = req->data;
  static char get[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  uv_buf_t b = uv_buf_init(get, sizeof get - 1);

  if (status < 0 || uv_write(&L->http_wreq, (uv_stream_t *)&L->http, &b, 1, NULL) < 0 ||
      uv_read_start((uv_stream_t *)&L->http, http_alloc, http_read) < 0)
    uv_close((uv_handle_t *)&L->http, http_closed);
}

/* Starts the GET; L->metrics_done is set once it has ended, however it ended. */
void live_metrics_fetch(struct live *L)
{
  struct sockaddr_in a;

  uv_ip4_addr("127.0.0.1", L->admin_port, &a);
  uv_tcp_init(&L->loop, &L->http);
  L->http.data = L->http_req.data = L;
  L->http_open = 1;
  if (uv_tcp_connect(&L->http_req, &L->http, (const struct sockaddr *)&a, http_connected) < 0)
    uv_close((uv_handle_t *)&L->http, http_closed);
}

long long live_metric(const struct live *L, const char *series)
{
  size_t n = strlen(series);

  for (const char *p = L->metrics; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, series, n) == 0 && p[n] == ' ')
      return strtoll(p + n + 1, NULL, 10);
  return -1;
}

/* The GET took too long: given up, so the run can go on to SIGTERM. */
void live_metrics_abort(struct live *L)
{
  if (L->http_open && !uv_is_closing((uv_handle_t *)&L->http))
    uv_close((uv_handle_t *)&L->http, http_closed);
}
