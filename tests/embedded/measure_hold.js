#!/usr/bin/env node
'use strict'
// Measures how long a held login survives, with real minecraft-protocol clients and servers and the
// vanilla client's 30 s login read timeout emulated in the client (docs/hold.md has the results).
// Not a test: it prints timelines. Scenarios run in parallel, each with its own hopper and server.
//   node tests/embedded/measure_hold.js path/to/hopper [scenario ...]      (default: all)
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const READ_TIMEOUT_MS = 30000
const SCENARIOS = {
  // name: [client version, server version, server start delay, farm config, client options]
  a_keepalive_default: ['1.20.4', '1.20.4', 45000, {}, {}],
  a_no_keepalive_emulated: ['1.20.4', '1.20.4', 45000, {}, { timerIgnoresPlugin: true }],
  b_keepalive_25000: ['1.20.4', '1.20.4', 45000, { hold_keepalive_ms: 25000 }, {}],
  b_1_12_2_default: ['1.12.2', '1.12.2', 45000, {}, {}],
  b_1_12_2_silent_28000: ['1.12.2', '1.12.2', 45000, { hold_silent_max_ms: 28000 }, {}],
  b_1_12_2_short_start: ['1.12.2', '1.12.2', 10000, {}, {}]
}

async function scenario (mc, name) {
  const [cv, sv, delay, farm, copts] = SCENARIOS[name]
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 1, provider: 'sqlite',
    farm: Object.assign({ probe_interval_ms: 500 }, farm) }, { name })
  h.writeConfig()
  const port = await H.freePort()
  const w = E.wrapper(h.dir, 'start', { port, version: sv, startDelayMs: delay })
  E.cliOk(bin, h.configPath, ['add', 'srv', '--host', 'srv.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv), 'join=hold', 'min_online_s=0'])
  await h.start()
  try { await H.mcPing(mc, h.target, 'srv.test', cv) } catch (_) {} // compile the protocol first
  const login = E.heldLogin(mc, h.target, 'srv.test', 'Measure', cv, Object.assign({ readTimeoutMs: READ_TIMEOUT_MS, timeout: 90000 }, copts))
  const r = await login.result
  let chat = '-'
  if (r.outcome === 'play') { try { chat = await E.chat(login.client, 'measured', 5000) } catch (e) { chat = e.message } }
  try { login.client.end() } catch (_) {}
  const sess = await h.sessionLine(r.localPort, 10000).catch(() => null)
  const ready = await h.waitLine(E.isEvent('wake_ready', 'srv'), delay + 20000).catch(() => null)
  const base = r.connectedAt
  const out = [
    '## ' + name + ': client ' + cv + ' (protocol ' + mc.mcData(cv).version.version + '), server ' + sv + ' listening after ' + delay / 1000 + ' s, farm ' + JSON.stringify(farm) +
      (copts.timerIgnoresPlugin ? ', client timer NOT reset by Login Plugin Requests' : ''),
    'outcome: ' + r.outcome + (r.text ? ' ' + JSON.stringify(r.text) : '') + ' at ' + (r.sinceConnectMs / 1000).toFixed(2) + ' s after the connect' +
      (r.outcome === 'play' ? '; chat: ' + chat : ''),
    'hopper session: ' + (sess ? 'reason=' + sess.reason + ' duration_ms=' + sess.duration_ms : '(none)'),
    'wake_ready: ' + (ready ? 'wait_ms=' + ready.ev.wait_ms : '(none within the bound)'),
    'client timeline (s after the createClient call; connected at ' + (base / 1000).toFixed(2) + '):',
    E.fmtEvents(login.events.filter(e => !/^recv play/.test(e.what) || /login$/.test(e.what)))
  ]
  w.killAll()
  await H.sleep(300)
  await h.stop().catch(e => out.push('hopper stop: ' + e.message))
  return out.join('\n')
}

async function main () {
  if (!bin) { console.log('usage: measure_hold.js path/to/hopper [scenario ...]'); process.exit(2) }
  const mc = H.loadMc()
  const names = process.argv.slice(3).length ? process.argv.slice(3) : Object.keys(SCENARIOS)
  console.log('# node ' + process.version + ', minecraft-protocol ' + require(require('path').join(H.INTEROP, 'node_modules/minecraft-protocol/package.json')).version +
    ', emulated read timeout ' + READ_TIMEOUT_MS + ' ms, ' + new Date().toISOString())
  const results = await Promise.all(names.map(n => scenario(mc, n).catch(e => '## ' + n + ': ERROR ' + e.stack)))
  console.log(results.join('\n\n'))
  process.exit(0)
}

main()
