/* The farm on the control loop: wakes and session counts in, starts, stops, probes, states and
 * events out. Everything here runs on the control loop; workers talk to it by mailbox. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/log.h"
#include "hop/metrics.h"
#include "hop/probe.h"
#include "hop/snapshot.h"
#include "hop/farmctl.h"
#include "bus.h"
#include "shell.h"

#define PROBE_TIMEOUT_MS   3000
#define ETA_DEFAULT_MS     30000

struct server_rt {             /* what the control loop remembers per server id */
  char id[65];
  uint64_t eta_ms;             /* how long the last start took */
};

struct hop_farmctl {
  uv_loop_t *loop;
  struct hop_farm *farm;
  uv_timer_t timer;
  struct hop_mailbox inbox;
  struct hop_worker *workers;
  int workers_len;
  struct hop_provider_ops ops;
  struct server_rt *rt;        /* linear: a farm has hundreds of servers, not millions */
  size_t rt_len, rt_cap;
  int probes;                  /* in flight; the struct is freed once they are done */
  int closing;
};

struct probe_ctx {
  struct hop_farmctl *fc;
  char id[65];
};

static void drain(struct hop_farmctl *fc);

/* ---- Helpers ------------------------------------------------------------------------------ */

static struct server_rt *rt_of(struct hop_farmctl *fc, const char *id)
{
  struct server_rt *grown;

  for (size_t i = 0; i < fc->rt_len; i++)
    if (strcmp(fc->rt[i].id, id) == 0)
      return &fc->rt[i];
  if (fc->rt_len == fc->rt_cap) {
    size_t cap = fc->rt_cap ? fc->rt_cap * 2 : 16;

    if (!(grown = realloc(fc->rt, cap * sizeof *grown)))
      return NULL;
    fc->rt = grown;
    fc->rt_cap = cap;
  }
  memset(&fc->rt[fc->rt_len], 0, sizeof fc->rt[0]);
  snprintf(fc->rt[fc->rt_len].id, sizeof fc->rt[0].id, "%s", id);
  return &fc->rt[fc->rt_len++];
}

static int64_t wall_ms(void)
{
  uv_timeval64_t tv;

  uv_gettimeofday(&tv);
  return tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Sends one event object (taken over) to the provider's sink. */
static void emit(struct hop_farmctl *fc, cJSON *ev)
{
  char *json;

  if (!ev)
    return;
  cJSON_AddNumberToObject(ev, "at_ms", (double)wall_ms());
  json = cJSON_PrintUnformatted(ev);
  if (json && fc->ops.event)
    fc->ops.event(fc->ops.ctx, json);
  free(json);
  cJSON_Delete(ev);
}

static cJSON *event_new(const char *type, const char *server)
{
  cJSON *ev = cJSON_CreateObject();

  if (ev) {
    cJSON_AddStringToObject(ev, "type", type);
    cJSON_AddStringToObject(ev, "server", server);
  }
  return ev;
}

/* ---- Actions ------------------------------------------------------------------------------ */

static void publish_state(struct hop_farmctl *fc, const char *id, enum hop_state state)
{
  struct hop_snapshot *snap = hop_snapshot_current();
  const struct hop_server *srv = snap ? hop_route_table_find_id(snap->routes, id) : NULL;
  struct hop_logline l;

  if (srv)
    atomic_store(&((struct hop_server *)(uintptr_t)srv)->state, (int)state);
  hop_snapshot_unref(snap);
  for (int i = 0; i < fc->workers_len; i++) {
    struct hop_msg *m = calloc(1, sizeof *m);

    if (!m)
      continue;
    m->kind = HOP_MSG_STATE;
    m->state = (int)state;
    snprintf(m->server_id, sizeof m->server_id, "%s", id);
    hop_mailbox_post(&fc->workers[i].inbox, m);
  }
  if (fc->ops.state)
    fc->ops.state(fc->ops.ctx, id, state);
  if (hop_log_begin(&l, HOP_LOG_INFO, "server_state")) {
    hop_log_str(&l, "server", id);
    hop_log_str(&l, "state", hop_state_name(state));
    hop_log_end(&l);
  }
}

static void on_probed(void *arg, int ok, const char *json, size_t len)
{
  struct probe_ctx *p = arg;
  struct hop_farmctl *fc = p->fc;

  (void)len;
  fc->probes--;
  if (!fc->closing) {
    if (ok && fc->ops.status_seen)
      fc->ops.status_seen(fc->ops.ctx, p->id, json);
    hop_farm_probe_result(fc->farm, p->id, ok, uv_now(fc->loop));
    drain(fc);
  }
  free(p);
}

static void probe(struct hop_farmctl *fc, const char *id)
{
  struct hop_snapshot *snap = hop_snapshot_current();
  const struct hop_server *srv = snap ? hop_route_table_find_id(snap->routes, id) : NULL;
  struct probe_ctx *p = srv ? calloc(1, sizeof *p) : NULL;
  const char *address = "";
  int rc = -ENOENT;

  if (p) {
    p->fc = fc;
    snprintf(p->id, sizeof p->id, "%s", id);
    for (size_t i = 0; i < srv->hosts_len && !*address; i++)
      if (srv->hosts[i][0] != '*')
        address = srv->hosts[i];
    rc = hop_probe_start(fc->loop, srv->backend_host, srv->backend_port,
                         *address ? address : srv->backend_host, PROBE_TIMEOUT_MS, on_probed, p);
  }
  hop_snapshot_unref(snap);
  if (rc < 0) {
    free(p);
    hop_farm_probe_result(fc->farm, id, 0, uv_now(fc->loop));
    return;
  }
  fc->probes++;
}

static void record_event(struct hop_farmctl *fc, const struct hop_farm_action *a)
{
  cJSON *ev = event_new(hop_farm_event_name(a->event), a->id);
  struct server_rt *rt;

  if (a->event == HOP_EVENT_WAKE_READY || a->event == HOP_EVENT_WAKE_FAILED)
    cJSON_AddNumberToObject(ev, "wait_ms", (double)a->wait_ms);
  if (a->event == HOP_EVENT_STOP_REQUESTED)
    cJSON_AddNumberToObject(ev, "sessions", a->sessions);
  if (a->event == HOP_EVENT_WAKE_READY && (rt = rt_of(fc, a->id)))
    rt->eta_ms = a->wait_ms;
  if (a->event == HOP_EVENT_WAKE_READY || a->event == HOP_EVENT_WAKE_FAILED)
    hop_metrics_wake_ready(a->wait_ms, a->event == HOP_EVENT_WAKE_READY);
  emit(fc, ev);
}

static void on_timer(uv_timer_t *t)
{
  struct hop_farmctl *fc = t->data;

  hop_farm_on_timer(fc->farm, uv_now(fc->loop));
  drain(fc);
}

/* Carries out every pending farm action, then sleeps until the farm's next deadline. */
static void drain(struct hop_farmctl *fc)
{
  struct hop_farm_action a;
  uint64_t next, now;

  while (hop_farm_next_action(fc->farm, &a)) {
    switch (a.kind) {
    case HOP_FARM_START:
      if (fc->ops.start)
        fc->ops.start(fc->ops.ctx, a.id);
      else
        hop_farm_start_result(fc->farm, a.id, 0, uv_now(fc->loop));
      break;
    case HOP_FARM_STOP:
      if (fc->ops.stop)
        fc->ops.stop(fc->ops.ctx, a.id, a.sessions);
      else
        hop_farm_stop_result(fc->farm, a.id, 0, uv_now(fc->loop));
      break;
    case HOP_FARM_PROBE:
      probe(fc, a.id);
      break;
    case HOP_FARM_STATE:
      publish_state(fc, a.id, a.state);
      break;
    case HOP_FARM_EVENT:
      record_event(fc, &a);
      break;
    }
  }
  next = hop_farm_deadline(fc->farm);
  now = uv_now(fc->loop);
  if (next == UINT64_MAX)
    uv_timer_stop(&fc->timer);
  else
    uv_timer_start(&fc->timer, on_timer, next > now ? next - now : 0, 0);
}

/* ---- Messages from the workers ------------------------------------------------------------ */

static void reply_wake(struct hop_farmctl *fc, const struct hop_msg *m, enum hop_wake_result r)
{
  struct hop_msg *reply = calloc(1, sizeof *reply);
  struct server_rt *rt = rt_of(fc, m->server_id);

  if (!reply || m->worker < 0 || m->worker >= fc->workers_len) {
    free(reply);
    return;
  }
  hop_metrics_wake(hop_wake_result_name(r));
  reply->kind = HOP_MSG_WAKE_REPLY;
  reply->session = m->session;
  reply->result = (int)r;
  reply->eta_s = (uint32_t)(((rt && rt->eta_ms) ? rt->eta_ms : ETA_DEFAULT_MS) + 999) / 1000;
  snprintf(reply->server_id, sizeof reply->server_id, "%s", m->server_id);
  hop_mailbox_post(&fc->workers[m->worker].inbox, reply);
}

static void session_event(struct hop_farmctl *fc, const struct hop_msg *m, const char *type)
{
  cJSON *ev = event_new(type, m->server_id);

  cJSON_AddStringToObject(ev, "player", m->player);
  if (m->uuid[0])
    cJSON_AddStringToObject(ev, "uuid", m->uuid);
  cJSON_AddStringToObject(ev, "client_ip", m->client_ip);
  cJSON_AddNumberToObject(ev, "protocol", m->protocol);
  if (m->kind == HOP_MSG_SESSION_END) {
    cJSON_AddNumberToObject(ev, "duration_ms", (double)m->duration_ms);
    cJSON_AddNumberToObject(ev, "bytes_c2b", (double)m->bytes_c2b);
    cJSON_AddNumberToObject(ev, "bytes_b2c", (double)m->bytes_b2c);
  }
  emit(fc, ev);
}

static void on_inbox(uv_async_t *a)
{
  struct hop_farmctl *fc = a->data;
  struct hop_msg *m = hop_mailbox_take(&fc->inbox), *next;
  uint64_t now = uv_now(fc->loop);

  for (; m; m = next) {
    next = m->next;
    switch (m->kind) {
    case HOP_MSG_WAKE:
      reply_wake(fc, m, hop_farm_wake(fc->farm, m->server_id, m->client_ip, m->player, now));
      break;
    case HOP_MSG_SESSION_BEGIN:
      hop_farm_session_begin(fc->farm, m->server_id, now);
      session_event(fc, m, "join");
      break;
    case HOP_MSG_SESSION_END:
      hop_farm_session_end(fc->farm, m->server_id, now);
      session_event(fc, m, "leave");
      break;
    default:
      break;
    }
    free(m);
  }
  drain(fc);
}

/* ---- Life --------------------------------------------------------------------------------- */

struct hop_farmctl *hop_farmctl_new(uv_loop_t *loop, struct hop_worker *workers, int workers_len,
                                    const struct hop_farm_config *cfg)
{
  struct hop_farmctl *fc = calloc(1, sizeof *fc);

  if (!fc || !(fc->farm = hop_farm_new(cfg))) {
    free(fc);
    return NULL;
  }
  fc->loop = loop;
  fc->workers = workers;
  fc->workers_len = workers_len;
  uv_timer_init(loop, &fc->timer);
  fc->timer.data = fc;
  if (hop_mailbox_init(&fc->inbox, loop, on_inbox, fc) < 0) {
    hop_farm_free(fc->farm);
    free(fc);
    return NULL;
  }
  return fc;
}

void hop_farmctl_set_provider(struct hop_farmctl *fc, const struct hop_provider_ops *ops)
{
  fc->ops = *ops;
}

struct hop_mailbox *hop_farmctl_inbox(struct hop_farmctl *fc)
{
  return &fc->inbox;
}

int hop_farmctl_sync(struct hop_farmctl *fc, struct hop_route_table *routes)
{
  size_t n = hop_route_table_servers(routes), k = 0;
  struct hop_farm_server_spec *specs = calloc(n ? n : 1, sizeof *specs);
  int rc;

  if (!specs)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++) {
    const struct hop_server *srv = hop_route_table_server(routes, i);

    if (!srv->managed)
      continue;
    specs[k].id = srv->id;
    specs[k].policy = srv->policy;
    specs[k++].provider_state = (enum hop_state)atomic_load(&srv->state);
  }
  rc = hop_farm_sync(fc->farm, specs, k, uv_now(fc->loop));
  free(specs);
  for (size_t i = 0; rc == 0 && i < n; i++) {
    struct hop_server *srv = hop_route_table_edit(routes, (int)i);

    if (srv->managed)
      atomic_store(&srv->state, (int)hop_farm_state(fc->farm, srv->id));
  }
  drain(fc);
  return rc;
}

enum hop_state hop_farmctl_state(const struct hop_farmctl *fc, const char *id)
{
  return fc->closing ? HOP_STATE_SLEEPING : hop_farm_state(fc->farm, id);
}

void hop_farmctl_start_result(struct hop_farmctl *fc, const char *id, int ok)
{
  if (fc->closing)
    return;
  hop_farm_start_result(fc->farm, id, ok, uv_now(fc->loop));
  drain(fc);
}

void hop_farmctl_stop_result(struct hop_farmctl *fc, const char *id, int ok)
{
  if (fc->closing)
    return;
  hop_farm_stop_result(fc->farm, id, ok, uv_now(fc->loop));
  drain(fc);
}

void hop_farmctl_stop(struct hop_farmctl *fc)
{
  fc->closing = 1;
  hop_mailbox_close(&fc->inbox);
  uv_close((uv_handle_t *)&fc->timer, NULL);
}

void hop_farmctl_free(struct hop_farmctl *fc)
{
  hop_farm_free(fc->farm);
  free(fc->rt);
  free(fc);
}
