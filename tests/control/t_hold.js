'use strict'
// control-hold: join "hold" with a server that takes 45 s to become ready (API provider, real
// minecraft-protocol client and server). The 1.20.4 client reaches play state; hopper keeps it
// alive with Login Plugin Requests (channel hopper:hold) so no silence reaches the vanilla
// client's 30 s login timeout (minecraft-protocol itself has none, so the gaps are measured here).
// A 1.12.2 client (no Login Plugin Request before 1.13) gets the starting Disconnect before 30 s.
// A held player who leaves is logged as early_eof and the start goes on.
const { H, serverDoc, binary, setup } = require('./common')

const bin = binary()
const mc = H.loadMc()
const t = new H.Checks('control-hold')
const READY_AFTER_MS = 45000
const VANILLA_LOGIN_TIMEOUT_MS = 30000

async function main () {
  const s = await setup('hold', { config: { farm: { probe_interval_ms: 500, wake_quota: 0 } } })
  const api = s.api
  t.cleanup(() => api.close())
  const [ps, po] = [await H.freePort(), await H.freePort()]
  api.setDoc({
    servers: [
      serverDoc('slow', ['slow.test'], '127.0.0.1:' + ps, { start_timeout_s: 120 }),
      serverDoc('slowold', ['slowold.test'], '127.0.0.1:' + po, { start_timeout_s: 120 })
    ]
  })
  api.servers.slow = { spawn: true, startDelayMs: READY_AFTER_MS, motd: 'slow-up' }
  api.servers.slowold = { spawn: false }
  const h = new H.Hopper(bin, s.config, { dir: s.dir })
  t.cleanup(() => h.kill9())
  await h.start()
  await h.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)

  // A 1.20.4 player held until the server is ready.
  const t0 = Date.now()
  const loginTimes = []
  const plugin = []
  const login = H.mcLogin(mc, h.target, 'slow.test', 'Patient', '1.20.4', { timeout: READY_AFTER_MS + 30000 })
  // A second 1.20.4 player whose every login-state packet is timed.
  const probe = mc.createClient({
    host: 'slow.test', port: h.port, username: 'Watcher', version: '1.20.4', auth: 'offline', hideErrors: true,
    connect: c => { const net = require('net'); c.setSocket(net.connect(h.port, '127.0.0.1')) }
  })
  let watcherState = 'waiting'
  probe.on('packet', (data, meta) => {
    if (meta.state === 'login') loginTimes.push(Date.now())
    if (meta.name === 'login_plugin_request') plugin.push({ t: Date.now(), channel: data.channel, id: data.messageId })
  })
  probe.on('error', () => {})
  const watcherDone = H.withTimeout(new Promise(resolve => {
    probe.once('login', () => { watcherState = 'play'; resolve() })
    probe.once('end', r => { watcherState = 'ended: ' + r; resolve() })
  }), READY_AFTER_MS + 30000, 'watcher').catch(e => { watcherState = e.message })

  // A 1.12.2 player on a server that never becomes ready, and a player who gives up after 3 s.
  const old = H.mcRefused(mc, h.target, 'slowold.test', 'Oldtimer', '1.12.2', { timeout: 40000 })
  old.catch(() => {})
  const quitter = (async () => {
    const holder = {}
    const c = mc.createClient({
      host: 'slow.test', port: h.port, username: 'Quitter', version: '1.20.4', auth: 'offline', hideErrors: true,
      connect: cl => { const net = require('net'); const so = net.connect(h.port, '127.0.0.1'); so.on('connect', () => { holder.port = so.localPort }); cl.setSocket(so) }
    })
    c.on('error', () => {})
    await H.sleep(3000)
    c.socket.destroy()
    return holder.port
  })()

  await t.check('a held player who leaves is logged early_eof; the start goes on', async () => {
    const port = await quitter
    const l = await h.sessionLine(port, 5000)
    if (l.reason !== 'early_eof') throw new Error(l._raw)
    if (api.count('POST /v1/servers/slow/start') !== 1) throw new Error('start calls ' + api.count('POST /v1/servers/slow/start'))
    return l._raw.replace(/^.*msg=/, 'msg=')
  })

  await t.check('a 1.12.2 client is held silently, then told before its 30 s limit', async () => {
    const r = await old
    if (!/^slowold is starting\. Please rejoin in about \d+ seconds\.$/.test(r.text)) throw new Error('text ' + JSON.stringify(r.text))
    if (r.afterMs >= VANILLA_LOGIN_TIMEOUT_MS) throw new Error('Disconnect only after ' + r.afterMs + ' ms')
    return JSON.stringify(r.text) + ' after ' + r.afterMs + ' ms (hold_silent_max_ms 25000)'
  })

  await t.check('hold completes the real 1.20.4 login when the server is ready after 45 s', async () => {
    const r = await login
    await H.mcEnd(r.client)
    if (r.reachedMs < READY_AFTER_MS) throw new Error('play state after ' + r.reachedMs + ' ms, before the server could be ready')
    if (api.count('POST /v1/servers/slow/start') !== 1) throw new Error('start calls ' + api.count('POST /v1/servers/slow/start'))
    return 'play state after ' + r.reachedMs + ' ms; 1 start call'
  })

  await t.check('while held, no silence reaches the vanilla 30 s login timeout (Login Plugin Requests on hopper:hold)', async () => {
    await watcherDone
    if (watcherState !== 'play') throw new Error('watcher: ' + watcherState)
    const marks = [t0, ...loginTimes]
    const gaps = marks.slice(1).map((x, i) => x - marks[i])
    const maxGap = Math.max(...gaps)
    const chans = [...new Set(plugin.map(p => p.channel))]
    const detail = plugin.length + ' plugin requests (channels ' + chans.join(',') + '), gaps ' + JSON.stringify(plugin.slice(1).map((p, i) => p.t - plugin[i].t)) + ' ms; longest login-state silence ' + maxGap + ' ms'
    if (!plugin.length || chans.join() !== 'hopper:hold') throw new Error(detail)
    if (maxGap >= VANILLA_LOGIN_TIMEOUT_MS) throw new Error(detail)
    return detail
  })

  await t.check('the start took as long as the server: wake_ready wait_ms >= 45 s', async () => {
    const ready = await h.waitLine({ msg: 'server_state', server: 'slow', state: 'running' }, 1000)
    await api.waitFor(() => api.eventList.some(e => e.type === 'wake_ready' && e.server === 'slow'), 10000, 'wake_ready event')
    const ev = api.eventList.find(e => e.type === 'wake_ready' && e.server === 'slow')
    if (ev.wait_ms < READY_AFTER_MS) throw new Error('wait_ms ' + ev.wait_ms)
    void ready
    return 'wait_ms ' + ev.wait_ms
  })

  probe.end()
  await t.check('SIGTERM: exit 0', async () => { await h.stop() })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack || String(e))).then(() => t.done())
