/* Socket reads and writes on a connected libuv TCP handle, with recv(2) and send(2).
 * Private to src/shell.
 *
 * libuv reads with read(2) and writes with write(2). On a socket both go through the VFS layer
 * (fdget_pos, vfs_read, sock_read_iter) before they reach the socket code that recv(2) and
 * send(2) call directly. In the relay, where one small message costs four of these calls, skipping
 * that layer saved 1.5 % of the proxy's CPU per round trip (docs/perf.md). The relay therefore uses
 * libuv for readiness only (see pipe.c) and moves the bytes itself. */
#ifndef HOP_SHELL_SOCKIO_H
#define HOP_SHELL_SOCKIO_H

#include <stddef.h>
#include <sys/types.h>

#include <uv.h>

/* Bytes read (> 0), 0 at EOF, UV_EAGAIN when nothing is waiting, or another negative UV error. */
ssize_t hop_sock_recv(uv_tcp_t *t, void *buf, size_t len);

/* uv_try_write for one buffer: bytes written now (maybe fewer than len), UV_EAGAIN when libuv
 * still has queued writes (they go first) or the socket is full, or another negative UV error.
 * Never raises SIGPIPE. */
ssize_t hop_sock_try_send(uv_tcp_t *t, const void *buf, size_t len);

#endif
