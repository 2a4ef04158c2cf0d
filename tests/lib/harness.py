"""Integration-test harness: spawn the real hopper binary on loopback and talk to it.

Python 3 standard library only. A test file does:

    import harness as h
    def t_something(bin):
        be = h.Backend()
        with h.Hopper(bin, servers=[h.server('lobby', ['play.example.com'], be.addr)]) as hp:
            c = h.Client(hp.port)
            ...
    h.main([t_something])

`Hopper.stop()` (also run by the context manager) sends SIGTERM and fails unless the process
exits with status 0 (not by a signal: an ASan abort or a segfault is a failure) and its stderr
holds no sanitizer report. On any failure the binary's stderr is printed.
"""

import errno
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRC_ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))

# Bounded waits. Generous, so sanitizer builds on a loaded 2-core machine pass; never asserted as
# durations.
T_START = 15.0
T_WAIT = 10.0
T_STOP = 20.0


class Skip(Exception):
  """Raise from a test to skip it (the file exits 77 if every test skipped)."""


class TestFailure(AssertionError):
  pass


def check(cond, what, *detail):
  if not cond:
    msg = what
    if detail:
      msg += ': ' + ' '.join(repr(d) if not isinstance(d, str) else d for d in detail)
    raise TestFailure(msg)


def check_eq(expect, actual, what):
  if expect != actual:
    e, a = expect, actual
    if isinstance(e, (bytes, bytearray)) and isinstance(a, (bytes, bytearray)) and \
        (len(e) > 200 or len(a) > 200):
      i = next((k for k in range(min(len(e), len(a))) if e[k] != a[k]), min(len(e), len(a)))
      raise TestFailure('%s: lengths expect %d actual %d, first difference at byte %d: '
                        'expect %r actual %r' % (what, len(e), len(a), i, bytes(e[i:i + 16]),
                                                  bytes(a[i:i + 16])))
    raise TestFailure('%s: expected %r, got %r' % (what, e, a))


# ---- fixtures -------------------------------------------------------------------------------------

def fixtures_dir():
  cands = [os.environ.get('HOPPER_FIXTURES', ''),
           os.path.join(SRC_ROOT, 'fixtures', 'handshakes'),
           '/work/shared/fixtures/handshakes']
  for c in cands:
    if c and os.path.isfile(os.path.join(c, 'manifest.json')):
      return c
  raise Skip('handshake fixtures not found (tried %s)' % ', '.join(c for c in cands if c))


_manifest = None


def manifest():
  global _manifest
  if _manifest is None:
    with open(os.path.join(fixtures_dir(), 'manifest.json'), 'rb') as f:
      m = json.load(f)
    _manifest = {e['file']: e for e in m['files']}
  return _manifest


def fixture(name):
  with open(os.path.join(fixtures_dir(), name), 'rb') as f:
    return f.read()


def fixture_meta(name):
  return manifest()[name]


# ---- protocol encoding ----------------------------------------------------------------------------

def varint(v):
  v &= 0xFFFFFFFF
  out = bytearray()
  while True:
    b = v & 0x7F
    v >>= 7
    if v:
      out.append(b | 0x80)
    else:
      out.append(b)
      return bytes(out)


def read_varint(buf, pos=0):
  """Returns (value, new_pos) or None if incomplete. Raises on > 5 bytes."""
  v = 0
  for i in range(5):
    if pos + i >= len(buf):
      return None
    b = buf[pos + i]
    v |= (b & 0x7F) << (7 * i)
    if not b & 0x80:
      if v & 0x80000000:
        v -= 1 << 32
      return v, pos + i + 1
  raise ValueError('VarInt longer than 5 bytes')


def mc_string(s):
  if isinstance(s, str):
    s = s.encode('utf-8')
  return varint(len(s)) + s


def frame(body):
  return varint(len(body)) + body


def handshake(address, port=25565, protocol=765, next_state=2):
  return frame(varint(0) + varint(protocol) + mc_string(address) + struct.pack('>H', port) +
               varint(next_state))


def login_start(name='Steve_123', uuid=b'\x11' * 16, protocol=765):
  body = varint(0) + mc_string(name)
  if protocol >= 764:
    body += uuid
  elif protocol >= 761:
    body += b'\x01' + uuid
  elif protocol == 760:
    body += b'\x00\x01' + uuid
  elif protocol == 759:
    body += b'\x00'
  return frame(body)


def status_request():
  return frame(b'\x00')


def ping(payload):
  return frame(b'\x01' + struct.pack('>q', payload))


def parse_frames(buf):
  """Splits complete frames off buf: returns (list of bodies, rest)."""
  out = []
  pos = 0
  while True:
    r = read_varint(buf, pos)
    if r is None:
      break
    n, p = r
    if n < 0 or p + n > len(buf):
      break
    out.append(bytes(buf[p:p + n]))
    pos = p + n
  return out, bytes(buf[pos:])


def parse_disconnect(data):
  """A login Disconnect frame -> its JSON (parsed). Fails unless data is exactly one such frame."""
  frames, rest = parse_frames(data)
  check(len(frames) == 1 and rest == b'', 'expected exactly one Disconnect frame', data)
  body = frames[0]
  check(body[:1] == b'\x00', 'Disconnect packet id is 0x00', body[:1])
  r = read_varint(body, 1)
  check(r is not None, 'Disconnect string length', body)
  n, p = r
  check_eq(len(body), p + n, 'Disconnect string fills the frame')
  return json.loads(body[p:p + n].decode('utf-8'))


def parse_status_response(body):
  check(body[:1] == b'\x00', 'Status Response packet id is 0x00', body[:1])
  n, p = read_varint(body, 1)
  check_eq(len(body), p + n, 'Status Response string fills the frame')
  return json.loads(body[p:p + n].decode('utf-8'))


def chat_text(component):
  """Flattens a chat component (string, dict with text/extra, or list) to plain text."""
  if isinstance(component, str):
    return component
  if isinstance(component, list):
    return ''.join(chat_text(c) for c in component)
  if isinstance(component, dict):
    return component.get('text', '') + ''.join(chat_text(c) for c in component.get('extra', []))
  return ''


def parse_legacy_kick(data):
  """0xFF kick -> the decoded UTF-16BE string."""
  check(len(data) >= 3 and data[0] == 0xFF, 'legacy kick starts with 0xFF', data)
  n = struct.unpack('>H', data[1:3])[0]
  check_eq(3 + 2 * n, len(data), 'legacy kick length')
  return data[3:].decode('utf-16-be')


# ---- logfmt ---------------------------------------------------------------------------------------

def parse_logfmt(line):
  """key=value pairs; values may be double-quoted with backslash escapes. Returns a dict, or None
  if the line is not logfmt (e.g. a sanitizer report)."""
  out = {}
  i, n = 0, len(line)
  while i < n:
    while i < n and line[i] == ' ':
      i += 1
    if i >= n:
      break
    j = i
    while j < n and line[j] not in '= ':
      j += 1
    key = line[i:j]
    if not key or not re.match(r'^[A-Za-z0-9_.\-]+$', key):
      return None
    if j >= n or line[j] != '=':
      out[key] = ''  # bare key
      i = j
      continue
    j += 1
    if j < n and line[j] == '"':
      j += 1
      val = []
      while True:
        if j >= n:
          return None  # unterminated quote
        ch = line[j]
        if ch == '\\':
          if j + 1 >= n:
            return None
          e = line[j + 1]
          if e == 'n':
            val.append('\n')
          elif e == 't':
            val.append('\t')
          elif e == 'r':
            val.append('\r')
          elif e == 'u' and j + 6 <= n:
            val.append(chr(int(line[j + 2:j + 6], 16)))
            j += 4
          elif e == 'x' and j + 4 <= n:
            val.append(chr(int(line[j + 2:j + 4], 16)))
            j += 2
          else:
            val.append(e)
          j += 2
          continue
        if ch == '"':
          j += 1
          break
        val.append(ch)
        j += 1
      out[key] = ''.join(val)
      if j < n and line[j] != ' ':
        return None
    else:
      k = j
      while k < n and line[k] != ' ':
        k += 1
      out[key] = line[j:k]
      j = k
    i = j
  return out if out else None


def parse_log_line(line):
  """A logfmt line, or a JSON-lines object (log.format json) with its values as strings
  (null -> '-'), so the same assertions read both formats."""
  if line.startswith('{'):
    try:
      obj = json.loads(line)
    except ValueError:
      return None
    if not isinstance(obj, dict):
      return None
    out = {}
    for k, v in obj.items():
      if v is None:
        out[k] = '-'
      elif isinstance(v, bool):
        out[k] = 'true' if v else 'false'
      elif isinstance(v, (dict, list)):
        out[k] = json.dumps(v)
      else:
        out[k] = str(v)
    out['_json'] = True
    return out
  return parse_logfmt(line)


# ---- processes ------------------------------------------------------------------------------------

def server(sid, hosts, backend, **extra):
  d = {'id': sid, 'hosts': list(hosts), 'backend': backend}
  d.update(extra)
  return d


def addr_str(addr):
  host, port = addr[0], addr[1]
  return '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)


def split_addr(s):
  m = re.match(r'^\[(.*)\]:(\d+)$', s) or re.match(r'^(.*):(\d+)$', s)
  check(m is not None, 'address host:port', s)
  return m.group(1), int(m.group(2))


SANITIZER_MARKERS = ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:',
                     'ThreadSanitizer', 'SUMMARY: UndefinedBehaviorSanitizer')

_live = []
_tmpdirs = []


def mkdtemp(prefix='hopper-integ-'):
  """A temporary directory removed when the test file ends."""
  d = tempfile.mkdtemp(prefix=prefix)
  _tmpdirs.append(d)
  return d


class Hopper:
  """One running hopper. `config` is merged over harness defaults (listen 127.0.0.1:0, workers 2,
  drain_s 5)."""

  def __init__(self, binary, servers=None, config=None, workers=2, listen=None, start=True,
               extra_args=None):
    self.binary = binary
    self.dir = mkdtemp()
    self.config_path = os.path.join(self.dir, 'hopper.json')
    cfg = {'listen': listen or ['127.0.0.1:0'], 'workers': workers, 'drain_s': 5,
           'servers': servers if servers is not None else []}
    if config:
      cfg.update(config)
    self.config = cfg
    self.write_config(cfg)
    self.proc = None
    self.lines = []         # raw stderr lines
    self.records = []       # (index, dict or None)
    self.stdout = []
    self.cond = threading.Condition()
    self.eof = False
    self.addrs = []
    self.port = None
    self.stopped = False
    self.extra_args = extra_args or []
    if start:
      self.start()

  def write_config(self, cfg=None, raw=None):
    data = raw if raw is not None else json.dumps(cfg, indent=2, ensure_ascii=False)
    tmp = self.config_path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
      f.write(data)
    os.replace(tmp, self.config_path)

  def start(self):
    self.proc = subprocess.Popen([self.binary, '--config', self.config_path] + self.extra_args,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
    _live.append(self)
    threading.Thread(target=self._read_err, daemon=True).start()
    threading.Thread(target=self._read_out, daemon=True).start()
    try:
      deadline = time.monotonic() + T_START
      n = len(self.config['listen'])
      pos = 0
      for _ in range(n):
        pos, rec = self._wait(None, {'msg': 'listening'}, max(0.1, deadline - time.monotonic()),
                              pos)
        self.addrs.append(split_addr(rec['addr']))
      self._wait(None, {'msg': 'ready'}, max(0.1, deadline - time.monotonic()), pos)
    except Exception:
      self.kill()
      raise
    self.host, self.port = self.addrs[0]

  def _read_err(self):
    f = self.proc.stderr
    for raw in iter(f.readline, b''):
      line = raw.decode('utf-8', 'replace').rstrip('\n')
      with self.cond:
        self.records.append((len(self.lines), parse_log_line(line)))
        self.lines.append(line)
        self.cond.notify_all()
    with self.cond:
      self.eof = True
      self.cond.notify_all()

  def _read_out(self):
    for raw in iter(self.proc.stdout.readline, b''):
      with self.cond:
        self.stdout.append(raw.decode('utf-8', 'replace').rstrip('\n'))

  @property
  def pid(self):
    return self.proc.pid

  def mark(self):
    """Index of the next log line: pass as start= to only see lines logged from now on."""
    with self.cond:
      return len(self.lines)

  def find_logs(self, match=None, start=0, **fields):
    with self.cond:
      return [r for i, r in self.records[start:] if r is not None and _matches(r, match, fields)]

  def wait_log(self, match=None, timeout=T_WAIT, start=0, **fields):
    """Waits for a log line matching all `fields` (key=value, exact string compare; a compiled
    regex value is searched) and `match` (a callable on the dict, or a regex on the raw line).
    Returns the parsed dict."""
    return self._wait(match, fields, timeout, start)[1]

  def _wait(self, match, fields, timeout, start):
    """As wait_log; returns (index after the matching line, dict)."""
    deadline = time.monotonic() + timeout
    with self.cond:
      pos = start
      while True:
        while pos < len(self.records):
          i, r = self.records[pos]
          pos += 1
          if isinstance(match, (str, re.Pattern)):
            if re.search(match, self.lines[i]) and _matches(r or {}, None, fields):
              return pos, r
          elif r is not None and _matches(r, match, fields):
            return pos, r
        left = deadline - time.monotonic()
        if left <= 0 or (self.eof and pos >= len(self.records)):
          break
        self.cond.wait(min(left, 0.2))
    want = ' '.join('%s=%s' % kv for kv in fields.items())
    raise TestFailure('no log line matching %s %s within %.1fs%s' %
                      (want, match or '', timeout,
                       ' (hopper exited: %r)' % self.proc.poll() if self.eof else ''))

  def session_log(self, client, timeout=T_WAIT, **fields):
    """The `msg=session` line of the session whose client socket is `client` (a socket, Client or
    local address tuple)."""
    if isinstance(client, Client):
      client = client.local
    elif isinstance(client, socket.socket):
      client = client.getsockname()
    # Ports are reused on loopback, so a line once returned is never returned again.
    r = self.wait_log(lambda r: not r.get('_taken'), msg='session', client=addr_str(client),
                      timeout=timeout, **fields)
    r['_taken'] = True
    return r

  def send_signal(self, sig):
    self.proc.send_signal(sig)

  def rss_kib(self):
    with open('/proc/%d/status' % self.proc.pid) as f:
      for line in f:
        if line.startswith('VmRSS:'):
          return int(line.split()[1])
    return 0

  def wait_exit(self, timeout=T_STOP):
    try:
      return self.proc.wait(timeout)
    except subprocess.TimeoutExpired:
      return None

  def check_exit(self, rc):
    """Asserts a clean exit: status 0, not a signal, no sanitizer report, `msg=stopped` logged."""
    with self.cond:
      while not self.eof:
        if not self.cond.wait(5):
          break
    check(rc is not None, 'hopper did not exit in time')
    check(rc >= 0, 'hopper died of signal %d' % -rc if rc is not None and rc < 0 else '')
    check_eq(0, rc, 'hopper exit status')
    bad = [l for l in self.lines if any(m in l for m in SANITIZER_MARKERS)]
    check(not bad, 'sanitizer report in stderr', '\n'.join(bad[:5]))
    check(self.find_logs(msg='stopped'), 'msg=stopped logged before exit')

  def stop(self, sig=signal.SIGTERM):
    if self.stopped:
      return self.proc.returncode
    self.stopped = True
    if self.proc.poll() is None:
      self.proc.send_signal(sig)
    rc = self.wait_exit()
    if rc is None:
      self.kill()
    self.check_exit(rc)
    return rc

  def kill(self):
    self.stopped = True
    if self.proc and self.proc.poll() is None:
      self.proc.kill()
      try:
        self.proc.wait(5)
      except subprocess.TimeoutExpired:
        pass

  def dump(self, out=sys.stdout):
    with self.cond:
      lines = list(self.lines)
      stdout = list(self.stdout)
    out.write('---- hopper stderr (%s, pid %s, exit %r) ----\n' %
              (self.config_path, self.proc.pid if self.proc else '-',
               self.proc.poll() if self.proc else None))
    for l in lines[-400:]:
      out.write('  ' + l + '\n')
    if stdout:
      out.write('---- hopper stdout ----\n')
      for l in stdout[-100:]:
        out.write('  ' + l + '\n')
    out.write('---- config ----\n')
    try:
      with open(self.config_path) as f:
        out.write(f.read() + '\n')
    except OSError:
      pass

  def __enter__(self):
    return self

  def __exit__(self, et, ev, tb):
    if et is None:
      self.stop()
    else:
      self.kill()
    return False


def _matches(rec, match, fields):
  for k, v in fields.items():
    if k not in rec:
      return False
    if isinstance(v, re.Pattern):
      if not v.search(rec[k]):
        return False
    elif rec[k] != str(v):
      return False
  if match is not None and callable(match) and not match(rec):
    return False
  return True


def run_hopper(binary, args, timeout=T_WAIT):
  """Runs hopper to completion (check-config, bad config). Returns (rc, stdout, stderr)."""
  p = subprocess.run([binary] + args, stdin=subprocess.DEVNULL, capture_output=True,
                     timeout=timeout)
  return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


# ---- sockets --------------------------------------------------------------------------------------

class Peer:
  """A connected socket with a reader thread recording every byte received."""

  def __init__(self, sock, record=True):
    self.sock = sock
    self.sock.settimeout(None)
    self.data = bytearray()
    self.eof = False
    self.error = None
    self.cond = threading.Condition()
    self.local = sock.getsockname()
    try:
      self.remote = sock.getpeername()
    except OSError:
      self.remote = None
    if record:
      self.thread = threading.Thread(target=self._reader, daemon=True)
      self.thread.start()

  def _reader(self):
    while True:
      try:
        b = self.sock.recv(262144)
      except OSError as e:
        with self.cond:
          self.error = e
          self.eof = True
          self.cond.notify_all()
        return
      with self.cond:
        if not b:
          self.eof = True
          self.cond.notify_all()
          return
        self.data += b
        self.cond.notify_all()

  def send(self, data):
    self.sock.sendall(data)

  def try_send(self, data):
    """sendall that returns False instead of raising on a closed or reset connection."""
    try:
      self.sock.sendall(data)
      return True
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
      return False

  def shutdown_wr(self):
    self.sock.shutdown(socket.SHUT_WR)

  def close(self):
    # shutdown first: close() alone does not end a connection while the reader thread is blocked
    # in recv() on it (the kernel keeps the socket until that call returns).
    try:
      self.sock.shutdown(socket.SHUT_RDWR)
    except OSError:
      pass
    try:
      self.sock.close()
    except OSError:
      pass

  def wait_bytes(self, n, timeout=T_WAIT):
    """Waits until at least n bytes were received; returns all received so far."""
    deadline = time.monotonic() + timeout
    with self.cond:
      while len(self.data) < n and not self.eof:
        left = deadline - time.monotonic()
        if left <= 0:
          break
        self.cond.wait(left)
      if len(self.data) < n:
        raise TestFailure('expected %d bytes, got %d%s: %r' %
                          (n, len(self.data), ' and EOF' if self.eof else '',
                           bytes(self.data[:200])))
      return bytes(self.data)

  def wait_eof(self, timeout=T_WAIT, close=False):
    """Waits for EOF (or a reset); returns all bytes received. close=True then closes this side
    too, as a real client does once the server hung up (hopper may linger for it)."""
    deadline = time.monotonic() + timeout
    with self.cond:
      while not self.eof:
        left = deadline - time.monotonic()
        if left <= 0:
          raise TestFailure('no EOF within %.1fs; got %d bytes: %r' %
                            (timeout, len(self.data), bytes(self.data[:200])))
        self.cond.wait(left)
      data = bytes(self.data)
    if close:
      self.close()
    return data

  def wait_frames(self, n, timeout=T_WAIT):
    """Waits until n complete frames arrived; returns their bodies."""
    deadline = time.monotonic() + timeout
    with self.cond:
      while True:
        frames, _ = parse_frames(self.data)
        if len(frames) >= n:
          return frames
        left = deadline - time.monotonic()
        if left <= 0 or self.eof:
          raise TestFailure('expected %d frames, got %r' % (n, bytes(self.data[:300])))
        self.cond.wait(left)

  def received(self):
    with self.cond:
      return bytes(self.data)

  def is_eof(self):
    with self.cond:
      return self.eof

  def quiet(self, seconds):
    """Sleeps and returns True if nothing new arrived and no EOF came meanwhile."""
    with self.cond:
      n = len(self.data)
    time.sleep(seconds)
    with self.cond:
      return len(self.data) == n and not self.eof


class Client(Peer):
  """A client socket; `source` picks its address (any 127.x.y.z works on loopback, so one test
  can play several client IPs)."""

  def __init__(self, port, host='127.0.0.1', record=True, timeout=T_WAIT, rcvbuf=None,
               source=None):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if rcvbuf:  # before connect, so the window matches (and autotuning is off)
      s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source:
      s.bind((source, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    super().__init__(s, record=record)


class Backend:
  """A listening socket; each accepted connection becomes a Peer queued for accept()."""

  def __init__(self, host='127.0.0.1', record=True, backlog=64, rcvbuf=None):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    self.lsock = socket.socket(fam, socket.SOCK_STREAM)
    self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:  # inherited by accepted sockets
      self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    self.lsock.bind((host, 0))
    self.lsock.listen(backlog)
    self.port = self.lsock.getsockname()[1]
    self.addr = addr_str((host, self.port))
    self.record = record
    self.peers = []
    self.cond = threading.Condition()
    self.taken = 0
    self.closed = False
    threading.Thread(target=self._acceptor, daemon=True).start()

  def _acceptor(self):
    while True:
      try:
        s, _ = self.lsock.accept()
      except OSError:
        return
      s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
      p = Peer(s, record=self.record)
      with self.cond:
        self.peers.append(p)
        self.cond.notify_all()

  def accept(self, timeout=T_WAIT):
    """The next accepted connection (in accept order)."""
    deadline = time.monotonic() + timeout
    with self.cond:
      while len(self.peers) <= self.taken:
        left = deadline - time.monotonic()
        if left <= 0:
          raise TestFailure('backend %s: no connection within %.1fs' % (self.addr, timeout))
        self.cond.wait(left)
      p = self.peers[self.taken]
      self.taken += 1
      return p

  def count(self):
    with self.cond:
      return len(self.peers)

  def close(self):
    self.closed = True
    try:
      self.lsock.shutdown(socket.SHUT_RDWR)
    except OSError:
      pass
    self.lsock.close()
    with self.cond:
      for p in self.peers:
        p.close()


def closed_port(host='127.0.0.1'):
  """A loopback port with no listener (connect is refused)."""
  fam = socket.AF_INET6 if ':' in host else socket.AF_INET
  s = socket.socket(fam, socket.SOCK_STREAM)
  s.bind((host, 0))
  port = s.getsockname()[1]
  s.close()
  return port


class BlackholeListener:
  """A listener whose accept queue is full: listen(1) and a few connections never accepted, so
  further SYNs are dropped and connects to it hang until the connector's own timeout."""

  def __init__(self, host='127.0.0.1'):
    self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    self.lsock.bind((host, 0))
    self.lsock.listen(1)
    self.port = self.lsock.getsockname()[1]
    self.addr = addr_str((host, self.port))
    self.fillers = []
    for _ in range(8):
      c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
      c.setblocking(False)
      c.connect_ex((host, self.port))
      self.fillers.append(c)
      # Once a connect no longer completes promptly the queue is full.
      _, w, _ = select.select([], [c], [], 0.3)
      if not w:
        break
      if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
        break
    self.full = not select.select([], [self.fillers[-1]], [], 0.2)[1]

  def close(self):
    for c in self.fillers:
      c.close()
    self.lsock.close()


def ipv6_loopback_ok():
  if not socket.has_ipv6:
    return False
  try:
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.bind(('::1', 0))
    s.listen(1)
    c = socket.create_connection(('::1', s.getsockname()[1]), timeout=2)
    c.close()
    s.close()
    return True
  except OSError:
    return False


def sha256(b):
  return hashlib.sha256(b).hexdigest()


def wait_until(pred, timeout=T_WAIT, what='condition'):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    if pred():
      return
    time.sleep(0.02)
  raise TestFailure('%s not met within %.1fs' % (what, timeout))


# ---- runner ---------------------------------------------------------------------------------------

def main(tests):
  """Runs each test(binary); prints PASS/FAIL/SKIP lines and 'N passed, N failed' last.
  Exit 0 all passed (skips allowed), 1 any failed, 77 all skipped."""
  if len(sys.argv) < 2:
    print('usage: %s path/to/hopper [test-name-substring...]' % sys.argv[0])
    sys.exit(2)
  binary = os.path.abspath(sys.argv[1])
  only = sys.argv[2:]
  if not os.access(binary, os.X_OK):
    print('SKIP: %s is not an executable' % binary)
    print('0 passed, 0 failed')
    sys.exit(77)
  passed = failed = skipped = 0
  for t in tests:
    name = t.__name__
    if only and not any(o in name for o in only):
      continue
    del _live[:]
    t0 = time.monotonic()
    sys.stdout.write('RUN  %s\n' % name)
    sys.stdout.flush()
    try:
      t(binary)
    except Skip as e:
      skipped += 1
      print('SKIP %s: %s' % (name, e))
    except Exception:
      failed += 1
      print('FAIL %s (%.1fs)' % (name, time.monotonic() - t0))
      traceback.print_exc(file=sys.stdout)
      for hp in _live:
        hp.dump()
    else:
      passed += 1
      print('PASS %s (%.1fs)' % (name, time.monotonic() - t0))
    finally:
      for hp in _live:
        hp.kill()
        try:
          hp.proc.stderr.close()
          hp.proc.stdout.close()
        except Exception:
          pass
    sys.stdout.flush()
  for d in _tmpdirs:
    shutil.rmtree(d, ignore_errors=True)
  print('%d passed, %d failed' % (passed, failed))
  sys.stdout.flush()
  if failed:
    sys.exit(1)
  if passed == 0 and skipped:
    sys.exit(77)
  sys.exit(0)
