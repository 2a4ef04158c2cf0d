#!/usr/bin/env node
'use strict'
// The long hold (docs/hold.md): a real 1.20.4 client, with the vanilla client's 30 s login read
// timeout emulated (minecraft-protocol has none), is held while its server takes 45 s to listen.
// hopper's Login Plugin Requests (default farm.hold_keepalive_ms, 10 s) keep resetting that timeout,
// and the login completes and chats. Alongside, a 1.12.2 client (no Login Plugin Request before
// 1.13) held for the same kind of start gets the starting Disconnect at farm.hold_silent_max_ms
// (25 s by default), before its own 30 s timeout. About 60 s.
//   node t_hold_long.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-hold-long')
const mc = H.loadMc()
const DELAY_MS = 45000
const READ_TIMEOUT_MS = 30000

async function main () {
  if (!bin) { console.log('usage: t_hold_long.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500 } })
  h.writeConfig()
  const port = await H.freePort()
  const portOld = await H.freePort()
  const w = E.wrapper(h.dir, 'slow-start', { port, startDelayMs: DELAY_MS })
  const wo = E.wrapper(h.dir, 'old-start', { port: portOld, version: '1.12.2', startDelayMs: DELAY_MS })
  t.cleanup(() => { w.killAll(); wo.killAll() })
  E.cliOk(bin, h.configPath, ['add', 'slow', '--host', 'slow.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv), 'join=hold', 'min_online_s=0'])
  E.cliOk(bin, h.configPath, ['add', 'old', '--host', 'old.test', '--backend', '127.0.0.1:' + portOld,
    'start_cmd=' + JSON.stringify(wo.argv), 'join=hold', 'min_online_s=0'])
  await h.start()
  t.cleanup(() => h.exited || h.stop())
  // Compile both protocols before the timed logins.
  await Promise.all([H.mcPing(mc, h.target, 'slow.test', '1.20.4'), H.mcPing(mc, h.target, 'old.test', '1.12.2')])

  const a = E.heldLogin(mc, h.target, 'slow.test', 'Patient', '1.20.4', { readTimeoutMs: READ_TIMEOUT_MS, timeout: DELAY_MS + 40000 })
  const b = E.heldLogin(mc, h.target, 'old.test', 'Oldtimer', '1.12.2', { readTimeoutMs: READ_TIMEOUT_MS, timeout: DELAY_MS + 40000 })
  const [ra, rb] = await Promise.all([a.result, b.result])

  await t.check('1.20.4, server ready after >= 45 s, emulated 30 s read timeout: the login completes', async () => {
    const ready = h.find(E.isEvent('wake_ready', 'slow'))
    if (ra.outcome !== 'play') throw new Error(ra.outcome + ' ' + ra.text + '\n' + E.fmtEvents(a.events))
    if (ra.sinceConnectMs < DELAY_MS) throw new Error('play after only ' + ra.sinceConnectMs + ' ms')
    return 'play ' + (ra.sinceConnectMs / 1000).toFixed(1) + ' s after the connect (wake_ready wait_ms=' + (ready && ready.ev.wait_ms) + ')'
  })
  await t.check('the client never went 30 s without a packet: Login Plugin Requests every ~10 s', async () => {
    const ka = a.events.filter(e => /channel=hopper:hold/.test(e.what)).map(e => e.at - ra.connectedAt)
    const marks = [0, ...ka, ra.sinceConnectMs]
    const gaps = marks.slice(1).map((m, i) => m - marks[i])
    if (Math.max(...gaps) >= READ_TIMEOUT_MS || ka.length < 4) throw new Error('keepalives at ' + ka.join(',') + ' ms')
    return ka.length + ' requests, longest silence ' + (Math.max(...gaps) / 1000).toFixed(1) + ' s'
  })
  await t.check('the chat round-trips after the long hold', async () => E.chat(a.client, 'worth the wait', 5000))
  await t.check('1.12.2 (no keepalive possible): the starting Disconnect at hold_silent_max_ms (25 s)', async () => {
    if (rb.outcome !== 'disconnect' || !/old is starting\. Please rejoin in about \d+ seconds\./.test(rb.text)) throw new Error(rb.outcome + ' ' + JSON.stringify(rb.text) + '\n' + E.fmtEvents(b.events))
    if (rb.sinceConnectMs < 24500 || rb.sinceConnectMs > 27000) throw new Error('after ' + rb.sinceConnectMs + ' ms')
    const s = await h.sessionLine(rb.localPort)
    if (s.reason !== 'server_starting') throw new Error(s._raw)
    return JSON.stringify(rb.text) + ' ' + (rb.sinceConnectMs / 1000).toFixed(1) + ' s after the connect, reason=' + s.reason
  })
  await H.mcEnd(a.client)
  w.killAll(); wo.killAll()
  await E.until(() => h.count({ msg: 'start_cmd_exited' }) >= 2, 5000, 'both servers exited').catch(() => {})
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
