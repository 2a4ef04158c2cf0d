'use strict'
// control-removed: a player is held while their server starts, and the control plane's document
// drops that server meanwhile. No state change will ever come for it, so hopper tells the player
// at once, as for an unknown host (reason no_route), instead of holding them until the hold
// ends (hold_silent_max_ms for a pre-1.13 client, the start timeout for others). A player of
// another server, held at the same time, is not touched.
const { H, serverDoc, binary, setup } = require('./common')

const bin = binary()
const mc = H.loadMc()
const t = new H.Checks('control-removed')
const START_TIMEOUT_S = 120
const HOLD_SILENT_MAX_MS = 28000

async function main () {
  const s = await setup('removed', { config: { farm: { probe_interval_ms: 500, wake_quota: 0, hold_silent_max_ms: HOLD_SILENT_MAX_MS } } })
  const api = s.api
  t.cleanup(() => api.close())
  const [pg, pk] = [await H.freePort(), await H.freePort()]
  const gone = serverDoc('gone', ['gone.test'], '127.0.0.1:' + pg, { start_timeout_s: START_TIMEOUT_S })
  const kept = serverDoc('kept', ['kept.test'], '127.0.0.1:' + pk, { start_timeout_s: START_TIMEOUT_S })
  api.setDoc({ servers: [gone, kept] })
  api.servers.gone = { spawn: false }    // the start is accepted; the server never comes up
  api.servers.kept = { spawn: false }
  const h = new H.Hopper(bin, s.config, { dir: s.dir })
  t.cleanup(() => h.kill9())
  await h.start()
  await h.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)

  // 1.12.2: held in silence (no keepalive to answer), so only hopper's own check can notice
  const refused = H.mcRefused(mc, h.target, 'gone.test', 'Stranded', '1.12.2', { timeout: 60000 })
  refused.catch(() => {})
  const other = H.mcRefused(mc, h.target, 'kept.test', 'Bystander', '1.20.4', { timeout: 60000 })
  other.catch(() => {})
  await api.waitFor(() => api.count('POST /v1/servers/gone/start') === 1 &&
    api.count('POST /v1/servers/kept/start') === 1, 10000, 'both starts')
  await H.sleep(1000)                    // both players are held now
  const droppedAt = Date.now()
  api.setDoc({ servers: [kept] })

  await t.check('the held player is told as soon as the document drops the server', async () => {
    const r = await refused
    const after = Date.now() - droppedAt
    if (!r.text.includes('gone.test')) throw new Error('text ' + JSON.stringify(r.text))
    const l = await h.sessionLine(r.localPort, 5000)
    if (l.reason !== 'no_route' || l.server !== 'gone' || l.player !== 'Stranded') throw new Error(l._raw)
    // a silent hold is otherwise ended only by its own deadline (and its answer checked there)
    if (Number(l.duration_ms) >= HOLD_SILENT_MAX_MS) throw new Error('told only when the hold ended: ' + l._raw)
    return JSON.stringify(r.text) + ' ' + after + ' ms after the document changed; ' + l._raw.replace(/^.*msg=/, 'msg=')
  })

  await t.check('a player held for a server that stays is still held', async () => {
    const settled = await Promise.race([other.then(() => 'ended', () => 'ended'), H.sleep(1500).then(() => 'held')])
    if (settled !== 'held') throw new Error('the bystander was let go')
    return 'still held'
  })

  await t.check('SIGTERM: exit 0', async () => { await h.stop() })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack || String(e))).then(() => t.done())
