'use strict'
// control-outbox: the outbox cap and a large backlog. The cap (api.outbox_max_events) is set to
// 20000 rows and the batch (api.events_batch) to 250; the store is filled to the cap with the
// sqlite3 CLI while hopper is stopped (skipped without the CLI). With the API down, a new event
// meets the cap: hopper logs outbox_full (the event is dropped: the outbox is bounded by design).
// When the API returns the backlog drains in order, in batches of at most 250, every row once.
const { spawnSync } = require('child_process')
const { H, serverDoc, binary, setup } = require('./common')

const bin = binary()
const mc = H.loadMc()
const t = new H.Checks('control-outbox')
const CAP = 20000
const BATCH = 250

function sql (db, text) {
  const r = spawnSync('sqlite3', [db], { input: text, encoding: 'utf8', timeout: 60000 })
  if (r.status !== 0) throw new Error('sqlite3: ' + (r.stderr || r.error))
  return r.stdout.trim()
}

async function main () {
  if (spawnSync('sqlite3', ['-version']).status !== 0) {
    console.log('# SKIP: the sqlite3 CLI is needed to fill the outbox to its cap')
    process.exit(77)
  }
  const s = await setup('outbox')
  Object.assign(s.config.api, { outbox_max_events: CAP, events_batch: BATCH })
  const api = s.api
  const db = s.config.store.path
  t.cleanup(() => api.close())
  const pe = await H.freePort()
  const backend = H.startMcServer({ port: pe, motd: 'ob-up' })
  t.cleanup(() => backend.stop())
  await backend.listening
  api.setDoc({ servers: [serverDoc('ob', ['ob.test'], '127.0.0.1:' + pe, { state: 'running' })] })

  await t.check('seed: routes stored; the outbox filled to its cap (' + CAP + ' rows) while hopper is stopped', async () => {
    const h0 = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopper0' })
    t.cleanup(() => h0.kill9())
    await h0.start()
    await h0.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)
    await h0.stop()
    sql(db, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${CAP})
      INSERT INTO outbox(event_id, body, created_at)
      SELECT 'pre-' || i, json_object('type', 'synthetic', 'id', 'pre-' || i, 'replica', 'pre', 'n', i), 0 FROM n;`)
    return sql(db, 'SELECT count(*) FROM outbox') + ' rows'
  })

  await api.refuse()
  const h = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopper' })
  t.cleanup(() => h.kill9())
  await h.start()

  await t.check('API down, outbox at its cap: a join/leave is refused with msg=outbox_full', async () => {
    const r = await H.mcLogin(mc, h.target, 'ob.test', 'Overflow', '1.20.4')
    await H.mcEnd(r.client)
    const l = await h.waitLine({ msg: 'outbox_full' }, 5000)
    const rows = Number(sql(db, 'SELECT count(*) FROM outbox'))
    if (rows !== CAP) throw new Error('outbox has ' + rows + ' rows')
    return l._raw.replace(/^.*msg=/, 'msg=') + '; outbox stays at ' + rows
  })

  await t.check('the API returns: the ' + CAP + '-row backlog drains in order, in batches, each row once', async () => {
    const t0 = Date.now()
    await api.listen()
    await api.waitFor(() => api.eventList.filter(e => e.type === 'synthetic').length >= CAP, 240000, 'the whole backlog')
    const took = Date.now() - t0
    const syn = api.eventList.filter(e => e.type === 'synthetic').map(e => e.n)
    const inOrder = syn.every((x, i) => x === i + 1)
    if (!inOrder) throw new Error('out of order near ' + syn.findIndex((x, i) => x !== i + 1))
    const posts = api.count('POST /v1/events')
    const sizes = api.requests.filter(r => r.path === '/v1/events' && r.body)
      .map(r => { try { return JSON.parse(r.body).events.length } catch (_) { return 0 } })
    if (Math.max(...sizes) !== BATCH) throw new Error('largest batch ' + Math.max(...sizes) + ', want ' + BATCH)
    if (posts < CAP / BATCH) throw new Error(posts + ' POSTs for ' + CAP + ' events')
    await api.waitFor(() => Number(sql(db, 'SELECT count(*) FROM outbox')) === 0, 10000, 'an empty outbox')
    return CAP + ' events in ' + posts + ' POSTs (' + api.dupes + ' duplicates) in ' + took + ' ms; outbox empty'
  })

  await t.check('after the drain new events flow again', async () => {
    const r = await H.mcLogin(mc, h.target, 'ob.test', 'AfterDrain', '1.20.4')
    await H.mcEnd(r.client)
    await api.waitFor(() => api.eventList.some(e => e.type === 'leave' && e.player === 'AfterDrain'), 10000, 'the leave of AfterDrain')
    return 'join and leave delivered'
  })

  await t.check('SIGTERM: exit 0', async () => { await h.stop() })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack || String(e))).then(() => t.done())
