#!/usr/bin/env node
'use strict'
// A server that answers status (and accepts TCP) before it takes logins: mc_server
// --login-refuse-ms kicks logins with "still loading" for a while after it listens. hopper's
// readiness probe is a status exchange, so it declares the server running as soon as status works
// and replays the held login; the player then sees the backend's own message. ready_grace_ms
// (per server) covers that window: with a grace longer than it, the held login completes.
//   node t_refuse.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-refuse')
const mc = H.loadMc()
const REFUSE_MS = 4000

async function main () {
  if (!bin) { console.log('usage: t_refuse.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500, wake_quota: 0 } })
  h.writeConfig()
  const portA = await H.freePort()
  const portB = await H.freePort()
  const wa = E.wrapper(h.dir, 'eager-start', { port: portA, loginRefuseMs: REFUSE_MS })
  const wb = E.wrapper(h.dir, 'graced-start', { port: portB, loginRefuseMs: REFUSE_MS })
  t.cleanup(() => { wa.killAll(); wb.killAll() })
  E.cliOk(bin, h.configPath, ['add', 'eager', '--host', 'eager.test', '--backend', '127.0.0.1:' + portA,
    'start_cmd=' + JSON.stringify(wa.argv), 'join=hold', 'min_online_s=0'])
  E.cliOk(bin, h.configPath, ['add', 'graced', '--host', 'graced.test', '--backend', '127.0.0.1:' + portB,
    'start_cmd=' + JSON.stringify(wb.argv), 'join=hold', 'min_online_s=0', 'ready_grace_ms=' + (REFUSE_MS + 1500)])
  await h.start()
  t.cleanup(() => h.exited || h.stop())

  // Warm up minecraft-protocol's compiled 1.20.4 protocol so client times are the exchange's own.
  try { await H.mcPing(mc, h.target, 'eager.test', '1.20.4') } catch (_) {}

  const a = E.heldLogin(mc, h.target, 'eager.test', 'Eager', '1.20.4', { readTimeoutMs: 30000, timeout: 30000 })
  const ra = await a.result
  await t.check('no grace: hopper declares it running once status works and replays the login', async () => {
    const ready = h.find(E.isEvent('wake_ready', 'eager'))
    if (!ready) throw new Error('no wake_ready')
    return 'wake_ready wait_ms=' + ready.ev.wait_ms
  })
  await t.check('no grace: the player sees the backend\'s own "still loading" Disconnect', async () => {
    if (ra.outcome !== 'disconnect' || ra.text !== 'still loading') throw new Error(ra.outcome + ' ' + JSON.stringify(ra.text) + '\n' + E.fmtEvents(a.events))
    const s = await h.sessionLine(ra.localPort)
    if (s.reason !== 'backend_closed' || s.server !== 'eager') throw new Error(s._raw)
    return JSON.stringify(ra.text) + ' ' + ra.sinceConnectMs + ' ms after the connect; session reason=' + s.reason
  })
  await t.check('no grace: a retry after the refuse window gets in', async () => {
    await H.sleep(REFUSE_MS)
    const c = await H.mcLogin(mc, h.target, 'eager.test', 'Eager2', '1.20.4', { timeout: 10000 })
    try { return await E.chat(c.client, 'retry works', 5000) } finally { await H.mcEnd(c.client) }
  })

  const b = E.heldLogin(mc, h.target, 'graced.test', 'Graced', '1.20.4', { readTimeoutMs: 30000, timeout: 40000 })
  const rb = await b.result
  await t.check('ready_grace_ms ' + (REFUSE_MS + 1500) + ': the held login completes at the first try and chats', async () => {
    if (rb.outcome !== 'play') throw new Error(rb.outcome + ' ' + JSON.stringify(rb.text) + '\n' + E.fmtEvents(b.events))
    const echo = await E.chat(b.client, 'graced hello', 5000)
    return 'play ' + rb.sinceConnectMs + ' ms after the connect; ' + echo
  })
  await H.mcEnd(b.client)
  wa.killAll(); wb.killAll()
  await E.until(() => h.count({ msg: 'start_cmd_exited' }) >= 2, 5000, 'both servers exited').catch(() => {})
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
