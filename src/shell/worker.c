/* A worker: one loop, its own SO_REUSEPORT listeners, its sessions. No locks on the data path. */
#include <malloc.h>
#include <stdlib.h>

#include "hop/log.h"
#include "shell.h"

#define GREET_SLAB_KEEP  32       /* free greets left resident; a burst's others are given back */
#define BUF_POOL_KEEP    64
#define WRITE_POOL_KEEP  256

static void on_connection(uv_stream_t *server, int status)
{
  struct hop_worker *w = server->data;

  if (status < 0) {
    hop_log_msg(HOP_LOG_WARN, "accept_failed", uv_strerror(status));
    return;
  }
  hop_session_accept(w, server);
}

static void close_listeners(struct hop_worker *w)
{
  for (size_t i = 0; i < w->listeners_len; i++)
    if (!uv_is_closing((uv_handle_t *)&w->listeners[i]))
      uv_close((uv_handle_t *)&w->listeners[i], NULL);
}

void hop_worker_on_idle(struct hop_worker *w)
{
  if (w->draining)
    uv_async_send(w->idle);    /* the control loop says EXIT once every worker is empty */
}

static void on_wakeup(uv_async_t *a)
{
  struct hop_worker *w = a->data;
  int cmd = atomic_load(&w->cmd);

  if (cmd >= HOP_WORKER_DRAIN && !w->draining) {
    w->draining = 1;
    close_listeners(w);
  }
  if (cmd == HOP_WORKER_CLOSE_ALL) {
    struct hop_session *s = w->sessions, *next;

    for (; s; s = next) {
      next = s->next;
      hop_session_close(s, HOP_CLOSE_DRAIN);
    }
  }
  if (cmd == HOP_WORKER_EXIT && !uv_is_closing((uv_handle_t *)&w->wakeup)) {
    uv_close((uv_handle_t *)&w->wakeup, NULL);   /* the loop ends with its last handle */
    uv_close((uv_handle_t *)&w->housekeeping, NULL);
    uv_close((uv_handle_t *)&w->log_flush, NULL);
    hop_mailbox_close(&w->inbox);
    return;
  }
  if (!w->sessions)
    hop_worker_on_idle(w);
}

#define HOUSEKEEPING_MS 250

/* Housekeeping, four times a second. After a burst, the greets' slab gives the pages of its free
 * chunks back, and if the pools freed buffers, which sit in the middle of the heap still resident,
 * malloc is asked to release them. And logins held for a server see whether it is still routed. */
static void on_housekeeping(uv_timer_t *t)
{
  struct hop_worker *w = t->data;
  size_t released = w->buf_pool.released + w->write_pool.released;

  hop_slab_trim(&w->greet_slab);
  if (released != w->trim_seen) {
    w->trim_seen = released;
    malloc_trim(0);
  }
  hop_session_follow_routes(w);
}

static void on_inbox(uv_async_t *a)
{
  struct hop_worker *w = a->data;
  struct hop_msg *m = hop_mailbox_take(&w->inbox), *next;

  for (; m; m = next) {
    next = m->next;
    hop_session_on_msg(w, m);
    free(m);
  }
}

/* Session lines are batched (one write for many): the batch goes out once per loop turn. */
static void on_log_flush(uv_prepare_t *p)
{
  (void)p;
  hop_log_flush();
}

static void worker_main(void *arg)
{
  struct hop_worker *w = arg;

  hop_log_batch(1);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  hop_log_batch(0);
  hop_snapshot_unref(w->snap);
  w->snap = NULL;
  hop_slab_destroy(&w->greet_slab);
  hop_pool_drain(&w->buf_pool);
  hop_pool_drain(&w->write_pool);
  if (uv_loop_close(&w->loop) != 0)
    hop_log_msg(HOP_LOG_ERROR, "worker_leaked_handles", NULL);
}

int hop_worker_start(struct hop_worker *w)
{
  const struct hop_config *cfg;
  int rc = uv_loop_init(&w->loop);

  if (rc < 0)
    return rc;
  hop_snapshot_refresh(&w->snap, &w->snap_gen);
  cfg = w->snap->cfg;
  if (!(w->metrics = hop_metrics_worker_new()))
    return UV_ENOMEM;
  hop_slab_init(&w->greet_slab, sizeof(struct hop_greet) + cfg->conn.preread_bytes_max,
                GREET_SLAB_KEEP);
  hop_pool_init(&w->buf_pool, HOP_RELAY_BUF_BYTES, BUF_POOL_KEEP);
  hop_pool_init(&w->write_pool, sizeof(struct hop_write), WRITE_POOL_KEEP);
  uv_async_init(&w->loop, &w->wakeup, on_wakeup);
  w->wakeup.data = w;
  if ((rc = hop_mailbox_init(&w->inbox, &w->loop, on_inbox, w)) < 0)
    return rc;
  uv_timer_init(&w->loop, &w->housekeeping);
  w->housekeeping.data = w;
  uv_timer_start(&w->housekeeping, on_housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
  uv_unref((uv_handle_t *)&w->housekeeping);
  uv_prepare_init(&w->loop, &w->log_flush);
  uv_prepare_start(&w->log_flush, on_log_flush);
  uv_unref((uv_handle_t *)&w->log_flush);
  w->listeners = calloc(w->listeners_len, sizeof *w->listeners);
  if (!w->listeners)
    return UV_ENOMEM;
  for (size_t i = 0; i < w->listeners_len; i++) {
    uv_tcp_t *l = &w->listeners[i];

    uv_tcp_init(&w->loop, l);
    l->data = w;
    if ((rc = uv_tcp_open(l, w->listen_fds[i])) < 0 ||
        (rc = uv_listen((uv_stream_t *)l, SOMAXCONN, on_connection)) < 0)
      return rc;
  }
  return uv_thread_create(&w->thread, worker_main, w);
}

void hop_worker_command(struct hop_worker *w, enum hop_worker_cmd cmd)
{
  atomic_store(&w->cmd, (int)cmd);
  uv_async_send(&w->wakeup);
}
