#!/usr/bin/env node
// hopper interop suite: real minecraft-protocol servers and clients, through a real hopper binary.
//
//   node run.js path/to/hopper            run the suite (what `meson test --suite interop` does)
//   node run.js --direct                  check the test's own client/server pairs without hopper
//   INTEROP_VERSIONS=1.8.9,1.21.4 node run.js path/to/hopper    a subset of versions
//   INTEROP_VERBOSE=1 ...                 echo hopper's stderr as it arrives
//
// Exit status: 0 all checks passed; 1 a check failed (or bad usage); 77 (meson's "skipped") only when
// minecraft-protocol is not installed and npm cannot reach its registry to install it.
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')
const net = require('net')
const { spawn, spawnSync } = require('child_process')

const HERE = __dirname
const VERSIONS = (process.env.INTEROP_VERSIONS || '1.8.9,1.12.2,1.16.5,1.19.2,1.20.4,1.21.4')
  .split(',').map(s => s.trim()).filter(Boolean)
const VERBOSE = !!process.env.INTEROP_VERBOSE
const SKIP = 77

// Every wait in this file is bounded by one of these.
const T = {
  backendListen: 15000,
  hopperStart: 10000,
  ping: 5000,
  login: 10000,
  chat: 5000,
  kick: 8000,
  logLine: 5000,
  hopperStop: 10000,
  npm: 240000
}

// ---------------------------------------------------------------------------------------------------
// Dependencies: install minecraft-protocol on first use; skip (77) only when the registry is unreachable.

function loadDeps () {
  try {
    return { mc: require('minecraft-protocol'), nbt: require('prismarine-nbt'), mcDataFor: require('minecraft-data') }
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e
  }
  console.log('# minecraft-protocol is not installed; running npm ci in ' + HERE)
  const NET_ERR = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ENETDOWN|socket hang up|network|request to \S+ failed|getaddrinfo|self.signed|certificate|offline/i
  const attempts = []
  // Few, short retries: an unreachable registry should skip in seconds, not minutes.
  const quick = ['--no-audit', '--no-fund', '--fetch-retries=1', '--fetch-retry-mintimeout=1000', '--fetch-retry-maxtimeout=5000', '--fetch-timeout=60000']
  for (const args of [['ci', ...quick], ['install', ...quick]]) {
    const r = spawnSync('npm', args, { cwd: HERE, encoding: 'utf8', timeout: T.npm })
    const out = (r.stdout || '') + (r.stderr || '')
    if (r.error && r.error.code === 'ENOENT') {
      console.log('# SKIP: npm is not installed, so minecraft-protocol cannot be installed')
      process.exit(SKIP)
    }
    if (r.status === 0) {
      try {
        return { mc: require('minecraft-protocol'), nbt: require('prismarine-nbt'), mcDataFor: require('minecraft-data') }
      } catch (e) {
        console.log('# npm ' + args[0] + ' succeeded but require still fails: ' + e.message)
        process.exit(1)
      }
    }
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
    process.exit(SKIP)
  }
  console.log('# npm failed for a reason other than the network; not skipping')
  process.exit(1)
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

function withTimeout (promise, ms, what) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { timer = setTimeout(() => reject(new Error('timed out after ' + ms + ' ms: ' + what)), ms) })
  ]).finally(() => clearTimeout(timer))
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// Flatten a chat component (JSON string, object, or already-simplified NBT) into plain text.
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
    if (c.type && c.value !== undefined && Object.keys(c).length <= 3) return flatten(c.value) // raw NBT
    let s = ''
    if (c.text !== undefined) s += flatten(c.text)
    if (c[''] !== undefined) s += flatten(c[''])
    if (c.translate !== undefined) s += flatten(c.translate) + (c.with ? ' ' + c.with.map(flatten).join(' ') : '')
    if (c.extra) s += flatten(c.extra)
    return s
  }
  return String(c)
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

// 'connected' (then closed at once), or the error code.
function tryConnect (target) {
  return withTimeout(new Promise(resolve => {
    const c = net.connect(target.port, target.ip)
    c.on('connect', () => { c.destroy(); resolve('connected') })
    c.on('error', e => resolve(e.code || e.message))
  }), 2000, 'connect to ' + target.ip + ':' + target.port).catch(e => e.message)
}

// A loopback port that refuses connections (bound, then closed).
function closedPort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)) })
  })
}

function offlineUuid (deps, name) {
  return require('minecraft-protocol/src/datatypes/uuid').nameToMcOfflineUUID(name)
}

// ---------------------------------------------------------------------------------------------------
// Results

let passed = 0
let failed = 0
const failures = []

function report (ok, name, detail) {
  if (ok) {
    passed++
    console.log('ok   ' + name + (detail ? '  (' + detail + ')' : ''))
  } else {
    failed++
    failures.push(name + ': ' + detail)
    console.log('FAIL ' + name + ': ' + detail)
  }
}

// Runs fn; on failure, runs `direct` (the same exchange straight to the backend) to say whose fault it is.
async function check (name, fn, direct) {
  try {
    const detail = await fn()
    report(true, name, detail)
    return true
  } catch (e) {
    let msg = e && e.message ? e.message : String(e)
    if (direct) {
      try {
        const d = await direct()
        msg += ' | same exchange directly to the backend: OK (' + (d || 'passed') + ') -> points at hopper'
      } catch (e2) {
        msg += ' | same exchange directly to the backend ALSO FAILS (' + (e2.message || e2) + ') -> test/backend problem'
      }
    }
    report(false, name, msg)
    return false
  }
}

// ---------------------------------------------------------------------------------------------------
// Backends: real minecraft-protocol servers that log players in and echo chat.

function loginPacketFor (mcData, client, server) {
  const version = mcData.version
  if (mcData.loginPacket) {
    return { ...mcData.loginPacket, entityId: client.id, enforceSecureChat: false, enforcesSecureChat: false }
  }
  // Pre-1.16 versions have no loginPacket in minecraft-data; these are the fields 1.7-1.15 need
  // (the same fallback minecraft-protocol's own serverTest uses).
  return {
    entityId: client.id,
    gameMode: 1,
    dimension: 0,
    difficulty: 2,
    maxPlayers: server.maxPlayers,
    levelType: 'default',
    reducedDebugInfo: version.version >= 735 ? false : 0,
    viewDistance: 10,
    hashedSeed: [0, 0],
    enableRespawnScreen: true
  }
}

function echoChat (deps, mcData, client, text) {
  if (mcData.supportFeature('signedChat')) {
    const content = mcData.supportFeature('chatPacketsUseNbtComponents')
      ? deps.nbt.comp({ text: deps.nbt.string(text) })
      : JSON.stringify({ text })
    client.write('system_chat', { content, isActionBar: false, type: 1 })
  } else {
    client.write('chat', { message: JSON.stringify({ text }), position: 1, sender: '00000000-0000-0000-0000-000000000000' })
  }
}

function startBackend (deps, version, name) {
  const mcData = deps.mcDataFor(version)
  const server = deps.mc.createServer({
    'online-mode': false,
    version,
    port: 0,
    host: '127.0.0.1',
    motd: name + '-' + version,
    hideErrors: true,
    kickTimeout: 10000
  })
  const b = { name, version, server, port: 0, handshakes: [], joins: [], chats: [] }
  server.on('connection', client => {
    client.once('set_protocol', p => b.handshakes.push({ host: p.serverHost, port: p.serverPort, protocol: p.protocolVersion, nextState: p.nextState }))
    client.on('error', () => {})
  })
  server.on('playerJoin', client => {
    b.joins.push({ username: client.username, host: client.serverHost })
    client.write('login', loginPacketFor(mcData, client, server))
    const onChat = packet => {
      b.chats.push(packet.message)
      if (packet.message.startsWith('!kick ')) {
        client.end('[' + name + '] kicked: ' + packet.message.slice(6)) // play-state kick_disconnect, then FIN
        return
      }
      echoChat(deps, mcData, client, '[' + name + '] echo: ' + packet.message)
    }
    client.on('chat', onChat) // before 1.19
    client.on('chat_message', onChat) // 1.19 and later
  })
  return withTimeout(new Promise((resolve, reject) => {
    server.once('listening', () => { b.port = server.socketServer.address().port; resolve(b) })
    server.once('error', reject)
  }), T.backendListen, 'backend ' + name + '-' + version + ' listening')
}

function closeBackend (b) {
  try {
    for (const c of Object.values(b.server.clients)) { try { c.socket.destroy() } catch (_) {} }
    b.server.close()
  } catch (_) {}
}

// ---------------------------------------------------------------------------------------------------
// hopper process

// hopper processes still running; killed if this script exits early.
const live = new Set()
process.on('exit', () => { for (const p of live) { try { p.kill('SIGKILL') } catch (_) {} } })

class Hopper {
  constructor (bin, configPath) {
    this.bin = bin
    this.configPath = configPath
    this.lines = []
    this.waiters = []
    this.exited = null
    this.addr = null
  }

  start () {
    this.proc = spawn(this.bin, ['--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] })
    live.add(this.proc)
    let buf = ''
    this.proc.stderr.setEncoding('utf8')
    this.proc.stderr.on('data', d => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        this.onLine(line)
      }
    })
    this.proc.stdout.setEncoding('utf8')
    this.proc.stdout.on('data', d => { if (VERBOSE) process.stdout.write('# hopper stdout: ' + d) })
    this.exitPromise = new Promise(resolve => {
      this.proc.on('exit', (code, signal) => {
        live.delete(this.proc)
        this.exited = { code, signal }
        for (const w of this.waiters.splice(0)) w.reject(new Error('hopper exited (code ' + code + ', signal ' + signal + ') while waiting for ' + w.what))
        resolve(this.exited)
      })
    })
    this.proc.on('error', e => { this.exited = { code: null, signal: null, error: e } })
    return withTimeout((async () => {
      const l = await this.waitLine(f => f.msg === 'listening' && f.addr, 'msg=listening')
      this.addr = l.addr
      const m = /^(.*):(\d+)$/.exec(l.addr)
      this.host = m[1].replace(/^\[|\]$/g, '')
      this.port = Number(m[2])
      await this.waitLine(f => f.msg === 'ready', 'msg=ready')
      return this
    })(), T.hopperStart, 'hopper to log msg=listening and msg=ready')
  }

  onLine (line) {
    if (VERBOSE) console.log('# hopper: ' + line)
    const f = parseLogfmt(line)
    f._raw = line
    this.lines.push(f)
    this.waiters = this.waiters.filter(w => {
      if (w.pred(f)) { w.resolve(f); return false }
      return true
    })
  }

  // Resolves with the first line (already seen or future) matching pred.
  waitLine (pred, what, ms) {
    const seen = this.lines.find(pred)
    if (seen) return Promise.resolve(seen)
    if (this.exited) return Promise.reject(new Error('hopper has exited; no line ' + what))
    const p = new Promise((resolve, reject) => this.waiters.push({ pred, resolve, reject, what }))
    return ms ? withTimeout(p, ms, 'hopper log line ' + what) : p
  }

  sessionLine (clientPort, ms) {
    // Ports are reused on loopback, so a line once returned is never returned again.
    return this.waitLine(f => f.msg === 'session' && !f._taken && typeof f.client === 'string' && f.client.endsWith(':' + clientPort),
      'msg=session client=...:' + clientPort, ms || T.logLine).then(f => { f._taken = true; return f })
  }

  tail (n) {
    const t = this.lines.slice(-(n || 20)).map(f => f._raw)
    return t.length ? t : ['(hopper wrote nothing to stderr)']
  }

  async stop () {
    if (this.exited) return this.exited
    this.proc.kill('SIGTERM')
    try {
      return await withTimeout(this.exitPromise, T.hopperStop, 'hopper to exit after SIGTERM')
    } catch (e) {
      this.proc.kill('SIGKILL')
      await this.exitPromise
      throw e
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Client exchanges. `target` = { ip, port } to connect to; `host` is the server address in the handshake.

// opts.dribble = N: the first N bytes the client writes go out one byte per write, DRIBBLE_GAP_MS apart
// (vanilla clients may flush the Handshake and Login Start separately; this is the extreme case).
const DRIBBLE_GAP_MS = 2
function connectTo (target, holder, opts) {
  return client => {
    const sock = net.connect(target.port, target.ip)
    sock.setNoDelay(true)
    sock.on('connect', () => { holder.localPort = sock.localPort })
    if (opts && opts.dribble) dribble(sock, opts.dribble)
    client.setSocket(sock)
  }
}

function dribble (sock, budget) {
  const write = sock.write.bind(sock)
  const end = sock.end.bind(sock)
  let chain = Promise.resolve()
  sock.write = (chunk, enc, cb) => {
    if (typeof enc === 'function') { cb = enc; enc = undefined }
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, enc)
    chain = chain.then(async () => {
      let i = 0
      while (i < buf.length && budget > 0 && !sock.destroyed) {
        write(buf.subarray(i, i + 1))
        i++
        budget--
        await sleep(DRIBBLE_GAP_MS)
      }
      if (i < buf.length && !sock.destroyed) write(buf.subarray(i))
      if (cb) cb()
    })
    return true
  }
  sock.end = (...args) => { chain = chain.then(() => end(...args)); return sock }
}

async function doPing (deps, version, target, host) {
  const holder = {}
  const res = await withTimeout(deps.mc.ping({
    host,
    port: target.port,
    version,
    closeTimeout: T.ping,
    noPongTimeout: 2000,
    connect: connectTo(target, holder)
  }), T.ping + 1000, 'status ping ' + host)
  return { res, motd: flatten(res.description), localPort: holder.localPort }
}

// Offline login; resolves once the client is in play state (first play 'login' packet), with the client.
function doLogin (deps, version, target, host, username, opts) {
  const holder = {}
  const client = deps.mc.createClient({
    host,
    port: target.port,
    username,
    version,
    auth: 'offline',
    hideErrors: true,
    closeTimeout: 3000,
    connect: connectTo(target, holder, opts)
  })
  const p = new Promise((resolve, reject) => {
    client.on('error', e => reject(new Error('client error: ' + (e.message || e))))
    client.once('login', () => resolve(client))
    client.once('disconnect', p => reject(new Error('kicked during login: ' + flatten(p.reason))))
    client.once('kick_disconnect', p => reject(new Error('kicked: ' + flatten(p.reason))))
    client.once('end', r => reject(new Error('connection ended before play state (' + r + ')')))
  })
  p.client = client
  p.holder = holder
  return withTimeout(p, (opts && opts.timeout) || T.login, 'login to ' + host + ' to reach play state').catch(e => { client.end(); throw e })
    .then(c => ({ client: c, holder }))
}

function chatRoundTrip (client, text) {
  return withTimeout(new Promise(resolve => {
    const on = m => {
      const s = flatten(m.formattedMessage) + ' ' + flatten(m.plainMessage) + ' ' + flatten(m.unsignedContent)
      if (s.includes(text)) { client.off('systemChat', on); client.off('playerChat', on); resolve(s.trim()) }
    }
    client.on('systemChat', on)
    client.on('playerChat', on)
    client.chat(text)
  }), T.chat, 'chat echo of "' + text + '"')
}

// Ask the backend to kick us; resolves with the kick text once the connection has ended.
function kickedByBackend (client, token) {
  return withTimeout(new Promise((resolve, reject) => {
    let reason = null
    client.once('kick_disconnect', p => { reason = flatten(p.reason) })
    client.once('end', () => reason === null ? reject(new Error('connection ended without kick_disconnect')) : resolve(reason))
    client.chat('!kick ' + token)
  }), T.kick, 'backend kick for ' + token)
}

function endClient (client) {
  return withTimeout(new Promise(resolve => {
    if (!client.socket || client.socket.destroyed) return resolve()
    client.once('end', () => resolve())
    client.end()
  }), 4000, 'client end').catch(() => { try { client.socket.destroy() } catch (_) {} })
}

// Login expected to be refused: resolves with the Disconnect text.
function doRefusedLogin (deps, version, target, host, username) {
  const holder = {}
  const client = deps.mc.createClient({
    host,
    port: target.port,
    username,
    version,
    auth: 'offline',
    hideErrors: true,
    closeTimeout: 3000,
    connect: connectTo(target, holder)
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
  return withTimeout(p, T.kick, 'login to ' + host + ' to be refused with a Disconnect')
    .then(text => ({ text, localPort: holder.localPort }))
    .finally(() => { try { client.socket.destroy() } catch (_) {} })
}

// ---------------------------------------------------------------------------------------------------
// Session-line assertions

function expectFields (f, want) {
  const bad = []
  for (const [k, v] of Object.entries(want)) {
    if (typeof v === 'function') {
      if (!v(f[k])) bad.push(k + '=' + f[k])
    } else if (f[k] !== String(v)) {
      bad.push(k + '=' + f[k] + ' (want ' + v + ')')
    }
  }
  if (bad.length) throw new Error('session line mismatch: ' + bad.join(', ') + '  line: ' + f._raw)
  return f.reason
}

const positive = v => /^[1-9][0-9]*$/.test(v || '')
const nonNegative = v => /^[0-9]+$/.test(v || '')

// ---------------------------------------------------------------------------------------------------
// One version

const CONCURRENT = 8
const DRAIN_S = 5
const STOP_ACCEPT_GRACE_MS = 1500
const UNKNOWN_DISCONNECT = 'hopper-interop: nothing is served at {host}.'
const UNKNOWN_MOTD = 'hopper-interop: no server at {host}'

async function runVersion (deps, bin, version, tmp) {
  const tag = '[' + version + ']'
  const mcData = deps.mcDataFor(version)
  const protocol = mcData.version.version
  let alpha, beta
  try {
    [alpha, beta] = await Promise.all([startBackend(deps, version, 'alpha'), startBackend(deps, version, 'beta')])
  } catch (e) {
    report(false, tag + ' start backends', e.message)
    return
  }
  const directA = { ip: '127.0.0.1', port: alpha.port }
  const directB = { ip: '127.0.0.1', port: beta.port }
  const short = version.replace(/\./g, '_')

  if (!bin) {
    // --direct: check this file's own client/server pairs, no hopper involved.
    await check(tag + ' direct ping alpha', async () => {
      const r = await doPing(deps, version, directA, 'alpha.test')
      if (!r.motd.includes('alpha-' + version)) throw new Error('motd ' + JSON.stringify(r.motd))
      return r.motd
    })
    await check(tag + ' direct login + chat alpha', async () => {
      const { client } = await doLogin(deps, version, directA, 'alpha.test', 'D_' + short)
      try { return await chatRoundTrip(client, 'direct-' + version) } finally { await endClient(client) }
    })
    closeBackend(alpha); closeBackend(beta)
    return
  }

  const config = {
    listen: ['127.0.0.1:0'],
    workers: 2,
    provider: 'static',
    servers: [
      { id: 'alpha', hosts: ['alpha.test'], backend: '127.0.0.1:' + alpha.port },
      { id: 'beta', hosts: ['beta.test', '*.beta.test'], backend: '127.0.0.1:' + beta.port }
    ],
    timeouts_ms: { handshake: 5000, connect: 3000, idle: 0 },
    drain_s: DRAIN_S,
    answers: { unknown_host: { status: 'motd', motd: UNKNOWN_MOTD, disconnect: UNKNOWN_DISCONNECT } },
    log: { format: 'logfmt', level: 'info' }
  }
  const cfgPath = path.join(tmp, 'hopper-' + short + '.json')
  fs.writeFileSync(cfgPath, JSON.stringify(config, null, 2))

  const hop = new Hopper(bin, cfgPath)
  const started = await check(tag + ' hopper starts (msg=listening, msg=ready)', async () => {
    await hop.start()
    return 'listening on ' + hop.addr
  })
  if (!started) {
    console.log(hop.tail(20).map(l => '#   ' + l).join('\n'))
    if (!hop.exited) { try { await hop.stop() } catch (_) {} }
    closeBackend(alpha); closeBackend(beta)
    return
  }
  const viaHopper = { ip: hop.host, port: hop.port }

  // (a) status pings route by host
  for (const [host, want, id, direct] of [['alpha.test', 'alpha', 'alpha', directA], ['beta.test', 'beta', 'beta', directB], ['play.beta.test', 'beta', 'beta', directB]]) {
    let localPort = null
    const ok = await check(tag + ' status ' + host + ' shows ' + want + "'s MOTD", async () => {
      const r = await doPing(deps, version, viaHopper, host)
      localPort = r.localPort
      if (!r.motd.includes(want + '-' + version)) throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want ' + want + '-' + version)
      if (r.res.version && r.res.version.protocol !== protocol) throw new Error('version.protocol ' + r.res.version.protocol)
      return JSON.stringify(r.motd)
    }, async () => (await doPing(deps, version, direct, host)).motd)
    if (ok && localPort) {
      await check(tag + ' session line for status ' + host, async () => {
        const f = await hop.sessionLine(localPort)
        // minecraft-protocol servers close right after the pong while the client closes on receiving it,
        // so either side may be first.
        return expectFields(f, { host, server: id, intent: 'status', protocol, player: '-', reason: r => r === 'client_closed' || r === 'backend_closed', bytes_c2b: positive, bytes_b2c: positive, duration_ms: nonNegative })
      })
    }
  }

  // (b) login to alpha.test reaches play state; chat round-trips
  for (const [host, id, backend, direct] of [['alpha.test', 'alpha', alpha, directA], ['play.beta.test', 'beta', beta, directB]]) {
    const username = (id === 'alpha' ? 'A_' : 'B_') + short
    let localPort = null
    let client = null
    const joinsBefore = backend.joins.length
    const ok = await check(tag + ' login ' + host + ' reaches play state on ' + id, async () => {
      const r = await doLogin(deps, version, viaHopper, host, username)
      client = r.client
      localPort = r.holder.localPort
      const j = backend.joins.slice(joinsBefore).find(x => x.username === username)
      if (!j) throw new Error('backend ' + id + ' did not see the player join')
      if (j.host !== host) throw new Error('backend saw handshake host ' + JSON.stringify(j.host) + ', want ' + host)
      return 'backend ' + id + ' saw ' + username + ' via ' + j.host
    }, async () => {
      const r = await doLogin(deps, version, direct, host, 'D' + username)
      await endClient(r.client)
      return 'direct login ok'
    })
    if (!ok) continue
    const text = 'hi-' + id + '-' + version + '-' + Math.random().toString(36).slice(2, 8)
    await check(tag + ' chat round-trip through ' + host, async () => {
      const echoed = await chatRoundTrip(client, text)
      if (!echoed.includes('[' + id + ']')) throw new Error('echo came from the wrong backend: ' + echoed)
      return JSON.stringify(echoed)
    })
    // alpha: the client leaves (client_closed); beta: the backend kicks in play state (backend_closed),
    // and the kick packet must arrive before hopper passes the FIN on.
    const kick = id === 'beta'
    if (kick) {
      await check(tag + ' backend kick reaches the client through ' + host, async () => {
        const token = 'bye-' + version
        const t = await kickedByBackend(client, token)
        if (t !== '[beta] kicked: ' + token) throw new Error('kick text ' + JSON.stringify(t))
        return JSON.stringify(t)
      })
      try { client.socket.destroy() } catch (_) {}
    } else {
      await endClient(client)
    }
    if (localPort) {
      await check(tag + ' session line for login ' + host, async () => {
        const f = await hop.sessionLine(localPort)
        return expectFields(f, {
          host,
          server: id,
          intent: 'login',
          protocol,
          player: username,
          uuid: protocol >= 760 ? offlineUuid(deps, username) : '-',
          reason: kick ? 'backend_closed' : 'client_closed',
          bytes_c2b: positive,
          bytes_b2c: positive
        })
      })
    }
  }

  // Handshake and Login Start dribbled one byte per write: hopper must reassemble them before routing.
  {
    const username = 'S_' + short
    let localPort = null
    const ok = await check(tag + ' login to alpha.test with a byte-by-byte opening reaches play state', async () => {
      const r = await doLogin(deps, version, viaHopper, 'alpha.test', username, { dribble: 200 })
      localPort = r.holder.localPort
      try {
        const echoed = await chatRoundTrip(r.client, 'dribbled-' + version)
        return JSON.stringify(echoed)
      } finally { await endClient(r.client) }
    }, async () => {
      const r = await doLogin(deps, version, directA, 'alpha.test', 'D' + username, { dribble: 200 })
      await endClient(r.client)
      return 'direct dribbled login ok'
    })
    if (ok && localPort) {
      await check(tag + ' session line for the byte-by-byte login', async () => {
        const f = await hop.sessionLine(localPort)
        return expectFields(f, { host: 'alpha.test', server: 'alpha', intent: 'login', player: username, reason: 'client_closed' })
      })
    }
  }

  // Several players at once on both servers (two workers share the listener). The backends are
  // single-threaded node, so a loaded machine makes this slow; the timeout is generous.
  const concurrentLogins = async (toA, toB, prefix) => {
    const jobs = []
    for (let i = 0; i < CONCURRENT; i++) {
      const id = i % 2 ? 'beta' : 'alpha'
      const host = i % 2 ? 'p' + i + '.beta.test' : 'alpha.test'
      jobs.push((async () => {
        const r = await doLogin(deps, version, i % 2 ? toB : toA, host, prefix + i + '_' + short, { timeout: 3 * T.login })
        try {
          const echoed = await chatRoundTrip(r.client, prefix + i + '-' + version)
          if (!echoed.includes('[' + id + ']')) throw new Error('player ' + i + ' echo from the wrong backend: ' + echoed)
          return r.holder.localPort
        } finally { await endClient(r.client) }
      })())
    }
    return Promise.all(jobs)
  }
  await check(tag + ' ' + CONCURRENT + ' concurrent logins + chat on alpha and beta', async () => {
    const t0 = Date.now()
    const ports = await concurrentLogins(viaHopper, viaHopper, 'C')
    const ms = Date.now() - t0
    const lines = await Promise.all(ports.map(p => hop.sessionLine(p)))
    const bad = lines.filter(f => f.reason !== 'client_closed')
    if (bad.length) throw new Error('session lines: ' + bad.map(f => f._raw).join(' | '))
    return CONCURRENT + ' players in ' + ms + ' ms, ' + lines.length + ' session lines'
  }, async () => {
    const t0 = Date.now()
    await concurrentLogins(directA, directB, 'E')
    return 'direct: ' + CONCURRENT + ' players in ' + (Date.now() - t0) + ' ms'
  })

  // (c) unknown host: login gets hopper's Disconnect, status gets hopper's MOTD
  {
    const host = 'nowhere.test'
    const username = 'N_' + short
    let localPort = null
    const ok = await check(tag + ' login ' + host + ' is refused with the configured Disconnect', async () => {
      const r = await doRefusedLogin(deps, version, viaHopper, host, username)
      localPort = r.localPort
      const want = UNKNOWN_DISCONNECT.replace('{host}', host)
      if (r.text !== want) throw new Error('Disconnect text ' + JSON.stringify(r.text) + ', want ' + JSON.stringify(want))
      return JSON.stringify(r.text)
    })
    if (ok && localPort) {
      await check(tag + ' session line for login ' + host, async () => {
        const f = await hop.sessionLine(localPort)
        return expectFields(f, { host, server: '-', intent: 'login', protocol, player: username, reason: 'no_route', bytes_b2c: positive })
      })
    }
  }
  {
    const host = 'nowhere.test'
    let localPort = null
    const ok = await check(tag + ' status ' + host + " shows hopper's unknown-host MOTD", async () => {
      const r = await doPing(deps, version, viaHopper, host)
      localPort = r.localPort
      const want = UNKNOWN_MOTD.replace('{host}', host)
      if (!r.motd.includes(want)) throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want ' + JSON.stringify(want))
      if (!r.res.version || r.res.version.protocol !== protocol) throw new Error('version.protocol ' + JSON.stringify(r.res.version) + ', want the client\'s ' + protocol)
      return JSON.stringify(r.motd) + ' protocol ' + r.res.version.protocol
    })
    if (ok && localPort) {
      await check(tag + ' session line for status ' + host, async () => {
        const f = await hop.sessionLine(localPort)
        return expectFields(f, { host, server: '-', intent: 'status', protocol, reason: 'no_route', bytes_b2c: positive })
      })
    }
  }

  // Shutdown with a player online: SIGTERM drains (the player keeps playing, new connections are not
  // served), the player leaves, and hopper exits 0 (not by a signal) well before drain_s.
  {
    const username = 'Z_' + short
    let player = null
    try { player = await doLogin(deps, version, viaHopper, 'alpha.test', username) } catch (e) {
      report(false, tag + ' login before SIGTERM', e.message)
    }
    if (player) {
      hop.proc.kill('SIGTERM')
      await check(tag + ' SIGTERM logs msg=draining sessions=1', async () => {
        const f = await hop.waitLine(x => x.msg === 'draining', 'msg=draining', T.logLine)
        return expectFields(f, { sessions: 1, drain_s: DRAIN_S })
      })
      // The workers close their listeners asynchronously after the draining line (about 2 ms on an idle
      // machine; longer on an overloaded one), so allow a grace period before calling it a failure.
      await check(tag + ' hopper stops accepting while draining', async () => {
        const t0 = Date.now()
        let accepted = 0
        while (Date.now() - t0 < STOP_ACCEPT_GRACE_MS) {
          const r = await tryConnect(viaHopper)
          if (r !== 'connected') return r + ' ' + (Date.now() - t0) + ' ms after msg=draining was seen' + (accepted ? ' (' + accepted + ' accepted before)' : '')
          accepted++
          await sleep(50)
        }
        throw new Error('still accepting connections ' + STOP_ACCEPT_GRACE_MS + ' ms after msg=draining')
      })
      await check(tag + ' a player online keeps playing while hopper drains', async () => {
        return JSON.stringify(await chatRoundTrip(player.client, 'draining-' + version))
      })
      const t = Date.now()
      await endClient(player.client)
      await check(tag + ' session line for the drained player', async () => {
        const f = await hop.sessionLine(player.holder.localPort)
        return expectFields(f, { host: 'alpha.test', server: 'alpha', player: username, reason: 'client_closed' })
      })
      await check(tag + ' hopper exits 0 once the last player leaves', async () => {
        const r = await withTimeout(hop.exitPromise, DRAIN_S * 1000 + 3000, 'hopper to exit after the drain')
        if (r.signal) throw new Error('hopper died by signal ' + r.signal)
        if (r.code !== 0) throw new Error('hopper exit code ' + r.code)
        if (!hop.lines.some(f => f.msg === 'stopped')) throw new Error('no msg=stopped line')
        const ms = Date.now() - t
        if (ms > DRAIN_S * 1000 - 1000) throw new Error('exited ' + ms + ' ms after the last player left, as if it waited for drain_s')
        return 'exit 0, msg=stopped, ' + ms + ' ms after the player left'
      })
    }
  }
  if (!hop.exited) {
    await check(tag + ' hopper exits 0 on SIGTERM', async () => {
      const r = await hop.stop()
      if (r.signal || r.code !== 0) throw new Error('exit code ' + r.code + ' signal ' + r.signal)
      return 'exit 0'
    })
  }
  // Default answers (no `answers` key): the texts docs/config.md promises.
  await checkDefaultAnswers(deps, bin, version, tmp, alpha)

  if (failed && VERBOSE === false) {
    // keep some context for whoever reads a failing log
    const cur = failures.filter(f => f.startsWith(tag))
    if (cur.length) console.log('# hopper stderr (last 25 lines) for ' + version + ':\n' + hop.tail(25).map(l => '#   ' + l).join('\n'))
  }
  closeBackend(alpha)
  closeBackend(beta)
}

async function checkDefaultAnswers (deps, bin, version, tmp, alpha) {
  const tag = '[' + version + ']'
  const protocol = deps.mcDataFor(version).version.version
  const deadPort = await closedPort()
  const cfgPath = path.join(tmp, 'hopper-defaults-' + version.replace(/\./g, '_') + '.json')
  fs.writeFileSync(cfgPath, JSON.stringify({
    listen: ['127.0.0.1:0'],
    workers: 1,
    servers: [
      { id: 'alpha', hosts: ['alpha.test'], backend: '127.0.0.1:' + alpha.port },
      { id: 'gamma', hosts: ['gamma.test'], backend: '127.0.0.1:' + deadPort }
    ]
  }, null, 2))
  const hop = new Hopper(bin, cfgPath)
  const started = await check(tag + ' hopper starts with default answers', async () => { await hop.start(); return hop.addr })
  if (!started) { if (!hop.exited) { try { await hop.stop() } catch (_) {} } return }
  const via = { ip: hop.host, port: hop.port }
  const host = 'Nowhere.Test.' // normalised to nowhere.test
  await check(tag + ' default Disconnect for an unknown host', async () => {
    const r = await doRefusedLogin(deps, version, via, host, 'Steve_123')
    const want = 'There is no server at nowhere.test.'
    if (r.text !== want) throw new Error('Disconnect text ' + JSON.stringify(r.text) + ', want ' + JSON.stringify(want))
    return JSON.stringify(r.text)
  })
  await check(tag + ' default MOTD for an unknown host', async () => {
    const r = await doPing(deps, version, via, host)
    const want = '§cNo server at nowhere.test'
    if (r.motd !== want) throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want ' + JSON.stringify(want))
    if (!r.res.version || r.res.version.protocol !== protocol || r.res.version.name !== 'hopper') throw new Error('version ' + JSON.stringify(r.res.version) + ', want {name: "hopper", protocol: ' + protocol + '}')
    return JSON.stringify(r.motd) + ' ' + JSON.stringify(r.res.version)
  })
  // A server whose backend refuses connections: hopper answers for it.
  {
    let lp = null
    const ok = await check(tag + ' login to an unreachable backend gets the default Disconnect', async () => {
      const r = await doRefusedLogin(deps, version, via, 'gamma.test', 'G_' + version.replace(/\./g, '_'))
      lp = r.localPort
      const want = 'gamma cannot be reached right now. Try again in a moment.'
      if (r.text !== want) throw new Error('Disconnect text ' + JSON.stringify(r.text) + ', want ' + JSON.stringify(want))
      return JSON.stringify(r.text)
    })
    if (ok && lp) {
      await check(tag + ' session line for the unreachable login', async () => {
        const f = await hop.sessionLine(lp)
        return expectFields(f, { host: 'gamma.test', server: 'gamma', intent: 'login', reason: 'backend_unreachable' })
      })
    }
  }
  await check(tag + ' status for an unreachable backend gets the default offline MOTD', async () => {
    const r = await doPing(deps, version, via, 'gamma.test')
    if (r.motd !== '§cServer offline') throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want "§cServer offline"')
    if (!r.res.version || r.res.version.protocol !== protocol) throw new Error('version ' + JSON.stringify(r.res.version))
    return JSON.stringify(r.motd)
  })
  await check(tag + ' hopper (default answers) exits 0 on SIGTERM', async () => {
    const r = await hop.stop()
    if (r.signal || r.code !== 0) throw new Error('exit code ' + r.code + ' signal ' + r.signal)
    return 'exit 0'
  })
}

// ---------------------------------------------------------------------------------------------------

async function main () {
  const arg = process.argv[2]
  if (!arg) {
    console.log('usage: node run.js HOPPER_BINARY | --direct')
    process.exit(1)
  }
  const direct = arg === '--direct'
  let bin = null
  if (!direct) {
    bin = path.resolve(arg)
    try { fs.accessSync(bin, fs.constants.X_OK) } catch (e) {
      console.log('FAIL hopper binary not executable: ' + bin + ' (' + e.message + ')')
      console.log('0 passed, 1 failed')
      process.exit(1)
    }
  }
  const deps = loadDeps()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hopper-interop-'))
  const t0 = Date.now()
  for (const v of VERSIONS) {
    if (!deps.mcDataFor(v)) { report(false, '[' + v + '] minecraft-data knows this version', 'unknown version'); continue }
    const t = Date.now()
    await runVersion(deps, bin, v, tmp)
    console.log('# ' + v + ' took ' + (Date.now() - t) + ' ms')
  }
  fs.rmSync(tmp, { recursive: true, force: true })
  console.log('# total ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s')
  if (failures.length) {
    console.log('# failures:')
    for (const f of failures) console.log('#   ' + f)
  }
  console.log(passed + ' passed, ' + failed + ' failed')
  process.exit(failed ? 1 : 0)
}

process.on('unhandledRejection', e => { console.log('# unhandled rejection: ' + (e && e.stack ? e.stack : e)) })
main().catch(e => {
  console.log('FAIL internal error: ' + (e && e.stack ? e.stack : e))
  console.log(passed + ' passed, ' + (failed + 1) + ' failed')
  process.exit(1)
})
