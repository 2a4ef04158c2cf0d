#!/usr/bin/env python3
"""Openings hopper must refuse, each with its one close reason: the handshake deadline (never
extended by dripping bytes), oversized frames, overlong VarInts, malformed handshakes, a malformed
Login Start (Disconnect), early EOF. Nothing is forwarded to a backend."""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402


def setup():
  be_srv = h.Backend()
  return be_srv, [h.server('lobby', ['play.example.com'], be_srv.addr)]


def no_bytes_forwarded(be_srv):
  """hopper may start a backend connect early, but must forward nothing from a refused opening."""
  time.sleep(0.1)
  with be_srv.cond:
    peers = list(be_srv.peers)
  for p in peers:
    h.check_eq(b'', p.received(), 'backend received nothing')


def check_reason(hp, c, reason, **want):
  rec = hp.session_log(c)
  h.check_eq(reason, rec.get('reason'), 'close reason')
  for k, v in want.items():
    h.check_eq(str(v), rec.get(k), 'session line %s=' % k)
  return rec


def test_handshake_timeout_partial(binary):
  be_srv, servers = setup()
  with h.Hopper(binary, servers=servers, config={'timeouts_ms': {'handshake': 400}}) as hp:
    fx = h.fixture('1.20.4-login.bin')
    c = h.Client(hp.port)
    c.send(fx[:9])  # half of the Handshake
    h.check_eq(b'', c.wait_eof(close=True), 'closed without bytes before the Handshake is complete')
    check_reason(hp, c, 'handshake_timeout', bytes_c2b=9, bytes_b2c=0, server='-')
    # The Handshake says login, but the Login Start never comes: a Disconnect, then close.
    c = h.Client(hp.port)
    hs_len = fx[0] + 1
    c.send(fx[:hs_len])
    data = c.wait_eof(close=True)
    js = h.parse_disconnect(data)
    h.check(isinstance(js, dict) and js.get('text'), 'Disconnect with a text', js)
    check_reason(hp, c, 'handshake_timeout', intent='login', protocol=765,
                 host='play.example.com', bytes_c2b=hs_len, bytes_b2c=len(data))
    # A client that sends nothing at all.
    c = h.Client(hp.port)
    h.check_eq(b'', c.wait_eof(close=True), 'silent client closed')
    check_reason(hp, c, 'handshake_timeout', bytes_c2b=0, host='-', intent='-')
  no_bytes_forwarded(be_srv)


def test_handshake_deadline_not_extended_by_drip(binary):
  be_srv, servers = setup()
  addr = 'a' * 120 + '.play.example.com'
  opening = h.handshake(addr, 25565, 765, 2) + h.login_start('Alex')
  with h.Hopper(binary, servers=servers, config={'timeouts_ms': {'handshake': 400}}) as hp:
    c = h.Client(hp.port)
    sent = 0
    while sent < len(opening):  # one byte per 100 ms: all of it would take ~15 s
      if c.is_eof() or not c.try_send(opening[sent:sent + 1]):
        break
      sent += 1
      time.sleep(0.1)
    h.check(sent < len(opening), 'closed before all %d bytes were dripped' % len(opening),
            'sent %d' % sent)
    c.wait_eof(close=True)
    check_reason(hp, c, 'handshake_timeout')
  no_bytes_forwarded(be_srv)


def test_oversized_frames(binary):
  be_srv, servers = setup()
  cases = [('length 5000 > preread cap', h.varint(5000) + b'\x00' + b'\xfd\x05' + b'x' * 100),
           ('length 2097152 (80 80 80 01)', b'\x80\x80\x80\x01'),
           ('fixture malformed-length-2097152', h.fixture('malformed-length-2097152.bin'))]
  # The handshake deadline stays long: the reason proves the close came before it.
  with h.Hopper(binary, servers=servers, config={'timeouts_ms': {'handshake': 8000}}) as hp:
    for what, data in cases:
      c = h.Client(hp.port)
      c.send(data)
      h.check_eq(b'', c.wait_eof(close=True), '%s: closed without an answer' % what)
      check_reason(hp, c, 'frame_too_large')
    # A preread cap set lower in the config applies too.
  with h.Hopper(binary, servers=servers,
                config={'limits': {'preread_bytes_max': 256, 'address_bytes_max': 255},
                        'timeouts_ms': {'handshake': 8000}}) as hp:
    c = h.Client(hp.port)
    c.send(h.varint(300) + b'\x00')
    h.check_eq(b'', c.wait_eof(close=True), 'length 300 > preread cap 256: closed')
    check_reason(hp, c, 'frame_too_large')
  no_bytes_forwarded(be_srv)


MALFORMED = [
    ('malformed-varint-6-bytes.bin', 'bad_varint'),
    ('malformed-zero-length.bin', 'bad_frame_length'),
    ('malformed-negative-length.bin', 'bad_frame_length'),
    ('malformed-first-packet-id-1.bin', 'not_handshake'),
    ('malformed-handshake-short-frame.bin', 'bad_handshake'),
    ('malformed-handshake-trailing-bytes.bin', 'bad_handshake'),
    ('malformed-next-state-7.bin', 'bad_next_state'),
    ('malformed-address-300.bin', 'bad_address'),
]


def test_malformed_openings(binary):
  be_srv, servers = setup()
  with h.Hopper(binary, servers=servers, config={'timeouts_ms': {'handshake': 8000}}) as hp:
    for name, reason in MALFORMED:
      c = h.Client(hp.port)
      c.send(h.fixture(name))
      h.check_eq(b'', c.wait_eof(close=True), '%s: closed without an answer' % name)
      rec = hp.session_log(c)
      h.check_eq(reason, rec.get('reason'), '%s: close reason' % name)
    # A VarInt over 5 bytes made by hand, inside the handshake's protocol field.
    c = h.Client(hp.port)
    c.send(b'\x0a\x00\xff\xff\xff\xff\xff\x01\x00\x00\x00')
    c.wait_eof(close=True)
    rec = hp.session_log(c)
    h.check(rec.get('reason') in ('bad_varint', 'bad_handshake'), 'overlong protocol VarInt',
            rec)
    # Early EOF: a truncated handshake then FIN, and a connection that sends nothing.
    for name in ('malformed-truncated-handshake.bin', 'empty.bin'):
      c = h.Client(hp.port)
      c.send(h.fixture(name))
      c.shutdown_wr()
      h.check_eq(b'', c.wait_eof(close=True), '%s: closed without an answer' % name)
      rec = hp.session_log(c)
      h.check_eq('early_eof', rec.get('reason'), '%s: close reason' % name)
  no_bytes_forwarded(be_srv)


def test_bad_login_start(binary):
  be_srv, servers = setup()
  hs = h.handshake('play.example.com', 25565, 765, 2)
  bad = [('no UUID at 765', h.frame(b'\x00' + h.mc_string('Alex'))),
         ('wrong packet id', h.frame(b'\x05' + h.mc_string('Alex') + b'\x11' * 16)),
         ('name of 17 characters', h.frame(b'\x00' + h.mc_string('A' * 17) + b'\x11' * 16)),
         ('trailing bytes', h.frame(b'\x00' + h.mc_string('Alex') + b'\x11' * 16 + b'zz'))]
  old_hs = h.handshake('play.example.com', 25565, 340, 2)
  bad.append(('trailing bytes at 340', h.frame(b'\x00' + h.mc_string('Alex') + b'\x01'), old_hs))
  with h.Hopper(binary, servers=servers, config={'timeouts_ms': {'handshake': 8000}}) as hp:
    for case in bad:
      what, ls = case[0], case[1]
      first = case[2] if len(case) > 2 else hs
      c = h.Client(hp.port)
      c.send(first + ls)
      data = c.wait_eof(close=True)
      js = h.parse_disconnect(data)
      h.check(isinstance(js, dict) and js.get('text'), '%s: Disconnect with a text' % what, js)
      check_reason(hp, c, 'bad_login_start', intent='login', host='play.example.com',
                   bytes_b2c=len(data))
  no_bytes_forwarded(be_srv)


if __name__ == '__main__':
  h.main([test_handshake_timeout_partial, test_handshake_deadline_not_extended_by_drip,
          test_oversized_frames, test_malformed_openings, test_bad_login_start])
