#!/usr/bin/env python3
"""The packaging agrees with itself and with the binary.

Docker cannot run here, Kubernetes neither, so this reads the files instead:

- deploy/kubernetes/*.yaml parse; every hopper.json in a ConfigMap passes `hopper check-config`;
  each workload running hopper mounts that config where its argv says, exposes the listen and
  admin ports, probes /readyz (readiness) and /healthz (liveness) on the admin port (which must not
  be loopback), sleeps in preStop and has terminationGracePeriodSeconds >= preStop + drain_s +
  margin, runs non-root on a read-only root with a writable volume under store.path, and finds
  HOPPER_API_TOKEN_FILE in a mounted Secret; Services and the PodDisruptionBudget select those pods
  and target those ports; a sidecar's 127.0.0.1 backend is a port of its sibling container.
- deploy/systemd/hopper.service is hardened as documented, its TimeoutStopSec covers drain_s of
  deploy/systemd/hopper.json, and `systemd-analyze verify` accepts it (where available).
- Dockerfile: the runtime stage runs as a numeric non-root user and installs the Debian package of
  every library the binary needs (ELF DT_NEEDED, resolved with ldd and dpkg); the build stage
  installs scripts/lib/deps.sh BUILD_PACKAGES; every COPY source exists in the context that
  .dockerignore leaves, and so does every source file; the image's default config passes
  check-config and agrees with EXPOSE, VOLUME and WORKDIR.
- docs/deploy.md names every file under deploy/.

YAML: PyYAML (Debian python3-yaml) when importable; otherwise a small parser for the subset the
manifests use. With PyYAML both run and must agree, so the manifests stay inside that subset.
HOPPER_DEPLOY_NO_YAML=1 forces the small parser.

Usage: t_deploy.py path/to/hopper [test-name-substring...]. Exit 0 pass, 1 fail, 77 skip.
"""

import glob
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
import harness as h  # noqa: E402

ROOT = h.SRC_ROOT
DEPLOY = os.path.join(ROOT, 'deploy')
K8S = os.path.join(DEPLOY, 'kubernetes')
SYSTEMD = os.path.join(DEPLOY, 'systemd')
DOCKERFILE = os.path.join(ROOT, 'Dockerfile')
DOCKERIGNORE = os.path.join(ROOT, '.dockerignore')

# Seconds between the end of a drain and SIGKILL: hopper closes the rest, logs and exits.
DRAIN_MARGIN_S = 5
DEFAULT_STORE_PATH = 'var/hopper.db'
DEFAULT_ADMIN_LISTEN = '127.0.0.1:9565'
# Build-context paths the image does not need (.dockerignore may leave them out).
CONTEXT_OPTIONAL = ('docs/', 'deploy/', 'Dockerfile', '.dockerignore')

try:
  if os.environ.get('HOPPER_DEPLOY_NO_YAML'):
    raise ImportError('HOPPER_DEPLOY_NO_YAML is set')
  import yaml  # Debian: python3-yaml
except ImportError:
  yaml = None


# ---- A small YAML reader ----------------------------------------------------------------------
# Block mappings and sequences, flow [..] and {..}, plain / 'single' / "double" scalars, | and |-
# block scalars, comments, --- between documents. No anchors, tags, folded scalars or multi-line
# flow. Plain scalars resolve like PyYAML (YAML 1.1): null/~, booleans (true/yes/on...), decimal
# integers; other numbers (octal, hex, floats) are refused so that they get quoted.

class YamlError(Exception):
  pass


_BOOLS = {'true': True, 'yes': True, 'on': True, 'false': False, 'no': False, 'off': False}


def _plain(s, where):
  if s in ('', '~', 'null', 'Null', 'NULL'):
    return None
  if s.lower() in _BOOLS and s in (s.lower(), s.capitalize(), s.upper()):
    return _BOOLS[s.lower()]
  if re.fullmatch(r'[-+]?(0|[1-9][0-9]*)', s):
    return int(s)
  if re.fullmatch(r'[-+]?(0[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+'
                  r'|[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|\.[0-9_]+([eE][-+]?[0-9]+)?'
                  r'|\.(inf|Inf|INF|nan|NaN|NAN)|[0-9][0-9_]*(:[0-5]?[0-9])+)', s):
    raise YamlError('%s: quote %r (a number YAML 1.1 reads differently)' % (where, s))
  if s[0] in '&*!%@`|>':
    raise YamlError('%s: unsupported YAML in %r' % (where, s))
  return s


def _strip_comment(s):
  """s without a trailing ' # comment' (outside quotes)."""
  q = None
  i = 0
  while i < len(s):
    c = s[i]
    if q == '"':
      if c == '\\':
        i += 1
      elif c == '"':
        q = None
    elif q == "'":
      if c == "'":
        q = None
    elif c in '"\'' and (i == 0 or s[i - 1] in ' [{,:'):
      q = c
    elif c == '#' and (i == 0 or s[i - 1] in ' \t'):
      return s[:i].rstrip()
    i += 1
  return s.rstrip()


class _Flow:
  """One inline value: a quoted or plain scalar, or a flow sequence / mapping on one line."""

  def __init__(self, s, where):
    self.s, self.i, self.where = s, 0, where

  def fail(self, what):
    raise YamlError('%s: %s in %r' % (self.where, what, self.s))

  def ws(self):
    while self.i < len(self.s) and self.s[self.i] == ' ':
      self.i += 1

  def value(self, in_flow):
    self.ws()
    if self.i >= len(self.s):
      return None
    c = self.s[self.i]
    if c == '[':
      self.i += 1
      out = []
      self.ws()
      if self.s[self.i:self.i + 1] == ']':
        self.i += 1
        return out
      while True:
        out.append(self.value(True))
        self.ws()
        c = self.s[self.i:self.i + 1]
        self.i += 1
        if c == ']':
          return out
        if c != ',':
          self.fail('expected , or ]')
    if c == '{':
      self.i += 1
      out = {}
      self.ws()
      if self.s[self.i:self.i + 1] == '}':
        self.i += 1
        return out
      while True:
        k = self.value(True)
        self.ws()
        if self.s[self.i:self.i + 1] != ':':
          self.fail('expected :')
        self.i += 1
        out[k] = self.value(True)
        self.ws()
        c = self.s[self.i:self.i + 1]
        self.i += 1
        if c == '}':
          return out
        if c != ',':
          self.fail('expected , or }')
    if c == '"':
      j = self.i + 1
      while j < len(self.s) and self.s[j] != '"':
        j += 2 if self.s[j] == '\\' else 1
      if j >= len(self.s):
        self.fail('unterminated "')
      try:
        v = json.loads(self.s[self.i:j + 1])
      except ValueError:
        self.fail('unsupported escape')
      self.i = j + 1
      return v
    if c == "'":
      j = self.i + 1
      out = ''
      while True:
        k = self.s.find("'", j)
        if k < 0:
          self.fail("unterminated '")
        out += self.s[j:k]
        if self.s[k + 1:k + 2] == "'":
          out += "'"
          j = k + 2
          continue
        self.i = k + 1
        return out
    j = self.i
    stops = ',[]{}' if in_flow else ''
    while j < len(self.s) and self.s[j] not in stops and not (
        in_flow and self.s[j] == ':' and (j + 1 == len(self.s) or self.s[j + 1] in ' ,]}')):
      j += 1
    v = self.s[self.i:j].strip()
    self.i = j
    return _plain(v, self.where)

  def whole(self):
    v = self.value(False)
    self.ws()
    if self.i != len(self.s):
      self.fail('trailing characters')
    return v


def _key_split(text):
  """'key: rest' -> (key, rest), or None when text is not a mapping entry."""
  if text[0] in '"\'':
    f = _Flow(text, 'key')
    k = f.value(True)
    rest = text[f.i:]
    if rest.startswith(':') and (len(rest) == 1 or rest[1] == ' '):
      return k, rest[1:]
    return None
  m = re.match(r'([^#\[\]{},"\'][^#]*?):( |$)', text)
  if not m or ': ' in m.group(1) or m.group(1).startswith('- '):
    return None
  return _plain(m.group(1), 'key'), text[m.end():]


class _Block:
  def __init__(self, lines, name):
    self.lines, self.i, self.name = list(lines), 0, name

  def where(self):
    return '%s:%d' % (self.name, self.i + 1)

  def peek(self):
    while self.i < len(self.lines):
      s = self.lines[self.i]
      st = s.strip()
      if st == '' or st.startswith('#'):
        self.i += 1
        continue
      lead = s[:len(s) - len(s.lstrip())]
      if '\t' in lead:
        raise YamlError('%s: tab in indentation' % self.where())
      return len(lead), _strip_comment(st)
    return None

  def document(self):
    p = self.peek()
    if p is None:
      return None, False
    v = self.node(p[0])
    if self.peek() is not None:
      raise YamlError('%s: unexpected indentation' % self.where())
    return v, True

  def node(self, indent):
    text = self.peek()[1]
    if text == '-' or text.startswith('- '):
      return self.seq(indent)
    if _key_split(text) is not None:
      return self.map(indent)
    v = _Flow(text, self.where()).whole()
    self.i += 1
    return v

  def seq(self, indent):
    out = []
    while True:
      p = self.peek()
      if p is None or p[0] < indent:
        return out
      if p[0] > indent:
        raise YamlError('%s: bad indentation' % self.where())
      if not (p[1] == '-' or p[1].startswith('- ')):
        return out                 # "key:\n- a\nnext: b" at one indent
      line = self.lines[self.i]
      rest = line[indent + 1:]
      body = rest.lstrip(' ')
      if body == '' or body.startswith('#'):
        self.i += 1
        q = self.peek()
        out.append(self.node(q[0]) if q is not None and q[0] > indent else None)
        continue
      sub = indent + 1 + len(rest) - len(body)
      self.lines[self.i] = ' ' * sub + body  # the item's content, as if on its own line
      out.append(self.node(sub))

  def map(self, indent):
    out = {}
    while True:
      p = self.peek()
      if p is None or p[0] < indent:
        return out
      if p[0] > indent:
        raise YamlError('%s: bad indentation' % self.where())
      kv = _key_split(p[1])
      if kv is None:
        if p[1] == '-' or p[1].startswith('- '):
          return out
        raise YamlError('%s: expected "key: value", got %r' % (self.where(), p[1]))
      key, rest = kv
      if key in out:
        raise YamlError('%s: duplicate key %r' % (self.where(), key))
      rest = rest.strip()
      where = self.where()
      self.i += 1
      if rest == '':
        q = self.peek()
        if q is None or q[0] < indent:
          out[key] = None
        elif q[0] == indent:
          out[key] = self.seq(indent) if (q[1] == '-' or q[1].startswith('- ')) else None
        else:
          out[key] = self.node(q[0])
      elif rest[0] in '|>':
        out[key] = self.literal(rest, indent, where)
      else:
        out[key] = _Flow(rest, where).whole()

  def literal(self, header, indent, where):
    if header not in ('|', '|-', '|+'):
      raise YamlError('%s: only |, |- and |+ block scalars are supported' % where)
    body = []
    block = None
    while self.i < len(self.lines):
      s = self.lines[self.i]
      if s.strip() == '':
        body.append('')
        self.i += 1
        continue
      ind = len(s) - len(s.lstrip(' '))
      if block is None:
        if ind <= indent:
          break
        block = ind
      if ind < block:
        break
      body.append(s[block:])
      self.i += 1
    while body and body[-1] == '' and header != '|+':
      body.pop()
    text = '\n'.join(body)
    if header == '|-' or not body:
      return text
    return text + '\n'


def mini_yaml_load_all(text, name):
  docs, cur = [], []
  for line in text.split('\n'):
    if re.fullmatch(r'---\s*(#.*)?', line.rstrip()):
      docs.append(cur)
      cur = []
    else:
      cur.append(line)
  docs.append(cur)
  out = []
  for d in docs:
    v, present = _Block(d, name).document()
    if present:
      out.append(v)
  return out


def load_manifests():
  """{path: [documents]} for deploy/kubernetes/*.yaml; with PyYAML, also cross-checked."""
  out = {}
  paths = glob.glob(os.path.join(K8S, '*.yaml')) + glob.glob(os.path.join(K8S, '*.yml'))
  for path in sorted(paths):
    with open(path, encoding='utf-8') as f:
      text = f.read()
    rel = os.path.relpath(path, ROOT)
    mini = mini_yaml_load_all(text, rel)
    if yaml is not None:
      full = [d for d in yaml.safe_load_all(text) if d is not None]
      h.check(full == mini, '%s: the fallback YAML parser reads it differently from PyYAML; '
              'keep the manifest inside its subset (see the top of %s)' %
              (rel, os.path.basename(__file__)),
              json.dumps(full, sort_keys=True)[:300], json.dumps(mini, sort_keys=True)[:300])
    out[rel] = mini
  h.check(out, 'no manifests under deploy/kubernetes')
  return out


# ---- Shared helpers ---------------------------------------------------------------------------

def check_config(binary, cfg, what):
  """Runs `hopper check-config` on cfg (a dict); fails with its stderr unless it exits 0."""
  d = tempfile.mkdtemp(prefix='hopper-deploy-')
  try:
    path = os.path.join(d, 'hopper.json')
    with open(path, 'w', encoding='utf-8') as f:
      json.dump(cfg, f)
    r = subprocess.run([binary, 'check-config', path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    h.check(r.returncode == 0, '%s: hopper check-config exit %d' % (what, r.returncode),
            r.stderr.decode(errors='replace').strip())
  finally:
    shutil.rmtree(d, ignore_errors=True)


def endpoint(s, what):
  """'host:port' or '[v6]:port' -> (host, port)."""
  m = re.fullmatch(r'\[([0-9A-Fa-f:.]+)\]:(\d+)|([^:\[\]]+):(\d+)', s or '')
  h.check(m is not None, '%s: expected host:port, got %r' % (what, s))
  host = m.group(1) or m.group(3)
  return host, int(m.group(2) or m.group(4))


def is_loopback(host):
  return host in ('localhost', '::1') or host.startswith('127.')


def cfg_ports(cfg):
  """(listen ports, admin (host, port)) of a hopper.json."""
  listen = [endpoint(a, 'listen')[1] for a in cfg.get('listen', ['0.0.0.0:25565'])]
  admin = endpoint((cfg.get('admin') or {}).get('listen', DEFAULT_ADMIN_LISTEN), 'admin.listen')
  return listen, admin


def under(path, top):
  path, top = os.path.normpath(path), os.path.normpath(top)
  return path == top or path.startswith(top.rstrip('/') + '/')


def resolve(path, cwd):
  return os.path.normpath(path if os.path.isabs(path) else os.path.join(cwd, path))


# ---- Dockerfile -------------------------------------------------------------------------------

class Stage:
  def __init__(self, image, name):
    self.image, self.name = image, name
    self.instrs = []             # (INSTRUCTION, arguments, line)

  def all(self, instr):
    return [(a, n) for i, a, n in self.instrs if i == instr]

  def last(self, instr):
    found = self.all(instr)
    return found[-1][0] if found else None


def parse_dockerfile():
  with open(DOCKERFILE, encoding='utf-8') as f:
    lines = f.read().split('\n')
  h.check(not any(re.match(r'#\s*escape\s*=', l) for l in lines[:5]),
          'Dockerfile: the escape directive is not supported here')
  instrs, buf, start = [], '', None
  for n, line in enumerate(lines, 1):
    s = line.strip()
    if s.startswith('#') or (s == '' and not buf):
      continue
    if start is None:
      start = n
    if s.endswith('\\'):
      buf += s[:-1] + ' '
      continue
    buf += s
    word, _, args = buf.strip().partition(' ')
    instrs.append((word.upper(), args.strip(), start))
    buf, start = '', None
  h.check(not buf, 'Dockerfile: ends inside a continued line')
  stages = []
  for instr, args, n in instrs:
    if instr == 'FROM':
      words = [w for w in args.split() if not w.startswith('--')]
      name = words[2] if len(words) == 3 and words[1].lower() == 'as' else None
      h.check(len(words) in (1, 3), 'Dockerfile:%d: FROM IMAGE [AS NAME]' % n)
      stages.append(Stage(words[0], name))
    else:
      h.check(stages, 'Dockerfile:%d: %s before FROM' % (n, instr))
      stages[-1].instrs.append((instr, args, n))
  h.check(len(stages) >= 2, 'Dockerfile: expected a build stage and a runtime stage')
  return stages


def exec_form(args, what):
  try:
    v = json.loads(args)
  except ValueError:
    v = None
  h.check(isinstance(v, list) and all(isinstance(x, str) for x in v),
          '%s must be in exec form (a JSON array), so that signals reach hopper' % what, args)
  return v


def apt_packages(stage):
  """Packages named by `apt-get install` in the stage's RUN instructions."""
  pkgs = []
  for args, _ in stage.all('RUN'):
    for seg in re.split(r'&&|\|\||;|\|', args):
      try:
        words = shlex.split(seg)
      except ValueError:
        continue
      while words and re.match(r'[A-Za-z_][A-Za-z0-9_]*=', words[0]):
        words.pop(0)
      if len(words) >= 2 and words[0] in ('apt-get', 'apt') and 'install' in words[1:]:
        rest = words[words.index('install') + 1:]
        pkgs += [w for w in rest if not w.startswith('-')]
  return pkgs


def copy_args(args):
  """(flags, sources, dest) of a COPY/ADD argument string."""
  words = shlex.split(args)
  flags = {}
  while words and words[0].startswith('--'):
    k, _, v = words.pop(0)[2:].partition('=')
    flags[k] = v
  if words and words[0].startswith('['):
    words = json.loads(' '.join(words))
  h.check(len(words) >= 2, 'COPY needs a source and a destination', args)
  return flags, words[:-1], words[-1]


def image_facts():
  """What the runtime stage sets, with the Dockerfile's own sanity checks applied."""
  stages = parse_dockerfile()
  build, rt = stages[0], stages[-1]
  names = [s.name for s in stages]
  for st in stages:
    for args, n in st.all('COPY') + st.all('ADD'):
      flags, _, _ = copy_args(args)
      if 'from' in flags:
        h.check(flags['from'] in names[:stages.index(st)] or flags['from'].isdigit(),
                'Dockerfile:%d: COPY --from=%s names no earlier stage' % (n, flags['from']))
  user = rt.last('USER')
  h.check(user is not None, 'Dockerfile: the runtime stage sets no USER (it would run as root)')
  uid = user.split(':')[0]
  h.check(uid.isdigit(), 'Dockerfile: USER %s: use a numeric uid, so that Kubernetes runAsNonRoot '
          'can verify it' % user)
  h.check(int(uid) != 0, 'Dockerfile: the runtime USER is root')
  workdir = rt.last('WORKDIR')
  h.check(workdir and workdir.startswith('/'),
          'Dockerfile: the runtime stage needs an absolute WORKDIR')
  volumes = []
  for args, _ in rt.all('VOLUME'):
    volumes += json.loads(args) if args.startswith('[') else args.split()
  exposed = set()
  for args, _ in rt.all('EXPOSE'):
    for w in args.split():
      port, _, proto = w.partition('/')
      h.check(proto in ('', 'tcp'), 'Dockerfile: EXPOSE %s: hopper is TCP' % w)
      exposed.add(int(port))
  h.check(rt.last('STOPSIGNAL') in ('SIGTERM', '15'),
          'Dockerfile: STOPSIGNAL SIGTERM (hopper drains on it)', rt.last('STOPSIGNAL'))
  ep = exec_form(rt.last('ENTRYPOINT') or '[]', 'ENTRYPOINT')
  cmd = exec_form(rt.last('CMD') or '[]', 'CMD')
  argv = ep + cmd
  h.check(argv and os.path.basename(argv[0]) == 'hopper', 'Dockerfile: the image must run hopper',
          argv)
  copies = {}
  for args, n in rt.all('COPY'):
    flags, srcs, dest = copy_args(args)
    if 'from' not in flags and len(srcs) == 1:
      copies[dest] = srcs[0]
  return {'stages': stages, 'build': build, 'runtime': rt, 'uid': int(uid), 'workdir': workdir,
          'volumes': volumes, 'exposed': exposed, 'entrypoint': ep, 'cmd': cmd, 'copies': copies}


def config_arg(argv, what):
  for i, a in enumerate(argv):
    if a in ('--config', '-c') and i + 1 < len(argv):
      return argv[i + 1]
    if a.startswith('--config='):
      return a[len('--config='):]
  h.check(False, '%s: no --config FILE in the command line' % what, argv)


# ---- .dockerignore ----------------------------------------------------------------------------

def dockerignore_rules():
  rules = []
  if not os.path.exists(DOCKERIGNORE):
    return rules
  with open(DOCKERIGNORE, encoding='utf-8') as f:
    for line in f:
      p = line.strip()
      if not p or p.startswith('#'):
        continue
      neg = p.startswith('!')
      p = os.path.normpath(p[1:].strip() if neg else p).lstrip('/')
      rx, i = '', 0
      while i < len(p):
        if p.startswith('**/', i):
          rx += '(.*/)?'
          i += 3
        elif p.startswith('**', i):
          rx += '.*'
          i += 2
        elif p[i] == '*':
          rx += '[^/]*'
          i += 1
        elif p[i] == '?':
          rx += '[^/]'
          i += 1
        else:
          rx += re.escape(p[i])
          i += 1
      rules.append((neg, re.compile(rx + '$')))
  return rules


def in_context(rel, rules):
  """Docker's rule: a pattern excludes a path when it matches the path or one of its parents;
  the last matching pattern wins."""
  parts = rel.split('/')
  candidates = ['/'.join(parts[:i]) for i in range(1, len(parts) + 1)]
  excluded = False
  for neg, rx in rules:
    if any(rx.match(c) for c in candidates):
      excluded = not neg
  return not excluded


def source_files():
  """The working tree's source files: tracked plus untracked-but-not-ignored (git), else a walk."""
  try:
    r = subprocess.run(['git', '-C', ROOT, 'ls-files', '-z', '--cached', '--others',
                        '--exclude-standard'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       timeout=30)
    if r.returncode == 0:
      return [p for p in r.stdout.decode().split('\0')
              if p and os.path.exists(os.path.join(ROOT, p))]
  except (OSError, subprocess.SubprocessError):
    pass
  # No git: a walk would also find logs and databases, so keep to the build's own inputs.
  out = [p for p in ('meson.build', 'meson_options.txt') if os.path.exists(os.path.join(ROOT, p))]
  for top in ('src', 'include', 'tests', 'bench', 'fixtures', 'subprojects'):
    for d, dirs, files in os.walk(os.path.join(ROOT, top)):
      dirs[:] = [x for x in dirs if x not in ('node_modules', '__pycache__')]
      out += [os.path.relpath(os.path.join(d, x), ROOT) for x in files if not x.endswith('.pyc')]
  return out


# ---- ELF and Debian packages ------------------------------------------------------------------

def elf_needed(path):
  """DT_NEEDED sonames of an ELF file, read from its dynamic section."""
  with open(path, 'rb') as f:
    data = f.read()
  h.check(data[:4] == b'\x7fELF', '%s is not ELF' % path)
  is64, end = data[4] == 2, '<' if data[5] == 1 else '>'
  if is64:
    shoff, = struct.unpack_from(end + 'Q', data, 0x28)
    shentsize, shnum = struct.unpack_from(end + 'HH', data, 0x3A)
    sh_fmt, dyn_fmt = end + 'IIQQQQIIQQ', end + 'qQ'
  else:
    shoff, = struct.unpack_from(end + 'I', data, 0x20)
    shentsize, shnum = struct.unpack_from(end + 'HH', data, 0x2E)
    sh_fmt, dyn_fmt = end + 'IIIIIIIIII', end + 'iI'
  secs = [struct.unpack_from(sh_fmt, data, shoff + i * shentsize) for i in range(shnum)]
  needed = []
  for s in secs:
    if s[1] != 6:                # SHT_DYNAMIC
      continue
    off, size, link = s[4], s[5], s[6]
    stroff = secs[link][4]
    step = struct.calcsize(dyn_fmt)
    for j in range(0, size, step):
      tag, val = struct.unpack_from(dyn_fmt, data, off + j)
      if tag == 0:
        break
      if tag == 1:               # DT_NEEDED
        name = data[stroff + val:data.index(b'\0', stroff + val)]
        needed.append(name.decode())
  return needed


# Where dpkg cannot answer (not Debian): the packages that ship these sonames on Debian 12.
KNOWN_SONAMES = {
    'libuv.so.1': 'libuv1', 'libcjson.so.1': 'libcjson1', 'libsqlite3.so.0': 'libsqlite3-0',
    'libcurl.so.4': 'libcurl4', 'libmicrohttpd.so.12': 'libmicrohttpd12',
}
# Sonames provided by the base image (libc6 and what apt itself needs), or only by sanitizer
# builds of the binary under test.
BASE_SONAME = re.compile(r'(libc|libm|libpthread|libdl|librt|libresolv)\.so\.\d+$'
                         r'|ld-linux.*\.so\.\d+$|libgcc_s\.so\.1$|libstdc\+\+\.so\.6$|libz\.so\.1$')
SANITIZER_SONAME = re.compile(r'lib(asan|ubsan|lsan|tsan|hwasan)\.so')
BASE_PACKAGES = {'libc6', 'libgcc-s1', 'libstdc++6', 'zlib1g'}


def ldd_paths(binary):
  try:
    r = subprocess.run(['ldd', binary], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
  except (OSError, subprocess.SubprocessError):
    return {}
  out = {}
  for line in r.stdout.decode(errors='replace').splitlines():
    m = re.match(r'\s*(\S+)\s+=>\s+(/\S+)', line)
    if m:
      out[m.group(1)] = m.group(2)
  return out


def dpkg_package(path):
  """The Debian package owning path (trying the /usr-merged spellings), or None."""
  cands = []
  for p in (path, os.path.realpath(path)):
    cands += [p, p[4:] if p.startswith('/usr/') else '/usr' + p]
  for c in cands:
    try:
      r = subprocess.run(['dpkg-query', '-S', c], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         timeout=30)
    except (OSError, subprocess.SubprocessError):
      return None
    if r.returncode == 0:
      pkg = r.stdout.decode().split(':', 1)[0].split(',')[0].strip()
      return pkg
  return None


def normalise_pkg(p):
  return p[:-3] if p.endswith('t64') else p   # Debian 13 / Ubuntu 24.04 time64 renames


# ---- Kubernetes helpers -----------------------------------------------------------------------

def docs_of(manifests, kind):
  return [(rel, d) for rel, ds in manifests.items() for d in ds
          if isinstance(d, dict) and d.get('kind') == kind]


def is_hopper_image(image):
  return re.search(r'(^|/)hopper([:@]|$)', image or '') is not None


def labels_match(selector, labels):
  return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def container_argv(c, img):
  if c.get('command'):
    return list(c['command']) + list(c.get('args') or [])
  return img['entrypoint'] + list(c['args'] if 'args' in c else img['cmd'])


def port_number(port, containers, what):
  if isinstance(port, int):
    return port
  for c in containers:
    for p in c.get('ports') or []:
      if p.get('name') == port:
        return p['containerPort']
  h.check(False, '%s: no container port named %r' % (what, port))


def prestop_seconds(c, what):
  ps = ((c.get('lifecycle') or {}).get('preStop')) or {}
  if 'sleep' in ps:
    return int(ps['sleep']['seconds'])
  cmd = (ps.get('exec') or {}).get('command') or []
  h.check(len(cmd) >= 2 and os.path.basename(cmd[0]) == 'sleep' and str(cmd[-1]).isdigit(),
          '%s: preStop must sleep N seconds (exec sleep N, or sleep: {seconds: N}) so that the '
          'Service drops the pod before SIGTERM' % what, ps)
  return int(cmd[-1])


def hopper_workloads(manifests, img):
  """[(what, workload, pod spec, hopper container, config dict)] for every hopper container."""
  cms = {d['metadata']['name']: d for _, d in docs_of(manifests, 'ConfigMap')}
  out = []
  for kind in ('Deployment', 'StatefulSet', 'DaemonSet'):
    for rel, wl in docs_of(manifests, kind):
      pod = wl['spec']['template']['spec']
      for c in pod['containers']:
        if not is_hopper_image(c.get('image')):
          continue
        what = '%s %s/%s container %s' % (rel, kind, wl['metadata']['name'], c['name'])
        argv = container_argv(c, img)
        cfg_path = config_arg(argv, what)
        mounts = sorted((m for m in c.get('volumeMounts') or [] if under(cfg_path, m['mountPath'])),
                        key=lambda m: len(m['mountPath']))
        h.check(mounts, '%s: nothing is mounted at --config %s' % (what, cfg_path))
        m = mounts[-1]
        vol = next((v for v in pod.get('volumes') or [] if v['name'] == m['name']), None)
        h.check(vol and 'configMap' in vol, '%s: %s should come from a ConfigMap volume' %
                (what, cfg_path))
        key = os.path.relpath(cfg_path, m['mountPath'])
        for it in vol['configMap'].get('items') or []:
          if it['path'] == key:
            key = it['key']
        if m.get('subPath'):
          key = m['subPath']
        cm = cms.get(vol['configMap']['name'])
        h.check(cm is not None, '%s: ConfigMap %s is not among the manifests' %
                (what, vol['configMap']['name']))
        h.check(key in (cm.get('data') or {}), '%s: ConfigMap %s has no key %s' %
                (what, cm['metadata']['name'], key))
        cfg = json.loads(cm['data'][key])
        out.append((what, wl, pod, c, cfg))
  h.check(out, 'no workload runs a hopper image')
  return out


# ---- Tests ------------------------------------------------------------------------------------

def t_manifests_parse(binary):
  manifests = load_manifests()
  for rel, ds in manifests.items():
    for d in ds:
      h.check(isinstance(d, dict) and d.get('kind') and d.get('apiVersion'),
              '%s: every document needs apiVersion and kind' % rel)
      if d['kind'] != 'Kustomization':
        h.check((d.get('metadata') or {}).get('name'), '%s: a %s without a name' % (rel, d['kind']))
  kust = [(rel, d) for rel, d in docs_of(manifests, 'Kustomization')]
  for rel, k in kust:
    for r in k.get('resources') or []:
      h.check(os.path.exists(os.path.join(os.path.dirname(os.path.join(ROOT, rel)), r)),
              '%s: resource %s does not exist' % (rel, r))
  if yaml is None:
    print('  note: PyYAML not available; parsed with the fallback reader only')


def t_configmaps_check_config(binary):
  manifests = load_manifests()
  seen = 0
  for rel, cm in docs_of(manifests, 'ConfigMap'):
    for key, val in (cm.get('data') or {}).items():
      if not key.endswith('.json'):
        continue
      what = '%s ConfigMap %s key %s' % (rel, cm['metadata']['name'], key)
      try:
        cfg = json.loads(val)
      except ValueError as e:
        h.check(False, '%s: not JSON: %s' % (what, e))
      check_config(binary, cfg, what)
      seen += 1
  h.check(seen, 'no hopper.json in any ConfigMap')


def t_workloads_agree_with_config(binary):
  manifests = load_manifests()
  img = image_facts()
  for what, wl, pod, c, cfg in hopper_workloads(manifests, img):
    listen, (admin_host, admin_port) = cfg_ports(cfg)
    drain_s = cfg.get('drain_s', 30)
    ports = {p['containerPort']: p for p in c.get('ports') or []}
    for lp in listen:
      h.check(lp in ports, '%s: hopper listens on %d but the container declares no such port' %
              (what, lp))
    h.check(admin_port in ports, '%s: admin.listen port %d is not a container port' %
            (what, admin_port))
    h.check(not is_loopback(admin_host), '%s: admin.listen %s is loopback: the kubelet probes the '
            'pod IP' % (what, admin_host))
    h.check(cfg.get('workers', 0) > 0, '%s: set workers: 0 means one per node CPU, not per CPU the '
            'pod may use' % what)

    rp, lp_ = c.get('readinessProbe') or {}, c.get('livenessProbe') or {}
    for probe, path, name in ((rp, '/readyz', 'readinessProbe'),
                              (lp_, '/healthz', 'livenessProbe')):
      g = probe.get('httpGet')
      h.check(g, '%s: %s must be an httpGet on %s' % (what, name, path))
      h.check(g.get('path') == path,
              '%s: %s path %r, expected %s' % (what, name, g.get('path'), path))
      h.check(port_number(g['port'], [c], what) == admin_port,
              '%s: %s port is not the admin port %d' % (what, name, admin_port))
    sp = (c.get('startupProbe') or {}).get('httpGet')
    if sp:
      h.check(sp.get('path') == '/healthz' and port_number(sp['port'], [c], what) == admin_port,
              '%s: startupProbe should be /healthz on the admin port' % what)

    sleep_s = prestop_seconds(c, what)
    grace = pod.get('terminationGracePeriodSeconds', 30)
    h.check(grace >= sleep_s + drain_s + DRAIN_MARGIN_S,
            '%s: terminationGracePeriodSeconds %d < preStop %d + drain_s %d + margin %d: the '
            'kubelet would SIGKILL a draining hopper' %
            (what, grace, sleep_s, drain_s, DRAIN_MARGIN_S))

    psc, csc = pod.get('securityContext') or {}, c.get('securityContext') or {}
    h.check(csc.get('runAsNonRoot', psc.get('runAsNonRoot')) is True, '%s: runAsNonRoot' % what)
    uid = csc.get('runAsUser', psc.get('runAsUser'))
    h.check(uid is None or uid == img['uid'], '%s: runAsUser %s but the image user is %d' %
            (what, uid, img['uid']))
    h.check(csc.get('readOnlyRootFilesystem') is True, '%s: readOnlyRootFilesystem' % what)
    h.check(csc.get('allowPrivilegeEscalation') is False,
            '%s: allowPrivilegeEscalation: false' % what)
    h.check('ALL' in ((csc.get('capabilities') or {}).get('drop') or []),
            '%s: capabilities.drop [ALL] (no port below 1024 is needed)' % what)

    vols = {v['name']: v for v in pod.get('volumes') or []}
    claims = {t['metadata']['name'] for t in wl['spec'].get('volumeClaimTemplates') or []}
    writable = [m for m in c.get('volumeMounts') or [] if not m.get('readOnly') and (
        m['name'] in claims or any(k in vols.get(m['name'], {})
                                   for k in ('emptyDir', 'persistentVolumeClaim', 'ephemeral')))]
    cwd = c.get('workingDir') or img['workdir']
    store = resolve((cfg.get('store') or {}).get('path', DEFAULT_STORE_PATH), cwd)
    h.check(any(under(os.path.dirname(store), m['mountPath']) for m in writable),
            '%s: store %s is not on a writable volume (the root filesystem is read-only)' %
            (what, store))
    h.check(any(m['mountPath'] == '/tmp' for m in writable),
            '%s: mount a writable /tmp (SQLite temporary files)' % what)

    env = {e['name']: e.get('value') for e in c.get('env') or []}
    token_paths = [p for p in (env.get('HOPPER_API_TOKEN_FILE'),
                               (cfg.get('api') or {}).get('token_file')) if p]
    for tp in token_paths:
      ms = [m for m in c.get('volumeMounts') or [] if under(tp, m['mountPath']) and
            'secret' in vols.get(m['name'], {})]
      h.check(ms, '%s: token file %s is not in a mounted Secret' % (what, tp))
    if cfg.get('provider') == 'api':
      h.check(token_paths or 'HOPPER_API_TOKEN' in env, '%s: provider api without a token' % what)


def t_services_and_pdb(binary):
  manifests = load_manifests()
  img = image_facts()
  wls = hopper_workloads(manifests, img)
  pods = []                      # (labels, pod spec, hopper container, cfg, workload)
  for _, wl, pod, c, cfg in wls:
    pods.append((wl['spec']['template']['metadata'].get('labels') or {}, pod, c, cfg, wl))
  for rel, svc in docs_of(manifests, 'Service'):
    what = '%s Service %s' % (rel, svc['metadata']['name'])
    spec = svc['spec']
    hits = [p for p in pods if labels_match(spec.get('selector'), p[0])]
    h.check(hits, '%s: selects no hopper pod' % what)
    public = spec.get('type') in ('LoadBalancer', 'NodePort')
    if public:
      h.check(spec.get('externalTrafficPolicy') == 'Local',
              '%s: externalTrafficPolicy: Local keeps client IPs (or use PROXY protocol and '
              'say so)' % what)
    for labels, pod, c, cfg, _ in hits:
      listen, (_, admin_port) = cfg_ports(cfg)
      for sp in spec.get('ports') or []:
        h.check(sp.get('protocol', 'TCP') == 'TCP', '%s: hopper is TCP' % what)
        tp = port_number(sp.get('targetPort', sp['port']), [c], what)
        ok = listen if public else listen + [admin_port]
        h.check(tp in ok, '%s: port %s targets %d, which hopper does not listen on (%s)' %
                (what, sp.get('name'), tp, ok))
  pdbs = docs_of(manifests, 'PodDisruptionBudget')
  deployments = [p for p in pods if p[4]['kind'] == 'Deployment']
  for _, _, _, _, wl in deployments:
    labels = wl['spec']['template']['metadata']['labels']
    mine = [d for _, d in pdbs if labels_match(d['spec']['selector'].get('matchLabels'), labels)]
    h.check(mine, 'Deployment %s has no PodDisruptionBudget' % wl['metadata']['name'])
    replicas = wl['spec'].get('replicas', 1)
    for d in mine:
      s = d['spec']
      if 'maxUnavailable' in s:
        h.check(isinstance(s['maxUnavailable'], str) or s['maxUnavailable'] >= 1,
                'PDB %s: maxUnavailable 0 blocks every node drain' % d['metadata']['name'])
      if isinstance(s.get('minAvailable'), int):
        h.check(s['minAvailable'] < replicas, 'PDB %s: minAvailable %d with %d replicas blocks '
                'every node drain' % (d['metadata']['name'], s['minAvailable'], replicas))


def t_sidecar(binary):
  manifests = load_manifests()
  img = image_facts()
  sidecars = 0
  for what, _, pod, c, cfg in hopper_workloads(manifests, img):
    others = [o for o in pod['containers'] if o is not c]
    if not others:
      continue
    sidecars += 1
    listen, (_, admin_port) = cfg_ports(cfg)
    offered = {}
    for o in others:
      for p in o.get('ports') or []:
        offered[p['containerPort']] = o['name']
      for e in o.get('env') or []:
        if e['name'] == 'SERVER_PORT' and str(e.get('value', '')).isdigit():
          offered[int(e['value'])] = o['name']
    local = 0
    for s in cfg.get('servers') or []:
      host, port = endpoint(s['backend'], 'servers[].backend')
      if not is_loopback(host):
        continue
      local += 1
      h.check(port not in listen + [admin_port],
              '%s: backend %s is hopper itself' % (what, s['backend']))
      h.check(port in offered, '%s: backend %s: no other container in the pod declares port %d' %
              (what, s['backend'], port))
    h.check(local, '%s: a sidecar should route to its pod over 127.0.0.1' % what)
  h.check(sidecars, 'no sidecar example (hopper beside another container in one pod)')


def t_dockerfile(binary):
  img = image_facts()
  build, rt = img['build'], img['runtime']
  h.check(re.fullmatch(r'debian:12(\.\d+)?(@.*)?', build.image), 'build stage: debian:12',
          build.image)
  h.check(re.fullmatch(r'debian:12(\.\d+)?-slim(@.*)?', rt.image), 'runtime stage: debian:12-slim',
          rt.image)

  # The build stage installs what scripts/lib/deps.sh says a build needs.
  with open(os.path.join(ROOT, 'scripts', 'lib', 'deps.sh'), encoding='utf-8') as f:
    m = re.search(r'BUILD_PACKAGES=\(([^)]*)\)', f.read())
  h.check(m, 'scripts/lib/deps.sh: no BUILD_PACKAGES')
  want = set(m.group(1).split())
  have = set(apt_packages(build))
  h.check(want <= have, 'Dockerfile build stage lacks BUILD_PACKAGES', sorted(want - have))

  # The build stage configures a release build with options meson_options.txt still has.
  with open(os.path.join(ROOT, 'meson_options.txt'), encoding='utf-8') as f:
    options = set(re.findall(r"option\(\s*'([^']+)'", f.read()))
  setups = [a for a, _ in build.all('RUN') if 'meson setup' in a]
  h.check(setups, 'Dockerfile build stage runs no meson setup')
  h.check('--buildtype=release' in setups[0], 'Dockerfile: meson setup --buildtype=release')
  for name in re.findall(r'-D([A-Za-z0-9_]+)=', setups[0]):
    h.check(name in options or re.match(r'(b|c|cpp)_', name) or name in (
        'buildtype', 'optimization', 'debug', 'prefix', 'warning_level', 'werror', 'strip'),
        'Dockerfile: meson setup -D%s: no such option in meson_options.txt' % name)

  # The runtime stage installs the package of every library the binary links.
  runtime = apt_packages(rt)
  h.check(runtime, 'Dockerfile runtime stage installs nothing with apt-get')
  h.check(not [p for p in runtime if p.endswith('-dev')], 'runtime stage installs -dev packages',
          runtime)
  rt_set = {normalise_pkg(p) for p in runtime}
  paths = ldd_paths(binary)
  needed_pkgs = set()
  for so in elf_needed(binary):
    if SANITIZER_SONAME.search(so) or BASE_SONAME.search(so):
      continue
    pkg = dpkg_package(paths[so]) if so in paths else None
    pkg = normalise_pkg(pkg) if pkg else KNOWN_SONAMES.get(so)
    h.check(pkg, '%s needs %s: which Debian package ships it? (add it to KNOWN_SONAMES)' %
            (binary, so))
    if pkg in BASE_PACKAGES:
      continue
    needed_pkgs.add(pkg)
    h.check(pkg in rt_set, 'the binary needs %s (%s) but the runtime stage does not install it' %
            (so, pkg), sorted(rt_set))
  extra = sorted(p for p in rt_set - needed_pkgs if p.startswith('lib'))
  if extra:
    print('  note: runtime installs libraries this binary does not link (yet): %s' %
          ' '.join(extra))

  # Every COPY source from the context exists and survives .dockerignore.
  rules = dockerignore_rules()
  for st in img['stages']:
    for args, n in st.all('COPY') + st.all('ADD'):
      flags, srcs, _ = copy_args(args)
      if 'from' in flags:
        continue
      for s in srcs:
        h.check(not re.match(r'[a-z]+://', s), 'Dockerfile:%d: no remote sources' % n)
        p = os.path.normpath(s).lstrip('/')
        h.check(glob.glob(os.path.join(ROOT, p)),
                'Dockerfile:%d: COPY source %s does not exist' % (n, s))
        h.check(p == '.' or in_context(p, rules), 'Dockerfile:%d: %s is excluded by .dockerignore' %
                (n, s))

  # The image's own config.
  cfg_path = config_arg(img['entrypoint'] + img['cmd'], 'Dockerfile ENTRYPOINT + CMD')
  h.check(cfg_path in img['copies'], 'Dockerfile: nothing is copied to %s' % cfg_path)
  with open(os.path.join(ROOT, img['copies'][cfg_path]), encoding='utf-8') as f:
    cfg = json.load(f)
  check_config(binary, cfg, img['copies'][cfg_path])
  listen, (admin_host, admin_port) = cfg_ports(cfg)
  for p in listen + [admin_port]:
    h.check(p in img['exposed'], 'Dockerfile: port %d is not EXPOSEd' % p, sorted(img['exposed']))
  h.check(not is_loopback(admin_host), 'image config: admin.listen on loopback is unreachable '
          'from outside the container')
  store = resolve((cfg.get('store') or {}).get('path', DEFAULT_STORE_PATH), img['workdir'])
  h.check(any(under(os.path.dirname(store), v) for v in img['volumes']),
          'Dockerfile: store %s is not in a VOLUME' % store, img['volumes'])


def t_dockerignore_keeps_sources(binary):
  rules = dockerignore_rules()
  h.check(rules, '.dockerignore is missing or empty (build directories would be sent)')
  missing = [p for p in source_files()
             if not p.startswith(CONTEXT_OPTIONAL) and not in_context(p, rules)]
  h.check(not missing, '.dockerignore leaves out files the build may need', missing[:20])
  for junk in ('build/build.ninja', 'build-asan/x', '.git/HEAD', 'var/hopper.db',
               'tests/interop/node_modules/x/y.js', 'docs/deploy.md'):
    h.check(not in_context(junk, rules), '.dockerignore should exclude %s' % junk)


def parse_unit(path):
  """{section: {key: [values...]}}; later assignments append (an empty one resets)."""
  out, sec = {}, None
  with open(path, encoding='utf-8') as f:
    lines = f.read().replace('\\\n', ' ').split('\n')
  for n, line in enumerate(lines, 1):
    s = line.strip()
    if not s or s[0] in '#;':
      continue
    m = re.fullmatch(r'\[([A-Za-z]+)\]', s)
    if m:
      sec = out.setdefault(m.group(1), {})
      continue
    h.check(sec is not None and '=' in s, '%s:%d: expected key=value in a section' % (path, n))
    k, _, v = s.partition('=')
    k, v = k.strip(), v.strip()
    if v == '':
      sec[k] = ['']
    else:
      sec.setdefault(k, [])
      if sec[k] == ['']:
        sec[k] = []
      sec[k].append(v)
  return out


def timespan_s(v):
  total, units = 0.0, {'': 1, 's': 1, 'sec': 1, 'm': 60, 'min': 60, 'h': 3600, 'ms': 0.001}
  for num, unit in re.findall(r'(\d+(?:\.\d+)?)\s*([a-z]*)', v):
    h.check(unit in units, 'unknown time unit %r' % unit)
    total += float(num) * units[unit]
  return total


def t_systemd_unit(binary):
  path = os.path.join(SYSTEMD, 'hopper.service')
  u = parse_unit(path)
  svc = u.get('Service') or {}

  def one(k):
    v = svc.get(k)
    h.check(v, 'hopper.service: %s= is not set' % k)
    return v[-1]

  dyn = svc.get('DynamicUser', ['no'])[-1] in ('yes', 'true', '1')
  h.check(dyn or (svc.get('User') and svc['User'][-1] not in ('root', '0')),
          'hopper.service: DynamicUser=yes or a dedicated User=')
  h.check(one('ProtectSystem') == 'strict', 'ProtectSystem=strict')
  h.check(one('NoNewPrivileges') in ('yes', 'true'), 'NoNewPrivileges=yes')
  h.check(svc.get('CapabilityBoundingSet') == [''], 'CapabilityBoundingSet= (empty)')
  fams = set(' '.join(svc.get('RestrictAddressFamilies', [])).split())
  h.check(fams == {'AF_INET', 'AF_INET6', 'AF_UNIX'},
          'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', sorted(fams))
  h.check('@system-service' in svc.get('SystemCallFilter', []), 'SystemCallFilter=@system-service')
  state = one('StateDirectory')
  h.check(state == 'hopper', 'StateDirectory=hopper')
  h.check(one('KillSignal') == 'SIGTERM', 'KillSignal=SIGTERM')
  h.check(one('Restart') == 'on-failure', 'Restart=on-failure')
  h.check(re.search(r'kill -HUP \$MAINPID$', one('ExecReload')),
          'ExecReload=... kill -HUP $MAINPID')
  start = shlex.split(one('ExecStart'))
  h.check(os.path.basename(start[0]) == 'hopper', 'ExecStart runs hopper', start)
  cfg_path = config_arg(start, 'hopper.service ExecStart')
  for r in svc.get('ExecReload', [])[:-1]:
    h.check(cfg_path in r, 'hopper.service: an ExecReload check should use %s' % cfg_path, r)

  # deploy/systemd/hopper.json is what the install steps put at cfg_path.
  with open(os.path.join(SYSTEMD, 'hopper.json'), encoding='utf-8') as f:
    cfg = json.load(f)
  check_config(binary, cfg, 'deploy/systemd/hopper.json')
  drain_s = cfg.get('drain_s', 30)
  stop = timespan_s(one('TimeoutStopSec'))
  h.check(stop >= drain_s + DRAIN_MARGIN_S, 'TimeoutStopSec %gs < drain_s %d + %d: systemd would '
          'SIGKILL a draining hopper' % (stop, drain_s, DRAIN_MARGIN_S))
  cwd = svc.get('WorkingDirectory', ['/'])[-1]
  store = resolve((cfg.get('store') or {}).get('path', DEFAULT_STORE_PATH), cwd)
  h.check(under(store, '/var/lib/' + state), 'store %s is outside StateDirectory /var/lib/%s (the '
          'only writable place under ProtectSystem=strict)' % (store, state))
  listen, (_, admin_port) = cfg_ports(cfg)
  for p in listen + [admin_port]:
    h.check(p >= 1024, 'port %d needs CAP_NET_BIND_SERVICE, which the unit does not grant' % p)

  sa = shutil.which('systemd-analyze')
  if not sa:
    print('  note: systemd-analyze not found; unit syntax not verified')
    return
  d = tempfile.mkdtemp(prefix='hopper-unit-')
  try:
    with open(path, encoding='utf-8') as f:
      text = f.read().replace(start[0], os.path.abspath(binary))
    tmp = os.path.join(d, 'hopper.service')
    with open(tmp, 'w', encoding='utf-8') as f:
      f.write(text)
    r = subprocess.run([sa, 'verify', tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode(errors='replace')
    mine = [l for l in out.splitlines() if 'hopper.service' in l]
    h.check(not mine, 'systemd-analyze verify complains', *mine)
    if r.returncode != 0:
      print('  note: systemd-analyze verify exit %d (environment):\n%s' % (r.returncode, out))
  finally:
    shutil.rmtree(d, ignore_errors=True)


def t_docs_name_every_file(binary):
  path = os.path.join(ROOT, 'docs', 'deploy.md')
  h.check(os.path.exists(path), 'docs/deploy.md is missing')
  with open(path, encoding='utf-8') as f:
    text = f.read()
  found = glob.glob(os.path.join(DEPLOY, '**', '*'), recursive=True)
  files = ['Dockerfile'] + sorted(os.path.relpath(p, ROOT) for p in found if os.path.isfile(p))
  missing = [p for p in files if p not in text]
  h.check(not missing, 'docs/deploy.md does not mention', *missing)


def t_yaml_reader_self_test(binary):
  """The fallback reader on the constructs it claims, so it stays right where PyYAML is absent."""
  text = ('# c\na: 1\nb: "x: #y"  # c\nc:\n  - p\n  - {k: [1, two], "q": \'it\'\'s\'}\n'
          'd:\n- e: f\n  g:\n    h: ~\n- - 3\ni: |\n  {"j": 1}\n   k\n\nl: |-\n  m\nn: yes\n'
          'o: 500m\np: /x/y\n---\nz: []\n')
  want = [{'a': 1, 'b': 'x: #y', 'c': ['p', {'k': [1, 'two'], 'q': "it's"}],
           'd': [{'e': 'f', 'g': {'h': None}}, [3]], 'i': '{"j": 1}\n k\n', 'l': 'm', 'n': True,
           'o': '500m', 'p': '/x/y'}, {'z': []}]
  got = mini_yaml_load_all(text, 'self-test')
  h.check(got == want, 'fallback YAML reader', got)
  if yaml is not None:
    h.check(list(yaml.safe_load_all(text)) == want, 'PyYAML disagrees with the self-test')
  for bad in ('a: 0755\n', 'a: 1.5\n', 'a: &x 1\n', 'a:\n\tb: 1\n', 'a: 1\na: 2\n'):
    try:
      mini_yaml_load_all(bad, 'bad')
    except YamlError:
      continue
    h.check(False, 'fallback YAML reader accepted', bad)


if __name__ == '__main__':
  h.main([t_yaml_reader_self_test, t_manifests_parse, t_configmaps_check_config,
          t_workloads_agree_with_config, t_services_and_pdb, t_sidecar, t_dockerfile,
          t_dockerignore_keeps_sources, t_systemd_unit, t_docs_name_every_file])
