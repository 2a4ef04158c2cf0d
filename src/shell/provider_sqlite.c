/* The embedded provider: servers live in hopper's SQLite file (edited with `hopper servers` or
 * any SQLite client); start_cmd and stop_cmd run with uv_spawn. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/log.h"
#include "hop/snapshot.h"
#include "hop/store.h"
#include "provider.h"

#define POLL_MS 1000

struct servers_job {
  struct hop_store_servers x;
  struct hop_provider *p;
};

static void poll_soon(struct hop_provider *p);

/* ---- Rows -> document --------------------------------------------------------------------- */

static void add_json(cJSON *obj, const char *key, const char *json)
{
  cJSON *v = json ? cJSON_Parse(json) : NULL;

  if (v)
    cJSON_AddItemToObject(obj, key, v);
  else if (json)
    cJSON_AddStringToObject(obj, key, json);   /* not JSON: let validation name it */
}

/* One document in the API's shape, so both providers share one validator. */
static char *rows_to_doc(const struct hop_store_servers *x)
{
  cJSON *doc = cJSON_CreateObject(), *servers = cJSON_AddArrayToObject(doc, "servers");
  char *json;

  for (size_t i = 0; i < x->len; i++) {
    const struct hop_store_server_row *r = &x->rows[i];
    cJSON *srv = r->options_json ? cJSON_Parse(r->options_json) : NULL;

    if (!cJSON_IsObject(srv)) {
      cJSON_Delete(srv);
      srv = cJSON_CreateObject();
    }
    cJSON_DeleteItemFromObjectCaseSensitive(srv, "id");
    cJSON_AddStringToObject(srv, "id", r->id);
    add_json(srv, "hosts", r->hosts_json);
    cJSON_AddStringToObject(srv, "backend", r->backend);
    cJSON_AddStringToObject(srv, "state", r->state ? r->state : "sleeping");
    add_json(srv, "start_cmd", r->start_cmd_json);
    add_json(srv, "stop_cmd", r->stop_cmd_json);
    cJSON_AddItemToArray(servers, srv);
  }
  json = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return json;
}

/* ---- Polling ------------------------------------------------------------------------------ */

static void on_loaded(struct hop_store_job *job)
{
  struct servers_job *j = (struct servers_job *)job;
  struct hop_provider *p = j->p;

  p->polling = 0;
  if (p->stopping) {
    /* shutting down */
  } else if (job->status < 0) {
    hop_log_msg(HOP_LOG_ERROR, "store_failed", job->err);
  } else if (j->x.op == HOP_SERVERS_VERSION && j->x.version == p->version && p->ready) {
    /* unchanged */
  } else if (j->x.op == HOP_SERVERS_VERSION) {
    struct servers_job *load = calloc(1, sizeof *load);

    if (load) {
      load->p = p;
      hop_store_servers_prepare(&load->x, HOP_SERVERS_LOAD);
      load->x.job.done = on_loaded;
      p->polling = 1;
      if (hop_store_submit(p->store, &load->x.job) < 0) {
        p->polling = 0;
        free(load);
      }
    }
  } else {
    char *doc = rows_to_doc(&j->x);

    p->version = j->x.version;
    if (doc)
      hop_provider_publish(p, doc, "sqlite");
  }
  hop_store_servers_clear(&j->x);
  free(j);
  poll_soon(p);
}

static void on_poll(uv_timer_t *t)
{
  struct hop_provider *p = t->data;
  struct servers_job *j;

  if (p->polling || !(j = calloc(1, sizeof *j)))
    return;
  j->p = p;
  hop_store_servers_prepare(&j->x, HOP_SERVERS_VERSION);
  j->x.job.done = on_loaded;
  p->polling = 1;
  if (hop_store_submit(p->store, &j->x.job) < 0) {
    p->polling = 0;
    free(j);
  }
}

static void poll_soon(struct hop_provider *p)
{
  if (!p->polling && !p->stopping)
    uv_timer_start(&p->timer, on_poll, POLL_MS, 0);
}

/* ---- Commands ----------------------------------------------------------------------------- */

static struct proc *proc_find(struct hop_provider *p, const char *id, int is_stop)
{
  for (size_t i = 0; i < p->procs_len; i++)
    if (p->procs[i].cmd && p->procs[i].is_stop_cmd == is_stop && strcmp(p->procs[i].id, id) == 0)
      return &p->procs[i];
  return NULL;
}

static struct proc *proc_add(struct hop_provider *p, const char *id, int is_stop)
{
  struct proc *grown;

  for (size_t i = 0; i < p->procs_len; i++)
    if (!p->procs[i].cmd) {
      memset(&p->procs[i], 0, sizeof p->procs[i]);
      snprintf(p->procs[i].id, sizeof p->procs[i].id, "%s", id);
      p->procs[i].is_stop_cmd = is_stop;
      return &p->procs[i];
    }
  if (!(grown = realloc(p->procs, (p->procs_len + 1) * sizeof *grown)))
    return NULL;
  p->procs = grown;
  memset(&p->procs[p->procs_len], 0, sizeof *grown);
  snprintf(p->procs[p->procs_len].id, sizeof grown->id, "%s", id);
  p->procs[p->procs_len].is_stop_cmd = is_stop;
  return &p->procs[p->procs_len++];
}

struct exit_ctx {
  struct hop_provider *p;
  char id[65];
  int is_stop;
};

static void log_exit(const char *what, const char *id, int64_t status, int sig)
{
  struct hop_logline l;

  if (hop_log_begin(&l, status == 0 && sig == 0 ? HOP_LOG_INFO : HOP_LOG_WARN, what)) {
    hop_log_str(&l, "server", id);
    hop_log_int(&l, "status", status);
    hop_log_int(&l, "signal", sig);
    hop_log_end(&l);
  }
}

static void mark_sleeping(struct hop_provider *p, const char *id);

static void on_command_exit(void *arg, int64_t status, int sig)
{
  struct exit_ctx *x = arg;
  struct hop_provider *p = x->p;
  struct proc *pr = proc_find(p, x->id, x->is_stop);
  int stopping = pr ? pr->stopping : 0;
  enum hop_state state;

  if (pr) {
    pr->cmd = NULL;
    pr->ctx = NULL;
  }
  if (p->stopping) {
    free(x);
    return;
  }
  log_exit(x->is_stop ? "stop_cmd_exited" : "start_cmd_exited", x->id, status, sig);
  state = hop_farmctl_state(p->fc, x->id);
  if (stopping == 2)
    ;                          /* stopped by stop_cmd, which reports it */
  else if (x->is_stop)
    hop_farmctl_stop_result(p->fc, x->id, status == 0 && sig == 0);
  else if (stopping)
    hop_farmctl_stop_result(p->fc, x->id, 1);
  else if (state == HOP_STATE_STARTING && (status != 0 || sig != 0))
    hop_farmctl_start_result(p->fc, x->id, 0);  /* it failed: no need to wait for the timeout */
  else if (state == HOP_STATE_RUNNING)
    mark_sleeping(p, x->id);   /* the server process ended by itself: it is not running */
  /* exit 0 while starting: it asked a supervisor to start the server; probes will tell */
  free(x);
}

static int run(struct hop_provider *p, const char *id, char **argv, int is_stop)
{
  struct exit_ctx *x = calloc(1, sizeof *x);
  struct proc *pr = x ? proc_add(p, id, is_stop) : NULL;
  int rc;

  if (!pr) {
    free(x);
    return -ENOMEM;
  }
  x->p = p;
  x->is_stop = is_stop;
  snprintf(x->id, sizeof x->id, "%s", id);
  rc = hop_command_run(p->loop, argv, on_command_exit, x, &pr->cmd);
  pr->ctx = x;
  if (rc < 0) {
    pr->cmd = NULL;
    pr->ctx = NULL;
    free(x);
    hop_log_msg(HOP_LOG_ERROR, is_stop ? "stop_cmd_failed" : "start_cmd_failed", uv_strerror(rc));
  }
  return rc;
}

static const struct hop_server *server_now(const char *id, struct hop_snapshot **hold)
{
  *hold = hop_snapshot_current();
  return *hold ? hop_route_table_find_id((*hold)->routes, id) : NULL;
}

static void op_start(void *ctx, const char *id)
{
  struct hop_provider *p = ctx;
  struct hop_snapshot *snap;
  const struct hop_server *srv = server_now(id, &snap);
  int ok = 1;

  if (srv && srv->start_cmd && !proc_find(p, id, 0))
    ok = run(p, id, srv->start_cmd, 0) == 0;
  hop_snapshot_unref(snap);
  hop_farmctl_start_result(p->fc, id, ok);
}

static void op_stop(void *ctx, const char *id, uint32_t sessions)
{
  struct hop_provider *p = ctx;
  struct hop_snapshot *snap;
  const struct hop_server *srv = server_now(id, &snap);
  struct proc *started = proc_find(p, id, 0);

  (void)sessions;
  if (srv && srv->stop_cmd) {
    if (started)
      started->stopping = 2;   /* stop_cmd reports the stop; this exit is only reaped */
    if (run(p, id, srv->stop_cmd, 1) < 0)
      hop_farmctl_stop_result(p->fc, id, 0);
  } else if (started) {
    started->stopping = 1;
    hop_command_kill(started->cmd, SIGTERM);
  } else {
    hop_farmctl_stop_result(p->fc, id, 1);     /* nothing of ours runs it */
  }
  hop_snapshot_unref(snap);
}

/* ---- States ------------------------------------------------------------------------------- */

static void on_state_saved(struct hop_store_job *job)
{
  struct servers_job *j = (struct servers_job *)job;

  if (job->status < 0)
    hop_log_msg(HOP_LOG_WARN, "store_failed", job->err);
  hop_store_servers_clear(&j->x);
  free(j);
}

static void save_state(struct hop_provider *p, const char *id, const char *state)
{
  struct servers_job *j = calloc(1, sizeof *j);

  if (!j || hop_store_servers_prepare_set_state(&j->x, id, state) < 0) {
    free(j);
    return;
  }
  j->p = p;
  j->x.job.done = on_state_saved;
  if (hop_store_submit(p->store, &j->x.job) < 0)
    on_state_saved(&j->x.job);
}

static void op_state(void *ctx, const char *id, enum hop_state state)
{
  struct hop_provider *p = ctx;
  struct proc *started = proc_find(p, id, 0);

  /* A start that timed out may have left its command hanging: end it, so the next wake runs
   * start_cmd afresh instead of probing a process that will never serve. */
  if (state == HOP_STATE_FAILED && started) {
    started->stopping = 1;
    hop_command_kill(started->cmd, SIGTERM);
  }
  save_state(p, id, hop_state_name(state));
}

static void mark_sleeping(struct hop_provider *p, const char *id)
{
  save_state(p, id, "sleeping");  /* the next poll brings the farm along */
}

/* ---- Startup ------------------------------------------------------------------------------ */

struct cache_job {
  struct hop_store_status x;
  struct hop_provider *p;
};

/* The last real status of each server, then the first poll. */
static void on_cache_loaded(struct hop_store_job *job)
{
  struct cache_job *j = (struct cache_job *)job;
  struct hop_provider *p = j->p;

  for (size_t i = 0; job->status == 0 && i < j->x.len; i++) {
    struct status_entry *grown = realloc(p->cache, (p->cache_len + 1) * sizeof *grown);

    if (!grown)
      break;
    p->cache = grown;
    p->cache[p->cache_len].id = j->x.ids[i];
    p->cache[p->cache_len++].json = j->x.jsons[i];
    j->x.ids[i] = j->x.jsons[i] = NULL;
  }
  hop_store_status_clear(&j->x);
  free(j);
  if (!p->stopping)
    uv_timer_start(&p->timer, on_poll, 0, 0);
}

static void load_status_cache(struct hop_provider *p)
{
  struct cache_job *j = calloc(1, sizeof *j);

  if (!j) {
    uv_timer_start(&p->timer, on_poll, 0, 0);
    return;
  }
  j->p = p;
  hop_store_status_prepare_load(&j->x);
  j->x.job.done = on_cache_loaded;
  if (hop_store_submit(p->store, &j->x.job) < 0) {
    free(j);
    uv_timer_start(&p->timer, on_poll, 0, 0);
  }
}

/* ---- Life --------------------------------------------------------------------------------- */

int hop_provider_sqlite_new(uv_loop_t *loop, struct hop_store *store, struct hop_farmctl *fc,
                            struct hop_settings *settings, struct hop_provider **out)
{
  struct hop_provider *p = calloc(1, sizeof *p);
  struct hop_provider_ops ops = { op_start, op_stop, op_state, hop_provider_log_event,
                                  hop_provider_status_seen, NULL };

  if (!p)
    return -ENOMEM;
  p->source = HOP_ROUTES_EMBEDDED;
  p->loop = loop;
  p->store = store;
  p->fc = fc;
  hop_settings_ref(settings);
  p->settings = settings;
  ops.ctx = p;
  hop_farmctl_set_provider(fc, &ops);
  uv_timer_init(loop, &p->timer);
  p->timer.data = p;
  p->refresh_cb = on_poll;
  load_status_cache(p);
  *out = p;
  return 0;
}
