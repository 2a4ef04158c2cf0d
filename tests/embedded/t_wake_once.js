#!/usr/bin/env node
'use strict'
// 20 real clients log in to a sleeping server at the same moment: hopper starts it exactly once
// (the start_cmd wrapper appends a line per run), holds all 20, and every one reaches play state
// on the real server and gets its chat echoed.
//   node t_wake_once.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-wake-once')
const mc = H.loadMc()
const N = 20
const START_DELAY_MS = 3000

async function main () {
  if (!bin) { console.log('usage: t_wake_once.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500 } })
  h.writeConfig()
  const port = await H.freePort()
  const w = E.wrapper(h.dir, 'crowd-start', { port, startDelayMs: START_DELAY_MS })
  t.cleanup(() => w.killAll())
  E.cliOk(bin, h.configPath, ['add', 'crowd', '--host', 'crowd.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv), 'join=hold', 'min_online_s=0', 'start_timeout_s=60'])
  await h.start()
  t.cleanup(() => h.exited || h.stop())

  const logins = await Promise.allSettled(Array.from({ length: N }, (_, i) =>
    H.mcLogin(mc, h.target, 'crowd.test', 'Crowd' + i, '1.20.4', { timeout: 45000 })))
  const ok = logins.filter(r => r.status === 'fulfilled').map(r => r.value)
  for (const c of ok) t.cleanup(() => H.mcEnd(c.client))
  await t.check(N + ' simultaneous logins all reach play state', async () => {
    const bad = logins.filter(r => r.status === 'rejected').map(r => r.reason.message)
    if (bad.length) throw new Error(bad.length + ' failed, first: ' + bad[0])
    const ms = ok.map(c => c.reachedMs).sort((a, b) => a - b)
    return 'all ' + N + ' in play after ' + ms[0] + '..' + ms[ms.length - 1] + ' ms (start delay ' + START_DELAY_MS + ' ms)'
  })
  await t.check('start_cmd ran exactly once', async () => {
    if (w.runs() !== 1) throw new Error('start_cmd ran ' + w.runs() + ' times')
    return '1 run'
  })
  await t.check('one wake_requested, one wake_ready, starting and running logged once each', async () => {
    const n = {
      wake_requested: h.count(E.isEvent('wake_requested', 'crowd')),
      wake_ready: h.count(E.isEvent('wake_ready', 'crowd')),
      starting: h.count({ msg: 'server_state', server: 'crowd', state: 'starting' }),
      running: h.count({ msg: 'server_state', server: 'crowd', state: 'running' })
    }
    if (Object.values(n).some(v => v !== 1)) throw new Error(JSON.stringify(n))
    const ready = h.find(E.isEvent('wake_ready', 'crowd'))
    return 'wake_ready wait_ms=' + ready.ev.wait_ms
  })
  await t.check('every player chats through to the real server', async () => {
    const echoes = await Promise.all(ok.map((c, i) => E.chat(c.client, 'hello from ' + i, 8000)))
    return echoes.length + ' echoes, e.g. "' + echoes[0] + '"'
  })
  await t.check('hopper logged ' + N + ' join events', async () => {
    await h.waitLine(f => h.count(E.isEvent('join', 'crowd')) >= N, 5000, { what: N + ' join events' })
    return h.count(E.isEvent('join', 'crowd')) + ' joins'
  })
  await t.check('servers.state is running in SQLite', async () => E.waitState(bin, h.configPath, 'crowd', 'running', 5000))
  await t.check('a login once running connects at once, no second start', async () => {
    const c = await H.mcLogin(mc, h.target, 'crowd.test', 'Late', '1.20.4', { timeout: 10000 })
    await H.mcEnd(c.client)
    if (w.runs() !== 1) throw new Error('start_cmd ran ' + w.runs() + ' times')
    return 'in play after ' + c.reachedMs + ' ms'
  })
  await Promise.all(ok.map(c => H.mcEnd(c.client)))
  await t.check('every session ended client_closed with the server named', async () => {
    await h.waitLine(f => h.count({ msg: 'session', server: 'crowd', intent: 'login' }) >= N + 1, 8000, { what: (N + 1) + ' session lines' })
    const lines = h.filter({ msg: 'session', server: 'crowd', intent: 'login' })
    const bad = lines.filter(f => f.reason !== 'client_closed')
    if (bad.length) throw new Error(bad.length + ' with other reasons, e.g. ' + bad[0]._raw)
    return lines.length + ' sessions'
  })
  // DESIGN: servers hopper started keep running when it exits (src/shell/provider.c hop_provider_stop).
  await t.check('SIGTERM while the server it started runs: hopper exits 0 within drain_s + 5 s, the server keeps running', async () => {
    const pid = w.pids()[0]
    const t1 = Date.now()
    await h.stop(7000)
    if (!w.alive(pid)) throw new Error('the started server (pid ' + pid + ') did not survive hopper')
    return 'exit 0 after ' + (Date.now() - t1) + ' ms; server pid ' + pid + ' still running'
  })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
