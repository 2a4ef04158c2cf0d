#!/usr/bin/env python3
"""SIGHUP reload: a new backend for the same host takes new connections while an established
session keeps flowing both ways; an invalid file is rejected with its file and JSON path and the
routing stays as it was."""

import os
import signal
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402


def connect(hp, be_srv, name='1.20.4-login.bin'):
  fx = h.fixture(name)
  c = h.Client(hp.port)
  c.send(fx)
  be = be_srv.accept()
  h.check_eq(fx, be.wait_bytes(len(fx)), 'replayed opening')
  return c, be, fx


def exchange(c, be, fx, tag):
  """One message each way on an established session; returns the bytes added each way."""
  up, down = b'up-' + tag, b'down-' + tag
  before_c, before_b = len(c.received()), len(be.received())
  c.send(up)
  be.send(down)
  h.check_eq(up, be.wait_bytes(before_b + len(up))[before_b:], 'client -> backend (%s)' % tag)
  h.check_eq(down, c.wait_bytes(before_c + len(down))[before_c:], 'backend -> client (%s)' % tag)


def finish(hp, c, be, server):
  c.close()
  be.wait_eof()
  be.close()
  rec = hp.session_log(c)
  h.check_eq('client_closed', rec.get('reason'), 'reason')
  h.check_eq(server, rec.get('server'), 'server')


def test_reload_switches_backend_keeps_sessions(binary):
  old, new = h.Backend(), h.Backend()
  with h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], old.addr)]) as hp:
    c1, b1, fx = connect(hp, old)
    exchange(c1, b1, fx, b'before')
    cfg = dict(hp.config)
    cfg['servers'] = [h.server('lobby2', ['play.example.com'], new.addr),
                      h.server('extra', ['extra.example.com'], old.addr)]
    hp.write_config(cfg)
    mark = hp.mark()
    hp.send_signal(signal.SIGHUP)
    rec = hp.wait_log(msg='reloaded', start=mark)
    h.check_eq('2', rec.get('servers'), 'reloaded servers=')
    # New connections for the same host reach the new backend.
    c2, b2, _ = connect(hp, new)
    exchange(c2, b2, fx, b'new')
    # The session through the old backend still flows both ways.
    exchange(c1, b1, fx, b'after')
    finish(hp, c2, b2, 'lobby2')
    finish(hp, c1, b1, 'lobby')
    h.check_eq(1, old.count(), 'old backend saw only the first session')

    # An invalid file is rejected with the file and the JSON path; routing stays.
    bad = dict(cfg)
    bad['servers'] = [h.server('lobby3', ['play.example.com'], old.addr),
                      h.server('broken', ['broken.example.com'], 'nope')]
    hp.write_config(bad)
    mark = hp.mark()
    hp.send_signal(signal.SIGHUP)
    rec = hp.wait_log(msg='reload_rejected', start=mark)
    h.check_eq('error', rec.get('level'), 'reload_rejected level')
    err = rec.get('err', '')
    h.check(os.path.basename(hp.config_path) in err, 'err names the file', err)
    h.check('servers[1].backend' in err, 'err names the JSON path servers[1].backend', err)
    h.check(not hp.find_logs(msg='reloaded', start=mark), 'no reloaded line for a bad file')
    c3, b3, _ = connect(hp, new)
    exchange(c3, b3, fx, b'still-new')
    finish(hp, c3, b3, 'lobby2')
    h.check_eq(1, old.count(), 'old backend got nothing after the rejected reload')

    # Bad JSON syntax is rejected too, and a good file afterwards applies.
    hp.write_config(raw='{"servers": [')
    mark = hp.mark()
    hp.send_signal(signal.SIGHUP)
    rec = hp.wait_log(msg='reload_rejected', start=mark)
    h.check(os.path.basename(hp.config_path) in rec.get('err', ''), 'err names the file', rec)
    cfg['servers'] = [h.server('back', ['play.example.com'], old.addr)]
    hp.write_config(cfg)
    mark = hp.mark()
    hp.send_signal(signal.SIGHUP)
    rec = hp.wait_log(msg='reloaded', start=mark)
    h.check_eq('1', rec.get('servers'), 'reloaded servers=')
    c4, b4, _ = connect(hp, old)
    exchange(c4, b4, fx, b'back')
    finish(hp, c4, b4, 'back')


def test_reload_answers(binary):
  """Answers change with a reload too (routes and answers replace together)."""
  cfg_servers = [h.server('other', ['other.example.net'], '127.0.0.1:%d' % h.closed_port())]
  with h.Hopper(binary, servers=cfg_servers) as hp:
    cfg = dict(hp.config)
    cfg['answers'] = {'unknown_host': {'disconnect': 'reloaded text for {host}'}}
    hp.write_config(cfg)
    mark = hp.mark()
    hp.send_signal(signal.SIGHUP)
    hp.wait_log(msg='reloaded', start=mark)
    c = h.Client(hp.port)
    c.send(h.fixture('1.20.4-login.bin'))
    js = h.parse_disconnect(c.wait_eof(close=True))
    h.check_eq('reloaded text for play.example.com', js.get('text'), 'Disconnect text')


if __name__ == '__main__':
  h.main([test_reload_switches_backend_keeps_sessions, test_reload_answers])
