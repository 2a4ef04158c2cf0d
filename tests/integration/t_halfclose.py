#!/usr/bin/env python3
"""Half-close both ways: EOF from one side becomes a shutdown(SHUT_WR) towards the other, and the
other direction keeps flowing until it ends too. The side that ended first names the reason."""

import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

TAIL = os.urandom(256 * 1024)


def recv_exact(sock, n):
  buf = b''
  sock.settimeout(h.T_WAIT)
  while len(buf) < n:
    b = sock.recv(n - len(buf))
    if not b:
      break
    buf += b
  return buf


def open_session(hp, be_srv, name='1.20.4-login.bin'):
  fx = h.fixture(name)
  c = h.Client(hp.port)
  c.send(fx)
  be = be_srv.accept()
  h.check_eq(fx, be.wait_bytes(len(fx)), 'replayed opening')
  return c, be, fx


def test_client_half_closes_first(binary):
  be_srv = h.Backend()
  with h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)]) as hp:
    c, be, fx = open_session(hp, be_srv)
    c.send(b'last words')
    c.shutdown_wr()
    got = be.wait_eof()
    h.check_eq(fx + b'last words', got, 'backend got everything, then EOF')
    h.check(c.quiet(0.3), 'client connection still open after its own half-close')
    # The backend can still talk to the half-closed client.
    be.send(b'still here')
    h.check_eq(b'still here', c.wait_bytes(10), 'backend -> half-closed client')
    be.send(TAIL)
    h.check_eq(b'still here' + TAIL, c.wait_bytes(10 + len(TAIL)), 'bulk after half-close')
    be.close()
    h.check_eq(b'still here' + TAIL, c.wait_eof(), 'client sees EOF when the backend ends')
    c.close()
    rec = hp.session_log(c)
    h.check_eq('client_closed', rec.get('reason'), 'reason')
    h.check_eq(str(len(fx) + 10), rec.get('bytes_c2b'), 'bytes_c2b')
    h.check_eq(str(10 + len(TAIL)), rec.get('bytes_b2c'), 'bytes_b2c')


def test_backend_half_closes_first(binary):
  be_srv = h.Backend()
  with h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)]) as hp:
    c, be, fx = open_session(hp, be_srv, '1.20.4-status.bin')
    be.send(b'bye')
    be.shutdown_wr()
    h.check_eq(b'bye', c.wait_eof(), 'client got the backend bytes, then EOF')
    h.check(be.quiet(0.3), 'backend connection still open after its own half-close')
    # The client can still talk to the half-closed backend.
    c.send(b'ping?')
    h.check_eq(fx + b'ping?', be.wait_bytes(len(fx) + 5), 'client -> half-closed backend')
    c.send(TAIL)
    h.check_eq(fx + b'ping?' + TAIL, be.wait_bytes(len(fx) + 5 + len(TAIL)),
               'bulk after half-close')
    c.close()
    h.check_eq(fx + b'ping?' + TAIL, be.wait_eof(), 'backend sees EOF when the client ends')
    be.close()
    rec = hp.session_log(c)
    h.check_eq('backend_closed', rec.get('reason'), 'reason')
    h.check_eq('status', rec.get('intent'), 'intent')
    h.check_eq(str(len(fx) + 5 + len(TAIL)), rec.get('bytes_c2b'), 'bytes_c2b')
    h.check_eq('3', rec.get('bytes_b2c'), 'bytes_b2c')


def test_full_close_by_backend(binary):
  """The backend closes outright (a server's login Disconnect then FIN): the client gets the bytes
  and EOF, the session ends backend_closed."""
  be_srv = h.Backend()
  with h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)]) as hp:
    c, be, fx = open_session(hp, be_srv)
    kick = h.fixture('1.20.4-login-disconnect.bin')
    be.send(kick)
    be.close()
    h.check_eq(kick, c.wait_eof(), 'client got the Disconnect, then EOF')
    c.close()
    rec = hp.session_log(c)
    h.check_eq('backend_closed', rec.get('reason'), 'reason')
    h.check_eq(str(len(kick)), rec.get('bytes_b2c'), 'bytes_b2c')


def reset_socket(sock):
  """Closes with RST (SO_LINGER 0). Only for sockets without a reader thread."""
  sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
  sock.close()


def test_client_reset(binary):
  """The client resets while the backend is sending: hopper must survive the write error (no
  SIGPIPE), close the backend side and log client_reset."""
  be_srv = h.Backend()
  with h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)]) as hp:
    fx = h.fixture('1.20.4-login.bin')
    c = h.Client(hp.port, record=False)
    c.send(fx)
    be = be_srv.accept()
    be.wait_bytes(len(fx))
    be.send(b'x' * 1000)
    h.check_eq(b'x' * 1000, recv_exact(c.sock, 1000), 'relay before the reset')
    reset_socket(c.sock)
    for _ in range(50):  # keep writing towards the dead client
      if not be.try_send(b'y' * 65536) or be.is_eof():
        break
    be.wait_eof()
    be.close()
    rec = hp.session_log(c)
    h.check_eq('client_reset', rec.get('reason'), 'reason')


def test_backend_reset(binary):
  be_srv = h.Backend(record=False)
  with h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)]) as hp:
    fx = h.fixture('1.20.4-login.bin')
    c = h.Client(hp.port)
    c.send(fx)
    be = be_srv.accept()
    h.check_eq(fx, recv_exact(be.sock, len(fx)), 'replayed opening')
    reset_socket(be.sock)
    for _ in range(50):
      if not c.try_send(b'y' * 65536) or c.is_eof():
        break
    c.wait_eof(close=True)
    rec = hp.session_log(c)
    h.check_eq('backend_reset', rec.get('reason'), 'reason')


def test_idle_timeout(binary):
  """timeouts_ms.idle closes a relayed session with no bytes either way; traffic keeps it open."""
  be_srv = h.Backend()
  cfg = {'timeouts_ms': {'idle': 1000}}
  with h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config=cfg) as hp:
    fx = h.fixture('1.20.4-login.bin')
    c = h.Client(hp.port)
    c.send(fx)
    be = be_srv.accept()
    be.wait_bytes(len(fx))
    for i in range(15):  # ~1.5 s of traffic, a message every 100 ms, alternating directions
      if i % 2:
        be.send(b'.')
      else:
        c.send(b'.')
      time.sleep(0.1)
    h.check(not c.is_eof() and not be.is_eof(), 'an active session is not idle')
    c.wait_eof(close=True)
    be.wait_eof()
    be.close()
    rec = hp.session_log(c)
    h.check_eq('idle_timeout', rec.get('reason'), 'reason')
    h.check_eq(str(len(fx) + 8), rec.get('bytes_c2b'), 'bytes_c2b')
    h.check_eq('7', rec.get('bytes_b2c'), 'bytes_b2c')


if __name__ == '__main__':
  h.main([test_client_half_closes_first, test_backend_half_closes_first,
          test_full_close_by_backend, test_client_reset, test_backend_reset,
          test_idle_timeout])
