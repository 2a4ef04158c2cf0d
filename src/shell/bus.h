/* Messages between the worker loops and the control loop: a locked list per receiving loop and a
 * uv_async_t to wake it. Only wakes, state changes and session begin/end travel here, never
 * bytes. Private to src/shell. */
#ifndef HOP_SHELL_BUS_H
#define HOP_SHELL_BUS_H

#include <stdint.h>

#include <uv.h>

enum hop_msg_kind {
  HOP_MSG_WAKE = 1,            /* worker -> control: a login wants server_id awake */
  HOP_MSG_WAKE_REPLY,          /* control -> worker: the farm's answer (result, eta_s) */
  HOP_MSG_STATE,               /* control -> workers: server_id is now `state` */
  HOP_MSG_SESSION_BEGIN,       /* worker -> control: a player is relayed to server_id */
  HOP_MSG_SESSION_END,         /* worker -> control: ... and left */
};

struct hop_msg {
  struct hop_msg *next;
  enum hop_msg_kind kind;
  int worker;                  /* sender or addressee */
  uint64_t session;            /* the worker's session serial */
  char server_id[65];
  char client_ip[64];
  char player[65];
  char uuid[37];
  int intent;
  int protocol;
  int result;                  /* WAKE_REPLY: enum hop_wake_result */
  uint32_t eta_s;
  int state;                   /* STATE: enum hop_state */
  uint64_t duration_ms;
  uint64_t bytes_c2b, bytes_b2c;
};

struct hop_mailbox {
  uv_mutex_t lock;
  struct hop_msg *head, *tail;
  int closed;                  /* posts after close are dropped */
  uv_async_t async;            /* .data is the owner's */
};

int hop_mailbox_init(struct hop_mailbox *m, uv_loop_t *loop, uv_async_cb cb, void *data);
/* Any thread. Takes ownership of `msg`. */
void hop_mailbox_post(struct hop_mailbox *m, struct hop_msg *msg);
/* The owner loop: everything posted so far, oldest first; the caller frees each. */
struct hop_msg *hop_mailbox_take(struct hop_mailbox *m);
/* Closes the async handle; frees what is left. */
void hop_mailbox_close(struct hop_mailbox *m);

#endif
