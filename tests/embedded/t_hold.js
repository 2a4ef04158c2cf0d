#!/usr/bin/env node
'use strict'
// join "hold": a real 1.20.4 client logs in to a sleeping server whose process takes 5 s before it
// listens (mc_server --start-delay-ms 5000). hopper keeps the login open, sends Login Plugin
// Requests on "hopper:hold" (every 2 s here, so several arrive and are answered), replays the login
// when the server is ready, and the chat round-trips. While it starts, a status ping shows the
// starting MOTD and servers.state reads "starting".
//   node t_hold.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-hold')
const mc = H.loadMc()
const START_DELAY_MS = 5000
const KEEPALIVE_MS = 2000

async function main () {
  if (!bin) { console.log('usage: t_hold.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite',
    farm: { probe_interval_ms: 500, hold_keepalive_ms: KEEPALIVE_MS } })
  h.writeConfig()
  const port = await H.freePort()
  const w = E.wrapper(h.dir, 'held-start', { port, startDelayMs: START_DELAY_MS })
  t.cleanup(() => w.killAll())
  E.cliOk(bin, h.configPath, ['add', 'held', '--host', 'held.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv), 'join=hold', 'min_online_s=0', 'start_timeout_s=60',
    'status={"sleeping":"held sleeps","starting":"held is starting"}'])
  await h.start()
  t.cleanup(() => h.exited || h.stop())

  const login = E.heldLogin(mc, h.target, 'held.test', 'Holder', '1.20.4', { readTimeoutMs: 30000, timeout: 40000 })
  t.cleanup(() => { try { login.client.end() } catch (_) {} })
  await t.check('the login wakes the server: servers.state starting', async () => {
    await h.waitLine({ msg: 'server_state', server: 'held', state: 'starting' }, 5000)
    return E.waitState(bin, h.configPath, 'held', 'starting', 3000)
  })
  await t.check('a status ping while it starts shows the starting MOTD and does not disturb the hold', async () => {
    const r = await H.mcPing(mc, h.target, 'held.test', '1.20.4')
    if (!r.motd.includes('held is starting')) throw new Error('MOTD ' + JSON.stringify(r.motd))
    return r.motd
  })
  const r = await login.result
  await t.check('the held login reaches play state once the server is ready', async () => {
    if (r.outcome !== 'play') throw new Error('outcome ' + r.outcome + ' ' + r.text + '\n' + E.fmtEvents(login.events))
    const ready = h.find(E.isEvent('wake_ready', 'held'))
    return 'play ' + r.sinceConnectMs + ' ms after the connect; wake_ready wait_ms=' + (ready && ready.ev.wait_ms)
  })
  await t.check('Login Plugin Requests on hopper:hold arrived about every ' + KEEPALIVE_MS + ' ms while held', async () => {
    const ka = login.events.filter(e => /login_plugin_request channel=hopper:hold/.test(e.what))
    const before = ka.filter(e => e.at < r.atMs)
    if (before.length < 2) throw new Error(before.length + ' keepalives before play:\n' + E.fmtEvents(login.events))
    const gaps = before.slice(1).map((e, i) => e.at - before[i].at)
    if (gaps.some(g => g > KEEPALIVE_MS + 1000)) throw new Error('gaps ' + gaps.join(','))
    const ids = before.map(e => Number(/id=(\d+)/.exec(e.what)[1]))
    if (new Set(ids).size !== ids.length) throw new Error('message ids repeat: ' + ids.join(','))
    return before.length + ' requests at ' + before.map(e => (e.at / 1000).toFixed(1)).join(', ') + ' s, ids ' + ids.join(',')
  })
  await t.check('the chat round-trips through the replayed login', async () => E.chat(login.client, 'held hello', 5000))
  await t.check('servers.state running; start_cmd ran once', async () => {
    await E.waitState(bin, h.configPath, 'held', 'running', 3000)
    if (w.runs() !== 1) throw new Error('start_cmd ran ' + w.runs() + ' times')
    return 'running, 1 run'
  })
  await t.check('the real server saw exactly one login (the replay)', async () => {
    const joins = h.lines.filter(f => /mc_server: Holder joined/.test(f._raw)).length
    if (joins !== 1) throw new Error(joins + ' joins')
    return '1 join'
  })
  await H.mcEnd(login.client)
  await t.check('session line: server=held reason=client_closed, duration covers the hold', async () => {
    const s = await h.sessionLine(r.localPort, 5000)
    if (s.server !== 'held' || s.reason !== 'client_closed' || Number(s.duration_ms) < START_DELAY_MS) throw new Error(s._raw)
    return 'duration_ms=' + s.duration_ms
  })
  // Isolates the stop from the "hopper waits for the started server" problem (see t_wake_once).
  w.killAll()
  await h.waitLine({ msg: 'start_cmd_exited', server: 'held' }, 5000).catch(() => {})
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
