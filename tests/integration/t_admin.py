#!/usr/bin/env python3
"""The admin listener: /healthz, /readyz (true once routes are loaded, false while draining),
/metrics in the Prometheus text format with counters by close reason and by server, /servers;
and a flood of random hostnames that must not add a single series."""

import json
import os
import random
import signal
import sys
import urllib.error
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402


def admin_port(hp):
  rec = hp.wait_log(msg='admin_listening')
  return int(rec['addr'].rsplit(':', 1)[1])


def get(port, path):
  try:
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path), timeout=5) as r:
      return r.status, r.read().decode()
  except urllib.error.HTTPError as e:
    return e.code, e.read().decode()


def series(text):
  """{name{labels}: value} for every sample line."""
  out = {}
  for line in text.splitlines():
    if line and not line.startswith('#'):
      key, _, value = line.rpartition(' ')
      out[key] = float(value)
  return out


def login(hp, host, logged=True):
  c = h.Client(hp.port)
  c.send(h.handshake(host) + h.login_start('Bot'))
  c.wait_eof()
  c.close()
  if logged:
    hp.session_log(c)          # counted before it is logged: /metrics now includes it


def test_endpoints_and_counters(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'admin': {'listen': '127.0.0.1:0'}})
  with hp:
    port = admin_port(hp)
    h.check_eq((200, 'ok\n'), get(port, '/healthz'), '/healthz')
    h.check_eq(200, get(port, '/readyz')[0], '/readyz once routes are loaded')
    h.check_eq(404, get(port, '/nope')[0], 'unknown path')
    before = series(get(port, '/metrics')[1])
    # one relayed session and three refusals
    c = h.Client(hp.port)
    fx = h.fixture('1.20.4-login.bin')
    c.send(fx)
    be = be_srv.accept()
    be.wait_bytes(len(fx))
    status, body = get(port, '/servers')
    view = json.loads(body)
    lobby = [s for s in view['servers'] if s['id'] == 'lobby'][0]
    h.check_eq(1, lobby['sessions'], '/servers live sessions while a player is relayed')
    h.check_eq('running', lobby['state'], '/servers state')
    after_open = series(get(port, '/metrics')[1])
    h.check_eq(1.0, after_open.get('hopper_server_sessions{server="lobby"}'), 'live gauge')
    c.close()
    be.wait_eof()
    be.close()
    hp.session_log(c)
    for _ in range(3):
      login(hp, 'nowhere.example.com')
    m = series(get(port, '/metrics')[1])
    h.check_eq(before.get('hopper_sessions_closed_total{reason="no_route"}', 0) + 3,
               m.get('hopper_sessions_closed_total{reason="no_route"}'), 'no_route counter')
    h.check_eq(1.0, m.get('hopper_sessions_closed_total{reason="client_closed"}'),
               'client_closed counter')
    h.check_eq(0.0, m.get('hopper_server_sessions{server="lobby"}'), 'live gauge back to 0')
    h.check(m.get('hopper_server_bytes_total{server="lobby",direction="c2b"}', 0) >= len(fx),
            'bytes counted for the server')
    h.check(m.get('hopper_handshake_seconds_count', 0) >= 4, 'handshake histogram counts')
    h.check_eq(1.0, m.get('hopper_backend_connect_seconds_count'), 'connect histogram counts')


def test_random_hosts_add_no_series(binary):
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], '127.0.0.1:9')],
                config={'admin': {'listen': '127.0.0.1:0'}})
  with hp:
    port = admin_port(hp)
    login(hp, 'warmup.example.com')
    first = set(series(get(port, '/metrics')[1]))
    rnd = random.Random(7)
    for i in range(300):
      host = ''.join(rnd.choice('abcdefghijklmnopqrstuvwxyz0123456789') for _ in range(20))
      if i % 2:
        login(hp, host + '.scan.example', logged=False)
      else:
        c = h.Client(hp.port)
        c.send(h.handshake(host + '.scan.example', next_state=1) + h.status_request())
        c.close()
    text = get(port, '/metrics')[1]
    h.check_eq(sorted(first), sorted(series(text)), 'the same series after 300 random hosts')
    h.check('scan.example' not in text, 'no client hostname in /metrics')


def test_readyz_false_while_draining(binary):
  be_srv = h.Backend()
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'admin': {'listen': '127.0.0.1:0'}, 'drain_s': 30})
  with hp:
    port = admin_port(hp)
    c = h.Client(hp.port)
    c.send(h.fixture('1.20.4-login.bin'))
    be = be_srv.accept()
    mark = hp.mark()
    hp.send_signal(signal.SIGTERM)
    hp.wait_log(msg='draining', start=mark)
    h.check_eq(503, get(port, '/readyz')[0], '/readyz while draining')
    h.check_eq(200, get(port, '/healthz')[0], '/healthz while draining')
    c.close()
    be.wait_eof()
    be.close()
    rc = hp.wait_exit()
    hp.stopped = True
    hp.check_exit(rc)


def test_served_with_many_sessions_open(binary):
  """Past 1,024 open descriptors the admin listener still answers (select() cannot), and hopper
  raised its own descriptor limit to hold them."""
  import resource
  soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
  if hard != resource.RLIM_INFINITY and hard < 1400:
    raise h.Skip('the descriptor limit (%d) is too low for 1,200 sockets' % hard)
  resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], '127.0.0.1:9')],
                config={'admin': {'listen': '127.0.0.1:0'}, 'timeouts_ms': {'handshake': 60000}})
  held = []
  with hp:
    port = admin_port(hp)
    h.check(int(hp.wait_log(msg='ready')['nofile']) >= 1400, 'hopper raised its nofile limit')
    for _ in range(1200):
      held.append(h.Client(hp.port, record=False))
    h.wait_until(lambda: 'hopper_connections_accepted_total 1200' in get(port, '/metrics')[1],
                 10, 'all 1,200 accepted')
    for path in ('/healthz', '/readyz', '/servers', '/bans'):
      h.check_eq(200, get(port, path)[0], path + ' with 1,200 sessions open')
    for c in held:
      c.close()


def test_bad_admin_listen(binary):
  cfg = os.path.join(h.mkdtemp(), 'bad.json')
  with open(cfg, 'w') as f:
    json.dump({'servers': [], 'admin': {'listen': 'localhost:9565'}}, f)
  rc, out, err = h.run_hopper(binary, ['--config', cfg])
  h.check_eq(1, rc, 'exit code for an admin address that is not an IP')
  h.check('admin' in err, 'the error names admin', err)


if __name__ == '__main__':
  h.main([test_endpoints_and_counters, test_random_hosts_add_no_series,
          test_readyz_false_while_draining, test_served_with_many_sessions_open,
          test_bad_admin_listen])
