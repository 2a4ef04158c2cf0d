#!/usr/bin/env python3
"""Drain on SIGTERM/SIGINT: stop accepting, let established sessions finish, exit 0; sessions
still open when drain_s runs out are closed with reason=drain; a second signal closes them at
once."""

import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402


def open_session(hp, be_srv):
  fx = h.fixture('1.20.4-login.bin')
  c = h.Client(hp.port)
  c.send(fx)
  be = be_srv.accept()
  h.check_eq(fx, be.wait_bytes(len(fx)), 'replayed opening')
  return c, be, fx


def new_connection_not_served(hp, be_srv):
  """After draining starts a new connection is refused, or accepted and closed unserved; the
  backend never sees it. (The workers close their listeners when the control loop tells them, a
  moment after it logs msg=draining: give them that moment.)"""
  time.sleep(0.5)
  before = be_srv.count()
  try:
    c = h.Client(hp.port, timeout=3)
  except (ConnectionRefusedError, socket.timeout, OSError):
    return
  c.try_send(h.fixture('1.20.4-login.bin'))
  try:
    c.wait_eof(timeout=3)
  except h.TestFailure:
    pass  # still open but unserved (e.g. queued in a closed listener's backlog)
  c.close()
  time.sleep(0.2)
  h.check_eq(before, be_srv.count(), 'no backend connection for a client that came during drain')


def flows(c, be, tag):
  nc, nb = len(c.received()), len(be.received())
  c.send(b'up-' + tag)
  be.send(b'down-' + tag)
  h.check_eq(b'up-' + tag, be.wait_bytes(nb + 3 + len(tag))[nb:], 'client -> backend')
  h.check_eq(b'down-' + tag, c.wait_bytes(nc + 5 + len(tag))[nc:], 'backend -> client')


def test_drain_waits_for_sessions(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'drain_s': 30})
  with hp:
    c, be, fx = open_session(hp, be_srv)
    flows(c, be, b'1')
    mark = hp.mark()
    hp.send_signal(signal.SIGTERM)
    rec = hp.wait_log(msg='draining', start=mark)
    h.check_eq('1', rec.get('sessions'), 'draining sessions=')
    h.check_eq('30', rec.get('drain_s'), 'draining drain_s=')
    new_connection_not_served(hp, be_srv)
    flows(c, be, b'2')
    big = os.urandom(512 * 1024)
    nc = len(c.received())
    be.send(big)
    h.check_eq(big, c.wait_bytes(nc + len(big))[nc:], 'bulk while draining')
    h.check(hp.proc.poll() is None, 'hopper still running while a session is open')
    c.close()
    be.wait_eof()
    be.close()
    rc = hp.wait_exit()
    rec = hp.session_log(c)
    h.check_eq('client_closed', rec.get('reason'), 'reason')
    hp.stopped = True
    hp.check_exit(rc)


def test_drain_timeout_closes_with_reason(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'drain_s': 1})
  with hp:
    c, be, fx = open_session(hp, be_srv)
    flows(c, be, b'1')
    mark = hp.mark()
    hp.send_signal(signal.SIGTERM)
    hp.wait_log(msg='draining', start=mark, drain_s='1')
    flows(c, be, b'2')
    c.wait_eof(timeout=h.T_STOP)
    be.wait_eof(timeout=h.T_STOP)
    rc = hp.wait_exit()
    rec = hp.session_log(c)
    h.check_eq('drain', rec.get('reason'), 'reason')
    hp.stopped = True
    hp.check_exit(rc)


def test_second_signal_closes_at_once(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'drain_s': 600})
  with hp:
    c, be, fx = open_session(hp, be_srv)
    mark = hp.mark()
    hp.send_signal(signal.SIGINT)
    hp.wait_log(msg='draining', start=mark)
    flows(c, be, b'1')
    hp.send_signal(signal.SIGTERM)
    c.wait_eof(timeout=h.T_STOP)
    rc = hp.wait_exit()
    rec = hp.session_log(c)
    h.check_eq('drain', rec.get('reason'), 'reason')
    hp.stopped = True
    hp.check_exit(rc)


def test_idle_exit(binary):
  """No sessions: SIGTERM exits 0 promptly with draining sessions=0 and stopped."""
  servers = [h.server('lobby', ['play.example.com'], '127.0.0.1:%d' % h.closed_port())]
  with h.Hopper(binary, servers=servers, config={'drain_s': 600}) as hp:
    hp.send_signal(signal.SIGTERM)
    rec = hp.wait_log(msg='draining')
    h.check_eq('0', rec.get('sessions'), 'draining sessions=')
    rc = hp.wait_exit()
    hp.stopped = True
    hp.check_exit(rc)


if __name__ == '__main__':
  h.main([test_drain_waits_for_sessions, test_drain_timeout_closes_with_reason,
          test_second_signal_closes_at_once, test_idle_exit])
