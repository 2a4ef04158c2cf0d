#!/usr/bin/env python3
"""hopper's own answers: unknown host (login Disconnect, status MOTD + Pong, or a silent drop),
unreachable backend (refused, connect timeout), and legacy 1.6 pings (kick, or forwarded)."""

import os
import struct
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

UNKNOWN = 'Nowhere.Example.ORG.'
UNKNOWN_NORM = 'nowhere.example.org'
DEFAULT_UNREACHABLE = '{server} cannot be reached right now. Try again in a moment.'


def other_server():
  """A config whose only server is not play.example.com, so the captured fixtures are unknown."""
  return [h.server('other', ['other.example.net'], '127.0.0.1:%d' % h.closed_port())]


def login_opening(addr, protocol=765, name='Alex'):
  return h.handshake(addr, 25565, protocol, 2) + h.login_start(name, bytes(range(16)), protocol)


def expect_disconnect(c, text, what):
  data = c.wait_eof(close=True)
  js = h.parse_disconnect(data)
  h.check(isinstance(js, dict), '%s: Disconnect reason is a JSON object' % what, js)
  h.check_eq(text, js.get('text'), '%s: Disconnect text' % what)
  return data


def status_exchange(c, opening, protocol, motd, version_name='hopper', players_max=0,
                    what='status', payload=0x1122334455667788):
  """Sends opening (Handshake + Status Request), checks the Status Response, then Ping -> Pong.
  Returns all bytes the client received."""
  c.send(opening)
  body = c.wait_frames(1)[0]
  js = h.parse_status_response(body)
  desc = js.get('description')
  h.check(isinstance(desc, dict), '%s: description is a text component' % what, js)
  h.check_eq(motd, desc.get('text'), '%s: description.text' % what)
  h.check_eq(protocol, js.get('version', {}).get('protocol'), '%s: version.protocol echoes' % what)
  h.check_eq(version_name, js.get('version', {}).get('name'), '%s: version.name' % what)
  h.check_eq(0, js.get('players', {}).get('online'), '%s: players.online' % what)
  h.check_eq(players_max, js.get('players', {}).get('max'), '%s: players.max' % what)
  first = h.frame(body)
  c.send(h.ping(payload))
  pong = h.frame(b'\x01' + struct.pack('>q', payload))
  data = c.wait_bytes(len(first) + len(pong))
  h.check_eq(first + pong, data[:len(first) + len(pong)], '%s: Pong echoes the payload' % what)
  return data


def check_session(hp, c, what, **want):
  rec = hp.session_log(c)
  for k, v in want.items():
    h.check_eq(str(v), rec.get(k), '%s: session line %s=' % (what, k))
  return rec


def test_unknown_host_login_disconnect(binary):
  cfg = {'answers': {'unknown_host': {'disconnect': 'No "server" for {host}, sorry ({host})'}}}
  with h.Hopper(binary, servers=other_server(), config=cfg) as hp:
    c = h.Client(hp.port)
    opening = login_opening(UNKNOWN)
    c.send(opening)
    data = expect_disconnect(c, 'No "server" for %s, sorry (%s)' % (UNKNOWN_NORM, UNKNOWN_NORM),
                             'custom text')
    check_session(hp, c, 'custom', reason='no_route', host=UNKNOWN_NORM, server='-',
                  intent='login', protocol=765, player='Alex',
                  uuid='00010203-0405-0607-0809-0a0b0c0d0e0f',
                  bytes_c2b=len(opening), bytes_b2c=len(data))
  # Defaults, with a captured 1.8.9 login.
  with h.Hopper(binary, servers=other_server()) as hp:
    c = h.Client(hp.port)
    fx = h.fixture('1.8.9-login.bin')
    c.send(fx)
    data = expect_disconnect(c, 'There is no server at play.example.com.', 'default text')
    check_session(hp, c, 'default', reason='no_route', host='play.example.com', intent='login',
                  protocol=47, player='Steve_123', bytes_c2b=len(fx), bytes_b2c=len(data))


def test_unknown_host_status_motd(binary):
  cfg = {'answers': {'unknown_host': {'motd': '\u00a7cNothing "at" {host} \\o/'},
                     'version_name': 'gw', 'players_max': 42}}
  with h.Hopper(binary, servers=other_server(), config=cfg) as hp:
    for name, proto in (('1.8.9-status.bin', 47), ('1.20.4-status.bin', 765),
                        ('26.1-status.bin', 775)):
      c = h.Client(hp.port)
      fx = h.fixture(name)
      data = status_exchange(c, fx, proto, '\u00a7cNothing "at" play.example.com \\o/', 'gw', 42,
                             name)
      c.close()
      check_session(hp, c, name, reason='no_route', host='play.example.com', server='-',
                    intent='status', protocol=proto, bytes_c2b=len(fx) + 10)
    # A constructed status handshake for a mixed-case host with a trailing dot.
    c = h.Client(hp.port)
    opening = h.handshake(UNKNOWN, 25565, 340, 1) + h.status_request()
    status_exchange(c, opening, 340, '\u00a7cNothing "at" %s \\o/' % UNKNOWN_NORM, 'gw', 42)
    c.close()
    check_session(hp, c, 'constructed', reason='no_route', host=UNKNOWN_NORM, protocol=340)
  with h.Hopper(binary, servers=other_server()) as hp:
    c = h.Client(hp.port)
    status_exchange(c, h.fixture('1.20.4-status.bin'), 765, '\u00a7cNo server at play.example.com')
    c.close()
    check_session(hp, c, 'default motd', reason='no_route')


def test_unknown_host_status_drop(binary):
  cfg = {'answers': {'unknown_host': {'status': 'drop'}}}
  with h.Hopper(binary, servers=other_server(), config=cfg) as hp:
    c = h.Client(hp.port)
    fx = h.fixture('1.20.4-status.bin')
    c.send(fx)
    h.check_eq(b'', c.wait_eof(close=True), 'dropped status ping gets EOF and no bytes')
    check_session(hp, c, 'drop', reason='no_route', intent='status', bytes_c2b=len(fx),
                  bytes_b2c=0)
    # Logins to unknown hosts still get their Disconnect.
    c = h.Client(hp.port)
    c.send(h.fixture('1.20.4-login.bin'))
    expect_disconnect(c, 'There is no server at play.example.com.', 'login under drop')
    check_session(hp, c, 'login under drop', reason='no_route', intent='login')


def test_backend_refused(binary):
  port = h.closed_port()
  servers = [h.server('lobby', ['play.example.com'], '127.0.0.1:%d' % port)]
  with h.Hopper(binary, servers=servers) as hp:
    c = h.Client(hp.port)
    fx = h.fixture('1.20.4-login.bin')
    c.send(fx)
    data = expect_disconnect(c, DEFAULT_UNREACHABLE.replace('{server}', 'lobby'), 'refused login')
    check_session(hp, c, 'refused login', reason='backend_unreachable', server='lobby',
                  host='play.example.com', intent='login', player='Steve_123',
                  bytes_c2b=len(fx), bytes_b2c=len(data))
    c = h.Client(hp.port)
    fx = h.fixture('1.12.2-status.bin')
    status_exchange(c, fx, 340, '\u00a7cServer offline', what='refused status')
    c.close()
    check_session(hp, c, 'refused status', reason='backend_unreachable', server='lobby',
                  intent='status', protocol=340)
  cfg = {'answers': {'unreachable': {'motd': '{server} @ {host} is down',
                                     'disconnect': '{server} ({host}) is down'}}}
  with h.Hopper(binary, servers=servers, config=cfg) as hp:
    c = h.Client(hp.port)
    c.send(h.fixture('trailing-dot-1.20.4-login.bin'))
    expect_disconnect(c, 'lobby (play.example.com) is down', 'custom refused login')
    check_session(hp, c, 'custom refused login', reason='backend_unreachable')
    c = h.Client(hp.port)
    status_exchange(c, h.fixture('trailing-dot-1.20.4-status.bin'), 765,
                    'lobby @ play.example.com is down', what='custom refused status')
    c.close()
    check_session(hp, c, 'custom refused status', reason='backend_unreachable')


def test_connect_timeout(binary):
  bl = h.BlackholeListener()
  try:
    if not bl.full:
      raise h.Skip('could not fill a listen(1) accept queue on this kernel')
    servers = [h.server('slow', ['play.example.com'], bl.addr)]
    with h.Hopper(binary, servers=servers, config={'timeouts_ms': {'connect': 500}}) as hp:
      c = h.Client(hp.port)
      fx = h.fixture('1.20.4-login.bin')
      c.send(fx)
      data = expect_disconnect(c, DEFAULT_UNREACHABLE.replace('{server}', 'slow'),
                               'connect timeout login')
      check_session(hp, c, 'login', reason='connect_timeout', server='slow', intent='login',
                    bytes_b2c=len(data))
      c = h.Client(hp.port)
      status_exchange(c, h.fixture('1.20.4-status.bin'), 765, '\u00a7cServer offline',
                      what='connect timeout status')
      c.close()
      check_session(hp, c, 'status', reason='connect_timeout', server='slow', intent='status')
  finally:
    bl.close()


def test_legacy_ping(binary):
  be_srv = h.Backend()
  servers = [h.server('lobby', ['play.example.com'], be_srv.addr)]
  fx = h.fixture('legacy-fe01fa-1.6.4.bin')
  # Unknown host: hopper answers with a kick.
  cfg = {'answers': {'unknown_host': {'motd': 'none at {host}'}, 'players_max': 7}}
  with h.Hopper(binary, servers=servers, config=cfg) as hp:
    c = h.Client(hp.port)
    c.send(h.fixture('legacy-fe01fa-1.6.4-port25577.bin'))
    data = c.wait_eof(close=True)
    text = h.parse_legacy_kick(data)
    parts = text.split('\x00')
    h.check(len(parts) == 6, 'kick has 6 fields', text)
    h.check_eq('\u00a71', parts[0], 'kick starts with \u00a71')
    h.check_eq('none at mc.example.net', parts[3], 'kick motd')
    h.check_eq(['0', '7'], parts[4:], 'kick online/max')
    h.check(parts[1].isdigit(), 'kick protocol is a number', text)
    check_session(hp, c, 'legacy unknown', reason='no_route', intent='legacy',
                  host='mc.example.net', bytes_b2c=len(data))
    # Known host: forwarded byte-identical, and the backend's answer relayed.
    c = h.Client(hp.port)
    c.send(fx)
    be = be_srv.accept()
    h.check_eq(fx, be.wait_bytes(len(fx)), 'legacy ping replayed byte-identical')
    resp = h.fixture('1.20.4-legacy-fe01fa-1.6.4-response.bin')
    be.send(resp)
    be.close()
    h.check_eq(resp, c.wait_eof(close=True), 'backend kick relayed')
    c.close()
    check_session(hp, c, 'legacy known', reason='backend_closed', intent='legacy',
                  host='play.example.com', server='lobby', bytes_c2b=len(fx),
                  bytes_b2c=len(resp))
    # FE 01 carries no host: no route without a default server -> kick.
    c = h.Client(hp.port)
    c.send(h.fixture('legacy-fe01.bin'))
    text = h.parse_legacy_kick(c.wait_eof(close=True))
    h.check(text.startswith('\u00a71\x00'), 'FE 01 kick form', text)
    check_session(hp, c, 'fe01 unknown', reason='no_route', intent='legacy')


def test_legacy_ping_default_server(binary):
  """FE 01 (no host) goes to default_server after the client falls silent, byte-identical."""
  be_srv = h.Backend()
  servers = [h.server('lobby', ['play.example.com'], be_srv.addr)]
  with h.Hopper(binary, servers=servers, config={'default_server': 'lobby'}) as hp:
    for name in ('legacy-fe01.bin', 'legacy-fe.bin'):
      fx = h.fixture(name)
      c = h.Client(hp.port)
      c.send(fx)
      be = be_srv.accept()
      h.check_eq(fx, be.wait_bytes(len(fx)), '%s replayed to the default server' % name)
      resp = h.fixture('1.20.4-%s-response.bin' % name[:-4])
      be.send(resp)
      be.close()
      h.check_eq(resp, c.wait_eof(close=True), '%s: backend kick relayed' % name)
      c.close()
      check_session(hp, c, name, reason='backend_closed', intent='legacy', server='lobby')


def test_hostile_strings_in_logs(binary):
  """Addresses and player names with spaces, quotes, '=', newlines and escapes cannot forge or
  break log lines: each session line parses back to the exact values, and the Disconnect is valid
  JSON."""
  cases = [('x y"z=w\nts=2026 level=info msg=forged.Example', 'Al"ex =1'),
           ('tab\there.example', 'Alex'),
           ('\u00e9t\u00e9.example', 'Alex')]
  with h.Hopper(binary, servers=other_server()) as hp:
    for addr, name in cases:
      c = h.Client(hp.port)
      c.send(h.handshake(addr, 25565, 765, 2) + h.login_start(name, b'\x22' * 16))
      js = h.parse_disconnect(c.wait_eof(close=True))
      h.check(isinstance(js.get('text'), str), 'Disconnect text is a string', js)
      rec = check_session(hp, c, repr(addr), reason='no_route', host=addr.lower(), player=name)
    h.check(not hp.find_logs(msg='forged'), 'no forged log line')
    unparsed = [l for i, l in enumerate(hp.lines) if hp.records[i][1] is None]
    h.check(not unparsed, 'every stderr line is one logfmt record', unparsed)


if __name__ == '__main__':
  h.main([test_unknown_host_login_disconnect, test_unknown_host_status_motd,
          test_unknown_host_status_drop, test_backend_refused, test_connect_timeout,
          test_legacy_ping, test_legacy_ping_default_server, test_hostile_strings_in_logs])
