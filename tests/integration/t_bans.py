#!/usr/bin/env python3
"""Temporary bans: strikes (malformed openings, limits hit) within the window ban an IP; a banned
IP costs one accept and one close; bans are listed at /bans, kept in SQLite across restarts, and
lifted or added with `hopper bans`; exempt CIDRs and the window are honoured; bans run out."""

import json
import os
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

BAD = b'\xff\xff\xff\xff\xff\xff'   # a VarInt with a sixth byte: bad_varint


def admin_port(hp):
  return int(hp.wait_log(msg='admin_listening')['addr'].rsplit(':', 1)[1])


def get(port, path):
  with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=5) as r:
    return r.read().decode()


def counter(port, reason):
  for line in get(port, '/metrics').splitlines():
    if line.startswith('hopper_sessions_closed_total{reason="%s"}' % reason):
      return int(float(line.rsplit(' ', 1)[1]))
  return None


def bad_opening(hp, source, reason='bad_varint'):
  c = h.Client(hp.port, source=source)
  c.send(BAD)
  c.wait_eof(close=True)
  h.check_eq(reason, hp.session_log(c).get('reason'), 'strike from %s' % source)


def refused_silently(hp, source):
  """Closed with no byte and no session line: the ban is checked at accept."""
  mark = hp.mark()
  c = h.Client(hp.port, source=source)
  try:
    c.send(h.handshake('play.example.com') + h.login_start('Bot'))
  except OSError:
    pass                          # the close may beat the send
  h.check_eq(b'', c.wait_eof(close=True), 'banned %s: closed without a byte' % source)
  time.sleep(0.1)
  h.check_eq([], hp.find_logs(start=mark, msg='session'), 'no session line for a banned IP')


def logs_in(hp, be_srv, source):
  c = h.Client(hp.port, source=source)
  c.send(h.handshake('play.example.com') + h.login_start('Bot'))
  be = be_srv.accept()
  c.close()
  be.close()


def cli(binary, hp, *args):
  return subprocess.run([binary, 'bans', '--config', hp.config_path] + list(args),
                        capture_output=True, text=True, timeout=30)


def ban_config(hp_dir, **ban):
  return {'limits': {'ban': dict({'strikes': 3, 'window_s': 60, 'duration_s': 600}, **ban)},
          'store': {'path': os.path.join(hp_dir, 'hopper.db')},
          'admin': {'listen': '127.0.0.1:0'}}


def test_strikes_ban_list_restart_lift(binary):
  be_srv = h.Backend()
  servers = [h.server('lobby', ['play.example.com'], be_srv.addr)]
  hp = h.Hopper(binary, servers=servers, start=False)
  hp.config.update(ban_config(hp.dir))
  hp.write_config(hp.config)
  hp.start()
  with hp:
    admin = admin_port(hp)
    for _ in range(3):
      bad_opening(hp, '127.0.0.2')
    ban = hp.wait_log(msg='ban', client='127.0.0.2')
    h.check_eq(('bad_varint', '3', '600'), (ban['reason'], ban['strikes'], ban['ban_s']),
               'ban line')
    refused_silently(hp, '127.0.0.2')
    refused_silently(hp, '127.0.0.2')
    h.check_eq(2, counter(admin, 'banned'), 'banned connections counted')
    logs_in(hp, be_srv, '127.0.0.3')     # another client is not touched
    bans = json.loads(get(admin, '/bans'))['bans']
    h.check_eq(['127.0.0.2'], [b['ip'] for b in bans], '/bans lists the ban')
    h.check(590 <= bans[0]['seconds_left'] <= 600, 'about 600 s left', bans[0])
    h.check_eq('bad_varint', bans[0]['reason'], '/bans reason')
    h.wait_until(lambda: '127.0.0.2' in cli(binary, hp, 'list').stdout, 10, 'the ban is stored')

  hp2 = h.Hopper(binary, servers=servers, start=False)   # same file, new process
  hp2.config.update(ban_config(hp.dir))
  hp2.write_config(hp2.config)
  hp2.start()
  with hp2:
    h.check_eq('1', hp2.wait_log(msg='bans_loaded')['bans'], 'the ban is loaded at start')
    refused_silently(hp2, '127.0.0.2')
    r = cli(binary, hp2, 'lift', '127.0.0.2')
    h.check(r.returncode == 0, 'hopper bans lift exits 0', r.stderr)
    hp2.wait_log(msg='ban_lifted', client='127.0.0.2')
    logs_in(hp2, be_srv, '127.0.0.2')
    h.check_eq([], json.loads(get(admin_port(hp2), '/bans'))['bans'], '/bans is empty again')
    r = cli(binary, hp2, 'lift', '127.0.0.2')
    h.check(r.returncode == 1, 'lifting an IP that is not banned fails', r.stdout)
    r = cli(binary, hp2, 'add', '::ffff:127.0.0.9', '120')     # an operator's ban, any form
    h.check(r.returncode == 0, 'hopper bans add exits 0', r.stderr)
    hp2.wait_log(msg='ban_added', client='127.0.0.9')
    refused_silently(hp2, '127.0.0.9')
    r = cli(binary, hp2, 'add', 'not-an-ip')
    h.check(r.returncode == 2, 'a bad address is a usage error', r.stderr)
    h.check('not an IPv4 or IPv6 address' in r.stderr, 'and says why', r.stderr)


def test_limits_strike_too(binary):
  """An IP that keeps hitting its status bucket is banned like one sending garbage."""
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], '127.0.0.1:9')],
                start=False)
  hp.config.update(ban_config(hp.dir))
  hp.config['limits'].update({'status_per_s': 1, 'status_burst': 1})
  hp.write_config(hp.config)
  hp.start()
  with hp:
    for i in range(4):            # one answered ping, then three refused: three strikes
      c = h.Client(hp.port, source='127.0.0.4')
      c.send(h.handshake('play.example.com', next_state=1) + h.status_request())
      c.wait_frames(1)
      c.close()
      want = 'rate_limited' if i else 'server_not_running'
      reason = hp.session_log(c).get('reason')
      if i == 0:
        h.check(reason != 'rate_limited', 'the first ping has a token', reason)
      else:
        h.check_eq(want, reason, 'ping %d' % i)
    h.check_eq('rate_limited', hp.wait_log(msg='ban', client='127.0.0.4')['reason'], 'ban')
    refused_silently(hp, '127.0.0.4')


def test_exempt_window_expiry(binary):
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], '127.0.0.1:9')],
                start=False)
  hp.config.update(ban_config(hp.dir, window_s=1, duration_s=1, exempt=['127.0.0.6/32']))
  hp.write_config(hp.config)
  hp.start()
  with hp:
    for _ in range(5):
      bad_opening(hp, '127.0.0.6')   # exempt: never banned
    for _ in range(2):
      bad_opening(hp, '127.0.0.7')
    time.sleep(1.2)                  # the window closes: the count starts over
    for _ in range(2):
      bad_opening(hp, '127.0.0.7')
    h.check_eq([], hp.find_logs(msg='ban'), 'no ban: exempt, or strikes in different windows')
    bad_opening(hp, '127.0.0.7')     # a third strike in this window
    hp.wait_log(msg='ban', client='127.0.0.7')
    refused_silently(hp, '127.0.0.7')
    time.sleep(1.2)                  # duration_s 1: the ban ran out
    bad_opening(hp, '127.0.0.7')


def test_behind_a_trusted_proxy(binary):
  """The client's own address (from the PROXY header) is struck and banned, never the proxy's;
  such a client is refused once its header is read, with its own close reason."""
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], '127.0.0.1:9')],
                start=False)
  hp.config.update(ban_config(hp.dir))
  hp.config['trusted_proxies'] = ['127.0.0.1']
  hp.write_config(hp.config)
  hp.start()
  header = b'PROXY TCP4 203.0.113.9 192.0.2.1 51234 25565\r\n'
  with hp:
    for i in range(3):
      c = h.Client(hp.port)
      c.send(b'PROXY TCP4 203.0.113.9 192.0.2.1 %d 25565\r\n' % (51000 + i) + BAD)
      c.wait_eof(close=True)
    hp.wait_log(msg='ban', client='203.0.113.9')
    c = h.Client(hp.port)
    c.send(header + h.handshake('play.example.com') + h.login_start('Bot'))
    h.check_eq(b'', c.wait_eof(close=True), 'the banned client gets no answer')
    h.check_eq('banned', hp.session_log(('203.0.113.9', 51234)).get('reason'), 'reason')
    c = h.Client(hp.port)             # the proxy itself and its other clients are fine
    c.send(b'PROXY TCP4 203.0.113.10 192.0.2.1 51234 25565\r\n' +
           h.handshake('play.example.com', next_state=1) + h.status_request())
    h.check(len(c.wait_frames(1)) == 1, 'another client behind the proxy is answered')
    c.close()


def test_config_errors(binary):
  for ban, path in [({'strikes': 'x'}, 'limits.ban.strikes'),
                    ({'window_s': 0}, 'limits.ban.window_s'),
                    ({'exempt': ['nope']}, 'limits.ban.exempt[0]'),
                    ({'banish': 1}, 'limits.ban.banish')]:
    hp = h.Hopper(binary, start=False, config={'limits': {'ban': ban}})
    r = subprocess.run([binary, 'check-config', hp.config_path], capture_output=True, text=True,
                       timeout=30)
    h.check_eq(1, r.returncode, 'check-config rejects %r' % ban)
    h.check(path in r.stderr, 'names %s' % path, r.stderr)


if __name__ == '__main__':
  h.main([test_strikes_ban_list_restart_lift, test_limits_strike_too, test_exempt_window_expiry,
          test_behind_a_trusted_proxy, test_config_errors])
