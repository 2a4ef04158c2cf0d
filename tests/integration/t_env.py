#!/usr/bin/env python3
"""Environment overrides for deployment details: HOPPER_LISTEN, HOPPER_WORKERS,
HOPPER_ADMIN_LISTEN, HOPPER_LOG_FORMAT win over the file and are validated like it."""

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402


def write(cfg):
  path = os.path.join(h.mkdtemp(), 'hopper.json')
  with open(path, 'w') as f:
    json.dump(cfg, f)
  return path


def test_overrides_apply(binary):
  path = write({'listen': ['127.0.0.1:1'], 'workers': 7, 'servers': []})
  env = dict(os.environ, HOPPER_LISTEN='127.0.0.1:0', HOPPER_WORKERS='1',
             HOPPER_ADMIN_LISTEN='127.0.0.1:0', HOPPER_LOG_FORMAT='json')
  p = subprocess.Popen([binary, '--config', path], stdin=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, env=env)
  try:
    lines = []
    for _ in range(3):   # admin_listening, listening, ready
      lines.append(json.loads(p.stderr.readline()))
    msgs = {l['msg']: l for l in lines}
    h.check('admin_listening' in msgs, 'HOPPER_ADMIN_LISTEN started the admin listener', lines)
    h.check(msgs['listening']['addr'] != '127.0.0.1:1', 'HOPPER_LISTEN replaced listen', lines)
    h.check_eq(1, msgs['ready']['workers'], 'HOPPER_WORKERS replaced workers')
  finally:
    p.terminate()
    h.check_eq(0, p.wait(timeout=10), 'exit code')


def test_bad_override_is_an_error(binary):
  path = write({'servers': []})
  p = subprocess.run([binary, 'check-config', path], capture_output=True,
                     env=dict(os.environ, HOPPER_WORKERS='many'))
  h.check_eq(1, p.returncode, 'exit code')
  h.check(b'workers' in p.stderr, 'names the field', p.stderr)
  h.check(b'(set by HOPPER_WORKERS)' in p.stderr, 'and the variable', p.stderr)
  p = subprocess.run([binary, 'check-config', path], capture_output=True,
                     env=dict(os.environ, HOPPER_LISTEN='127.0.0.1:1,nowhere'))
  h.check(b'listen[1]' in p.stderr and b'(set by HOPPER_LISTEN)' in p.stderr,
          'a bad HOPPER_LISTEN entry is named with its variable', p.stderr)
  p = subprocess.run([binary, 'check-config', path], capture_output=True,
                     env=dict(os.environ, HOPPER_LOG_LEVEL='info', HOPPER_WORKERS='2'))
  h.check_eq(0, p.returncode, 'good overrides pass')


if __name__ == '__main__':
  h.main([test_overrides_apply, test_bad_override_is_an_error])
