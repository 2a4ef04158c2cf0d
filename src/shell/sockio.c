/* recv(2) and send(2) on libuv TCP handles: see sockio.h for why. */
#include <errno.h>
#include <sys/socket.h>

#include "sockio.h"

static int fd_of(uv_tcp_t *t)
{
  uv_os_fd_t fd = -1;

  uv_fileno((uv_handle_t *)t, &fd);
  return fd;
}

ssize_t hop_sock_recv(uv_tcp_t *t, void *buf, size_t len)
{
  int fd = fd_of(t);
  ssize_t n;

  if (fd < 0)
    return UV_EBADF;
  do
    n = recv(fd, buf, len, 0);
  while (n < 0 && errno == EINTR);
  return n >= 0 ? n : -errno;  /* libuv's error codes are negated errnos on Unix */
}

ssize_t hop_sock_try_send(uv_tcp_t *t, const void *buf, size_t len)
{
  int fd = fd_of(t);
  ssize_t n;

  if (t->write_queue_size != 0)
    return UV_EAGAIN;          /* libuv's own writes are queued: ours must wait behind them */
  if (fd < 0)
    return UV_EBADF;
  do
    n = send(fd, buf, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n >= 0 ? n : -errno;
}
