/* The control loop: listeners, workers, SIGHUP reload (parsed off the loop), SIGTERM drain. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hop/admin.h"
#include "hop/bans.h"
#include "hop/control.h"
#include "hop/metrics.h"
#include "hop/farmctl.h"
#include "hop/log.h"
#include "hop/provider.h"
#include "hop/store.h"
#include "shell.h"

struct control {
  uv_loop_t *loop;
  const char *config_path;
  struct hop_worker *workers;
  int workers_len;
  int exiting;
  uv_async_t idle;             /* a draining worker became empty */
  uv_signal_t sig_hup, sig_term, sig_int;
  uv_timer_t drain_timer;
  uint32_t drain_s;
  int draining;
  int reloading, reload_again;
  char **listen;               /* as started: reloads cannot change them */
  size_t listen_len;
  int managed;                 /* provider sqlite or api: routes come from the provider */
  struct hop_store *store;
  struct hop_farmctl *farm;
  struct hop_provider *provider;
  struct hop_admin *admin;
  struct hop_bans *bans;
};

struct reload {
  uv_work_t req;
  struct control *ctl;
  struct hop_config cfg;
  int rc;
  char err[HOP_CONFIG_ERR_BYTES];
};

/* ---- Listeners ---------------------------------------------------------------------------- */

/* Binds one SO_REUSEPORT socket (libuv has no flag for it: bind here, then uv_tcp_open).
 * `*port` 0 picks one and returns it, so every worker then binds the same port. TCP_NODELAY is set
 * here once: Linux copies it to every accepted socket, which saves a setsockopt per session. */
static int bind_one(const char *spec, uint16_t *port, int *fd_out, char *err, size_t err_bytes)
{
  union { struct sockaddr sa; struct sockaddr_in in; struct sockaddr_in6 in6; } addr;
  socklen_t len;
  char host[256];
  uint16_t cfg_port;
  int fd, one = 1;

  hop_endpoint_parse(spec, host, sizeof host, &cfg_port, 1);
  if (*port == 0)
    *port = cfg_port;
  if (uv_ip4_addr(host, *port, &addr.in) == 0)
    len = sizeof addr.in;
  else if (uv_ip6_addr(host, *port, &addr.in6) == 0)
    len = sizeof addr.in6;
  else {
    snprintf(err, err_bytes, "listen %s: not an IP address", spec);
    return -EINVAL;
  }
  fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
      (addr.sa.sa_family == AF_INET6 &&
       setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
      bind(fd, &addr.sa, len) < 0 || getsockname(fd, &addr.sa, &len) < 0) {
    int e = errno;

    snprintf(err, err_bytes, "listen %s: %s", spec, strerror(e));
    if (fd >= 0)
      close(fd);
    return -e;
  }
  *port = ntohs(addr.sa.sa_family == AF_INET ? addr.in.sin_port : addr.in6.sin6_port);
  *fd_out = fd;
  return 0;
}

static void log_listening(const char *spec, uint16_t port)
{
  struct hop_logline l;
  char host[256], addr[300];
  uint16_t ignored;

  hop_endpoint_parse(spec, host, sizeof host, &ignored, 1);
  snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
  if (hop_log_begin(&l, HOP_LOG_INFO, "listening")) {
    hop_log_str(&l, "addr", addr);
    hop_log_end(&l);
  }
}

static int bind_all(struct control *ctl)
{
  char err[300];

  for (int i = 0; i < ctl->workers_len; i++) {
    ctl->workers[i].listen_fds = calloc(ctl->listen_len, sizeof(int));
    ctl->workers[i].listeners_len = ctl->listen_len;
    if (!ctl->workers[i].listen_fds)
      return -ENOMEM;
  }
  for (size_t a = 0; a < ctl->listen_len; a++) {
    uint16_t port = 0;

    for (int i = 0; i < ctl->workers_len; i++) {
      int rc = bind_one(ctl->listen[a], &port, &ctl->workers[i].listen_fds[a], err, sizeof err);

      if (rc < 0) {
        hop_log_msg(HOP_LOG_ERROR, "listen_failed", err);
        return rc;
      }
    }
    log_listening(ctl->listen[a], port);
  }
  return 0;
}

/* ---- Stopping ----------------------------------------------------------------------------- */

static long live_sessions(const struct control *ctl)
{
  long n = 0;

  for (int i = 0; i < ctl->workers_len; i++)
    n += atomic_load(&ctl->workers[i].live);
  return n;
}

static void command_all(struct control *ctl, enum hop_worker_cmd cmd)
{
  for (int i = 0; i < ctl->workers_len; i++)
    hop_worker_command(&ctl->workers[i], cmd);
}

static void on_drain_timeout(uv_timer_t *t)
{
  struct control *ctl = t->data;

  command_all(ctl, HOP_WORKER_CLOSE_ALL);
}

static void on_worker_idle(uv_async_t *a)
{
  struct control *ctl = a->data;

  /* sends coalesce: look at every worker; EXIT goes out once, when all are empty */
  if (ctl->exiting || !ctl->draining || live_sessions(ctl) > 0)
    return;
  ctl->exiting = 1;
  command_all(ctl, HOP_WORKER_EXIT);
  if (ctl->provider)
    hop_provider_stop(ctl->provider);
  if (ctl->farm)
    hop_farmctl_stop(ctl->farm);
  hop_bans_stop(ctl->bans);
  uv_close((uv_handle_t *)&ctl->idle, NULL);
  uv_close((uv_handle_t *)&ctl->sig_hup, NULL);
  uv_close((uv_handle_t *)&ctl->sig_term, NULL);
  uv_close((uv_handle_t *)&ctl->sig_int, NULL);
  uv_close((uv_handle_t *)&ctl->drain_timer, NULL);
}

static void on_stop_signal(uv_signal_t *sig, int signum)
{
  struct control *ctl = sig->data;
  struct hop_logline l;

  (void)signum;
  if (ctl->draining) {
    command_all(ctl, HOP_WORKER_CLOSE_ALL);    /* a second signal: stop waiting */
    return;
  }
  ctl->draining = 1;
  hop_metrics_set_draining();  /* /readyz goes false: load balancers stop sending first */
  if (hop_log_begin(&l, HOP_LOG_INFO, "draining")) {
    hop_log_int(&l, "sessions", live_sessions(ctl));
    hop_log_int(&l, "drain_s", ctl->drain_s);
    hop_log_end(&l);
  }
  command_all(ctl, ctl->drain_s ? HOP_WORKER_DRAIN : HOP_WORKER_CLOSE_ALL);
  uv_timer_start(&ctl->drain_timer, on_drain_timeout, (uint64_t)ctl->drain_s * 1000, 0);
}

/* ---- Reload ------------------------------------------------------------------------------- */

/* Settings and routes of a freshly loaded config, as one snapshot. */
static struct hop_snapshot *snapshot_of(struct hop_config *cfg)
{
  struct hop_route_table *routes;
  struct hop_settings *st = hop_settings_new(cfg, &routes);
  struct hop_snapshot *snap = st ? hop_snapshot_new(st, routes) : NULL;

  if (st && !snap)
    hop_route_table_free(routes);
  hop_settings_unref(st);
  return snap;
}

/* A managed provider keeps its routes and rebuilds them on the new settings (and asks its
 * source again). Changing the provider itself needs a restart. */
static void reload_provider(struct control *ctl, struct hop_config *cfg)
{
  struct hop_route_table *routes;
  struct hop_settings *st = hop_settings_new(cfg, &routes);
  struct hop_logline l;

  hop_route_table_free(routes);
  if (!st) {
    hop_config_free(cfg);
    hop_log_msg(HOP_LOG_ERROR, "reload_rejected", "out of memory");
    return;
  }
  ctl->drain_s = st->cfg.drain_s;
  hop_log_setup(st->cfg.log_format, st->cfg.log_level);
  hop_provider_reload(ctl->provider, st);
  hop_settings_unref(st);
  if (hop_log_begin(&l, HOP_LOG_INFO, "reloaded")) {
    hop_log_str(&l, "provider", "managed");
    hop_log_end(&l);
  }
}

static void reload_work(uv_work_t *req)
{
  struct reload *r = req->data;

  r->rc = hop_config_load(r->ctl->config_path, &r->cfg, r->err, sizeof r->err);
}

static void start_reload(struct control *ctl);

static void reload_done(uv_work_t *req, int status)
{
  struct reload *r = req->data;
  struct control *ctl = r->ctl;
  struct hop_snapshot *snap;
  struct hop_logline l;

  ctl->reloading = 0;
  if (status < 0 || r->rc < 0) {
    if (hop_log_begin(&l, HOP_LOG_ERROR, "reload_rejected")) {
      hop_log_str(&l, "err", status < 0 ? uv_strerror(status) : r->err);
      hop_log_end(&l);
    }
  } else if (ctl->managed) {
    reload_provider(ctl, &r->cfg);
  } else if (!(snap = snapshot_of(&r->cfg))) {
    hop_config_free(&r->cfg);
    hop_log_msg(HOP_LOG_ERROR, "reload_rejected", "out of memory");
  } else {
    size_t servers = hop_route_table_servers(snap->routes);

    ctl->drain_s = snap->cfg->drain_s;
    hop_log_setup(snap->cfg->log_format, snap->cfg->log_level);
    hop_snapshot_publish(snap);
    if (hop_log_begin(&l, HOP_LOG_INFO, "reloaded")) {
      hop_log_int(&l, "servers", (int64_t)servers);
      hop_log_end(&l);
    }
  }
  free(r);
  if (ctl->reload_again && !ctl->draining) {
    ctl->reload_again = 0;
    start_reload(ctl);
  }
}

static void start_reload(struct control *ctl)
{
  struct reload *r;

  if (ctl->reloading) {
    ctl->reload_again = 1;     /* one more pass once this one lands */
    return;
  }
  r = calloc(1, sizeof *r);
  if (!r) {
    hop_log_msg(HOP_LOG_ERROR, "reload_rejected", "out of memory");
    return;
  }
  r->ctl = ctl;
  r->req.data = r;
  ctl->reloading = 1;
  if (uv_queue_work(ctl->loop, &r->req, reload_work, reload_done) < 0) {
    ctl->reloading = 0;
    free(r);
  }
}

static void on_hup(uv_signal_t *sig, int signum)
{
  (void)signum;
  start_reload(sig->data);
}

/* ---- Run ---------------------------------------------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
  (void)t;
}

/* Runs the loop until done(ctl) or for at most ms: a start-up step that must not keep the port
 * closed forever. */
static void wait_for(struct control *ctl, int (*done)(struct control *), uint64_t ms)
{
  uint64_t deadline = uv_now(ctl->loop) + ms;

  uv_timer_start(&ctl->drain_timer, on_tick, 100, 100);   /* each turn below ends in 100 ms */
  while (!done(ctl) && uv_now(ctl->loop) < deadline)
    uv_run(ctl->loop, UV_RUN_ONCE);
  uv_timer_stop(&ctl->drain_timer);
}

static int bans_loaded(struct control *ctl)
{
  return hop_bans_loaded(ctl->bans);
}

static int provider_ready(struct control *ctl)
{
  return hop_provider_ready(ctl->provider);
}

/* hopper's SQLite file, for a managed provider or for bans; stored bans are in force before
 * any worker accepts. */
static int start_store(struct control *ctl, const struct hop_config *cfg)
{
  const char *path = cfg->store_path ? cfg->store_path : "var/hopper.db";
  char err[HOP_CONFIG_ERR_BYTES] = "";
  int rc;

  if (!ctl->managed && !cfg->limits.ban_strikes)
    return 0;
  if ((rc = hop_store_open(ctl->loop, path, &ctl->store, err, sizeof err)) < 0) {
    hop_log_msg(HOP_LOG_ERROR, "store_failed", err);
    return rc;
  }
  if (!(ctl->bans = hop_bans_start(ctl->loop, ctl->store)))
    return -ENOMEM;
  wait_for(ctl, bans_loaded, 5000);
  return 0;
}

/* The farm and the provider; then the first routes, before any worker accepts. */
static int start_managed(struct control *ctl, struct hop_settings *st)
{
  const struct hop_config *cfg = &st->cfg;
  char err[HOP_CONFIG_ERR_BYTES] = "";
  int rc;

  ctl->farm = hop_farmctl_new(ctl->loop, ctl->workers, ctl->workers_len, &cfg->farm);
  if (!ctl->farm)
    return -ENOMEM;
  rc = cfg->provider == HOP_PROVIDER_API
         ? hop_provider_api_new(ctl->loop, ctl->store, ctl->farm, st, &ctl->provider, err,
                                sizeof err)
         : hop_provider_sqlite_new(ctl->loop, ctl->store, ctl->farm, st, &ctl->provider);
  if (rc < 0) {
    hop_log_msg(HOP_LOG_ERROR, "provider_failed", *err ? err : uv_strerror(rc));
    return rc;
  }
  /* Serve the first known routes (the store's, or the API's first answer), waiting a bounded
   * time: an API that is down with nothing stored must not keep the port closed. */
  wait_for(ctl, provider_ready, 5000);
  return 0;
}

/* After the loop ended (handles closed, requests done): the store runs what is still queued,
 * then the memory goes. */
static void free_managed(struct control *ctl)
{
  if (ctl->store)
    hop_store_close(ctl->store);
  uv_run(ctl->loop, UV_RUN_DEFAULT);
  hop_bans_free(ctl->bans);
  if (ctl->provider)
    hop_provider_free(ctl->provider);
  if (ctl->farm)
    hop_farmctl_free(ctl->farm);
}

static int start_workers(struct control *ctl)
{
  for (int i = 0; i < ctl->workers_len; i++) {
    struct hop_worker *w = &ctl->workers[i];
    int rc;

    w->id = i;
    w->idle = &ctl->idle;
    w->control = ctl->farm ? hop_farmctl_inbox(ctl->farm) : NULL;
    if ((rc = hop_worker_start(w)) < 0) {
      hop_log_msg(HOP_LOG_ERROR, "worker_failed", uv_strerror(rc));
      return rc;
    }
  }
  return 0;
}

/* Every session holds one or two descriptors: the soft limit (1024 on most distributions) would
 * cap hopper at a few hundred players, so take what the hard limit allows. Returns the limit. */
static long raise_nofile(void)
{
  struct rlimit r;

  if (getrlimit(RLIMIT_NOFILE, &r) < 0)
    return -1;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &r) < 0)
      getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur == RLIM_INFINITY ? -1 : (long)r.rlim_cur;
}

int hop_control_run(const char *config_path, struct hop_config *cfg)
{
  struct control ctl = { 0 };
  struct hop_snapshot *snap;
  struct hop_logline l;
  int workers = cfg->workers ? cfg->workers : (int)uv_available_parallelism();
  int cfg_managed = cfg->provider != HOP_PROVIDER_STATIC;
  long nofile = raise_nofile();

  ctl.loop = uv_default_loop();
  ctl.config_path = config_path;
  ctl.drain_s = cfg->drain_s;
  ctl.listen = cfg->listen;
  ctl.listen_len = cfg->listen_len;
  ctl.workers_len = workers;
  ctl.workers = calloc((size_t)workers, sizeof *ctl.workers);
  if (!ctl.workers || !(snap = snapshot_of(cfg)))
    return 1;
  ctl.listen = snap->cfg->listen;    /* the first snapshot lives as long as we use these */
  hop_snapshot_ref(snap);
  hop_snapshot_publish(snap);
  signal(SIGPIPE, SIG_IGN);

  uv_async_init(ctl.loop, &ctl.idle, on_worker_idle);
  ctl.idle.data = &ctl;
  uv_timer_init(ctl.loop, &ctl.drain_timer);
  ctl.drain_timer.data = &ctl;
  uv_signal_init(ctl.loop, &ctl.sig_hup);
  uv_signal_init(ctl.loop, &ctl.sig_term);
  uv_signal_init(ctl.loop, &ctl.sig_int);
  ctl.sig_hup.data = ctl.sig_term.data = ctl.sig_int.data = &ctl;
  uv_signal_start(&ctl.sig_hup, on_hup, SIGHUP);
  uv_signal_start(&ctl.sig_term, on_stop_signal, SIGTERM);
  uv_signal_start(&ctl.sig_int, on_stop_signal, SIGINT);

  ctl.managed = cfg_managed;
  if (snap->cfg->admin_listen) {
    char err[HOP_CONFIG_ERR_BYTES];

    if (hop_admin_start(snap->cfg->admin_listen, &ctl.admin, err, sizeof err) < 0) {
      hop_log_msg(HOP_LOG_ERROR, "admin_failed", err);
      exit(1);
    }
  }
  if (bind_all(&ctl) < 0 || start_store(&ctl, snap->cfg) < 0 ||
      (ctl.managed && start_managed(&ctl, snap->settings) < 0) ||
      start_workers(&ctl) < 0)
    exit(1);                   /* nothing is serving yet: no drain owed */
  hop_metrics_set_ready(!ctl.managed || hop_provider_ready(ctl.provider));
  if (hop_log_begin(&l, HOP_LOG_INFO, "ready")) {
    struct hop_snapshot *now = hop_snapshot_current();

    hop_log_int(&l, "workers", workers);
    hop_log_int(&l, "nofile", nofile);
    hop_log_int(&l, "servers", (int64_t)hop_route_table_servers(now->routes));
    hop_log_end(&l);
    hop_snapshot_unref(now);
  }
  uv_run(ctl.loop, UV_RUN_DEFAULT);
  free_managed(&ctl);
  hop_admin_stop(ctl.admin);
  for (int i = 0; i < workers; i++) {
    uv_thread_join(&ctl.workers[i].thread);
    free(ctl.workers[i].listeners);
    free(ctl.workers[i].listen_fds);
  }
  free(ctl.workers);
  hop_snapshot_unref(snap);
  hop_snapshot_shutdown();
  uv_loop_close(ctl.loop);
  hop_log_msg(HOP_LOG_INFO, "stopped", NULL);
  return 0;
}
