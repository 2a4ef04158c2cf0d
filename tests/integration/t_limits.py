#!/usr/bin/env python3
"""Limits: a denied CIDR costs one accept and one close; the global session cap closes at once;
the per-IP cap and the per-IP status/login token buckets answer the player (a MOTD or a
Disconnect) with their own close reasons, or drop silently when configured to."""

import json
import os
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

TEXT = 'Slow down, {host}.'


def status(hp):
  c = h.Client(hp.port)
  c.send(h.handshake('play.example.com', next_state=1) + h.status_request())
  return c


def login(hp):
  c = h.Client(hp.port)
  c.send(h.handshake('play.example.com') + h.login_start('Bot'))
  return c


def closed_counter(admin_port, reason):
  with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % admin_port, timeout=5) as r:
    for line in r.read().decode().splitlines():
      if line.startswith('hopper_sessions_closed_total{reason="%s"}' % reason):
        return int(float(line.rsplit(' ', 1)[1]))
  return None


def test_deny_and_global_cap(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'limits': {'deny': ['127.0.0.0/8']}, 'admin': {'listen': '127.0.0.1:0'}})
  with hp:
    admin = int(hp.wait_log(msg='admin_listening')['addr'].rsplit(':', 1)[1])
    for _ in range(5):
      c = login(hp)
      h.check_eq(b'', c.wait_eof(), 'denied: closed without a byte')
      c.close()
    time.sleep(0.2)
    h.check_eq(5, closed_counter(admin, 'denied'), 'denied counted')
    h.check_eq(0, len([r for _, r in hp.records if r and r.get('msg') == 'session']),
               'no log line per denied connection')
    h.check_eq(0, be_srv.count(), 'nothing reached the backend')
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'limits': {'sessions_max': 2}})
  with hp:
    fx = h.fixture('1.20.4-login.bin')
    held = []
    for _ in range(2):
      c = h.Client(hp.port)
      c.send(fx)
      held.append((c, be_srv.accept()))
    c = login(hp)
    h.check_eq(b'', c.wait_eof(), 'over the global cap: closed at once')
    c.close()
    for c, be in held:
      c.close()
      be.close()
    time.sleep(0.3)
    c = h.Client(hp.port)
    c.send(fx)
    be = be_srv.accept()
    h.check_eq(fx, be.wait_bytes(len(fx)), 'admitted again once sessions ended')
    c.close()
    be.close()


def test_per_ip_cap_answers(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'limits': {'sessions_per_ip_max': 1, 'text': TEXT}})
  with hp:
    fx = h.fixture('1.20.4-login.bin')
    c1 = h.Client(hp.port)
    c1.send(fx)
    be = be_srv.accept()
    c2 = login(hp)
    text = h.parse_disconnect(c2.wait_eof())['text']
    h.check('Slow down, play.example.com.' in text, 'Disconnect for the second session', text)
    h.check_eq('session_limit', hp.session_log(c2).get('reason'), 'reason')
    c2.close()
    c1.close()
    be.close()


def test_per_ip_cap_behind_a_proxy(binary):
  """Behind a trusted proxy the cap counts each client by its PROXY header, not the proxy."""
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'limits': {'sessions_per_ip_max': 1, 'text': TEXT},
                        'trusted_proxies': ['127.0.0.1']})
  with hp:
    opening = h.handshake('play.example.com') + h.login_start('Bot')
    c1 = h.Client(hp.port)
    c1.send(b'PROXY TCP4 203.0.113.9 192.0.2.1 40001 25565\r\n' + opening)
    be1 = be_srv.accept()
    c2 = h.Client(hp.port)
    c2.send(b'PROXY TCP4 203.0.113.9 192.0.2.1 40002 25565\r\n' + opening)
    text = h.parse_disconnect(c2.wait_eof())['text']
    h.check('Slow down' in text, 'the same client a second time is told', text)
    h.check_eq('session_limit', hp.session_log(('203.0.113.9', 40002)).get('reason'), 'reason')
    c3 = h.Client(hp.port)
    c3.send(b'PROXY TCP4 203.0.113.10 192.0.2.1 40003 25565\r\n' + opening)
    be3 = be_srv.accept()       # another client through the same proxy is admitted
    for x in (c1, c2, c3, be1, be3):
      x.close()
    hp.session_log(('203.0.113.9', 40001))
    c4 = h.Client(hp.port)      # its count went back down when its session ended
    c4.send(b'PROXY TCP4 203.0.113.9 192.0.2.1 40004 25565\r\n' + opening)
    be_srv.accept().close()
    c4.close()


def test_rate_limits(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'limits': {'status_per_s': 1, 'status_burst': 2, 'login_per_s': 1,
                                   'login_burst': 1, 'text': TEXT}})
  with hp:
    for i in range(2):
      c = status(hp)
      be = be_srv.accept()
      c.close()
      be.close()
    c = status(hp)
    frames = c.wait_frames(1)
    doc = h.parse_status_response(frames[0])
    h.check('Slow down' in json.dumps(doc), 'the third ping gets the limit MOTD', doc)
    c.close()
    h.check_eq('rate_limited', hp.session_log(c).get('reason'), 'status reason')
    c = login(hp)                       # the login bucket is separate: still has its token
    be = be_srv.accept()
    c.close()
    be.close()
    c = login(hp)
    text = h.parse_disconnect(c.wait_eof())['text']
    h.check('Slow down' in text, 'the second login is told', text)
    h.check_eq('rate_limited', hp.session_log(c).get('reason'), 'login reason')
    c.close()
    time.sleep(1.2)                     # one token back
    c = login(hp)
    be = be_srv.accept()
    c.close()
    be.close()


def test_limits_come_before_any_answer(binary):
  """A limited status ping for an unknown host gets the limit MOTD whether its packets arrive in
  one segment or two: hopper answers nothing before the limits have had their say."""
  hp = h.Hopper(binary, config={'limits': {'status_per_s': 1, 'status_burst': 1, 'text': TEXT}})
  with hp:
    opening = h.handshake('nowhere.example.com', next_state=1)
    c = h.Client(hp.port)
    c.send(opening + h.status_request())
    doc = h.parse_status_response(c.wait_frames(1)[0])
    h.check('No server at' in json.dumps(doc), 'the first ping: the unknown-host MOTD', doc)
    c.close()
    for split in (False, True):
      c = h.Client(hp.port)
      if split:
        c.send(opening)
        time.sleep(0.05)
        c.send(h.status_request())
      else:
        c.send(opening + h.status_request())
      doc = h.parse_status_response(c.wait_frames(1)[0])
      h.check('Slow down' in json.dumps(doc), 'limited (%s): the limit MOTD' %
              ('two segments' if split else 'one segment'), doc)
      c.send(h.ping(12345678))
      c.wait_frames(2)             # the pong comes too
      c.close()
      h.check_eq('rate_limited', hp.session_log(c).get('reason'), 'reason')


def test_per_ip_cap_holds_against_slowloris(binary):
  """Connections over the per-IP cap that never say their intent: a few wait to be told, the
  rest are closed at accept, so one address cannot hold more than the cap plus those few."""
  hp = h.Hopper(binary, config={'limits': {'sessions_per_ip_max': 2},
                                'timeouts_ms': {'handshake': 30000},
                                'admin': {'listen': '127.0.0.1:0'}})
  with hp:
    held = [h.Client(hp.port, record=False) for _ in range(2 + 8)]   # the cap, then 8 told
    time.sleep(0.3)
    extra = h.Client(hp.port)
    h.check_eq(b'', extra.wait_eof(timeout=3), 'the 11th is closed at accept')
    extra.close()
    admin = int(hp.wait_log(msg='admin_listening')['addr'].rsplit(':', 1)[1])
    h.check_eq(1, closed_counter(admin, 'session_limit'), 'counted')
    other = h.Client(hp.port, source='127.0.0.2')     # another address is not affected
    other.send(h.handshake('play.example.com', next_state=1) + h.status_request())
    other.wait_frames(1)
    other.close()
    for c in held:
      c.close()


def test_silent(binary):
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], '127.0.0.1:9')],
                config={'limits': {'status_per_s': 1, 'status_burst': 1, 'silent': True}})
  with hp:
    first = status(hp)
    first.wait_frames(1)           # answered (offline MOTD): its token is spent
    first.close()
    c = status(hp)
    h.check_eq(b'', c.wait_eof(), 'silent: no answer')
    c.close()


if __name__ == '__main__':
  h.main([test_deny_and_global_cap, test_per_ip_cap_answers, test_per_ip_cap_behind_a_proxy,
          test_rate_limits, test_limits_come_before_any_answer,
          test_per_ip_cap_holds_against_slowloris, test_silent])
