#!/usr/bin/env python3
"""Replay and relay: the backend receives exactly the client's opening bytes, byte-identical and
first, for every captured version and address form (routed on the normalised host, replayed
unchanged); then bytes flow both ways; the handshake may arrive in many small pieces."""

import ctypes
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402


def hopper_socket(pid, local_port, remote_port):
  """A duplicate of hopper's descriptor for the TCP connection from its local_port to remote_port
  (pidfd_getfd, Linux 5.6+), or Skip when this kernel or these privileges do not allow it."""
  want = '%04X' % local_port, '%04X' % remote_port
  inode = None
  for table in ('/proc/net/tcp', '/proc/net/tcp6'):
    with open(table) as f:
      for row in list(f)[1:]:
        col = row.split()
        if (col[1].rsplit(':', 1)[1], col[2].rsplit(':', 1)[1]) == want:
          inode = col[9]
  h.check(inode is not None, 'hopper has a socket %d -> %d' % (local_port, remote_port))
  fd_dir = '/proc/%d/fd' % pid
  target = [int(fd) for fd in os.listdir(fd_dir)
            if os.readlink(os.path.join(fd_dir, fd)) == 'socket:[%s]' % inode]
  h.check(len(target) == 1, 'one descriptor of hopper holds socket inode %s' % inode, target)
  libc = ctypes.CDLL(None, use_errno=True)
  pidfd = os.pidfd_open(pid)
  try:
    fd = libc.syscall(438, pidfd, target[0], 0)   # SYS_pidfd_getfd
    if fd < 0:
      raise h.Skip('pidfd_getfd: %s' % os.strerror(ctypes.get_errno()))
  finally:
    os.close(pidfd)
  return socket.socket(fileno=fd)

VERSIONS = ['1.7.10', '1.8.9', '1.12.2', '1.16.5', '1.18.2', '1.19', '1.19.2', '1.19.4', '1.20.1',
            '1.20.4', '1.20.6', '1.21.1', '1.21.4', '26.1']

SPECIAL = ['forge-fml-1.12.2-login.bin', 'forge-fml2-1.16.5-login.bin',
           'forge-fml2-1.16.5-status.bin', 'forge-fml3-1.20.1-login.bin',
           'tcpshield-1.20.4-login.bin', 'trailing-dot-1.20.4-login.bin',
           'trailing-dot-1.20.4-status.bin', 'transfer-1.20.6-login.bin',
           'transfer-1.21.4-login.bin']


def two_backends():
  lobby, net = h.Backend(), h.Backend()
  servers = [h.server('lobby', ['play.example.com'], lobby.addr),
             h.server('net', ['mc.example.net'], net.addr)]
  return lobby, net, servers


def expect_session(hp, c, name, fx_len, c2b_extra, b2c, reason='client_closed'):
  meta = h.fixture_meta(name)
  rec = hp.session_log(c)
  want = {'reason': reason, 'host': meta['route_host'],
          'server': 'net' if meta['route_host'] == 'mc.example.net' else 'lobby',
          'intent': meta['intent'], 'protocol': str(meta['protocol']),
          'bytes_c2b': str(fx_len + c2b_extra), 'bytes_b2c': str(b2c)}
  if meta['intent'] in ('login', 'transfer'):
    want['player'] = meta['username']
    want['uuid'] = meta.get('uuid') or '-'
  for k, v in want.items():
    h.check_eq(v, rec.get(k), '%s: session line %s=' % (name, k))
  for k in ('ts', 'level', 'client', 'duration_ms'):
    h.check(k in rec, '%s: session line has %s' % (name, k), rec)
  h.check(rec['duration_ms'].isdigit(), 'duration_ms is a number', rec)


def one_exchange(hp, backend, name, pieces=None, pause=0.0):
  """Client sends fixture `name` (whole, or cut at `pieces` offsets with `pause` between), the
  backend must get it byte-identical first; then one message each way; client ends it."""
  fx = h.fixture(name)
  c = h.Client(hp.port)
  if pieces is None:
    c.send(fx)
  else:
    cuts = [0] + list(pieces) + [len(fx)]
    for a, b in zip(cuts, cuts[1:]):
      c.send(fx[a:b])
      time.sleep(pause)
  be = backend.accept()
  got = be.wait_bytes(len(fx))
  h.check_eq(fx, got[:len(fx)], '%s: replayed bytes' % name)
  h.check_eq(len(fx), len(got), '%s: nothing but the replay before relayed bytes' % name)
  h.check_eq(b'', c.received(), '%s: client got nothing before the backend spoke' % name)
  if h.fixture_meta(name)['intent'] == 'status':
    down = h.fixture('1.20.4-status-response.bin')
    up = h.ping(0x0123456789ABCDEF)
  else:
    down = h.fixture('1.20.4-login-disconnect.bin')
    up = b'client-bytes-after-login' * 3
  be.send(down)
  h.check_eq(down, c.wait_bytes(len(down)), '%s: backend -> client' % name)
  c.send(up)
  h.check_eq(fx + up, be.wait_bytes(len(fx) + len(up)), '%s: client -> backend' % name)
  c.close()
  be.wait_eof()
  be.close()
  expect_session(hp, c, name, len(fx), len(up), len(down))


def test_replay_all_versions(binary):
  lobby, net, servers = two_backends()
  with h.Hopper(binary, servers=servers) as hp:
    for v in VERSIONS:
      for kind in ('status', 'login'):
        one_exchange(hp, lobby, '%s-%s.bin' % (v, kind))
    for name in sorted(h.manifest()):
      if name.endswith('-port25577.bin') and not name.startswith('legacy'):
        one_exchange(hp, net, name)
  h.check_eq(0, lobby.count() + net.count() - lobby.taken - net.taken, 'no stray connections')


def test_replay_address_forms(binary):
  """Forge markers, TCPShield tails, trailing dot + mixed case, transfer intent: routed on the
  normalised host, replayed unchanged."""
  lobby, net, servers = two_backends()
  with h.Hopper(binary, servers=servers) as hp:
    for name in SPECIAL:
      one_exchange(hp, lobby, name)
  h.check_eq(0, net.count(), 'nothing reached the other server')


def test_handshake_in_pieces(binary):
  """One byte at a time with pauses, and split between Handshake and Login Start/Status Request
  with a longer pause: routes the same, replays the same bytes."""
  lobby, net, servers = two_backends()
  with h.Hopper(binary, servers=servers) as hp:
    for name in ('1.20.4-login.bin', '1.8.9-status.bin', 'tcpshield-1.20.4-login.bin'):
      fx = h.fixture(name)
      one_exchange(hp, lobby, name, pieces=range(1, len(fx)), pause=0.01)
    for name in ('1.20.4-login.bin', '1.20.4-status.bin', '1.19.2-login.bin'):
      fx = h.fixture(name)
      hs_len = fx[0] + 1
      one_exchange(hp, lobby, name, pieces=[hs_len], pause=0.3)
      one_exchange(hp, lobby, name, pieces=[1, hs_len - 1, hs_len + 1], pause=0.15)


def test_routing_wildcard_and_default(binary):
  """Exact host, *.suffix wildcard (most specific wins), default_server for unknown hosts; a
  constructed handshake is replayed byte-identical too."""
  exact, wild, deep, dflt = h.Backend(), h.Backend(), h.Backend(), h.Backend()
  servers = [h.server('exact', ['lobby.example.com'], exact.addr),
             h.server('wild', ['*.example.com'], wild.addr),
             h.server('deep', ['*.eu.example.com'], deep.addr),
             h.server('fallback', ['fallback.example.org'], dflt.addr)]
  cases = [('lobby.example.com', exact, 'exact'), ('LOBBY.Example.com.', exact, 'exact'),
           ('a.example.com', wild, 'wild'), ('x.y.example.com', wild, 'wild'),
           ('mc.eu.example.com', deep, 'deep'), ('unknown.test', dflt, 'fallback'),
          ]
  with h.Hopper(binary, servers=servers, config={'default_server': 'fallback'}) as hp:
    for addr, be_srv, sid in cases:
      opening = h.handshake(addr, 25565, 765, 2) + h.login_start('Alex', bytes(range(16)))
      c = h.Client(hp.port)
      c.send(opening)
      be = be_srv.accept()
      h.check_eq(opening, be.wait_bytes(len(opening)), '%s: replayed bytes' % addr)
      be.send(b'hello')
      h.check_eq(b'hello', c.wait_bytes(5), '%s: relay' % addr)
      c.close()
      be.wait_eof()
      be.close()
      rec = hp.session_log(c)
      h.check_eq(sid, rec.get('server'), '%s: server' % addr)
      h.check_eq(addr.lower().rstrip('.'), rec.get('host'), '%s: host' % addr)
      h.check_eq('Alex', rec.get('player'), '%s: player' % addr)
      h.check_eq('00010203-0405-0607-0809-0a0b0c0d0e0f', rec.get('uuid'), '%s: uuid' % addr)
      h.check_eq('client_closed', rec.get('reason'), '%s: reason' % addr)


def test_pipelined_bytes_after_opening(binary):
  """Bytes the client sends in the same write as its opening (a Ping after the Status Request,
  anything after Login Start) reach the backend right after the replay, in order, once. The
  preread cap bounds the opening, not what follows it: a complete 52-byte opening followed by
  8 KB in the same write still routes."""
  lobby, net, servers = two_backends()
  with h.Hopper(binary, servers=servers) as hp:
    for name, extra in (('1.20.4-status.bin', h.ping(42)),
                        ('1.20.4-login.bin', b'\x03\x03\x80\x02' + os.urandom(3000)),
                        ('1.20.4-login.bin', os.urandom(8000)),
                        ('legacy-fe01fa-1.6.4.bin', b'')):
      fx = h.fixture(name)
      c = h.Client(hp.port)
      c.send(fx + extra)
      be = lobby.accept()
      h.check_eq(fx + extra, be.wait_bytes(len(fx) + len(extra)), '%s: replay + pipelined' % name)
      h.check(be.quiet(0.1), '%s: nothing more' % name)
      c.close()
      be.wait_eof()
      be.close()
      rec = hp.session_log(c)
      h.check_eq(str(len(fx) + len(extra)), rec.get('bytes_c2b'), '%s: bytes_c2b' % name)


def test_backend_speaks_first(binary):
  """hopper dials as soon as the Handshake is in, and watches the backend from then on. A backend
  that speaks (or even hangs up) before the Login Start arrives has its bytes held back, not
  lost: the client gets nothing before the hand-off, then exactly those bytes, after which the
  backend has the replay whole and first."""
  lobby, net, servers = two_backends()
  with h.Hopper(binary, servers=servers) as hp:
    for hang_up in (False, True):
      hs = h.handshake('play.example.com', 25565, 765, 2)
      login = h.login_start('Alex', bytes(range(16)))
      c = h.Client(hp.port)
      c.send(hs)
      be = lobby.accept()
      be.send(b'backend-first')
      if hang_up:
        be.shutdown_wr()
      h.check(c.quiet(0.3), 'hang_up=%s: nothing reaches the client before the hand-off' % hang_up)
      c.send(login)
      h.check_eq(hs + login, be.wait_bytes(len(hs) + len(login)),
                 'hang_up=%s: the replay, whole' % hang_up)
      h.check_eq(b'backend-first', c.wait_bytes(13), 'hang_up=%s: the early bytes' % hang_up)
      if hang_up:
        h.check_eq(b'backend-first', c.wait_eof(), 'hang_up=%s: then EOF' % hang_up)
      else:
        c.send(b'after')
        h.check_eq(hs + login + b'after', be.wait_bytes(len(hs) + len(login) + 5),
                   'relay goes on')
      c.close()
      be.wait_eof()
      be.close()
      rec = hp.session_log(c)
      h.check_eq('backend_closed' if hang_up else 'client_closed', rec.get('reason'),
                 'hang_up=%s: reason' % hang_up)
      h.check_eq('13', rec.get('bytes_b2c'), 'hang_up=%s: bytes_b2c' % hang_up)


def test_no_delay_both_sides(binary):
  """Both of a session's sockets have TCP_NODELAY (Minecraft's small packets must not wait for an
  ACK): the client side inherits it from the listener, the backend side sets it when dialling.
  Read from hopper's own descriptors."""
  lobby, net, servers = two_backends()
  with h.Hopper(binary, servers=servers, workers=1) as hp:
    c = h.Client(hp.port)
    c.send(h.handshake('play.example.com') + h.login_start())
    be = lobby.accept()
    be.send(b'hello')
    c.wait_bytes(5)
    client_side = hopper_socket(hp.pid, hp.port, c.sock.getsockname()[1])
    backend_side = hopper_socket(hp.pid, be.sock.getpeername()[1], lobby.port)
    for name, sock in (('client', client_side), ('backend', backend_side)):
      h.check_eq(1, sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
                 'TCP_NODELAY on hopper\'s %s socket' % name)
      sock.close()
    c.close()
    be.close()

def test_json_log_format(binary):
  """log.format json: one JSON object per line with the same keys (the harness reads both)."""
  lobby, net, servers = two_backends()
  with h.Hopper(binary, servers=servers, config={'log': {'format': 'json'}}) as hp:
    h.check(all(r is not None and r.get('_json') for _, r in hp.records),
            'every line is a JSON object', hp.lines[:5])
    one_exchange(hp, lobby, '1.20.4-login.bin')
    one_exchange(hp, net, '1.21.4-status-port25577.bin')
  bad = [l for l in hp.lines if not l.startswith('{')]
  h.check(not bad, 'only JSON lines on stderr', bad[:5])


if __name__ == '__main__':
  h.main([test_replay_all_versions, test_replay_address_forms, test_handshake_in_pieces,
          test_routing_wildcard_and_default, test_pipelined_bytes_after_opening,
          test_backend_speaks_first, test_no_delay_both_sides, test_json_log_format])
