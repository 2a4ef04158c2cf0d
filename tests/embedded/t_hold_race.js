#!/usr/bin/env node
'use strict'
// A held login's keepalive answer must never reach the backend. hopper sends a Login Plugin Request
// on "hopper:hold"; the client's answer is one uplink delay behind it. If the server becomes ready
// inside that window and hopper pipes at once, the answer is relayed to the backend after the
// replayed Login Start: a vanilla server then disconnects the player (an unexpected Custom Query
// Answer in login state, or, once it has enabled compression, a badly compressed packet).
// Setup: client -> hopper bytes go through a proxy that delays them 1500 ms; the backend starts
// listening the moment the client receives the first keepalive; a sniffing proxy in front of the
// backend records every client -> backend byte.
//   node t_hold_race.js path/to/hopper
const net = require('net')
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-hold-race')
const mc = H.loadMc()
const UPLINK_DELAY_MS = 1500

function frames (buf) {
  const out = []
  let i = 0
  while (i < buf.length) {
    let len = 0; let shift = 0; let b
    do { b = buf[i++]; len |= (b & 0x7f) << shift; shift += 7 } while (b & 0x80 && i < buf.length)
    out.push(buf.subarray(i, i + len).toString('hex'))
    i += len
  }
  return out
}

async function main () {
  if (!bin) { console.log('usage: t_hold_race.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 1, provider: 'sqlite',
    farm: { probe_interval_ms: 100, hold_keepalive_ms: 1000 } })
  h.writeConfig()
  const sniffPort = await H.freePort()
  const realPort = await H.freePort()
  E.cliOk(bin, h.configPath, ['add', 'race', '--host', 'race.test', '--backend', '127.0.0.1:' + sniffPort, 'join=hold', 'min_online_s=0'])
  await h.start()
  t.cleanup(() => h.exited || h.stop())

  const c2b = []
  const sniff = net.createServer(cs => {
    const up = net.connect(realPort, '127.0.0.1')
    const mine = []
    c2b.push(mine)
    cs.on('data', d => { mine.push(d); up.write(d) })
    up.on('data', d => cs.write(d))
    cs.on('end', () => up.end()); up.on('end', () => cs.end())
    cs.on('error', () => up.destroy()); up.on('error', () => cs.destroy())
  })
  await new Promise(resolve => sniff.listen(sniffPort, '127.0.0.1', resolve))
  t.cleanup(() => sniff.close())
  const slow = net.createServer(cs => {
    const up = net.connect(h.port, '127.0.0.1')
    cs.on('data', d => setTimeout(() => up.write(d), UPLINK_DELAY_MS))
    cs.on('end', () => setTimeout(() => up.end(), UPLINK_DELAY_MS))
    up.on('data', d => cs.write(d)); up.on('end', () => cs.end())
    cs.on('error', () => up.destroy()); up.on('error', () => cs.destroy())
  })
  await new Promise(resolve => slow.listen(0, '127.0.0.1', resolve))
  t.cleanup(() => slow.close())

  let backend = null
  const startBackend = () => {
    if (backend) return
    backend = mc.createServer({ 'online-mode': false, version: '1.20.4', port: realPort, host: '127.0.0.1', hideErrors: true })
    backend.on('playerJoin', cl => cl.write('login', { ...mc.mcData('1.20.4').loginPacket, entityId: cl.id, enforcesSecureChat: false }))
  }
  t.cleanup(() => { if (backend) { for (const c of Object.values(backend.clients)) c.socket.destroy(); backend.close() } })

  const login = E.heldLogin(mc, { ip: '127.0.0.1', port: slow.address().port }, 'race.test', 'Racer', '1.20.4', { timeout: 30000 })
  login.client.once('login_plugin_request', startBackend)
  const r = await login.result
  await H.sleep(UPLINK_DELAY_MS + 500)
  await t.check('the held login reaches play state', async () => {
    if (r.outcome !== 'play') throw new Error(r.outcome + ' ' + r.text + '\n' + E.fmtEvents(login.events))
    return 'play ' + r.sinceConnectMs + ' ms after the connect'
  })
  await t.check('the backend never receives a Login Plugin Response (the keepalive answer stays with hopper)', async () => {
    const ours = c2b.map(chunks => frames(Buffer.concat(chunks))).find(fs => fs.length >= 2 && /^00/.test(fs[0]) && fs[0].endsWith('02'))
    if (!ours) throw new Error('no login connection seen at the backend: ' + JSON.stringify(c2b.map(x => Buffer.concat(x).toString('hex'))))
    // frames: handshake, login start, then the client's own packets. A Login Plugin Response is
    // id 0x02 + message id + "understood" false: 3 bytes, uncompressed (the client sent it before
    // it saw Set Compression).
    const stray = ours.slice(2).filter(f => f.length === 6 && f.startsWith('02') && f.endsWith('00'))
    if (stray.length) throw new Error('backend got ' + stray.length + ' stray Login Plugin Response frame(s) after the replayed Login Start: frames ' + ours.join(' '))
    return 'frames after the replay: ' + ours.slice(2).join(' ')
  })
  await H.mcEnd(login.client)
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
