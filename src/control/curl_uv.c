/* libcurl's multi-socket API on a libuv loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to wake it
 * (CURLMOPT_TIMERFUNCTION); we watch with one uv_poll_t per socket and one uv_timer_t, and hand
 * readiness back with curl_multi_socket_action(). Finished transfers are drained with
 * curl_multi_info_read() after every action and reported through cu->done.
 *
 * Ownership (STYLE.md section 4): a poll context is created by the socket callback and freed
 * only by its uv_close callback, never while its uv_poll_t is live. The struct holding the glue
 * outlives every handle: cu->on_closed runs after the last close callback. */
#include "curl_uv.h"

#include <stdlib.h>

struct hop_curl_poll {
  uv_poll_t poll;                /* .data = this context */
  curl_socket_t fd;
  int events;                    /* UV_READABLE | UV_WRITABLE curl last asked for */
  int closing;                   /* handed to uv_close; memory lives until on_poll_closed */
  struct hop_curl_uv *cu;
  struct hop_curl_poll *prev, *next;
};

/* ---- Process-wide init ------------------------------------------------------------------- */

static uv_once_t global_once = UV_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
  /* Never paired with curl_global_cleanup(): the library stays initialised for the process. */
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int hop_curl_uv_async_dns(void)
{
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

  return v && (v->features & CURL_VERSION_ASYNCHDNS) ? 1 : 0;
}

/* ---- Closing ----------------------------------------------------------------------------- */

static void handle_closed(struct hop_curl_uv *cu)
{
  cu->handles_open--;
  if (cu->handles_open == 0 && cu->closed && cu->on_closed)
    cu->on_closed(cu->arg);    /* may free the memory holding `cu` */
}

static void on_poll_closed(uv_handle_t *handle)
{
  struct hop_curl_poll *p = handle->data;
  struct hop_curl_uv *cu = p->cu;

  free(p);
  handle_closed(cu);
}

static void on_timer_closed(uv_handle_t *handle)
{
  handle_closed(handle->data);
}

/* Stops watching and starts closing; the context is freed in on_poll_closed. Idempotent. */
static void poll_close(struct hop_curl_poll *p)
{
  struct hop_curl_uv *cu = p->cu;

  if (p->closing)
    return;
  p->closing = 1;
  if (p->prev)
    p->prev->next = p->next;
  else
    cu->polls = p->next;
  if (p->next)
    p->next->prev = p->prev;
  p->prev = p->next = NULL;
  /* Safe even when curl already closed the fd: libuv's EPOLL_CTL_DEL ignores EBADF/ENOENT. */
  uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

/* The actual teardown: only outside the drain loop, after every easy handle was removed. */
static void close_now(struct hop_curl_uv *cu)
{
  cu->closed = 1;
  /* curl_multi_cleanup() may still call the socket callback (REMOVE for cached connections);
   * it does not for every socket, so whatever stays in cu->polls is closed below. */
  curl_multi_cleanup(cu->multi);
  cu->multi = NULL;
  while (cu->polls)
    poll_close(cu->polls);
  uv_close((uv_handle_t *)&cu->timer, on_timer_closed);
}

void hop_curl_uv_close(struct hop_curl_uv *cu, hop_curl_uv_closed_cb closed)
{
  if (cu->close_requested)
    return;
  cu->close_requested = 1;
  cu->on_closed = closed;
  if (cu->dispatching == 0)
    close_now(cu);
}

/* ---- Driving curl ------------------------------------------------------------------------ */

/* Reports every finished transfer. A done callback may add transfers, remove them, or ask for
 * the close; the loop stops at once in the last case and the close happens on the way out. */
static void drain(struct hop_curl_uv *cu)
{
  CURLMsg *msg;
  int left;

  cu->dispatching++;
  while (!cu->close_requested && (msg = curl_multi_info_read(cu->multi, &left))) {
    CURL *easy;
    CURLcode result;

    if (msg->msg != CURLMSG_DONE)
      continue;
    easy = msg->easy_handle;
    result = msg->data.result;
    curl_multi_remove_handle(cu->multi, easy);   /* invalidates msg */
    cu->done(cu->arg, easy, result);
  }
  cu->dispatching--;
  if (cu->close_requested && cu->dispatching == 0 && !cu->closed)
    close_now(cu);
}

static void socket_action(struct hop_curl_uv *cu, curl_socket_t fd, int flags)
{
  int running;

  if (cu->close_requested)
    return;
  /* Errors here are per-transfer and arrive through curl_multi_info_read(). */
  (void)curl_multi_socket_action(cu->multi, fd, flags, &running);
  drain(cu);
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
  struct hop_curl_poll *p = handle->data;
  struct hop_curl_uv *cu = p->cu;
  int flags = 0;

  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  socket_action(cu, p->fd, flags);
  /* libuv stops a poll that reported an error. If curl kept the socket (it only calls the socket
   * callback on changes), it still expects it watched. `p` is valid: it is freed only in a close
   * callback, which cannot run before this one returns. */
  if (status < 0 && !p->closing && !cu->close_requested && p->events &&
      !uv_is_active((uv_handle_t *)&p->poll))
    (void)uv_poll_start(&p->poll, p->events, on_poll);
}

static void on_timeout(uv_timer_t *timer)
{
  socket_action(timer->data, CURL_SOCKET_TIMEOUT, 0);
}

/* ---- curl's callbacks (never call back into curl_multi_socket_action from here) --------- */

/* A new context watching `fd`. A context left over for the same fd (curl dropped the socket
 * without a REMOVE) is closed first; curl no longer refers to it, and libuv allows one
 * watcher per fd. */
static struct hop_curl_poll *poll_open(struct hop_curl_uv *cu, curl_socket_t fd)
{
  struct hop_curl_poll *p;

  for (p = cu->polls; p; p = p->next) {
    if (p->fd == fd) {
      poll_close(p);
      break;
    }
  }
  p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  if (uv_poll_init_socket(cu->loop, &p->poll, fd) < 0) {
    free(p);                   /* never initialised: no close needed */
    return NULL;
  }
  p->poll.data = p;
  p->fd = fd;
  p->cu = cu;
  p->next = cu->polls;
  if (cu->polls)
    cu->polls->prev = p;
  cu->polls = p;
  cu->handles_open++;
  return p;
}

/* CURLMOPT_SOCKETFUNCTION. Returning -1 makes curl fail the transfers of this multi. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
  struct hop_curl_uv *cu = userp;
  struct hop_curl_poll *p = socketp;
  int events = 0;

  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    /* May come for a socket curl already closed, or one we never watched: both are fine. */
    if (p)
      poll_close(p);
    return 0;
  }
  if (cu->close_requested)
    return 0;                  /* tearing down: every poll is about to be closed */
  if (!p) {
    p = poll_open(cu, fd);
    if (!p)
      return -1;
    if (curl_multi_assign(cu->multi, fd, p) != CURLM_OK) {
      poll_close(p);
      return -1;
    }
  }
  if (what & CURL_POLL_IN)
    events |= UV_READABLE;
  if (what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  p->events = events;
  if (events == 0)
    return uv_poll_stop(&p->poll) < 0 ? -1 : 0;
  return uv_poll_start(&p->poll, events, on_poll) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 fires on the next loop iteration (a zero libuv
 * timer), so curl is never re-entered from inside its own callback. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
  struct hop_curl_uv *cu = userp;

  (void)multi;
  if (cu->close_requested)
    return 0;
  if (timeout_ms < 0)
    return uv_timer_stop(&cu->timer) < 0 ? -1 : 0;
  return uv_timer_start(&cu->timer, on_timeout, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
}

/* ---- Setup ------------------------------------------------------------------------------- */

int hop_curl_uv_init(struct hop_curl_uv *cu, uv_loop_t *loop, hop_curl_uv_done_cb done,
                     void *arg)
{
  int rc;

  uv_once(&global_once, global_init);
  if (global_rc != CURLE_OK)
    return global_rc == CURLE_OUT_OF_MEMORY ? UV_ENOMEM : UV_EIO;

  *cu = (struct hop_curl_uv){ .loop = loop, .done = done, .arg = arg };
  cu->multi = curl_multi_init();
  if (!cu->multi)
    return UV_ENOMEM;
  if (curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
      curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu) != CURLM_OK ||
      curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
      curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu) != CURLM_OK) {
    curl_multi_cleanup(cu->multi);
    return UV_EINVAL;
  }
  rc = uv_timer_init(loop, &cu->timer);
  if (rc < 0) {
    curl_multi_cleanup(cu->multi);
    return rc;
  }
  cu->timer.data = cu;
  cu->handles_open = 1;
  return 0;
}

int hop_curl_uv_add(struct hop_curl_uv *cu, CURL *easy)
{
  CURLMcode mc;

  if (cu->close_requested)
    return UV_ECANCELED;
  /* Arms the timer through on_curl_timer; the transfer starts when it fires. */
  mc = curl_multi_add_handle(cu->multi, easy);
  if (mc == CURLM_OK)
    return 0;
  return mc == CURLM_OUT_OF_MEMORY ? UV_ENOMEM : UV_EINVAL;
}

void hop_curl_uv_remove(struct hop_curl_uv *cu, CURL *easy)
{
  if (cu->multi)
    curl_multi_remove_handle(cu->multi, easy);
}
