#!/usr/bin/env node
'use strict'
// Idle stop counts live sessions: a server with a player on it is never stopped, however long past
// idle_stop_s; once the player leaves it is stopped idle_stop_s later (stop_cmd when set, else
// SIGTERM to the process start_cmd started), and never before min_online_s. The servers.state
// column follows the whole lifecycle: sleeping, starting, running, stopping, sleeping.
//   node t_idle.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-idle')
const mc = H.loadMc()
const IDLE_S = 3
const STAY_MS = 12000           // a player stays 4x idle_stop_s
const MIN_ONLINE_S = 8

async function main () {
  if (!bin) { console.log('usage: t_idle.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500, wake_quota: 0 } })
  h.writeConfig()
  const portA = await H.freePort()
  const portB = await H.freePort()
  const wa = E.wrapper(h.dir, 'stay-start', { port: portA, startDelayMs: 1000 })
  const sa = E.stopScript(h.dir, 'stay-stop', wa)
  const wb = E.wrapper(h.dir, 'brief-start', { port: portB })
  t.cleanup(() => { wa.killAll(); wb.killAll() })
  E.cliOk(bin, h.configPath, ['add', 'stay', '--host', 'stay.test', '--backend', '127.0.0.1:' + portA,
    'start_cmd=' + JSON.stringify(wa.argv), 'stop_cmd=' + JSON.stringify(sa.argv),
    'join=hold', 'idle_stop_s=' + IDLE_S, 'min_online_s=0', 'cooldown_s=0'])
  E.cliOk(bin, h.configPath, ['add', 'brief', '--host', 'brief.test', '--backend', '127.0.0.1:' + portB,
    'start_cmd=' + JSON.stringify(wb.argv), 'join=hold', 'idle_stop_s=1', 'min_online_s=' + MIN_ONLINE_S])
  await h.start()
  t.cleanup(() => h.exited || h.stop())
  const rec = E.stateRecorder(bin, h.configPath, 'stay')
  t.cleanup(() => rec.stop())

  // ---- A player stays far past idle_stop_s -------------------------------------------------------
  let c = null
  await t.check('a login wakes "stay" and reaches play state', async () => {
    c = await H.mcLogin(mc, h.target, 'stay.test', 'Stayer', '1.20.4', { timeout: 20000 })
    return 'in play after ' + c.reachedMs + ' ms'
  })
  if (!c) return
  t.cleanup(() => H.mcEnd(c.client))
  const running = await h.waitLine({ msg: 'server_state', server: 'stay', state: 'running' }, 5000)
  await t.check('with the player connected ' + STAY_MS / 1000 + ' s (idle_stop_s ' + IDLE_S + '): no stop, the player stays in', async () => {
    const end = Date.now() + STAY_MS
    let n = 0
    while (Date.now() < end) {
      await E.chat(c.client, 'still here ' + n++, 5000) // the session is alive and relaying
      await H.sleep(1000)
    }
    const bad = []
    if (h.count(E.isEvent('stop_requested', 'stay'))) bad.push('stop_requested logged')
    if (sa.runs()) bad.push('stop_cmd ran')
    if (E.rows(bin, h.configPath).stay.state !== 'running') bad.push('state ' + E.rows(bin, h.configPath).stay.state)
    if (bad.length) throw new Error(bad.join('; '))
    return n + ' chat round-trips over ' + ((Date.now() - running._t) / 1000).toFixed(1) + ' s of running, state running'
  })
  await H.mcEnd(c.client)
  const left = Date.now()
  await t.check('after the player leaves: stop_requested about idle_stop_s later, stop_cmd runs once', async () => {
    const stop = await h.waitLine(E.isEvent('stop_requested', 'stay'), IDLE_S * 1000 + 5000)
    const after = stop._t - left
    if (after < IDLE_S * 1000 - 300 || after > IDLE_S * 1000 + 2000) throw new Error('stop_requested ' + after + ' ms after the leave')
    if (stop.ev.sessions !== 0) throw new Error('sessions ' + stop.ev.sessions)
    const ex = await h.waitLine({ msg: 'stop_cmd_exited', server: 'stay' }, 8000)
    if (ex.status !== '0' || sa.runs() !== 1) throw new Error(ex._raw + ' runs ' + sa.runs())
    return 'stop_requested ' + after + ' ms after the leave; stop_cmd exited 0'
  })
  await t.check('the server process is gone and the state is sleeping', async () => {
    await E.waitState(bin, h.configPath, 'stay', 'sleeping', 5000)
    await E.until(() => !wa.alive(wa.pids()[0]), 3000, 'server process to exit')
    return 'sleeping, pid ' + wa.pids()[0] + ' gone'
  })
  await t.check('servers.state went sleeping -> starting -> running -> stopping -> sleeping', async () => {
    // the recorder runs `hopper servers list` in a loop, slowly under sanitizers: let it catch up
    await E.until(() => rec.seq[rec.seq.length - 1] === 'sleeping', 10000, 'the recorder to see sleeping')
    const seq = rec.stop()
    // "stopping" can be shorter than one sample; everything else must show, in this order.
    const want = ['sleeping', 'starting', 'running', 'stopping', 'sleeping']
    const got = seq.join(' -> ')
    if (got !== want.join(' -> ') && got !== 'sleeping -> starting -> running -> sleeping') throw new Error(got)
    return got + ' (' + rec.samples + ' samples)'
  })
  await t.check('server_state lines in the same order', async () => {
    const seq = h.filter({ msg: 'server_state', server: 'stay' }).map(f => f.state).join(' -> ')
    if (seq !== 'starting -> running -> stopping -> sleeping') throw new Error(seq)
    return seq
  })
  await t.check('a login after the stop wakes it again (cooldown_s 0)', async () => {
    const c2 = await H.mcLogin(mc, h.target, 'stay.test', 'Back', '1.20.4', { timeout: 20000 })
    await H.mcEnd(c2.client)
    if (wa.runs() !== 2) throw new Error('start_cmd runs ' + wa.runs())
    await h.waitLine({ msg: 'stop_cmd_exited', server: 'stay' }, IDLE_S * 1000 + 8000, { after: h.mark() })
    return 'second run, stopped again'
  })

  // ---- min_online_s, and SIGTERM when there is no stop_cmd ------------------------------------
  await t.check('min_online_s ' + MIN_ONLINE_S + ' with idle_stop_s 1: a quick visit does not stop it before ' + MIN_ONLINE_S + ' s', async () => {
    const b = await H.mcLogin(mc, h.target, 'brief.test', 'Brief', '1.20.4', { timeout: 20000 })
    const run = await h.waitLine({ msg: 'server_state', server: 'brief', state: 'running' }, 1000)
    await H.mcEnd(b.client)
    const stop = await h.waitLine(E.isEvent('stop_requested', 'brief'), MIN_ONLINE_S * 1000 + 5000)
    const after = stop._t - run._t
    if (after < MIN_ONLINE_S * 1000 - 300) throw new Error('stopped ' + after + ' ms after running')
    return 'stop_requested ' + after + ' ms after running'
  })
  await t.check('no stop_cmd: the started process gets SIGTERM and exits; state sleeping', async () => {
    const ex = await h.waitLine({ msg: 'start_cmd_exited', server: 'brief' }, 5000)
    await E.waitState(bin, h.configPath, 'brief', 'sleeping', 3000)
    if (wb.alive(wb.pids()[0])) throw new Error('process still alive')
    return ex._raw.replace(/^.*msg=/, 'msg=')
  })
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
