'use strict'
// control-events: events are never lost. With the API down for the whole test (after one short
// run that stores the routes document) and hopper killed with kill -9 midway, every join and leave
// reaches POST /v1/events once the API returns, exactly once after de-duplication by id, with the
// fields the contract names. The first delivery's answer is dropped (events recorded, socket
// destroyed), so hopper retries and the API sees duplicates it must de-duplicate. Rows are
// deleted after a 2xx: a restart sends nothing again. Retries while the API is down back off.
const fs = require('fs')
const { spawnSync } = require('child_process')
const { H, serverDoc, binary, setup } = require('./common')

const bin = binary()
const mc = H.loadMc()
const t = new H.Checks('control-events')

const HAVE_SQLITE3 = spawnSync('sqlite3', ['-version'], { encoding: 'utf8' }).status === 0

function outboxRows (db) {
  const r = spawnSync('sqlite3', ['-readonly', db, 'SELECT count(*) FROM outbox'], { encoding: 'utf8', timeout: 5000 })
  return r.status === 0 ? Number(r.stdout.trim()) : -1
}

// Waits until the outbox holds at least n rows (sqlite3 CLI), or a fixed 2 s without the CLI.
async function outboxHolds (db, n) {
  if (!HAVE_SQLITE3) { await H.sleep(2000); return 'sqlite3 CLI not found: waited 2 s' }
  const end = Date.now() + 10000
  let rows
  while ((rows = outboxRows(db)) < n) {
    if (Date.now() > end) throw new Error('outbox holds ' + rows + ' rows, expected at least ' + n)
    await H.sleep(100)
  }
  return rows + ' rows in the outbox'
}

async function joinLeave (h, names, chat) {
  const out = []
  for (const name of names) {
    const r = await H.mcLogin(mc, h.target, 'ev.test', name, '1.20.4')
    if (chat) { r.client.chat('hello from ' + name); await H.sleep(200) }
    await H.mcEnd(r.client)
    await h.sessionLine(r.localPort, 5000)
    out.push(name)
  }
  return out
}

async function main () {
  const s = await setup('events', { config: { farm: { probe_interval_ms: 500, wake_quota: 0 } } })
  const api = s.api
  const db = s.config.store.path
  t.cleanup(() => api.close())
  const pe = await H.freePort()
  const backend = H.startMcServer({ port: pe, motd: 'ev-up' })
  t.cleanup(() => backend.stop())
  await backend.listening
  api.setDoc({ servers: [serverDoc('ev', ['ev.test'], '127.0.0.1:' + pe, { state: 'running' })] })

  await t.check('seed: one run with the API up stores the routes document', async () => {
    const h0 = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopper0' })
    t.cleanup(() => h0.kill9())
    await h0.start()
    await h0.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)
    await H.sleep(500)
    await h0.stop()
    return 'stored'
  })

  await api.refuse()            // from here on the API refuses every connection

  const hA = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopperA' })
  t.cleanup(() => hA.kill9())
  const expectJoin = []
  const expectLeave = []
  let held = []
  await t.check('API down: hopper A routes from the store; 5 players join and leave, 2 stay', async () => {
    await hA.start()
    const l = hA.find({ msg: 'routes_loaded' })
    if (!l || l.source !== 'stored') throw new Error('routes: ' + (l ? l._raw : 'none'))
    const names = await joinLeave(hA, ['Alice', 'Bob', 'Carol', 'Dave', 'Erin'], true)
    expectJoin.push(...names)
    expectLeave.push(...names)
    for (const name of ['Stayer1', 'Stayer2']) {
      const r = await H.mcLogin(mc, hA.target, 'ev.test', name, '1.20.4')
      held.push(r.client)
      expectJoin.push(name)          // its leave is never seen: hopper A dies first
    }
    return expectJoin.length + ' joins, ' + expectLeave.length + ' leaves'
  })

  await t.check('events that cannot be sent are logged and retried with backoff', async () => {
    const m = hA.mark()
    await H.sleep(6000)
    const n = hA.count({ msg: 'events_send_failed' }, { after: m })
    const all = hA.filter({ msg: 'events_send_failed' })
    if (!all.length) throw new Error('no events_send_failed line')
    if (n > 12) throw new Error(n + ' failed sends in 6 s: no backoff')
    return n + ' failures logged in 6 s, e.g. ' + all[all.length - 1]._raw.replace(/^.*msg=/, 'msg=')
  })

  await t.check('kill -9 hopper A with 2 players connected', async () => {
    const detail = await outboxHolds(db, expectJoin.length + expectLeave.length)
    const x = await hA.kill9()
    if (x.signal !== 'SIGKILL') throw new Error(JSON.stringify(x))
    for (const c of held) { try { c.socket.destroy() } catch (_) {} }
    held = []
    return detail
  })

  const hB = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopperB' })
  t.cleanup(() => hB.kill9())
  await t.check('API still down: hopper B starts from the store; 3 more players join and leave', async () => {
    await hB.start()
    const names = await joinLeave(hB, ['Frank', 'Grace', 'Heidi'], false)
    expectJoin.push(...names)
    expectLeave.push(...names)
    await hB.waitLine({ msg: 'events_send_failed' }, 5000)
    if (api.eventCopies.length) throw new Error('the API saw events while it was down')
    return 'outbox: ' + (HAVE_SQLITE3 ? outboxRows(db) + ' rows' : '?')
  })

  await t.check('the API returns (first answer lost): every join and leave arrives, exactly once by id', async () => {
    api.eventsMode = 'drop'
    await api.listen()
    await api.waitFor(() => api.eventPosts >= 1, 65000, 'the first POST /v1/events after the API returned')
    api.eventsMode = 'ok'
    const joins = () => api.eventList.filter(e => e.type === 'join' && e.server === 'ev')
    const leaves = () => api.eventList.filter(e => e.type === 'leave' && e.server === 'ev')
    await api.waitFor(() => joins().length >= expectJoin.length && leaves().length >= expectLeave.length, 65000,
      expectJoin.length + ' joins and ' + expectLeave.length + ' leaves (have ' + joins().length + '/' + leaves().length + ')')
    await H.sleep(2000)           // anything extra would arrive now
    const byPlayer = list => {
      const m = {}
      for (const e of list) m[e.player] = (m[e.player] || 0) + 1
      return m
    }
    const jm = byPlayer(joins())
    const lm = byPlayer(leaves())
    const bad = []
    for (const p of expectJoin) if (jm[p] !== 1) bad.push('join ' + p + ' x' + (jm[p] || 0))
    for (const p of expectLeave) if (lm[p] !== 1) bad.push('leave ' + p + ' x' + (lm[p] || 0))
    for (const p of Object.keys(jm)) if (!expectJoin.includes(p)) bad.push('unexpected join ' + p)
    for (const p of Object.keys(lm)) if (!expectLeave.includes(p)) bad.push('unexpected leave ' + p)
    const ids = api.eventCopies.map(e => e.id)
    if (ids.some(id => typeof id !== 'string' || !/^[^-]+-\d+$/.test(id))) bad.push('ids not "<replica>-<seq>": ' + ids.slice(0, 3))
    if (bad.length) throw new Error(bad.join(', '))
    return api.eventList.length + ' distinct events, ' + api.eventCopies.length + ' copies (' + api.dupes + ' duplicates removed by id) in ' + api.eventPosts + ' POSTs'
  })

  await t.check('the backlog arrives in order, with one replica id across the restart', async () => {
    const replicas = [...new Set(api.eventList.map(e => e.replica))]
    const seqs = api.eventList.map(e => Number(e.id.split('-').pop()))
    const sorted = seqs.every((x, i) => i === 0 || x > seqs[i - 1])
    if (!sorted) throw new Error('sequence out of order: ' + seqs.join(','))
    if (api.eventList.some(e => e.id !== e.replica + '-' + e.id.split('-').pop())) throw new Error('id does not start with the replica')
    return 'replica(s) ' + replicas.join(',') + '; seq ' + seqs[0] + '..' + seqs[seqs.length - 1]
  })

  await t.check('each join/leave carries name, UUID, client IP, server, protocol; leaves duration and bytes', async () => {
    const bad = []
    for (const e of api.eventList.filter(x => x.type === 'join' || x.type === 'leave')) {
      if (e.uuid !== mc.offlineUuid(e.player)) bad.push(e.player + ' uuid ' + e.uuid)
      if (e.client_ip !== '127.0.0.1') bad.push(e.player + ' client_ip ' + e.client_ip)
      if (e.protocol !== 765) bad.push(e.player + ' protocol ' + e.protocol)
      if (typeof e.at_ms !== 'number') bad.push(e.player + ' at_ms')
      if (e.type === 'leave' && !(e.duration_ms > 0 && e.bytes_c2b > 0 && e.bytes_b2c > 0)) bad.push(e.player + ' leave ' + JSON.stringify(e))
    }
    const chatty = api.eventList.find(e => e.type === 'leave' && e.player === 'Alice')
    const quiet = api.eventList.find(e => e.type === 'leave' && e.player === 'Frank')
    if (chatty && quiet && !(chatty.bytes_c2b > quiet.bytes_c2b)) bad.push('a player who chatted sent no more bytes than one who did not: ' + chatty.bytes_c2b + ' vs ' + quiet.bytes_c2b)
    if (bad.length) throw new Error(bad.join('; '))
    return 'e.g. ' + JSON.stringify(chatty)
  })

  await t.check('POST /v1/events carries the bearer token', async () => {
    const posts = api.requests.filter(r => r.path === '/v1/events')
    const bad = posts.filter(r => r.headers.authorization !== 'Bearer ' + s.token)
    if (bad.length) throw new Error(bad.length + ' of ' + posts.length + ' without the token')
    return posts.length + ' POSTs'
  })

  await t.check('delivered rows are deleted: the outbox is empty and a restart sends nothing again', async () => {
    if (HAVE_SQLITE3) await api.waitFor(() => outboxRows(db) === 0, 10000, 'an empty outbox')
    await hB.stop()
    const before = api.eventCopies.length
    const hC = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopperC' })
    t.cleanup(() => hC.kill9())
    await hC.start()
    await H.sleep(3000)
    await hC.stop()
    if (api.eventCopies.length !== before) throw new Error((api.eventCopies.length - before) + ' events sent again after the restart')
    return HAVE_SQLITE3 ? 'outbox 0 rows; nothing resent' : 'nothing resent'
  })

  await t.check('no token in any log', async () => {
    for (const n of ['hopper.log']) {
      if (fs.readFileSync(s.dir + '/' + n, 'utf8').includes(s.token)) throw new Error('token in ' + n)
    }
    return 'checked'
  })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack || String(e))).then(() => t.done())
