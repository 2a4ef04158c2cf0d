'use strict'
// control-wake: the server lifecycle through the API provider, with real minecraft-protocol
// clients and a real minecraft-protocol server that the API double starts on /start.
//   - a status ping to a sleeping server gets the sleeping MOTD (document's text, max_players,
//     favicon) with the client's own protocol, and never wakes it
//   - 20 logins at the same moment wake it exactly once; hold completes every real login when the
//     server becomes ready after 5 s (1.20.4 with keepalives, 1.12.2 silently held)
//   - join "kick" sends the Disconnect text; the server still starts
//   - a start that times out (and one the API refuses with 500) goes to failed and says so
//   - idle stop is called after idle_stop_s, never while a player is connected
//   - wake_requested / wake_ready / wake_failed / stop_requested / join / leave reach /v1/events
const { H, serverDoc, binary, setup, pingUntil } = require('./common')

const bin = binary()
const mc = H.loadMc()
const t = new H.Checks('control-wake')
const FAVICON = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
const PROTOCOLS = { '1.8.9': 47, '1.12.2': 340, '1.16.5': 754, '1.20.4': 765, '1.21.4': 769 }

async function main () {
  const s = await setup('wake', { config: { farm: { probe_interval_ms: 500, wake_quota: 0 } } })
  const api = s.api
  t.cleanup(() => api.close())
  const ports = {}
  for (const id of ['sleepy', 'crowd', 'old', 'kicky', 'doomed', 'refused', 'idler']) ports[id] = await H.freePort()
  const be = id => '127.0.0.1:' + ports[id]
  const docServers = [
    serverDoc('sleepy', ['sleepy.test'], be('sleepy'), {
      status: { sleeping: { text: 'Sleepy is asleep', color: 'gray' }, starting: 'Sleepy wakes', max_players: 42, favicon: FAVICON }
    }),
    serverDoc('crowd', ['crowd.test'], be('crowd'), { start_timeout_s: 60 }),
    serverDoc('old', ['old.test'], be('old'), { start_timeout_s: 60 }),
    serverDoc('kicky', ['kicky.test'], be('kicky'), { join: 'kick', start_timeout_s: 60 }),
    serverDoc('doomed', ['doomed.test'], be('doomed'), { start_timeout_s: 3, status: { failed: 'Doomed is broken' } }),
    serverDoc('refused', ['refused.test'], be('refused'), { start_timeout_s: 60 }),
    serverDoc('idler', ['idler.test'], be('idler'), { idle_stop_s: 3, min_online_s: 0 })
  ]
  api.setDoc({ servers: docServers })
  api.servers.sleepy = { spawn: true }
  api.servers.crowd = { spawn: true, startDelayMs: 5000, motd: 'crowd-up' }
  api.servers.old = { spawn: true, startDelayMs: 5000, version: '1.12.2', motd: 'old-up' }
  api.servers.kicky = { spawn: true, startDelayMs: 1000, motd: 'kicky-up' }
  api.servers.doomed = { spawn: false }                 // accepted, but nothing ever listens
  api.servers.idler = { spawn: true, motd: 'idler-up' }

  const h = new H.Hopper(bin, s.config, { dir: s.dir })
  t.cleanup(() => h.kill9())
  await h.start()
  await h.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)

  // ---- Status never wakes
  const statusLines = []
  await t.check('status ping to a sleeping server: sleeping MOTD, client protocol, max_players, favicon; no start', async () => {
    const seen = []
    for (const [v, proto] of Object.entries(PROTOCOLS)) {
      const p = await H.mcPing(mc, h.target, 'sleepy.test', v)
      if (p.motd !== 'Sleepy is asleep') throw new Error(v + ': MOTD ' + JSON.stringify(p.motd))
      if (p.protocol !== proto) throw new Error(v + ': version.protocol ' + p.protocol + ', client sent ' + proto)
      if (!p.res.players || p.res.players.max !== 42 || p.res.players.online !== 0) throw new Error(v + ': players ' + JSON.stringify(p.res.players))
      if (v !== '1.8.9' || p.res.favicon) { if (p.res.favicon !== FAVICON) throw new Error(v + ': favicon ' + String(p.res.favicon).slice(0, 40)) }
      const l = await h.sessionLine(p.localPort)
      if (l.reason !== 'server_not_running') throw new Error('session line: ' + l._raw)
      statusLines.push(l)
      seen.push(v + '->' + p.protocol)
    }
    await H.sleep(1500)
    const starts = api.count('POST /v1/servers/sleepy/start')
    if (starts) throw new Error(starts + ' start calls after status pings')
    if (h.find({ msg: 'server_state', server: 'sleepy' })) throw new Error('state changed: ' + h.find({ msg: 'server_state', server: 'sleepy' })._raw)
    return seen.join(' ') + '; reason=server_not_running; 0 start calls'
  })

  await t.check('the session line of a hopper-answered status names the routed server (docs/logging.md)', async () => {
    const bad = statusLines.filter(l => l.server !== 'sleepy')
    if (bad.length) throw new Error(bad.length + ' of ' + statusLines.length + ' lines have server=' + bad[0].server + ': ' + bad[0]._raw)
    return 'server=sleepy'
  })

  // ---- 20 at once, 5 s start, hold
  let crowdClients = []
  await t.check('20 logins at the same moment wake the server exactly once; hold completes all of them (ready after 5 s)', async () => {
    const t0 = Date.now()
    const logins = []
    for (let i = 0; i < 20; i++) logins.push(H.mcLogin(mc, h.target, 'crowd.test', 'Crowd' + i, '1.20.4', { timeout: 40000 }))
    const res = await Promise.allSettled(logins)
    crowdClients = res.filter(r => r.status === 'fulfilled').map(r => r.value.client)
    const bad = res.filter(r => r.status === 'rejected').map(r => r.reason.message)
    const starts = api.count('POST /v1/servers/crowd/start')
    const times = res.filter(r => r.status === 'fulfilled').map(r => r.value.reachedMs).sort((a, b) => a - b)
    const detail = crowdClients.length + '/20 in play state after ' + (times[0] / 1000).toFixed(1) + '..' + (times[times.length - 1] / 1000).toFixed(1) + ' s; ' + starts + ' start call(s)'
    if (bad.length) throw new Error(detail + '; failures: ' + [...new Set(bad)].join(' | '))
    if (starts !== 1) throw new Error(detail)
    if (times[0] < 4500) throw new Error('a login completed before the server could have been ready: ' + detail)
    const ready = h.find({ msg: 'server_state', server: 'crowd', state: 'running' })
    if (!ready) throw new Error('no server_state running')
    void t0
    return detail
  })

  await t.check('the crowd server went sleeping -> starting -> running, one api_start accepted', async () => {
    const states = h.filter({ msg: 'server_state', server: 'crowd' }).map(l => l.state)
    if (states.join(',') !== 'starting,running') throw new Error('states ' + states.join(','))
    const calls = h.filter({ msg: 'api_start', server: 'crowd' })
    if (calls.length !== 1 || calls[0].status !== '202') throw new Error(calls.map(c => c._raw).join(' | '))
    const body = JSON.parse(api.requests.find(r => r.path === '/v1/servers/crowd/start').body)
    if (typeof body.sessions !== 'number') throw new Error('start body ' + JSON.stringify(body))
    return 'states ' + states.join(' -> ') + '; start body ' + JSON.stringify(body)
  })

  await t.check('the held players are really on the backend (20 joins there)', async () => {
    await api.waitFor(() => api.procs.crowd && api.procs.crowd.joins.length >= 20, 5000, '20 joins on the backend')
    return api.procs.crowd.joins.length + ' joins'
  })

  await Promise.all(crowdClients.map(c => H.mcEnd(c)))

  await t.check('a 1.12.2 client (no Login Plugin Request) is held silently and completes after a 5 s start', async () => {
    const r = await H.mcLogin(mc, h.target, 'old.test', 'Oldie', '1.12.2', { timeout: 30000 })
    await H.mcEnd(r.client)
    if (api.count('POST /v1/servers/old/start') !== 1) throw new Error('start calls ' + api.count('POST /v1/servers/old/start'))
    return 'play state after ' + r.reachedMs + ' ms'
  })

  // ---- kick
  await t.check('join "kick": the Disconnect text, and the server starts', async () => {
    const r = await H.mcRefused(mc, h.target, 'kicky.test', 'Kicked1', '1.20.4')
    if (!/^kicky is starting\. Please rejoin in about \d+ seconds\.$/.test(r.text)) throw new Error('text ' + JSON.stringify(r.text))
    const l = await h.sessionLine(r.localPort)
    if (l.reason !== 'server_starting') throw new Error(l._raw)
    await h.waitLine({ msg: 'server_state', server: 'kicky', state: 'running' }, 20000)
    const again = await H.mcLogin(mc, h.target, 'kicky.test', 'Kicked1', '1.20.4')
    await H.mcEnd(again.client)
    if (api.count('POST /v1/servers/kicky/start') !== 1) throw new Error('start calls ' + api.count('POST /v1/servers/kicky/start'))
    return JSON.stringify(r.text) + '; rejoin after running reaches play state'
  })

  // ---- start timeout
  await t.check('a start that times out: held player gets the failed Disconnect, state failed, failed MOTD', async () => {
    const r = await H.mcRefused(mc, h.target, 'doomed.test', 'Doom1', '1.20.4', { timeout: 20000 })
    if (r.text !== 'doomed could not be started. Please try again later.') throw new Error('text ' + JSON.stringify(r.text))
    const l = await h.sessionLine(r.localPort)
    if (l.reason !== 'start_failed') throw new Error(l._raw)
    await h.waitLine({ msg: 'server_state', server: 'doomed', state: 'failed' }, 1000)
    const p = await H.mcPing(mc, h.target, 'doomed.test')
    if (p.motd !== 'Doomed is broken') throw new Error('MOTD ' + JSON.stringify(p.motd))
    return 'Disconnect after ' + r.afterMs + ' ms (start_timeout_s 3); reason=start_failed; MOTD ' + JSON.stringify(p.motd)
  })

  await t.check('a start the API refuses (500): failed, the held player is told', async () => {
    api.startMode = '500'
    const r = await H.mcRefused(mc, h.target, 'refused.test', 'Ref1', '1.20.4', { timeout: 20000 })
    api.startMode = 'ok'
    if (r.text !== 'refused could not be started. Please try again later.') throw new Error('text ' + JSON.stringify(r.text))
    const calls = api.count('POST /v1/servers/refused/start')
    const l = await h.waitLine({ msg: 'api_start', server: 'refused' }, 1000)
    await h.waitLine({ msg: 'server_state', server: 'refused', state: 'failed' }, 1000)
    return calls + ' tries, then ' + l._raw.replace(/^.*msg=/, 'msg=') + '; Disconnect after ' + r.afterMs + ' ms'
  })

  // ---- idle stop
  await t.check('idle stop: never while a player is connected, called after idle_stop_s once they leave', async () => {
    const r = await H.mcLogin(mc, h.target, 'idler.test', 'Idle1', '1.20.4', { timeout: 20000 })
    await h.waitLine({ msg: 'server_state', server: 'idler', state: 'running' }, 1000)
    await H.sleep(8000)       // idle_stop_s is 3: more than twice that with a player on it
    const during = api.count('POST /v1/servers/idler/stop')
    if (during) { await H.mcEnd(r.client); throw new Error(during + ' stop call(s) while a player was connected') }
    const m = h.mark()
    await H.mcEnd(r.client)
    const left = Date.now()
    await api.waitFor(() => api.count('POST /v1/servers/idler/stop') > 0, 3000 + 4000, 'a stop call within idle_stop_s + slack')
    const stopAt = api.requests.find(x => x.path === '/v1/servers/idler/stop')
    const body = JSON.parse(stopAt.body)
    if (body.sessions !== 0) throw new Error('stop body ' + stopAt.body)
    await h.waitLine({ msg: 'server_state', server: 'idler', state: 'sleeping' }, 5000, { after: m })
    const states = h.filter({ msg: 'server_state', server: 'idler' }, { after: m }).map(l => l.state)
    await H.sleep(1500)
    if (api.count('POST /v1/servers/idler/stop') !== 1) throw new Error(api.count('POST /v1/servers/idler/stop') + ' stop calls')
    return 'no stop during 8 s with a player; stop ' + (stopAt.t - left) + ' ms after the player left, body ' + stopAt.body + '; states ' + states.join(' -> ')
  })

  await t.check('the stopped server wakes again on the next login', async () => {
    const r = await H.mcLogin(mc, h.target, 'idler.test', 'Idle2', '1.20.4', { timeout: 20000 })
    await H.mcEnd(r.client)
    return api.count('POST /v1/servers/idler/start') + ' start calls in all; play state after ' + r.reachedMs + ' ms'
  })

  // ---- events
  await t.check('lifecycle and session events reach /v1/events', async () => {
    const has = (type, server) => api.eventList.filter(e => e.type === type && e.server === server)
    await api.waitFor(() => has('leave', 'idler').length >= 2 && has('stop_requested', 'idler').length >= 1, 10000, 'idler leave and stop_requested events')
    const want = [['wake_requested', 'crowd', 1], ['wake_ready', 'crowd', 1], ['join', 'crowd', 20], ['leave', 'crowd', 20],
      ['wake_requested', 'doomed', 1], ['wake_failed', 'doomed', 1], ['wake_failed', 'refused', 1], ['stop_requested', 'idler', 1],
      ['wake_requested', 'sleepy', 0]]
    const bad = want.filter(([ty, sv, n]) => has(ty, sv).length !== n).map(([ty, sv, n]) => ty + '/' + sv + '=' + has(ty, sv).length + ' (want ' + n + ')')
    if (bad.length) throw new Error(bad.join(', '))
    const ready = has('wake_ready', 'crowd')[0]
    if (!(ready.wait_ms >= 4500)) throw new Error('wake_ready wait_ms ' + ready.wait_ms)
    const leave = has('leave', 'crowd')[0]
    const missing = ['id', 'replica', 'player', 'uuid', 'client_ip', 'protocol', 'duration_ms', 'bytes_c2b', 'bytes_b2c', 'at_ms'].filter(k => leave[k] === undefined)
    if (missing.length) throw new Error('leave event lacks ' + missing.join(',') + ': ' + JSON.stringify(leave))
    if (leave.uuid !== mc.offlineUuid(leave.player)) throw new Error('uuid ' + leave.uuid + ' for ' + leave.player)
    return api.eventList.length + ' events; wake_ready wait_ms ' + ready.wait_ms + '; e.g. ' + JSON.stringify(leave)
  })

  await t.check('SIGTERM: exit 0', async () => { await h.stop() })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack || String(e))).then(() => t.done())
