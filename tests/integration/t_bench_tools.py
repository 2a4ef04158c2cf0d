#!/usr/bin/env python3
"""The benchmark tools themselves (bench/): hop-sink and hop-loadgen in every mode, for one second
each, direct and through hopper. They must finish by themselves, report a `result` line with no
errors, and exit 0; under the sanitizer build that also means no leak and no undefined behaviour.
bench/run trusts these figures, so a broken tool must fail here, not print a wrong table."""

import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

SINK = os.environ.get('HOP_SINK', '')
LOADGEN = os.environ.get('HOP_LOADGEN', '')
RUNS = [['--mode', 'setup'], ['--mode', 'setup', '--close', 'rst'], ['--mode', 'rr'],
        ['--mode', 'rr', '--threads', '2'], ['--mode', 'bulk'], ['--mode', 'bulk', '--dir', 'up'],
        ['--mode', 'idle', '--sessions', '200']]


class Sink:
  def __init__(self):
    self.proc = subprocess.Popen([SINK, '--max-seconds', '60'], stdout=subprocess.PIPE, text=True)
    m = re.search(r'addr=(\S+)', self.proc.stdout.readline())
    h.check(m is not None, 'hop-sink prints its address')
    self.addr = m.group(1)

  def close(self):
    self.proc.terminate()
    self.proc.wait(timeout=10)


def loadgen(target, args):
  r = subprocess.run([LOADGEN, '--target', target, '--seconds', '1'] + args, capture_output=True,
                     text=True, timeout=60)
  result = [l for l in r.stdout.splitlines() if l.startswith('result ')]
  what = 'hop-loadgen %s -> %s' % (' '.join(args), target)
  h.check(len(result) == 1, what + ': one result line', r.stdout, r.stderr)
  fields = dict(kv.split('=', 1) for kv in result[0].split()[1:])
  h.check_eq(0, r.returncode, what + ': exit code (stderr: %s)' % r.stderr.strip()[-400:])
  h.check_eq('0', fields.get('errors'), what + ': errors')
  h.check_eq('0', fields.get('watchdog', '0'), what + ': watchdog')
  return fields


def tools():
  if not (os.access(SINK, os.X_OK) and os.access(LOADGEN, os.X_OK)):
    raise h.Skip('HOP_SINK / HOP_LOADGEN not set to the bench tools')


def test_direct(binary):
  """Every mode straight to the sink: each moves data (ops, bytes or sessions > 0)."""
  tools()
  sink = Sink()
  try:
    for args in RUNS:
      f = loadgen(sink.addr, args)
      moved = f.get('ops') or f.get('bytes') or f.get('established')
      h.check(moved is not None and int(moved) > 0, 'hop-loadgen %s moved something' % args, f)
  finally:
    sink.close()


def test_through_hopper(binary):
  """Setup and round trips through hopper, routed by the loadgen's address (bench.test): every
  connection reaches the sink and is logged as a routed session."""
  tools()
  sink = Sink()
  try:
    servers = [h.server('bench', ['bench.test'], sink.addr)]
    with h.Hopper(binary, servers=servers, workers=1) as hp:
      target = '127.0.0.1:%d' % hp.port
      setup = loadgen(target, ['--mode', 'setup', '--close', 'rst'])
      h.check(int(setup['ops']) > 0, 'connections set up through hopper', setup)
      rr = loadgen(target, ['--mode', 'rr'])
      h.check(int(rr['ops']) > 0, 'round trips through hopper', rr)
      hp.wait_log(msg='session', server='bench')
  finally:
    sink.close()


if __name__ == '__main__':
  h.main([test_direct, test_through_hopper])
