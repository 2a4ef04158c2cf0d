#include <stdlib.h>

#include "bus.h"

int hop_mailbox_init(struct hop_mailbox *m, uv_loop_t *loop, uv_async_cb cb, void *data)
{
  int rc = uv_mutex_init(&m->lock);

  if (rc < 0)
    return rc;
  m->head = m->tail = NULL;
  m->closed = 0;
  rc = uv_async_init(loop, &m->async, cb);
  m->async.data = data;
  return rc;
}

void hop_mailbox_post(struct hop_mailbox *m, struct hop_msg *msg)
{
  msg->next = NULL;
  uv_mutex_lock(&m->lock);
  if (m->closed) {
    uv_mutex_unlock(&m->lock);
    free(msg);
    return;
  }
  if (m->tail)
    m->tail->next = msg;
  else
    m->head = msg;
  m->tail = msg;
  uv_async_send(&m->async);    /* under the lock: close cannot slip in between */
  uv_mutex_unlock(&m->lock);
}

struct hop_msg *hop_mailbox_take(struct hop_mailbox *m)
{
  struct hop_msg *all;

  uv_mutex_lock(&m->lock);
  all = m->head;
  m->head = m->tail = NULL;
  uv_mutex_unlock(&m->lock);
  return all;
}

void hop_mailbox_close(struct hop_mailbox *m)
{
  struct hop_msg *msg, *next;

  uv_mutex_lock(&m->lock);
  m->closed = 1;
  uv_mutex_unlock(&m->lock);
  msg = hop_mailbox_take(m);
  for (; msg; msg = next) {
    next = msg->next;
    free(msg);
  }
  uv_close((uv_handle_t *)&m->async, NULL);
}
