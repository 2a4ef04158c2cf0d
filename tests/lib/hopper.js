'use strict'
// tests/lib/hopper.js: a small Node harness around the real hopper binary, plus the real
// minecraft-protocol client helpers the control-plane, embedded-provider and hold tests share.
// Node standard library only (minecraft-protocol is loaded from tests/interop/node_modules on demand).
//
//   const H = require('../lib/hopper')
//   const t = new H.Checks('control-routes')        // one line per check, "N passed, N failed" last
//   const mc = H.loadMc()                           // exits 77 (prints why) if minecraft-protocol is missing
//   const mc = H.loadMc({ install: true })          // npm ci first if missing; 77 only if the registry is unreachable
//   const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], provider: 'api', api: {...} }, opts)
//   await h.start()                                 // writes config, spawns, waits msg=listening + msg=ready
//   h.port / h.host / h.target                      // where it listens; target = { ip, port }
//   await h.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)   // object = field match, or a function
//   const m = h.mark(); ...; await h.waitLine(pred, ms, { after: m })  // only lines logged after the mark
//   h.find(pred, { after }) / h.count(pred, { after }) / h.tail(n)
//   h.hup()                                         // SIGHUP
//   await h.stop()                                  // SIGTERM; throws unless exit code 0 and no signal
//   await h.kill9()                                 // SIGKILL; resolves when it is gone
//   await t.check('name', async () => { ...; return 'detail' })   // a throw = FAIL with its message
//   t.done()                                        // prints the summary, exits 0 or 1 (never returns)
//
//   H.mcPing(mc, target, host, version, { timeout }) -> { res, motd, protocol, localPort }
//   H.mcLogin(mc, target, host, name, version, { timeout }) -> { client, localPort, reachedMs }
//   H.mcRefused(mc, target, host, name, version, { timeout })   -> { text, localPort }   (a Disconnect)
//     (all three: opts.onSocket(sock) sees the client's socket before the client writes to it)
//   H.mcChat(client, text, ms)                      // sends a chat line -> the backend's echo of it
//   H.mcEnd(client)                                 // polite close, bounded
//   H.startMcServer({ port, version, motd, startDelayMs, loginRefuseMs }) -> { proc, port, listening (promise), stop() }
//   H.freePort() / H.closedPort()                   // a loopback port that is free right now
//   H.parseLogfmt(line) / H.flatten(chatComponent) / H.withTimeout(p, ms, what) / H.sleep(ms)
//
// Hopper options: { dir, env, name, verbose, startTimeoutMs (15000), readyLine ('ready'|null), args,
//                   configDefaults (true) }
//   dir: a directory of its own (default: a fresh mkdtemp); the config is written to dir/hopper.json
//   and stderr is copied to dir/hopper.log. A second Hopper given the same dir and config reuses
//   the SQLite store (restart tests).
// Config defaults filled in only when absent: store.path = dir/hopper.db, drain_s = 2; none at all
// with configDefaults: false (a test of hopper's own defaults runs exactly the config it wrote).
// verbose or HOPPER_TEST_VERBOSE=1 echoes hopper's stderr as '# <name>: ...'.
// Checks keeps the failed checks as 'name: detail' in t.failures.
// Every wait is bounded; no helper asserts a duration.

const fs = require('fs')
const os = require('os')
const path = require('path')
const net = require('net')
const { spawn, spawnSync } = require('child_process')
const Module = require('module')

const INTEROP = path.join(__dirname, '..', 'interop')
const VERBOSE = !!process.env.HOPPER_TEST_VERBOSE

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out after ' + ms + ' ms: ' + what)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}

// logfmt: key=value, key="quoted \"value\""
function parseLogfmt (line) {
  const out = {}
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/g
  let m
  while ((m = re.exec(line)) !== null) {
    let v = m[2]
    if (v.startsWith('"')) {
      try { v = JSON.parse(v) } catch (_) { v = v.slice(1, -1) }
    }
    out[m[1]] = v
  }
  return out
}

// Flattens a chat component (JSON string, object, NBT-ish) into plain text.
function flatten (c) {
  if (c === null || c === undefined) return ''
  if (typeof c === 'string') {
    const s = c.trim()
    if (s.startsWith('{') || s.startsWith('[') || s.startsWith('"')) {
      try { return flatten(JSON.parse(s)) } catch (_) { /* plain text */ }
    }
    return c
  }
  if (Array.isArray(c)) return c.map(flatten).join('')
  if (typeof c === 'object') {
    if (c.type && c.value !== undefined && Object.keys(c).length <= 3) return flatten(c.value)
    let s = ''
    if (c.text !== undefined) s += flatten(c.text)
    if (c[''] !== undefined) s += flatten(c[''])
    if (c.translate !== undefined) s += flatten(c.translate) + (c.with ? ' ' + c.with.map(flatten).join(' ') : '')
    if (c.extra) s += flatten(c.extra)
    return s
  }
  return String(c)
}

function tmpdir (prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix || 'hopper-test-'))
}

// The kernel's range for ephemeral ports (port 0 binds and the source ports of connections).
function ephemeralRange () {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    if (lo > 0 && hi >= lo) return [lo, hi]
  } catch (_) {}
  return [32768, 60999]
}

function tryListen (port) {
  return new Promise(resolve => {
    const s = net.createServer()
    s.once('error', () => resolve(0))
    s.listen(port, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
}

// A port is often bound a second or more after it was picked (a Node server loading its data).
// One from the ephemeral range could meanwhile become the source port of any connection on the
// machine (tests run side by side), so the pick comes from below that range, where only explicit
// binds go; port 0 is the fallback.
async function freePort () {
  const [lo] = ephemeralRange()
  if (lo > 11000) {
    for (let i = 0; i < 50; i++) {
      const p = await tryListen(10000 + Math.floor(Math.random() * (lo - 10000)))
      if (p) return p
    }
  }
  const p = await tryListen(0)
  if (!p) throw new Error('no free loopback port')
  return p
}
const closedPort = freePort

// ---------------------------------------------------------------------------------------------------
// Checks: one line per check, summary last.

class Checks {
  constructor (name) {
    this.name = name
    this.passed = 0
    this.failed = 0
    this.failures = []
    this.cleanups = []
    process.on('unhandledRejection', e => { console.log('# unhandled rejection: ' + (e && e.stack ? e.stack : e)) })
  }

  ok (cond, name, detail) {
    if (cond) {
      this.passed++
      console.log('ok   ' + name + (detail ? '  (' + detail + ')' : ''))
    } else {
      this.failed++
      this.failures.push(name + ': ' + detail)
      console.log('FAIL ' + name + (detail ? ': ' + detail : ''))
    }
    return !!cond
  }

  // Runs fn; a throw is a FAIL carrying its message. Returns true when it passed.
  async check (name, fn) {
    try {
      const detail = await fn()
      return this.ok(true, name, typeof detail === 'string' ? detail : undefined)
    } catch (e) {
      return this.ok(false, name, e && e.message ? e.message : String(e))
    }
  }

  // fn runs (bounded, errors only logged) in reverse order at done().
  cleanup (fn) { this.cleanups.push(fn) }

  async done () {
    for (const fn of this.cleanups.reverse()) {
      try { await withTimeout(Promise.resolve().then(fn), 20000, 'cleanup') } catch (e) { console.log('# cleanup: ' + e.message) }
    }
    console.log(this.passed + ' passed, ' + this.failed + ' failed')
    process.exit(this.failed || this.passed === 0 ? 1 : 0)
  }
}

// ---------------------------------------------------------------------------------------------------
// minecraft-protocol

let mcCache = null

function requireMc () {
  const req = Module.createRequire(path.join(INTEROP, 'package.json'))
  const mc = req('minecraft-protocol')
  mc.nbt = req('prismarine-nbt')
  mc.mcData = req('minecraft-data')
  mc.offlineUuid = req('minecraft-protocol/src/datatypes/uuid').nameToMcOfflineUUID
  return mc
}

// Loads minecraft-protocol from tests/interop/node_modules; exits 77 with the reason if it cannot.
// With opts.install (the interop suite, which must not skip just because nobody ran npm ci) a
// missing package is installed first, and only an unreachable registry (or no npm) is a skip: a
// package that is there but fails to load throws, and npm failing otherwise exits 1.
function loadMc (opts) {
  if (mcCache) return mcCache
  if (opts && opts.install) {
    try {
      mcCache = requireMc()
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e
      const cmd = npmInstall()
      try { mcCache = requireMc() } catch (e2) {
        console.log('# ' + cmd + ' succeeded but require still fails: ' + e2.message)
        process.exit(1)
      }
    }
    return mcCache
  }
  try {
    mcCache = requireMc()
    return mcCache
  } catch (e) {
    console.log('# SKIP: cannot load minecraft-protocol from ' + INTEROP + '/node_modules (' + e.message +
      '); run `npm ci` in tests/interop')
    process.exit(77)
  }
}

// npm ci (npm install if ci fails for another reason than the network) in tests/interop; returns
// the command that succeeded, else exits: 77 when npm cannot reach its registry or is missing, 1 otherwise.
function npmInstall () {
  console.log('# minecraft-protocol is not installed; running npm ci in ' + INTEROP)
  const NET_ERR = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN|socket hang up|network|request to \S+ failed|getaddrinfo|self.signed|certificate|offline/i
  const attempts = []
  // Few, short retries: an unreachable registry should skip in seconds, not minutes.
  const quick = ['--no-audit', '--no-fund', '--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=5000', '--fetch-timeout=60000']
  for (const args of [['ci', ...quick], ['install', ...quick]]) {
    const r = spawnSync('npm', args, { cwd: INTEROP, encoding: 'utf8', timeout: 240000 })
    const out = (r.stdout || '') + (r.stderr || '')
    if (r.error && r.error.code === 'ENOENT') {
      console.log('# SKIP: npm is not installed, so minecraft-protocol cannot be installed')
      process.exit(77)
    }
    if (r.status === 0) return 'npm ' + args[0]
    const why = r.error ? String(r.error.message) : 'exit ' + r.status + (r.signal ? ' signal ' + r.signal : '')
    const netErr = NET_ERR.test(out) || !!(r.error && r.error.code === 'ETIMEDOUT')
    attempts.push({ cmd: 'npm ' + args[0], why, out, netErr })
    if (netErr) break // npm install would hit the same wall; `install` is only the fallback for a lock problem
  }
  for (const a of attempts) {
    console.log('# ' + a.cmd + ' failed (' + a.why + '):')
    console.log(a.out.trim().split('\n').slice(-15).map(l => '#   ' + l).join('\n'))
  }
  if (attempts[attempts.length - 1].netErr) {
    console.log('# SKIP: npm cannot reach its registry, so minecraft-protocol cannot be installed')
    process.exit(77)
  }
  console.log('# npm failed for a reason other than the network; not skipping')
  process.exit(1)
}

function connectTo (target, holder, opts) {
  return client => {
    const sock = net.connect(target.port, target.ip || '127.0.0.1')
    sock.setNoDelay(true)
    sock.on('connect', () => { holder.localPort = sock.localPort })
    if (opts && opts.onSocket) opts.onSocket(sock)
    client.setSocket(sock)
  }
}

async function mcPing (mc, target, host, version, opts) {
  const holder = {}
  const ms = (opts && opts.timeout) || 5000
  const res = await withTimeout(mc.ping({
    host, port: target.port, version: version || '1.20.4', closeTimeout: ms, noPongTimeout: 2000,
    connect: connectTo(target, holder, opts)
  }), ms + 1000, 'status ping ' + host)
  return { res, motd: flatten(res.description), protocol: res.version && res.version.protocol, localPort: holder.localPort }
}

// Offline login; resolves once the client reaches play state. Rejects with the kick text otherwise.
function mcLogin (mc, target, host, username, version, opts) {
  const holder = {}
  const t0 = Date.now()
  const client = mc.createClient({
    host, port: target.port, username, version: version || '1.20.4', auth: 'offline', hideErrors: true,
    closeTimeout: 3000, connect: connectTo(target, holder, opts)
  })
  const p = new Promise((resolve, reject) => {
    client.on('error', e => reject(new Error('client error: ' + (e.message || e))))
    client.once('login', () => resolve(client))
    client.once('disconnect', pk => reject(new Error('kicked during login: ' + flatten(pk.reason))))
    client.once('kick_disconnect', pk => reject(new Error('kicked: ' + flatten(pk.reason))))
    client.once('end', r => reject(new Error('connection ended before play state (' + r + ')')))
  })
  return withTimeout(p, (opts && opts.timeout) || 10000, 'login of ' + username + ' to ' + host)
    .then(c => ({ client: c, localPort: holder.localPort, reachedMs: Date.now() - t0 }),
      e => { try { client.socket.destroy() } catch (_) {} throw e })
}

// A login expected to end with a Disconnect: resolves with its text.
function mcRefused (mc, target, host, username, version, opts) {
  const holder = {}
  const t0 = Date.now()
  const client = mc.createClient({
    host, port: target.port, username, version: version || '1.20.4', auth: 'offline', hideErrors: true,
    closeTimeout: 3000, connect: connectTo(target, holder, opts)
  })
  let reason = null
  const p = new Promise((resolve, reject) => {
    client.on('error', () => {})
    client.once('disconnect', pk => { reason = flatten(pk.reason) })
    client.once('login', () => reject(new Error('unexpectedly reached play state')))
    client.once('end', r => {
      if (reason === null) reject(new Error('connection ended (' + r + ') without a Disconnect packet'))
      else resolve(reason)
    })
  })
  return withTimeout(p, (opts && opts.timeout) || 10000, 'login of ' + username + ' to be refused with a Disconnect')
    .then(text => ({ text, localPort: holder.localPort, afterMs: Date.now() - t0 }))
    .finally(() => { try { client.socket.destroy() } catch (_) {} })
}

// Sends a chat line and waits for the backend's echo of it (tests/interop/mc_server.js and the
// interop suite's backends echo every chat line).
function mcChat (client, text, ms) {
  return withTimeout(new Promise(resolve => {
    const on = m => {
      const s = flatten(m.formattedMessage) + ' ' + flatten(m.plainMessage) + ' ' + flatten(m.unsignedContent)
      if (s.includes(text)) { client.off('systemChat', on); client.off('playerChat', on); resolve(s.trim()) }
    }
    client.on('systemChat', on)
    client.on('playerChat', on)
    client.chat(text)
  }), ms || 5000, 'chat echo of "' + text + '"')
}

function mcEnd (client) {
  return withTimeout(new Promise(resolve => {
    if (!client.socket || client.socket.destroyed) return resolve()
    client.once('end', () => resolve())
    client.end()
  }), 4000, 'client end').catch(() => { try { client.socket.destroy() } catch (_) {} })
}

// Spawns tests/interop/mc_server.js (a real minecraft-protocol server) on a fixed port.
// `listening` resolves when it logs that it listens (bounded by opts.timeout, default 20 s + delay).
const liveProcs = new Set()
process.on('exit', () => { for (const p of liveProcs) { try { p.kill('SIGKILL') } catch (_) {} } })

function startMcServer (opts) {
  const args = [path.join(INTEROP, 'mc_server.js'), '--port', String(opts.port), '--version', opts.version || '1.20.4',
    '--motd', opts.motd || 'mc_server', '--start-delay-ms', String(opts.startDelayMs || 0),
    '--login-refuse-ms', String(opts.loginRefuseMs || 0)]
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  liveProcs.add(proc)
  const s = { proc, port: opts.port, joins: [], exited: false, log: [] }
  let buf = ''
  let onListen
  const listening = new Promise(resolve => { onListen = resolve })
  proc.stderr.setEncoding('utf8')
  proc.stderr.on('data', d => {
    buf += d
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      s.log.push(line)
      if (VERBOSE) console.log('# mc_server:' + opts.port + ': ' + line)
      if (/listening on/.test(line)) onListen()
      const m = /mc_server: (\S+) joined/.exec(line)
      if (m) s.joins.push(m[1])
    }
  })
  s.exitPromise = new Promise(resolve => proc.on('exit', () => { s.exited = true; liveProcs.delete(proc); resolve() }))
  s.listening = withTimeout(Promise.race([listening, s.exitPromise.then(() => { throw new Error('mc_server exited: ' + s.log.slice(-3).join(' | ')) })]),
    (opts.timeout || 20000) + (opts.startDelayMs || 0), 'mc_server on ' + opts.port + ' to listen')
  s.listening.catch(() => {})
  s.stop = async () => {
    if (s.exited) return
    proc.kill('SIGTERM')
    try { await withTimeout(s.exitPromise, 5000, 'mc_server exit') } catch (_) { proc.kill('SIGKILL'); await s.exitPromise }
  }
  return s
}

// ---------------------------------------------------------------------------------------------------
// The hopper process

function matcher (pred) {
  if (typeof pred === 'function') return pred
  const want = pred
  return f => Object.entries(want).every(([k, v]) => v instanceof RegExp ? v.test(f[k] || '') : f[k] === String(v))
}

function describe (pred) {
  return typeof pred === 'function' ? (pred.what || 'a matching line') : Object.entries(pred).map(([k, v]) => k + '=' + v).join(' ')
}

class Hopper {
  constructor (bin, config, opts) {
    this.opts = opts || {}
    this.bin = bin
    this.name = this.opts.name || 'hopper'
    this.verbose = VERBOSE || !!this.opts.verbose
    this.dir = this.opts.dir || tmpdir('hopper-test-')
    this.config = JSON.parse(JSON.stringify(config))
    if (this.opts.configDefaults !== false) {
      if (!this.config.store) this.config.store = { path: path.join(this.dir, 'hopper.db') }
      if (this.config.drain_s === undefined) this.config.drain_s = 2
    }
    this.configPath = path.join(this.dir, 'hopper.json')
    this.logPath = path.join(this.dir, 'hopper.log')
    this.lines = []
    this.waiters = []
    this.exited = null
  }

  writeConfig () { fs.writeFileSync(this.configPath, JSON.stringify(this.config, null, 2)) }

  async start () {
    this.writeConfig()
    const env = Object.assign({}, process.env, { no_proxy: '*', NO_PROXY: '*' }, this.opts.env || {})
    for (const k of Object.keys(env)) if (env[k] === undefined || env[k] === null) delete env[k]
    this.proc = spawn(this.bin, this.opts.args || ['--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'], env })
    liveProcs.add(this.proc)
    this.pid = this.proc.pid
    const log = fs.createWriteStream(this.logPath, { flags: 'a' })
    let buf = ''
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', d => {
      log.write(d)
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        this.onLine(line)
      }
    })
    this.proc.stdout.setEncoding('utf8')
    this.proc.stdout.on('data', d => log.write(d))
    this.exitPromise = new Promise(resolve => {
      this.proc.on('exit', (code, signal) => {
        liveProcs.delete(this.proc)
        this.exited = { code, signal }
        for (const w of this.waiters.splice(0)) w.reject(new Error(this.name + ' exited (code ' + code + ', signal ' + signal + ') while waiting for ' + w.what))
        resolve(this.exited)
      })
    })
    this.proc.on('error', e => { this.exited = { code: null, signal: null, error: e } })
    const ms = this.opts.startTimeoutMs || 15000
    const l = await this.waitLine(f => f.msg === 'listening' && !!f.addr, ms, { what: 'msg=listening' })
    this.addr = l.addr
    const m = /^(.*):(\d+)$/.exec(l.addr)
    this.host = m[1].replace(/^\[|\]$/g, '')
    this.port = Number(m[2])
    this.target = { ip: this.host, port: this.port }
    if (this.opts.readyLine !== null) await this.waitLine({ msg: this.opts.readyLine || 'ready' }, ms)
    return this
  }

  onLine (line) {
    if (this.verbose) console.log('# ' + this.name + ': ' + line)
    const f = parseLogfmt(line)
    f._raw = line
    f._i = this.lines.length
    f._t = Date.now()
    this.lines.push(f)
    this.waiters = this.waiters.filter(w => {
      if (f._i >= w.after && w.pred(f)) { w.resolve(f); return false }
      return true
    })
  }

  mark () { return this.lines.length }

  find (pred, opts) {
    const p = matcher(pred)
    const after = (opts && opts.after) || 0
    return this.lines.find(f => f._i >= after && p(f))
  }

  filter (pred, opts) {
    const p = matcher(pred)
    const after = (opts && opts.after) || 0
    return this.lines.filter(f => f._i >= after && p(f))
  }

  count (pred, opts) { return this.filter(pred, opts).length }

  // Resolves with the first line (already logged after opts.after, or future) matching pred.
  waitLine (pred, ms, opts) {
    const p = matcher(pred)
    const after = (opts && opts.after) || 0
    const what = (opts && opts.what) || describe(pred)
    const seen = this.lines.find(f => f._i >= after && p(f))
    if (seen) return Promise.resolve(seen)
    if (this.exited) return Promise.reject(new Error(this.name + ' has exited; no line ' + what))
    let w
    const prom = new Promise((resolve, reject) => { w = { pred: p, resolve, reject, what, after }; this.waiters.push(w) })
    return withTimeout(prom, ms || 10000, this.name + ' log line ' + what).catch(e => {
      this.waiters = this.waiters.filter(x => x !== w)
      throw e
    })
  }

  sessionLine (clientPort, ms) {
    // Ports are reused on loopback, so a line once returned is never returned again.
    return this.waitLine(f => f.msg === 'session' && !f._taken && typeof f.client === 'string' && f.client.endsWith(':' + clientPort),
      ms || 5000, { what: 'msg=session client=...:' + clientPort }).then(f => { f._taken = true; return f })
  }

  tail (n) {
    const t = this.lines.slice(-(n || 20)).map(f => f._raw)
    return t.length ? t : ['(hopper wrote nothing to stderr)']
  }

  hup () { this.proc.kill('SIGHUP') }

  // SIGTERM; resolves with { code, signal } when it exited 0 without a signal, else throws.
  async stop (ms) {
    if (!this.exited) {
      this.proc.kill('SIGTERM')
      try {
        await withTimeout(this.exitPromise, ms || 15000, this.name + ' to exit after SIGTERM')
      } catch (e) {
        this.proc.kill('SIGKILL')
        await this.exitPromise
        throw e
      }
    }
    const x = this.exited
    if (x.code !== 0 || x.signal) throw new Error(this.name + ' exited with code ' + x.code + ' signal ' + x.signal + '; last lines:\n  ' + this.tail(8).join('\n  '))
    return x
  }

  async kill9 () {
    if (this.exited) return this.exited
    this.proc.kill('SIGKILL')
    return withTimeout(this.exitPromise, 5000, this.name + ' to die after SIGKILL')
  }
}

module.exports = {
  Hopper, Checks, loadMc, mcPing, mcLogin, mcRefused, mcChat, mcEnd, startMcServer,
  parseLogfmt, flatten, withTimeout, sleep, tmpdir, freePort, closedPort, INTEROP
}
