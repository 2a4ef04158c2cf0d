#!/usr/bin/env node
'use strict'
// join "kick": a login to a sleeping server gets the starting Disconnect at once and wakes it; a
// second login while it starts gets the same and starts nothing; once running, logins go through.
// After an idle stop, the next kick's {eta} is how long the last start took.
//   node t_kick.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-kick')
const mc = H.loadMc()
const START_DELAY_MS = 3000

async function main () {
  if (!bin) { console.log('usage: t_kick.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500 } })
  h.writeConfig()
  const port = await H.freePort()
  const w = E.wrapper(h.dir, 'kicky-start', { port, startDelayMs: START_DELAY_MS })
  t.cleanup(() => w.killAll())
  E.cliOk(bin, h.configPath, ['add', 'kicky', '--host', 'kicky.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv), 'join=kick', 'min_online_s=0', 'idle_stop_s=2', 'cooldown_s=0'])
  await h.start()
  t.cleanup(() => h.exited || h.stop())

  await t.check('login to the sleeping server: the starting Disconnect at once (default text, eta 30)', async () => {
    const r = await H.mcRefused(mc, h.target, 'kicky.test', 'Kicked1', '1.20.4', { timeout: 5000 })
    const want = 'kicky is starting. Please rejoin in about 30 seconds.'
    if (r.text !== want) throw new Error('text ' + JSON.stringify(r.text) + ', want ' + JSON.stringify(want))
    const s = await h.sessionLine(r.localPort)
    if (s.reason !== 'server_starting' || s.server !== 'kicky' || s.player !== 'Kicked1') throw new Error(s._raw)
    return JSON.stringify(r.text) + ' after ' + r.afterMs + ' ms, reason=' + s.reason
  })
  await t.check('the kick woke it: start_cmd ran, servers.state starting', async () => {
    await h.waitLine(E.isEvent('wake_requested', 'kicky'), 3000)
    await E.waitState(bin, h.configPath, 'kicky', 'starting', 3000)
    await E.until(() => w.runs() >= 1, 5000, 'the start_cmd wrapper to run').catch(() => {})
    if (w.runs() !== 1) throw new Error('start_cmd runs ' + w.runs())
    return '1 run'
  })
  await t.check('a second login while starting: the same Disconnect, no second start', async () => {
    const r = await H.mcRefused(mc, h.target, 'kicky.test', 'Kicked2', '1.20.4', { timeout: 5000 })
    if (!/kicky is starting/.test(r.text)) throw new Error(r.text)
    if (w.runs() !== 1 || h.count(E.isEvent('wake_requested', 'kicky')) !== 1) throw new Error('started again')
    return r.text
  })
  let waitMs = 0
  await t.check('once running, a login reaches play state and chats', async () => {
    const ready = await h.waitLine(E.isEvent('wake_ready', 'kicky'), START_DELAY_MS + 15000)
    waitMs = ready.ev.wait_ms
    const c = await H.mcLogin(mc, h.target, 'kicky.test', 'Player', '1.20.4', { timeout: 10000 })
    try { return await E.chat(c.client, 'kick test', 5000) } finally { await H.mcEnd(c.client) }
  })
  await t.check('idle stop (idle_stop_s 2, no stop_cmd): the started process gets SIGTERM, state sleeping', async () => {
    const ex = await h.waitLine({ msg: 'start_cmd_exited', server: 'kicky' }, 10000)
    await E.waitState(bin, h.configPath, 'kicky', 'sleeping', 3000)
    return ex._raw.replace(/^.*msg=/, 'msg=')
  })
  await t.check('the next kick says rejoin in about ceil(last start) seconds', async () => {
    const eta = Math.ceil(waitMs / 1000)
    const r = await H.mcRefused(mc, h.target, 'kicky.test', 'Kicked3', '1.20.4', { timeout: 5000 })
    if (r.text !== 'kicky is starting. Please rejoin in about ' + eta + ' seconds.') throw new Error(JSON.stringify(r.text) + ', last wait_ms ' + waitMs)
    return JSON.stringify(r.text)
  })
  await t.check('and it started again (second start_cmd run)', async () => {
    await E.until(() => w.runs() >= 2, 3000, 'a second start_cmd run').catch(() => {})
    if (w.runs() !== 2) throw new Error('start_cmd runs ' + w.runs())
    return '2 runs'
  })
  // Let the second start finish, then end the server ourselves before stopping hopper (see t_wake_once).
  await E.until(() => h.count(E.isEvent('wake_ready', 'kicky')) >= 2, START_DELAY_MS + 15000, 'second wake_ready').catch(() => {})
  const m = h.mark()
  w.killAll()
  await h.waitLine({ msg: 'start_cmd_exited', server: 'kicky' }, 5000, { after: m }).catch(() => {})
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
