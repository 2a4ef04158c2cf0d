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
//
// The hopper process, the minecraft-protocol loading (with npm ci on first use), the client helpers
// and the ok/FAIL lines come from tests/lib/hopper.js, shared with tests/control and tests/embedded;
// this file has the in-process backends, the byte-by-byte client and the checks.
'use strict'

const fs = require('fs')
const path = require('path')
const net = require('net')
const H = require('../lib/hopper')
const { loginPacketFor, echoChat } = require('../lib/mc_backend')
const { withTimeout, sleep, flatten } = H

const VERSIONS = (process.env.INTEROP_VERSIONS || '1.8.9,1.12.2,1.16.5,1.19.2,1.20.4,1.21.4')
  .split(',').map(s => s.trim()).filter(Boolean)
const VERBOSE = !!process.env.INTEROP_VERBOSE

// Every wait in this file is bounded by one of these (npm ci on first use: 240 s, in tests/lib/hopper.js).
const T = {
  backendListen: 15000,
  hopperStart: 10000,
  ping: 5000,
  login: 10000,
  chat: 5000,
  kick: 8000,
  logLine: 5000,
  hopperStop: 10000
}

// ---------------------------------------------------------------------------------------------------
// Small helpers

// 'connected' (then closed at once), or the error code.
function tryConnect (target) {
  return withTimeout(new Promise(resolve => {
    const c = net.connect(target.port, target.ip)
    c.on('connect', () => { c.destroy(); resolve('connected') })
    c.on('error', e => resolve(e.code || e.message))
  }), 2000, 'connect to ' + target.ip + ':' + target.port).catch(e => e.message)
}

// ---------------------------------------------------------------------------------------------------
// Results

const t = new H.Checks('interop')

// t.check; on failure, runs `direct` (the same exchange straight to the backend) to say whose fault it is.
function check (name, fn, direct) {
  return t.check(name, async () => {
    try {
      return await fn()
    } catch (e) {
      if (!direct) throw e
      let msg = e && e.message ? e.message : String(e)
      try {
        const d = await direct()
        msg += ' | same exchange directly to the backend: OK (' + (d || 'passed') + ') -> points at hopper'
      } catch (e2) {
        msg += ' | same exchange directly to the backend ALSO FAILS (' + (e2.message || e2) + ') -> test/backend problem'
      }
      throw new Error(msg)
    }
  })
}

// ---------------------------------------------------------------------------------------------------
// Backends: real minecraft-protocol servers that log players in and echo chat.

function startBackend (mc, version, name) {
  const mcData = mc.mcData(version)
  const server = mc.createServer({
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
      echoChat(mc.nbt, mcData, client, '[' + name + '] echo: ' + packet.message)
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

// The config exactly as written here (the library fills in no store or drain_s: hopper's own defaults
// are under test), and the hopper's files in `dir` under the run's temporary directory.
function newHopper (bin, config, dir) {
  fs.mkdirSync(dir)
  return new H.Hopper(bin, config, { dir, configDefaults: false, verbose: VERBOSE, startTimeoutMs: T.hopperStart })
}

// msg=listening and msg=ready within T.hopperStart together (the library bounds each wait alone).
function startHopper (hop) {
  return withTimeout(hop.start(), T.hopperStart, 'hopper to log msg=listening and msg=ready')
}

// ---------------------------------------------------------------------------------------------------
// Client exchanges: the library's, with this suite's bounds. `target` = { ip, port } to connect to;
// `host` is the server address in the handshake.

// opts.dribble = N: the first N bytes the client writes go out one byte per write, DRIBBLE_GAP_MS apart
// (vanilla clients may flush the Handshake and Login Start separately; this is the extreme case).
const DRIBBLE_GAP_MS = 2
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

function doPing (mc, version, target, host) {
  return H.mcPing(mc, target, host, version, { timeout: T.ping })
}

// Offline login; resolves once the client is in play state (first play 'login' packet), with
// { client, localPort }.
function doLogin (mc, version, target, host, username, opts) {
  return H.mcLogin(mc, target, host, username, version, {
    timeout: (opts && opts.timeout) || T.login,
    onSocket: opts && opts.dribble ? sock => dribble(sock, opts.dribble) : undefined
  })
}

// Login expected to be refused: resolves with { text, localPort }, text the Disconnect's.
function doRefusedLogin (mc, version, target, host, username) {
  return H.mcRefused(mc, target, host, username, version, { timeout: T.kick })
}

const chatRoundTrip = (client, text) => H.mcChat(client, text, T.chat)

// Ask the backend to kick us; resolves with the kick text once the connection has ended.
function kickedByBackend (client, token) {
  return withTimeout(new Promise((resolve, reject) => {
    let reason = null
    client.once('kick_disconnect', p => { reason = flatten(p.reason) })
    client.once('end', () => reason === null ? reject(new Error('connection ended without kick_disconnect')) : resolve(reason))
    client.chat('!kick ' + token)
  }), T.kick, 'backend kick for ' + token)
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

async function runVersion (mc, bin, version, tmp) {
  const tag = '[' + version + ']'
  const mcData = mc.mcData(version)
  const protocol = mcData.version.version
  let alpha, beta
  try {
    [alpha, beta] = await Promise.all([startBackend(mc, version, 'alpha'), startBackend(mc, version, 'beta')])
  } catch (e) {
    t.ok(false, tag + ' start backends', e.message)
    return
  }
  const directA = { ip: '127.0.0.1', port: alpha.port }
  const directB = { ip: '127.0.0.1', port: beta.port }
  const short = version.replace(/\./g, '_')

  if (!bin) {
    // --direct: check this file's own client/server pairs, no hopper involved.
    await check(tag + ' direct ping alpha', async () => {
      const r = await doPing(mc, version, directA, 'alpha.test')
      if (!r.motd.includes('alpha-' + version)) throw new Error('motd ' + JSON.stringify(r.motd))
      return r.motd
    })
    await check(tag + ' direct login + chat alpha', async () => {
      const { client } = await doLogin(mc, version, directA, 'alpha.test', 'D_' + short)
      try { return await chatRoundTrip(client, 'direct-' + version) } finally { await H.mcEnd(client) }
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
  const hop = newHopper(bin, config, path.join(tmp, short))
  const started = await check(tag + ' hopper starts (msg=listening, msg=ready)', async () => {
    await startHopper(hop)
    return 'listening on ' + hop.addr
  })
  if (!started) {
    console.log(hop.tail(20).map(l => '#   ' + l).join('\n'))
    if (!hop.exited) { try { await hop.stop() } catch (_) {} }
    closeBackend(alpha); closeBackend(beta)
    return
  }
  const viaHopper = hop.target

  // (a) status pings route by host
  for (const [host, want, id, direct] of [['alpha.test', 'alpha', 'alpha', directA], ['beta.test', 'beta', 'beta', directB], ['play.beta.test', 'beta', 'beta', directB]]) {
    let localPort = null
    const ok = await check(tag + ' status ' + host + ' shows ' + want + "'s MOTD", async () => {
      const r = await doPing(mc, version, viaHopper, host)
      localPort = r.localPort
      if (!r.motd.includes(want + '-' + version)) throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want ' + want + '-' + version)
      if (r.res.version && r.res.version.protocol !== protocol) throw new Error('version.protocol ' + r.res.version.protocol)
      return JSON.stringify(r.motd)
    }, async () => (await doPing(mc, version, direct, host)).motd)
    if (ok && localPort) {
      await check(tag + ' session line for status ' + host, async () => {
        const f = await hop.sessionLine(localPort, T.logLine)
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
      const r = await doLogin(mc, version, viaHopper, host, username)
      client = r.client
      localPort = r.localPort
      const j = backend.joins.slice(joinsBefore).find(x => x.username === username)
      if (!j) throw new Error('backend ' + id + ' did not see the player join')
      if (j.host !== host) throw new Error('backend saw handshake host ' + JSON.stringify(j.host) + ', want ' + host)
      return 'backend ' + id + ' saw ' + username + ' via ' + j.host
    }, async () => {
      const r = await doLogin(mc, version, direct, host, 'D' + username)
      await H.mcEnd(r.client)
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
        const text = await kickedByBackend(client, token)
        if (text !== '[beta] kicked: ' + token) throw new Error('kick text ' + JSON.stringify(text))
        return JSON.stringify(text)
      })
      try { client.socket.destroy() } catch (_) {}
    } else {
      await H.mcEnd(client)
    }
    if (localPort) {
      await check(tag + ' session line for login ' + host, async () => {
        const f = await hop.sessionLine(localPort, T.logLine)
        return expectFields(f, {
          host,
          server: id,
          intent: 'login',
          protocol,
          player: username,
          uuid: protocol >= 760 ? mc.offlineUuid(username) : '-',
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
      const r = await doLogin(mc, version, viaHopper, 'alpha.test', username, { dribble: 200 })
      localPort = r.localPort
      try {
        const echoed = await chatRoundTrip(r.client, 'dribbled-' + version)
        return JSON.stringify(echoed)
      } finally { await H.mcEnd(r.client) }
    }, async () => {
      const r = await doLogin(mc, version, directA, 'alpha.test', 'D' + username, { dribble: 200 })
      await H.mcEnd(r.client)
      return 'direct dribbled login ok'
    })
    if (ok && localPort) {
      await check(tag + ' session line for the byte-by-byte login', async () => {
        const f = await hop.sessionLine(localPort, T.logLine)
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
        const r = await doLogin(mc, version, i % 2 ? toB : toA, host, prefix + i + '_' + short, { timeout: 3 * T.login })
        try {
          const echoed = await chatRoundTrip(r.client, prefix + i + '-' + version)
          if (!echoed.includes('[' + id + ']')) throw new Error('player ' + i + ' echo from the wrong backend: ' + echoed)
          return r.localPort
        } finally { await H.mcEnd(r.client) }
      })())
    }
    return Promise.all(jobs)
  }
  await check(tag + ' ' + CONCURRENT + ' concurrent logins + chat on alpha and beta', async () => {
    const t0 = Date.now()
    const ports = await concurrentLogins(viaHopper, viaHopper, 'C')
    const ms = Date.now() - t0
    const lines = await Promise.all(ports.map(p => hop.sessionLine(p, T.logLine)))
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
      const r = await doRefusedLogin(mc, version, viaHopper, host, username)
      localPort = r.localPort
      const want = UNKNOWN_DISCONNECT.replace('{host}', host)
      if (r.text !== want) throw new Error('Disconnect text ' + JSON.stringify(r.text) + ', want ' + JSON.stringify(want))
      return JSON.stringify(r.text)
    })
    if (ok && localPort) {
      await check(tag + ' session line for login ' + host, async () => {
        const f = await hop.sessionLine(localPort, T.logLine)
        return expectFields(f, { host, server: '-', intent: 'login', protocol, player: username, reason: 'no_route', bytes_b2c: positive })
      })
    }
  }
  {
    const host = 'nowhere.test'
    let localPort = null
    const ok = await check(tag + ' status ' + host + " shows hopper's unknown-host MOTD", async () => {
      const r = await doPing(mc, version, viaHopper, host)
      localPort = r.localPort
      const want = UNKNOWN_MOTD.replace('{host}', host)
      if (!r.motd.includes(want)) throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want ' + JSON.stringify(want))
      if (!r.res.version || r.res.version.protocol !== protocol) throw new Error('version.protocol ' + JSON.stringify(r.res.version) + ', want the client\'s ' + protocol)
      return JSON.stringify(r.motd) + ' protocol ' + r.res.version.protocol
    })
    if (ok && localPort) {
      await check(tag + ' session line for status ' + host, async () => {
        const f = await hop.sessionLine(localPort, T.logLine)
        return expectFields(f, { host, server: '-', intent: 'status', protocol, reason: 'no_route', bytes_b2c: positive })
      })
    }
  }

  // Shutdown with a player online: SIGTERM drains (the player keeps playing, new connections are not
  // served), the player leaves, and hopper exits 0 (not by a signal) well before drain_s.
  {
    const username = 'Z_' + short
    let player = null
    try { player = await doLogin(mc, version, viaHopper, 'alpha.test', username) } catch (e) {
      t.ok(false, tag + ' login before SIGTERM', e.message)
    }
    if (player) {
      hop.proc.kill('SIGTERM')
      await check(tag + ' SIGTERM logs msg=draining sessions=1', async () => {
        const f = await hop.waitLine({ msg: 'draining' }, T.logLine)
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
      const left = Date.now()
      await H.mcEnd(player.client)
      await check(tag + ' session line for the drained player', async () => {
        const f = await hop.sessionLine(player.localPort, T.logLine)
        return expectFields(f, { host: 'alpha.test', server: 'alpha', player: username, reason: 'client_closed' })
      })
      await check(tag + ' hopper exits 0 once the last player leaves', async () => {
        const r = await withTimeout(hop.exitPromise, DRAIN_S * 1000 + 3000, 'hopper to exit after the drain')
        if (r.signal) throw new Error('hopper died by signal ' + r.signal)
        if (r.code !== 0) throw new Error('hopper exit code ' + r.code)
        if (!hop.lines.some(f => f.msg === 'stopped')) throw new Error('no msg=stopped line')
        const ms = Date.now() - left
        if (ms > DRAIN_S * 1000 - 1000) throw new Error('exited ' + ms + ' ms after the last player left, as if it waited for drain_s')
        return 'exit 0, msg=stopped, ' + ms + ' ms after the player left'
      })
    }
  }
  if (!hop.exited) {
    await check(tag + ' hopper exits 0 on SIGTERM', async () => {
      await hop.stop(T.hopperStop) // throws unless exit code 0 and no signal
      return 'exit 0'
    })
  }
  // Default answers (no `answers` key): the texts docs/config.md promises.
  await checkDefaultAnswers(mc, bin, version, tmp, alpha)

  if (t.failed && !VERBOSE) {
    // keep some context for whoever reads a failing log
    const cur = t.failures.filter(f => f.startsWith(tag))
    if (cur.length) console.log('# hopper stderr (last 25 lines) for ' + version + ':\n' + hop.tail(25).map(l => '#   ' + l).join('\n'))
  }
  closeBackend(alpha)
  closeBackend(beta)
}

async function checkDefaultAnswers (mc, bin, version, tmp, alpha) {
  const tag = '[' + version + ']'
  const protocol = mc.mcData(version).version.version
  const deadPort = await H.closedPort()
  const hop = newHopper(bin, {
    listen: ['127.0.0.1:0'],
    workers: 1,
    servers: [
      { id: 'alpha', hosts: ['alpha.test'], backend: '127.0.0.1:' + alpha.port },
      { id: 'gamma', hosts: ['gamma.test'], backend: '127.0.0.1:' + deadPort }
    ]
  }, path.join(tmp, 'defaults-' + version.replace(/\./g, '_')))
  const started = await check(tag + ' hopper starts with default answers', async () => { await startHopper(hop); return hop.addr })
  if (!started) { if (!hop.exited) { try { await hop.stop() } catch (_) {} } return }
  const via = hop.target
  const host = 'Nowhere.Test.' // normalised to nowhere.test
  await check(tag + ' default Disconnect for an unknown host', async () => {
    const r = await doRefusedLogin(mc, version, via, host, 'Steve_123')
    const want = 'There is no server at nowhere.test.'
    if (r.text !== want) throw new Error('Disconnect text ' + JSON.stringify(r.text) + ', want ' + JSON.stringify(want))
    return JSON.stringify(r.text)
  })
  await check(tag + ' default MOTD for an unknown host', async () => {
    const r = await doPing(mc, version, via, host)
    const want = '§cNo server at nowhere.test'
    if (r.motd !== want) throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want ' + JSON.stringify(want))
    if (!r.res.version || r.res.version.protocol !== protocol || r.res.version.name !== 'hopper') throw new Error('version ' + JSON.stringify(r.res.version) + ', want {name: "hopper", protocol: ' + protocol + '}')
    return JSON.stringify(r.motd) + ' ' + JSON.stringify(r.res.version)
  })
  // A server whose backend refuses connections: hopper answers for it.
  {
    let lp = null
    const ok = await check(tag + ' login to an unreachable backend gets the default Disconnect', async () => {
      const r = await doRefusedLogin(mc, version, via, 'gamma.test', 'G_' + version.replace(/\./g, '_'))
      lp = r.localPort
      const want = 'gamma cannot be reached right now. Try again in a moment.'
      if (r.text !== want) throw new Error('Disconnect text ' + JSON.stringify(r.text) + ', want ' + JSON.stringify(want))
      return JSON.stringify(r.text)
    })
    if (ok && lp) {
      await check(tag + ' session line for the unreachable login', async () => {
        const f = await hop.sessionLine(lp, T.logLine)
        return expectFields(f, { host: 'gamma.test', server: 'gamma', intent: 'login', reason: 'backend_unreachable' })
      })
    }
  }
  await check(tag + ' status for an unreachable backend gets the default offline MOTD', async () => {
    const r = await doPing(mc, version, via, 'gamma.test')
    if (r.motd !== '§cServer offline') throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want "§cServer offline"')
    if (!r.res.version || r.res.version.protocol !== protocol) throw new Error('version ' + JSON.stringify(r.res.version))
    return JSON.stringify(r.motd)
  })
  await check(tag + ' hopper (default answers) exits 0 on SIGTERM', async () => {
    await hop.stop(T.hopperStop) // throws unless exit code 0 and no signal
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
      t.ok(false, 'hopper binary not executable: ' + bin + ' (' + e.message + ')')
      await t.done()
    }
  }
  const mc = H.loadMc({ install: true })
  const tmp = H.tmpdir('hopper-interop-')
  const t0 = Date.now()
  for (const v of VERSIONS) {
    if (!mc.mcData(v)) { t.ok(false, '[' + v + '] minecraft-data knows this version', 'unknown version'); continue }
    const tv = Date.now()
    await runVersion(mc, bin, v, tmp)
    console.log('# ' + v + ' took ' + (Date.now() - tv) + ' ms')
  }
  fs.rmSync(tmp, { recursive: true, force: true })
  console.log('# total ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s')
  if (t.failures.length) {
    console.log('# failures:')
    for (const f of t.failures) console.log('#   ' + f)
  }
  await t.done() // the 'N passed, N failed' line; exits 1 on a failure (or when nothing was checked)
}

// (H.Checks reports unhandled rejections.)
main().catch(async e => {
  t.ok(false, 'internal error', e && e.stack ? e.stack : String(e))
  await t.done()
})
