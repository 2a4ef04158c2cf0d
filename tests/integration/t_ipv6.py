#!/usr/bin/env python3
"""IPv6: a [::1]:0 listener next to 127.0.0.1:0, and a [::1]:PORT backend."""

import os
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402


def test_ipv6_listener_and_backend(binary):
  if not h.ipv6_loopback_ok():
    raise h.Skip('::1 is not available on this machine')
  be6, be4 = h.Backend('::1'), h.Backend('127.0.0.1')
  servers = [h.server('six', ['play.example.com'], be6.addr),
             h.server('four', ['mc.example.net'], be4.addr)]
  with h.Hopper(binary, servers=servers, listen=['[::1]:0', '127.0.0.1:0']) as hp:
    h.check_eq(2, len(hp.addrs), 'one listening line per listen entry')
    h.check_eq('::1', hp.addrs[0][0], 'first listener is ::1')
    h.check_eq('127.0.0.1', hp.addrs[1][0], 'second listener is 127.0.0.1')
    h.check(hp.addrs[0][1] != 0 and hp.addrs[1][1] != 0, 'real ports logged', hp.addrs)
    cases = [(('::1', hp.addrs[0][1]), '1.20.4-login.bin', be6, 'six'),
             (('::1', hp.addrs[0][1]), '1.21.1-login-port25577.bin', be4, 'four'),
             (('127.0.0.1', hp.addrs[1][1]), '1.20.4-status.bin', be6, 'six')]
    for (host, port), name, be_srv, sid in cases:
      fx = h.fixture(name)
      c = h.Client(port, host=host)
      c.send(fx)
      be = be_srv.accept()
      h.check_eq(fx, be.wait_bytes(len(fx)), '%s via %s: replayed bytes' % (name, host))
      be.send(b'pong')
      h.check_eq(b'pong', c.wait_bytes(4), 'backend -> client')
      c.send(b'ping')
      h.check_eq(fx + b'ping', be.wait_bytes(len(fx) + 4), 'client -> backend')
      c.close()
      be.wait_eof()
      be.close()
      rec = hp.session_log(c)
      h.check_eq(sid, rec.get('server'), 'server')
      h.check_eq('client_closed', rec.get('reason'), 'reason')
      h.check(rec.get('client', '').startswith('[::1]:' if host == '::1' else '127.0.0.1:'),
              'client address form', rec.get('client'))
    # A refused [::1] backend answers like any other unreachable one.
    dead = h.closed_port('::1')
    hp.write_config(dict(hp.config, servers=[h.server('gone', ['play.example.com'],
                                                      '[::1]:%d' % dead)]))
    mark = hp.mark()
    hp.send_signal(h.signal.SIGHUP)
    hp.wait_log(msg='reloaded', start=mark)
    c = h.Client(hp.addrs[0][1], host='::1')
    c.send(h.fixture('1.20.4-login.bin'))
    js = h.parse_disconnect(c.wait_eof(close=True))
    h.check('gone' in js.get('text', ''), 'unreachable text names the server', js)
    h.check_eq('backend_unreachable', hp.session_log(c).get('reason'), 'reason')


if __name__ == '__main__':
  h.main([test_ipv6_listener_and_backend])
