#!/usr/bin/env node
'use strict'
// Status pings to a sleeping server are answered by hopper: the sleeping MOTD, players 0, the
// configured max_players and favicon, version.protocol = the client's own protocol; and they never
// wake it (the start_cmd wrapper counts its runs).
//   node t_status.js path/to/hopper
const net = require('net')
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-status')
const mc = H.loadMc()
const VERSIONS = ['1.8.9', '1.12.2', '1.16.5', '1.20.4', '1.21.4']
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='

// A 1.6 legacy ping (0xFE 0x01 0xFA "MC|PingHost" carrying the host); resolves with the kick's fields.
function legacyPing (target, host) {
  const u16 = str => { const b = Buffer.from(str, 'utf16le'); b.swap16(); return b }
  const chan = u16('MC|PingHost')
  const h16 = u16(host)
  const rest = Buffer.alloc(1 + 2 + h16.length + 4)
  rest[0] = 78
  rest.writeUInt16BE(host.length, 1)
  h16.copy(rest, 3)
  rest.writeUInt32BE(25565, 3 + h16.length)
  const head = Buffer.alloc(5)
  head[0] = 0xfe; head[1] = 0x01; head[2] = 0xfa
  head.writeUInt16BE('MC|PingHost'.length, 3)
  const len = Buffer.alloc(2)
  len.writeUInt16BE(rest.length)
  const pkt = Buffer.concat([head, chan, len, rest])
  return H.withTimeout(new Promise((resolve, reject) => {
    const s = net.connect(target.port, target.ip)
    const chunks = []
    s.on('connect', () => s.write(pkt))
    s.on('data', d => chunks.push(d))
    s.on('error', reject)
    s.on('close', () => {
      const b = Buffer.concat(chunks)
      if (b.length < 3 || b[0] !== 0xff) return reject(new Error('no legacy kick: ' + b.toString('hex')))
      const n = b.readUInt16BE(1)
      const u = Buffer.from(b.subarray(3, 3 + n * 2))
      u.swap16()
      resolve(u.toString('utf16le').split('\0'))
    })
  }), 5000, 'legacy ping')
}

async function main () {
  if (!bin) { console.log('usage: t_status.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500 } })
  h.writeConfig()
  const port = await H.freePort()
  const w = E.wrapper(h.dir, 'sleepy-start', { port })
  t.cleanup(() => w.killAll())
  E.cliOk(bin, h.configPath, ['add', 'sleepy', '--host', 'sleepy.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv), 'join=hold', 'min_online_s=0',
    'status=' + JSON.stringify({ sleeping: 'sleepy is asleep', max_players: 12, favicon: PNG })])
  E.cliOk(bin, h.configPath, ['add', 'plain', '--host', 'plain.test', '--backend', '127.0.0.1:' + port,
    'start_cmd=' + JSON.stringify(w.argv)])
  await h.start()
  t.cleanup(() => h.exited || h.stop())

  let lastSession = null
  for (const v of VERSIONS) {
    const protocol = mc.mcData(v).version.version
    await t.check('[' + v + '] sleeping server: MOTD, players 0/12, favicon, protocol ' + protocol, async () => {
      const r = await H.mcPing(mc, h.target, 'sleepy.test', v)
      const bad = []
      if (!r.motd.includes('sleepy is asleep')) bad.push('motd ' + JSON.stringify(r.motd))
      if (r.protocol !== protocol) bad.push('version.protocol ' + r.protocol)
      if (!r.res.players || r.res.players.online !== 0 || r.res.players.max !== 12) bad.push('players ' + JSON.stringify(r.res.players))
      if (r.res.favicon !== PNG) bad.push('favicon ' + String(r.res.favicon).slice(0, 40))
      if (bad.length) throw new Error(bad.join('; '))
      const s = await h.sessionLine(r.localPort)
      if (s.reason !== 'server_not_running' || s.intent !== 'status') throw new Error('session line: ' + s._raw)
      lastSession = s
      return 'version ' + JSON.stringify(r.res.version) + ', reason=' + s.reason
    })
  }
  await t.check('the session line of a status answered for a sleeping server names it (server=sleepy)', async () => {
    if (!lastSession) throw new Error('no session line seen')
    if (lastSession.server !== 'sleepy') throw new Error('server=' + lastSession.server + ' in ' + lastSession._raw)
    return 'server=' + lastSession.server
  })
  await t.check('server without status options: the default sleeping MOTD, players 0', async () => {
    const r = await H.mcPing(mc, h.target, 'plain.test', '1.20.4')
    if (!/Asleep/.test(r.motd) || r.protocol !== 765 || r.res.players.online !== 0) throw new Error(JSON.stringify(r.res))
    return r.motd
  })
  await t.check('legacy (1.6) ping: a kick carrying the sleeping MOTD', async () => {
    const f = await legacyPing(h.target, 'sleepy.test')
    if (!f.some(x => x.includes('sleepy is asleep'))) throw new Error(JSON.stringify(f))
    return JSON.stringify(f)
  })
  // 20 more pings at once, then make sure nothing started.
  await t.check('20 concurrent pings all answered', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => H.mcPing(mc, h.target, 'sleepy.test', '1.20.4')))
    const bad = rs.filter(r => !r.motd.includes('sleepy is asleep'))
    if (bad.length) throw new Error(bad.length + ' wrong answers')
    return '20 sleeping answers'
  })
  await H.sleep(1500) // time for a wrong wake to show
  await t.check('no ping woke anything: start_cmd never ran, no wake_requested, no probe', async () => {
    const bad = []
    if (w.runs()) bad.push('start_cmd ran ' + w.runs() + ' times')
    if (h.count(E.isEvent('wake_requested'))) bad.push('wake_requested logged')
    if (h.count({ msg: 'server_state' })) bad.push(h.find({ msg: 'server_state' })._raw)
    if (bad.length) throw new Error(bad.join('; '))
    return 'start_cmd runs 0'
  })
  await t.check('servers.state is still sleeping in SQLite', async () => {
    const r = E.rows(bin, h.configPath)
    if (r.sleepy.state !== 'sleeping' || r.plain.state !== 'sleeping') throw new Error(r.sleepy.state + ' ' + r.plain.state)
    return 'sleeping, sleeping'
  })
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
