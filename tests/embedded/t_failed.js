#!/usr/bin/env node
'use strict'
// A server whose start_cmd never brings it up: after start_timeout_s it is failed; the held player
// gets the failed Disconnect, servers.state reads "failed", status pings show the failed MOTD, a
// login during the cooldown is refused, and one after it starts it again.
//   node t_failed.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-failed')
const mc = H.loadMc()
const START_TIMEOUT_S = 4
const COOLDOWN_S = 3
const CRASH_TIMEOUT_S = 15

async function main () {
  if (!bin) { console.log('usage: t_failed.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500, wake_quota: 0 } })
  h.writeConfig()
  const port = await H.freePort()
  const w = E.wrapper(h.dir, 'dud-start', { port, never: true }) // runs `sleep 600`: nothing ever listens
  t.cleanup(() => w.killAll())
  E.cliOk(bin, h.configPath, ['add', 'dud', '--host', 'dud.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv), 'join=hold', 'start_timeout_s=' + START_TIMEOUT_S, 'cooldown_s=' + COOLDOWN_S,
    'status={"failed":"dud failed to start"}'])
  // A start_cmd that exits at once with status 1.
  E.cliOk(bin, h.configPath, ['add', 'crash', '--host', 'crash.test', '--backend', '127.0.0.1:' + await H.freePort(),
    'start_cmd=["/bin/sh","-c","echo crash-start: exiting 1 >&2; exit 1"]', 'join=hold', 'start_timeout_s=' + CRASH_TIMEOUT_S])
  await h.start()
  t.cleanup(() => h.exited || h.stop())

  const held = E.heldLogin(mc, h.target, 'dud.test', 'Waiter', '1.20.4', { readTimeoutMs: 30000, timeout: 30000 })
  const r = await held.result
  await t.check('the held player gets the failed Disconnect after start_timeout_s (' + START_TIMEOUT_S + ' s)', async () => {
    const want = 'dud could not be started. Please try again later.'
    if (r.outcome !== 'disconnect' || r.text !== want) throw new Error(r.outcome + ' ' + JSON.stringify(r.text) + '\n' + E.fmtEvents(held.events))
    if (r.sinceConnectMs < START_TIMEOUT_S * 1000 - 200 || r.sinceConnectMs > START_TIMEOUT_S * 1000 + 3000) throw new Error('after ' + r.sinceConnectMs + ' ms')
    return JSON.stringify(r.text) + ' ' + r.sinceConnectMs + ' ms after the connect'
  })
  await t.check('session line reason=start_failed; wake_failed event; server_state failed', async () => {
    const s = await h.sessionLine(r.localPort)
    const wf = h.find(E.isEvent('wake_failed', 'dud'))
    const st = h.find({ msg: 'server_state', server: 'dud', state: 'failed' })
    if (s.reason !== 'start_failed' || !wf || !st) throw new Error(s._raw + ' | wake_failed ' + !!wf + ' | state ' + !!st)
    return 'reason=start_failed, wake_failed wait_ms=' + wf.ev.wait_ms
  })
  await t.check('servers.state is failed in SQLite', async () => E.waitState(bin, h.configPath, 'dud', 'failed', 3000))
  await t.check('status ping shows the failed MOTD (players 0, client protocol)', async () => {
    const p = await H.mcPing(mc, h.target, 'dud.test', '1.16.5')
    if (!p.motd.includes('dud failed to start') || p.protocol !== 754 || p.res.players.online !== 0) throw new Error(JSON.stringify(p.res))
    return p.motd
  })
  console.log('# note: the start_cmd process (pid ' + w.pids()[0] + ') is ' + (w.alive(w.pids()[0]) ? 'still running' : 'gone') + ' after the server was declared failed')
  await t.check('a login during the cooldown is refused (wake_refused), nothing started', async () => {
    const x = await H.mcRefused(mc, h.target, 'dud.test', 'Again', '1.20.4', { timeout: 5000 })
    const s = await h.sessionLine(x.localPort)
    if (s.reason !== 'wake_refused' || w.runs() !== 1) throw new Error(s._raw + ' runs ' + w.runs())
    return JSON.stringify(x.text)
  })
  await t.check('after the cooldown a login wakes it again (starting, then failed again)', async () => {
    await H.sleep(COOLDOWN_S * 1000 + 200)
    const m = h.mark()
    const again = E.heldLogin(mc, h.target, 'dud.test', 'Retry', '1.20.4', { timeout: 20000 })
    await h.waitLine({ msg: 'server_state', server: 'dud', state: 'starting' }, 5000, { after: m })
    const rr = await again.result
    if (rr.outcome !== 'disconnect' || !/could not be started/.test(rr.text)) throw new Error(rr.outcome + ' ' + rr.text)
    return 'failed again: ' + JSON.stringify(rr.text)
  })
  // A hung start_cmd is not killed when the start times out, and while it lives a new wake does not
  // run start_cmd again (src/shell/provider_sqlite.c op_start: proc_find), so a retry probes the
  // same hung process. Reported; asserted here as what an operator needs: a fresh start.
  await t.check('the retry ran start_cmd again (a hung start is not reused)', async () => {
    const pids = w.pids()
    if (w.runs() !== 2) throw new Error('start_cmd ran ' + w.runs() + ' time(s); the first start_cmd (pid ' + pids[0] + ') is ' + (w.alive(pids[0]) ? 'still running' : 'gone'))
    return '2 runs'
  })
  const crash = E.heldLogin(mc, h.target, 'crash.test', 'Crash', '1.20.4', { timeout: CRASH_TIMEOUT_S * 1000 + 15000 })
  await t.check('a start_cmd that exits 1 at once: start_cmd_exited status=1 logged', async () => {
    const ex = await h.waitLine({ msg: 'start_cmd_exited', server: 'crash' }, 5000)
    if (ex.status !== '1') throw new Error(ex._raw)
    return ex._raw.replace(/^.*msg=/, 'msg=')
  })
  await t.check('its held player gets the failed Disconnect', async () => {
    const cr = await crash.result
    crash.r = cr
    if (cr.outcome !== 'disconnect' || cr.text !== 'crash could not be started. Please try again later.') throw new Error(cr.outcome + ' ' + JSON.stringify(cr.text))
    return JSON.stringify(cr.text) + ' ' + cr.sinceConnectMs + ' ms after the connect'
  })
  // A start_cmd that died cannot bring the server up: holding the player for the rest of
  // start_timeout_s (180 s by default) helps nobody. Reported; asserted as what a player needs.
  await t.check('...and gets it soon after the start_cmd died, not at start_timeout_s (' + CRASH_TIMEOUT_S + ' s)', async () => {
    const cr = crash.r
    if (!cr || cr.sinceConnectMs > 5000) throw new Error('Disconnect came ' + (cr && cr.sinceConnectMs) + ' ms after the connect, the start_cmd had exited within ~100 ms')
    return cr.sinceConnectMs + ' ms'
  })
  await t.check('hopper stops with exit 0', async () => {
    w.killAll()
    await H.sleep(300)
    await h.stop()
    return 'exit 0'
  })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
