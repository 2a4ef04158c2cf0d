#!/usr/bin/env python3
"""PROXY protocol: received (v1 and v2, autodetected) only from trusted_proxies; a header from
anyone else, a missing one from a trusted peer, or a malformed one each close with their own
reason; sent to backends per server (v1 or v2) before the replayed bytes; and a real HAProxy in
front sending PROXY v2, checked by a backend that reads the header hopper sends on."""

import os
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

V2_SIG = b'\r\n\r\n\x00\r\nQUIT\n'


def v2_header(src, sport, dst, dport):
  addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!HH', sport, dport)
  return V2_SIG + bytes([0x21, 0x11]) + struct.pack('!H', len(addrs)) + addrs


def parse_v2(data):
  """(src, sport, header length) of a TCP4 v2 header at the start of data."""
  h.check(data.startswith(V2_SIG), 'a PROXY v2 signature first', data[:16])
  h.check_eq(0x21, data[12], 'v2 PROXY command')
  length = struct.unpack('!H', data[14:16])[0]
  if data[13] == 0x11:
    src = socket.inet_ntoa(data[16:20])
    sport = struct.unpack('!H', data[24:26])[0]
    return src, sport, 16 + length
  return None, None, 16 + length


def relay_one(hp, be_srv, opening, header_len_hint=64):
  c = h.Client(hp.port)
  c.send(opening)
  be = be_srv.accept()
  return c, be


def test_trusted_v1_in_v2_out(binary):
  be_srv = h.Backend()
  fx = h.fixture('1.20.4-login.bin')
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr,
                                          proxy_protocol='v2')],
                config={'trusted_proxies': ['127.0.0.0/8']})
  with hp:
    c, be = relay_one(hp, be_srv, b'PROXY TCP4 203.0.113.9 192.0.2.1 51234 25565\r\n' + fx)
    data = be.wait_bytes(28 + len(fx))
    src, sport, n = parse_v2(data)
    h.check_eq(('203.0.113.9', 51234), (src, sport), 'the client address sent on')
    h.check_eq(fx, be.wait_bytes(n + len(fx))[n:], 'the opening replayed after our header')
    c.close()
    be.close()
    rec = hp.wait_log(msg='session', client='203.0.113.9:51234')
    h.check_eq('lobby', rec.get('server'), 'logged with the real client address')


def test_trusted_v2_in_none_out(binary):
  be_srv = h.Backend()
  fx = h.fixture('1.20.4-login.bin')
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                config={'trusted_proxies': ['127.0.0.1']})
  with hp:
    c, be = relay_one(hp, be_srv, v2_header('198.51.100.7', 40000, '192.0.2.1', 25565) + fx)
    h.check_eq(fx, be.wait_bytes(len(fx)), 'only the opening: the received header is not replayed')
    c.close()
    be.close()
    hp.wait_log(msg='session', client='198.51.100.7:40000')


def refused(hp, data, reason):
  c = h.Client(hp.port)
  c.send(data)
  c.wait_eof()
  rec = hp.session_log(c) if reason != 'proxy_missing_any' else None
  h.check_eq(reason, rec.get('reason'), 'close reason')
  c.close()


def test_refusals(binary):
  be_srv = h.Backend()
  fx = h.fixture('1.20.4-login.bin')
  untrusted = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)])
  with untrusted:
    refused(untrusted, b'PROXY TCP4 203.0.113.9 192.0.2.1 51234 25565\r\n' + fx,
            'proxy_untrusted')
    refused(untrusted, v2_header('203.0.113.9', 1, '192.0.2.1', 2) + fx, 'proxy_untrusted')
  trusted = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                     config={'trusted_proxies': ['127.0.0.0/8']})
  with trusted:
    refused(trusted, fx, 'proxy_missing')
    refused(trusted, b'PROXY TCP4 999.0.113.9 192.0.2.1 51234 25565\r\n' + fx, 'proxy_malformed')
  optional = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr)],
                      config={'trusted_proxies': ['127.0.0.0/8'], 'proxy_protocol_required': False})
  with optional:
    c, be = relay_one(optional, be_srv, fx)
    h.check_eq(fx, be.wait_bytes(len(fx)), 'no header is fine when not required')
    c.close()
    be.close()
  h.check_eq(0, be_srv.count() - 1, 'refused connections never reached the backend')


def test_v1_out_from_socket(binary):
  be_srv = h.Backend()
  fx = h.fixture('1.20.4-status.bin')
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr,
                                          proxy_protocol='v1')])
  with hp:
    c, be = relay_one(hp, be_srv, fx)
    cport = c.sock.getsockname()[1]
    expect = ('PROXY TCP4 127.0.0.1 127.0.0.1 %d %d\r\n' % (cport, hp.port)).encode()
    h.check_eq(expect + fx, be.wait_bytes(len(expect) + len(fx)), 'v1 header then the opening')
    c.close()
    be.close()


def test_real_haproxy_in_front(binary):
  haproxy = shutil.which('haproxy') or '/usr/sbin/haproxy'
  if not os.path.exists(haproxy):
    raise h.Skip('haproxy not installed')
  be_srv = h.Backend()
  fx = h.fixture('1.21.4-login.bin')
  hp = h.Hopper(binary, servers=[h.server('lobby', ['play.example.com'], be_srv.addr,
                                          proxy_protocol='v2')],
                config={'trusted_proxies': ['127.0.0.1/32']})
  with hp:
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    front = s.getsockname()[1]
    s.close()
    d = h.mkdtemp('haproxy-')
    cfg = os.path.join(d, 'haproxy.cfg')
    with open(cfg, 'w') as f:
      f.write('global\n  maxconn 100\ndefaults\n  mode tcp\n  timeout connect 5s\n'
              '  timeout client 30s\n  timeout server 30s\n'
              'frontend mc\n  bind 127.0.0.1:%d\n  default_backend hopper\n'
              'backend hopper\n  server h 127.0.0.1:%d send-proxy-v2\n' % (front, hp.port))
    p = subprocess.Popen([haproxy, '-f', cfg, '-db'], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
      deadline = time.monotonic() + 10
      while True:
        try:
          c = h.Client(front)
          break
        except OSError:
          if time.monotonic() > deadline:
            raise
          time.sleep(0.1)
      c.send(fx)
      be = be_srv.accept()
      data = be.wait_bytes(28 + len(fx))
      src, sport, n = parse_v2(data)
      cport = c.sock.getsockname()[1]
      h.check_eq(('127.0.0.1', cport), (src, sport), "the client's address through HAProxy")
      h.check_eq(fx, be.wait_bytes(n + len(fx))[n:], 'the opening after the header')
      c.close()
      be.close()
      rec = hp.wait_log(msg='session', client='127.0.0.1:%d' % cport)
      h.check_eq('lobby', rec.get('server'), 'session logged with the client behind HAProxy')
    finally:
      p.terminate()
      p.wait(timeout=10)


if __name__ == '__main__':
  h.main([test_trusted_v1_in_v2_out, test_trusted_v2_in_none_out, test_refusals,
          test_v1_out_from_socket, test_real_haproxy_in_front])
