#!/usr/bin/env python3
"""Config validation: `hopper check-config FILE` exits 0 for a good file and 1 for a bad one, with
the file name and the JSON path on stderr; `hopper --config BAD` refuses to start the same way."""

import json
import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

GOOD = {
    'listen': ['127.0.0.1:0', '[::1]:0'],
    'workers': 2,
    'provider': 'static',
    'servers': [
        {'id': 'lobby', 'hosts': ['lobby.example.com', '*.lobby.example.com'],
         'backend': '127.0.0.1:25566'},
        {'id': 'survival', 'hosts': ['survival.example.com'], 'backend': '[::1]:25567'},
    ],
    'default_server': 'lobby',
    'timeouts_ms': {'handshake': 5000, 'connect': 5000, 'idle': 0},
    'drain_s': 30,
    'limits': {'preread_bytes_max': 4096, 'address_bytes_max': 1024},
    'answers': {
        'version_name': 'hopper', 'players_max': 0,
        'unknown_host': {'status': 'motd', 'motd': '\u00a7cNo server at {host}',
                         'disconnect': 'There is no server at {host}.'},
        'unreachable': {'motd': '\u00a7cServer offline',
                        'disconnect': '{server} cannot be reached right now.'},
    },
    'store': {'path': 'var/hopper.db'},
    'api': {'base_url': 'http://127.0.0.1:8080', 'token_file': '/run/secrets/hopper-token',
            'refresh_s': 10},
    'admin': {'listen': '127.0.0.1:9565'},
    'log': {'format': 'logfmt', 'level': 'info'},
}

MIN = {'servers': [{'id': 'a', 'hosts': ['a.example.com'], 'backend': '127.0.0.1:1'}]}


def variant(base, edit):
  d = json.loads(json.dumps(base))
  edit(d)
  return json.dumps(d, indent=2)


def _set(path, value):
  def edit(d):
    cur = d
    for k in path[:-1]:
      cur = cur[k]
    cur[path[-1]] = value
  return edit


# (file stem, contents, strings stderr must contain besides the file name)
BAD = [
    ('syntax', '{"servers": [ {"id": "a", "hosts": ["a.example.com"], }\n', []),
    ('backend', variant(GOOD, _set(['servers', 1, 'backend'], 'nope')), ['servers[1].backend']),
    ('unknown-top', variant(GOOD, _set(['listne'], ['127.0.0.1:0'])), ['listne']),
    ('unknown-nested', variant(GOOD, _set(['timeouts_ms', 'handshak'], 10)),
     ['timeouts_ms', 'handshak']),
    ('dup-host', variant(GOOD, _set(['servers', 1, 'hosts'], ['survival.example.com',
                                                               'lobby.example.com'])),
     ['servers[1].hosts[1]']),
    ('dup-host-case', variant(GOOD, _set(['servers', 1, 'hosts'], ['LOBBY.Example.com.'])),
     ['servers[1].hosts[0]']),
    ('default-server', variant(GOOD, _set(['default_server'], 'nosuch')), ['default_server']),
    ('handshake-type', variant(GOOD, _set(['timeouts_ms', 'handshake'], '5s')),
     ['timeouts_ms.handshake']),
    ('no-servers', json.dumps({'listen': ['127.0.0.1:0']}), ['servers']),
    ('dup-id', variant(GOOD, _set(['servers', 1, 'id'], 'lobby')), ['servers[1].id']),
    ('preread-range', variant(GOOD, _set(['limits', 'preread_bytes_max'], 100)),
     ['limits.preread_bytes_max']),
    ('unknown-status', variant(GOOD, _set(['answers', 'unknown_host', 'status'], 'shout')),
     ['answers.unknown_host.status']),
]


def write(dirname, stem, text):
  path = os.path.join(dirname, 'cfg-%s.json' % stem)
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text)
  return path


def test_check_config_good(binary):
  d = h.mkdtemp(prefix='hopper-cfg-')
  for stem, cfg in (('good', GOOD), ('minimal', MIN)):
    path = write(d, stem, json.dumps(cfg, indent=2, ensure_ascii=False))
    rc, out, err = h.run_hopper(binary, ['check-config', path])
    h.check_eq(0, rc, 'check-config %s exit status (stderr: %s)' % (stem, err.strip()))


def test_check_config_bad(binary):
  d = h.mkdtemp(prefix='hopper-cfg-')
  failures = []
  for stem, text, needles in BAD:
    path = write(d, stem, text)
    rc, out, err = h.run_hopper(binary, ['check-config', path])
    msg = err.strip()
    if rc != 1:
      failures.append('%s: exit %r, want 1 (stderr %r)' % (stem, rc, msg))
      continue
    for n in [os.path.basename(path)] + needles:
      if n not in err:
        failures.append('%s: stderr lacks %r: %r' % (stem, n, msg))
    print('  %-15s %s' % (stem, msg.splitlines()[-1] if msg else '(no stderr)'))
  h.check(not failures, 'check-config on bad files', '\n' + '\n'.join(failures))


def test_start_with_bad_config(binary):
  d = h.mkdtemp(prefix='hopper-cfg-')
  failures = []
  for stem, text, needles in BAD[:8]:
    path = write(d, stem, text)
    rc, out, err = h.run_hopper(binary, ['--config', path])
    if rc != 1:
      failures.append('%s: exit %r, want 1 (stderr %r)' % (stem, rc, err.strip()))
      continue
    for n in [os.path.basename(path)] + needles:
      if n not in err:
        failures.append('%s: stderr lacks %r: %r' % (stem, n, err.strip()))
    recs = [h.parse_logfmt(l) for l in err.splitlines()]
    if not any(r and r.get('msg') == 'config_invalid' and os.path.basename(path) in r.get('err', '')
               for r in recs):
      failures.append('%s: no msg=config_invalid err=... line: %r' % (stem, err.strip()))
  h.check(not failures, '--config with bad files', '\n' + '\n'.join(failures))


def test_usage_and_missing_file(binary):
  rc, _, err = h.run_hopper(binary, ['--no-such-flag'])
  h.check_eq(2, rc, 'unknown flag: usage exit status (stderr %r)' % err)
  rc, _, err = h.run_hopper(binary, ['check-config'])
  h.check_eq(2, rc, 'check-config without a file: usage exit status (stderr %r)' % err)
  missing = os.path.join(h.mkdtemp(prefix='hopper-cfg-'), 'absent.json')
  rc, _, err = h.run_hopper(binary, ['check-config', missing])
  h.check_eq(1, rc, 'check-config on a missing file (stderr %r)' % err)
  h.check('absent.json' in err, 'stderr names the missing file', err)


if __name__ == '__main__':
  h.main([test_check_config_good, test_check_config_bad, test_start_with_bad_config,
          test_usage_and_missing_file])
