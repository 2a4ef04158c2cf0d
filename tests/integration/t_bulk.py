#!/usr/bin/env python3
"""Bulk relay with backpressure: 16 MiB each way at once, each side read slowly, SHA-256 checked
end to end; hopper's RSS must stay near its baseline (it must not buffer what a slow reader has not
taken yet).

The slow readers use a small SO_RCVBUF and start a second late, so a relay without backpressure
would hold about 12 MiB per direction in its own memory (16 MiB less the ~4 MiB the kernel's send
buffer takes): a 12 MiB allowance over the baseline separates the two cases with room for sanitizer
builds, where a 24 MiB one would not (a relay ignoring backpressure measured ~+24 MiB)."""

import os
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

SIZE = 16 * 1024 * 1024
RSS_SLACK_KIB = 12 * 1024
READER_RCVBUF = 128 * 1024
READER_DELAY_S = 1.0


def recv_exact(sock, n):
  buf = bytearray()
  while len(buf) < n:
    b = sock.recv(n - len(buf))
    if not b:
      raise h.TestFailure('EOF after %d of %d bytes' % (len(buf), n))
    buf += b
  return bytes(buf)


def slow_reader(sock, n, result, key):
  try:
    time.sleep(READER_DELAY_S)
    hs = h.hashlib.sha256()
    got = 0
    while got < n:
      b = sock.recv(min(65536, n - got))
      if not b:
        break
      hs.update(b)
      got += len(b)
      time.sleep(0.02)
    result[key] = (got, hs.hexdigest())
  except Exception as e:  # reported by the main thread
    result[key] = e


def writer(sock, data, result, key):
  try:
    sock.sendall(data)
    result[key] = True
  except Exception as e:
    result[key] = e


def test_bulk_both_ways_slow_readers(binary):
  be_srv = h.Backend(record=False, rcvbuf=READER_RCVBUF)
  servers = [h.server('lobby', ['play.example.com'], be_srv.addr)]
  fx = h.fixture('1.20.4-login.bin')
  up = os.urandom(SIZE)
  down = os.urandom(SIZE)
  with h.Hopper(binary, servers=servers) as hp:
    c = h.Client(hp.port, record=False, rcvbuf=READER_RCVBUF)
    c.send(fx)
    be = be_srv.accept()
    be.sock.settimeout(60)
    c.sock.settimeout(60)
    h.check_eq(fx, recv_exact(be.sock, len(fx)), 'replayed opening')
    be.send(b'ok')
    h.check_eq(b'ok', recv_exact(c.sock, 2), 'relay established')
    time.sleep(0.2)
    baseline = hp.rss_kib()
    peak = [baseline]
    done = threading.Event()

    def sampler():
      while not done.is_set():
        try:
          peak[0] = max(peak[0], hp.rss_kib())
        except OSError:
          return
        time.sleep(0.02)

    res = {}
    threads = [threading.Thread(target=sampler, daemon=True),
               threading.Thread(target=writer, args=(c.sock, up, res, 'c_write'), daemon=True),
               threading.Thread(target=writer, args=(be.sock, down, res, 'b_write'), daemon=True),
               threading.Thread(target=slow_reader, args=(be.sock, SIZE, res, 'b_read'),
                                daemon=True),
               threading.Thread(target=slow_reader, args=(c.sock, SIZE, res, 'c_read'),
                                daemon=True)]
    for t in threads:
      t.start()
    for t in threads[1:]:
      t.join(90)
    done.set()
    threads[0].join(5)
    for k in ('c_write', 'b_write', 'b_read', 'c_read'):
      h.check(k in res, '%s finished in time' % k, res)
      h.check(not isinstance(res[k], Exception), '%s raised' % k, repr(res[k]))
    h.check_eq((SIZE, h.sha256(up)), res['b_read'], 'client -> backend: bytes and SHA-256')
    h.check_eq((SIZE, h.sha256(down)), res['c_read'], 'backend -> client: bytes and SHA-256')
    print('  rss baseline %d KiB, peak %d KiB (+%d KiB)' % (baseline, peak[0],
                                                             peak[0] - baseline))
    h.check(peak[0] < baseline + RSS_SLACK_KIB,
            'hopper RSS stayed below baseline + 12 MiB (it did not buffer the stream)',
            'baseline %d KiB peak %d KiB' % (baseline, peak[0]))
    c.sock.shutdown(socket.SHUT_WR)
    h.check_eq(b'', be.sock.recv(1), 'backend sees EOF after the client half-closes')
    be.close()
    h.check_eq(b'', c.sock.recv(1), 'client sees EOF after the backend closes')
    c.close()
    rec = hp.session_log(c)
    h.check_eq('client_closed', rec.get('reason'), 'reason')
    h.check_eq(str(len(fx) + SIZE), rec.get('bytes_c2b'), 'bytes_c2b')
    h.check_eq(str(2 + SIZE), rec.get('bytes_b2c'), 'bytes_b2c')
    h.check_eq('lobby', rec.get('server'), 'server')


def test_many_concurrent_sessions(binary):
  """200 sessions open at once across both workers, each moving 64 KiB each way: every stream
  arrives intact on its own peer, and every session logs its own line."""
  n, size = 200, 64 * 1024
  be_srv = h.Backend(record=False)
  servers = [h.server('lobby', ['play.example.com'], be_srv.addr)]
  with h.Hopper(binary, servers=servers) as hp:
    clients = []
    for i in range(n):
      c = h.Client(hp.port, record=False)
      c.sock.settimeout(60)
      # The player name tells the backend which client this is.
      c.send(h.handshake('play.example.com') + h.login_start('p%d' % i, bytes(16)))
      clients.append(c)
    peers = {}
    for _ in range(n):
      be = be_srv.accept(timeout=30)
      be.sock.settimeout(60)
      first = be.sock.recv(1)
      rest = recv_exact(be.sock, first[0])  # the Handshake frame
      ls_len = recv_exact(be.sock, 1)
      ls = recv_exact(be.sock, ls_len[0])
      name = ls[2:2 + ls[1]].decode()
      peers[int(name[1:])] = be
    h.check_eq(n, len(peers), 'each client reached the backend once')
    res = {}

    def run(i):
      c, be = clients[i], peers[i]
      up = (b'%05d' % i) * (size // 5)
      down = (b'%05d' % (n - i)) * (size // 5)
      t = threading.Thread(target=be.sock.sendall, args=(down,))
      t.start()
      c.sock.sendall(up)
      got_up = recv_exact(be.sock, len(up))
      got_down = recv_exact(c.sock, len(down))
      t.join()
      res[i] = (got_up == up, got_down == down)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
      t.start()
    for t in threads:
      t.join(60)
    bad = [i for i in range(n) if res.get(i) != (True, True)]
    h.check(not bad, 'streams intact on every session', bad[:10])
    for i in range(n):
      clients[i].close()
    for i in range(n):
      h.check_eq(b'', peers[i].sock.recv(1), 'backend %d sees EOF' % i)
      peers[i].close()
    for i in range(n):
      rec = hp.session_log(clients[i])
      h.check_eq('p%d' % i, rec.get('player'), 'session %d player' % i)
      h.check_eq('client_closed', rec.get('reason'), 'session %d reason' % i)
      opening_len = len(h.handshake('play.example.com') + h.login_start('p%d' % i, bytes(16)))
      h.check_eq(str(opening_len + (size // 5) * 5), rec.get('bytes_c2b'), 'session %d c2b' % i)
      h.check_eq(str((size // 5) * 5), rec.get('bytes_b2c'), 'session %d b2c' % i)


if __name__ == '__main__':
  h.main([test_bulk_both_ways_slow_readers, test_many_concurrent_sessions])
