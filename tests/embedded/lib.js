'use strict'
// tests/embedded/lib.js: what the embedded-provider tests need beyond tests/lib/hopper.js:
// the `hopper servers` CLI, start/stop wrapper scripts that count their runs, and a login client
// that records every packet with its time and can emulate the vanilla client's 30 s read timeout
// during login (minecraft-protocol's own client has none).
//
//   const E = require('./lib')
//   E.cli(bin, configPath, ['add', 'id', '--host', 'h', ...])      -> { code, stdout, stderr }
//   E.rows(bin, configPath)                                         -> { id: { state, backend, line } }
//   E.waitState(bin, configPath, id, state, ms)                     -> polls `hopper servers list`
//   E.stateRecorder(bin, configPath, id) -> { seq, stop() }: the distinct states the column took
//   E.wrapper(dir, name, mcServerOpts)   -> { argv, countFile, pidFile, runs(), pids(), killAll() }
//   E.stopScript(dir, name, wrapper)     -> { argv, countFile, runs() }   (kills the wrapper's server)
//   E.heldLogin(mc, target, host, name, version, opts)  -> { events, result (promise), client }
//   E.chat(client, text, ms)             -> the echoed line
//   E.fields(line) -> the logfmt fields of a hopper line, with `event` parsed for msg=event
//   E.isEvent(type, server)              -> a predicate for h.waitLine / h.count
//   E.until(fn, ms, what)                -> polls fn() until truthy (bounded)

const fs = require('fs')
const path = require('path')
const net = require('net')
const { spawnSync, execFile } = require('child_process')
const H = require('../lib/hopper')

const MC_SERVER = path.join(H.INTEROP, 'mc_server.js')

function cli (bin, configPath, args, ms) {
  const r = spawnSync(bin, ['servers', '--config', configPath, ...args], { encoding: 'utf8', timeout: ms || 15000 })
  return { code: r.status, signal: r.signal, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error }
}

// Must succeed; throws with stderr otherwise.
function cliOk (bin, configPath, args) {
  const r = cli(bin, configPath, args)
  if (r.code !== 0) throw new Error('hopper servers ' + args.join(' ') + ' -> exit ' + r.code + ': ' + r.stderr.trim())
  return r
}

function rows (bin, configPath) {
  const r = cli(bin, configPath, ['list'])
  if (r.code !== 0) throw new Error('hopper servers list -> exit ' + r.code + ': ' + r.stderr.trim())
  const out = {}
  for (const line of r.stdout.split('\n').slice(1)) {
    const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line)
    if (m) out[m[1]] = { state: m[2], backend: m[3], line }
  }
  return out
}

// Polls the state column (through the CLI, a second SQLite connection) until it reads `state`.
async function waitState (bin, configPath, id, state, ms) {
  const until = Date.now() + (ms || 10000)
  let last = null
  for (;;) {
    const r = rows(bin, configPath)[id]
    last = r ? r.state : '(no row)'
    if (last === state) return last
    if (Date.now() > until) throw new Error('servers.state of ' + id + ' is ' + last + ' after ' + (ms || 10000) + ' ms, want ' + state)
    await H.sleep(100)
  }
}

// Samples servers.state of `id` through the CLI every ~100 ms (asynchronously) and keeps the
// sequence of distinct values: rec.seq (['sleeping', 'starting', ...]); rec.stop() ends it.
function stateRecorder (bin, configPath, id) {
  const rec = { seq: [], samples: 0, stopped: false }
  const tick = () => {
    if (rec.stopped) return
    execFile(bin, ['servers', '--config', configPath, 'list'], { timeout: 5000 }, (err, stdout) => {
      if (!err) {
        rec.samples++
        const line = stdout.split('\n').find(l => l.split(/\s+/)[0] === id)
        const st = line ? line.split(/\s+/)[1] : '(no row)'
        if (rec.seq[rec.seq.length - 1] !== st) rec.seq.push(st)
      }
      if (!rec.stopped) rec.timer = setTimeout(tick, 100)
    })
  }
  rec.stop = () => { rec.stopped = true; clearTimeout(rec.timer); return rec.seq }
  tick()
  return rec
}

// A start_cmd: a shell script that appends one line per run to countFile, records its pid (the
// server keeps it: exec) and becomes tests/interop/mc_server.js. argv is run without a shell.
function wrapper (dir, name, o) {
  const countFile = path.join(dir, name + '.runs')
  const pidFile = path.join(dir, name + '.pids')
  const script = path.join(dir, name + '.sh')
  const args = ['--port', o.port, '--version', o.version || '1.20.4', '--motd', o.motd || name,
    '--start-delay-ms', o.startDelayMs || 0, '--login-refuse-ms', o.loginRefuseMs || 0].map(String)
  const q = s => "'" + String(s).replace(/'/g, "'\\''") + "'"
  fs.writeFileSync(script, '#!/bin/sh\n' +
    'echo "run $(date +%s.%N)" >> ' + q(countFile) + '\n' +
    'echo $$ >> ' + q(pidFile) + '\n' +
    (o.never ? 'exec sleep 600\n' : 'exec ' + q(process.execPath) + ' ' + q(MC_SERVER) + ' ' + args.map(q).join(' ') + '\n'))
  fs.chmodSync(script, 0o755)
  const lines = f => { try { return fs.readFileSync(f, 'utf8').split('\n').filter(Boolean) } catch (_) { return [] } }
  const w = {
    argv: [script],
    script,
    countFile,
    pidFile,
    runs: () => lines(countFile).length,
    pids: () => lines(pidFile).map(Number),
    alive: pid => { try { process.kill(pid, 0); return true } catch (_) { return false } },
    killAll: () => { for (const pid of w.pids()) { try { process.kill(pid, 'SIGKILL') } catch (_) {} } }
  }
  return w
}

// A stop_cmd: appends a line to its countFile and SIGTERMs the newest server the wrapper started.
function stopScript (dir, name, w) {
  const countFile = path.join(dir, name + '.runs')
  const script = path.join(dir, name + '.sh')
  const q = s => "'" + String(s).replace(/'/g, "'\\''") + "'"
  fs.writeFileSync(script, '#!/bin/sh\n' +
    'echo "stop $(date +%s.%N)" >> ' + q(countFile) + '\n' +
    'pid=$(tail -n 1 ' + q(w.pidFile) + ')\n' +
    'kill -TERM "$pid" 2>/dev/null\n' +
    'for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done\n' +
    'exit 1\n')
  fs.chmodSync(script, 0o755)
  return {
    argv: ['/bin/sh', script],
    countFile,
    runs: () => { try { return fs.readFileSync(countFile, 'utf8').split('\n').filter(Boolean).length } catch (_) { return 0 } }
  }
}

function fields (f) {
  if (f && f.msg === 'event' && typeof f.event === 'string' && !f.ev) {
    try { f.ev = JSON.parse(f.event) } catch (_) { f.ev = {} }
  }
  return f
}

// An event line of the given type (and server), for h.waitLine / h.count.
function isEvent (type, server) {
  const p = f => { fields(f); return f.msg === 'event' && f.ev && f.ev.type === type && (!server || f.ev.server === server) }
  p.what = 'msg=event type=' + type + (server ? ' server=' + server : '')
  return p
}

// A login that records what the client receives, with times relative to the connect.
//   opts.readTimeoutMs: emulate the vanilla client's read timeout (30000 there): a timer reset by
//     every packet received; when it fires the client closes the connection (FIN) like the vanilla
//     client's ReadTimeoutHandler. 0/undefined = none (minecraft-protocol's behaviour).
//   opts.timerIgnoresPlugin: packets 'login_plugin_request' do not reset that timer (what a client
//     would experience if hopper sent no keepalive).
//   opts.timeout: overall bound (default 120 s).
// result resolves (never rejects) with { outcome: 'play'|'disconnect'|'read_timeout'|'end'|'error'|'bound',
//   atMs, text }.
function heldLogin (mc, target, host, username, version, opts) {
  opts = opts || {}
  const t0 = Date.now()
  const ms = () => Date.now() - t0
  const events = []
  const holder = {}
  const client = mc.createClient({
    host, port: target.port, username, version: version || '1.20.4', auth: 'offline', hideErrors: true,
    closeTimeout: 3000,
    connect: c => {
      const sock = net.connect(target.port, target.ip || '127.0.0.1')
      sock.setNoDelay(true)
      sock.on('connect', () => {
        holder.localPort = sock.localPort
        connectedAt = ms()
        events.push({ at: connectedAt, what: 'connected' })
        arm() // the vanilla client's read timeout handler is in the pipeline from the connect on
      })
      c.setSocket(sock)
    }
  })
  let done = null
  let connectedAt = null
  let timer = null
  let lastReset = 0
  const result = new Promise(resolve => { done = resolve })
  const finish = (outcome, text) => {
    if (!done) return
    const d = done
    done = null
    if (timer) clearTimeout(timer)
    clearTimeout(bound)
    const at = ms()
    // atMs / sinceConnectMs: from the createClient call / from the TCP connect (what to report:
    // createClient itself spends a while compiling the protocol before it connects).
    const r = { outcome, atMs: at, sinceConnectMs: connectedAt === null ? null : at - connectedAt, text: text || '', localPort: holder.localPort, lastResetMs: lastReset, connectedAt }
    events.push({ at: r.atMs, what: 'outcome ' + outcome + (text ? ': ' + text : '') })
    d(r)
  }
  const arm = () => {
    if (!opts.readTimeoutMs) return
    if (timer) clearTimeout(timer)
    lastReset = ms()
    timer = setTimeout(() => {
      events.push({ at: ms(), what: 'emulated read timeout (' + opts.readTimeoutMs + ' ms without a packet)' })
      finish('read_timeout')
      try { client.socket.end() } catch (_) {}
    }, opts.readTimeoutMs)
  }
  const bound = setTimeout(() => { finish('bound'); try { client.socket.destroy() } catch (_) {} }, opts.timeout || 120000)
  client.on('packet', (data, meta) => {
    if (meta.state !== 'login' && meta.name !== 'login') return
    events.push({ at: ms(), what: 'recv ' + meta.state + '.' + meta.name + (meta.name === 'login_plugin_request' ? ' channel=' + data.channel + ' id=' + data.messageId : '') })
    if (!(opts.timerIgnoresPlugin && meta.name === 'login_plugin_request')) arm()
  })
  client.on('error', e => { events.push({ at: ms(), what: 'error ' + (e.message || e) }) })
  client.once('disconnect', pk => finish('disconnect', H.flatten(pk.reason)))
  client.once('kick_disconnect', pk => finish('disconnect', H.flatten(pk.reason)))
  client.once('login', () => { if (timer) clearTimeout(timer); timer = null; finish('play') })
  client.once('end', r => { events.push({ at: ms(), what: 'end ' + r }); finish('end', String(r)) })
  return { client, events, result, holder }
}

// The interop suite sends the same chat lines, so the helper lives in tests/lib/hopper.js.
const chat = H.mcChat

// Polls fn() every 100 ms until it returns a truthy value (returned); throws after ms.
async function until (fn, ms, what) {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > end) throw new Error('timed out after ' + ms + ' ms: ' + what)
    await H.sleep(100)
  }
}

function fmtEvents (events) {
  return events.map(e => (e.at / 1000).toFixed(2).padStart(7) + ' s  ' + e.what).join('\n')
}

module.exports = { cli, cliOk, rows, waitState, stateRecorder, wrapper, stopScript, fields, isEvent, heldLogin, chat, fmtEvents, until, MC_SERVER }
