'use strict'
// control-routes: GET /v1/routes with a real HTTP API double and real minecraft-protocol servers.
// Routes follow the API within one refresh; 304 with If-None-Match; the bearer token (file, env)
// is sent and never logged; invalid documents are rejected naming the JSON path and the last good
// routes stay; 500 backs off; a hung request times out; garbage, truncated and refused answers are
// survived; SIGHUP fetches at once; a starting server makes the refresh 1 s.
const fs = require('fs')
const path = require('path')
const { H, serverDoc, binary, setup, pingUntil } = require('./common')

const bin = binary()
const mc = H.loadMc()
const t = new H.Checks('control-routes')
const REFRESH_S = 1
const FOLLOW_MS = REFRESH_S * 1000 + 2000   // "within one refresh" plus slack for a loaded machine

async function main () {
  const s = await setup('routes')
  const api = s.api
  t.cleanup(() => api.close())
  const [pa, pb] = [await H.freePort(), await H.freePort()]
  const alpha = H.startMcServer({ port: pa, motd: 'alpha-motd' })
  const beta = H.startMcServer({ port: pb, motd: 'beta-motd' })
  t.cleanup(() => alpha.stop())
  t.cleanup(() => beta.stop())
  await Promise.all([alpha.listening, beta.listening])
  const A = serverDoc('alpha', ['a.test'], '127.0.0.1:' + pa, { state: 'running' })
  const B = serverDoc('beta', ['b.test'], '127.0.0.1:' + pb, { state: 'running' })
  api.setDoc({ revision: 'r1', servers: [A] })

  const h = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopper' })
  t.cleanup(() => h.kill9())
  await h.start()

  await t.check('first document loaded from the API', async () => {
    const l = await h.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)
    if (l.servers !== '1') throw new Error('servers=' + l.servers)
    const ms = await pingUntil(mc, h.target, 'a.test', 'alpha-motd', 5000)
    return 'a.test -> alpha in ' + ms + ' ms'
  })

  await t.check('bearer token from the (whitespace-padded) token file is sent', async () => {
    const gets = api.requests.filter(r => r.path === '/v1/routes')
    if (!gets.length) throw new Error('no GET /v1/routes')
    const bad = gets.filter(r => r.headers.authorization !== 'Bearer ' + s.token)
    if (bad.length) throw new Error(bad.length + ' requests with Authorization ' + JSON.stringify(bad[0].headers.authorization))
    return gets.length + ' GETs, all authorized'
  })

  await t.check('unchanged document: If-None-Match sent, 304 answered', async () => {
    const m = api.requests.length
    await api.waitFor(() => api.requests.slice(m).filter(r => r.status === 304).length >= 2, 3 * REFRESH_S * 1000 + 3000, 'two 304s')
    const after = api.requests.slice(m).filter(r => r.path === '/v1/routes')
    const inm = after.filter(r => r.headers['if-none-match'] === api.etag).length
    if (inm !== after.length) throw new Error('If-None-Match missing on ' + (after.length - inm) + ' of ' + after.length)
    if (h.count({ msg: 'routes_loaded' }) !== 1) throw new Error('routes_loaded logged again for an unchanged document')
    return after.length + ' GETs with If-None-Match ' + api.etag + ', all 304'
  })

  await t.check('routes follow the API within one refresh: a new server', async () => {
    api.setDoc({ revision: 'r2', servers: [A, B] })
    const ms = await pingUntil(mc, h.target, 'b.test', 'beta-motd', FOLLOW_MS)
    return 'b.test -> beta ' + ms + ' ms after the change (bound ' + FOLLOW_MS + ')'
  })

  await t.check('routes follow the API within one refresh: a backend moves', async () => {
    api.setDoc({ revision: 'r3', servers: [Object.assign({}, A, { backend: '127.0.0.1:' + pb }), B] })
    const ms = await pingUntil(mc, h.target, 'a.test', 'beta-motd', FOLLOW_MS)
    return 'a.test -> beta backend ' + ms + ' ms after the change'
  })

  await t.check('routes follow the API within one refresh: a server is removed', async () => {
    api.setDoc({ revision: 'r4', servers: [A] })
    const ms = await pingUntil(mc, h.target, 'b.test', 'No server at', FOLLOW_MS)
    await pingUntil(mc, h.target, 'a.test', 'alpha-motd', 2000)
    return 'b.test unknown ' + ms + ' ms after the change'
  })

  // Invalid documents: each is rejected whole, with the JSON path, and the last good routes stay.
  const good = { revision: 'good', servers: [A] }
  const invalid = [
    ['duplicate host', { servers: [A, serverDoc('dup', ['A.test'], '127.0.0.1:' + pb, { state: 'running' })] }, /servers\[1\]\.hosts\[0\]/],
    ['bad backend', { servers: [A, serverDoc('b2', ['c.test'], 'not-a-backend', { state: 'running' })] }, /servers\[1\]\.backend/],
    ['wrong type', { servers: [Object.assign({}, A, { idle_stop_s: 'ten' }), B] }, /servers\[0\]\.idle_stop_s/],
    ['unknown state', { servers: [A, Object.assign({}, B, { state: 'asleep' })] }, /servers\[1\]\.state/],
    ['servers not an array', { servers: { alpha: A } }, /servers/],
    ['not JSON', 'badjson', /not valid JSON/]
  ]
  for (const [what, doc, pathRe] of invalid) {
    await t.check('invalid document (' + what + ') rejected naming the JSON path; last good routes stay', async () => {
      const m = h.mark()
      if (doc === 'badjson') {
        api.routesMode = 'badjson'
      } else {
        api.routesMode = 'lying'
        // A document that also points a.test elsewhere and adds d.test: none of it may apply.
        api.lyingDoc = JSON.parse(JSON.stringify(doc))
        if (Array.isArray(api.lyingDoc.servers)) {
          api.lyingDoc.servers.push(serverDoc('extra', ['d.test'], '127.0.0.1:' + pb, { state: 'running' }))
          if (api.lyingDoc.servers[0].id === 'alpha') api.lyingDoc.servers[0].backend = '127.0.0.1:' + pb
        }
      }
      const l = await h.waitLine({ msg: 'routes_rejected' }, FOLLOW_MS + 2000, { after: m })
      if (!pathRe.test(l.err || '')) throw new Error('err does not name ' + pathRe + ': ' + l._raw)
      await H.sleep(REFRESH_S * 1000 + 300)
      const pa2 = await H.mcPing(mc, h.target, 'a.test')
      if (!pa2.motd.includes('alpha-motd')) throw new Error('a.test now answers ' + JSON.stringify(pa2.motd))
      const pd = await H.mcPing(mc, h.target, 'd.test')
      if (!pd.motd.includes('No server at')) throw new Error('d.test from the rejected document routes: ' + JSON.stringify(pd.motd))
      if (h.count({ msg: 'routes_loaded' }, { after: m })) throw new Error('routes_loaded after a rejected document')
      api.routesMode = 'ok'
      api.setDoc(good)
      return 'err="' + l.err + '"'
    })
  }

  await t.check('after rejections a valid document applies again within one refresh', async () => {
    api.routesMode = 'ok'
    api.setDoc({ revision: 'r5', servers: [A, B] })
    const ms = await pingUntil(mc, h.target, 'b.test', 'beta-motd', FOLLOW_MS)
    return ms + ' ms'
  })

  await t.check('garbage (not HTTP) is logged as a failed fetch; routes stay', async () => {
    const m = h.mark()
    api.routesMode = 'garbage'
    const l = await h.waitLine({ msg: 'routes_fetch_failed' }, FOLLOW_MS + 2000, { after: m })
    await pingUntil(mc, h.target, 'b.test', 'beta-motd', 1000)
    api.routesMode = 'ok'
    return l._raw.replace(/^.*msg=/, 'msg=')
  })

  await t.check('a truncated body (Content-Length lies) is a failed fetch; routes stay', async () => {
    const m = h.mark()
    api.setDoc({ revision: 'r6', servers: [A] })      // a change, so the GET is not a 304
    api.routesMode = 'truncated'
    const l = await h.waitLine({ msg: 'routes_fetch_failed' }, FOLLOW_MS + 60000, { after: m })
    if (!/truncat|broken|invalid/.test(l.err || '')) throw new Error('unexpected: ' + l._raw)
    await pingUntil(mc, h.target, 'b.test', 'beta-motd', 1000)
    api.routesMode = 'ok'
    const ms = await pingUntil(mc, h.target, 'b.test', 'No server at', 65000)
    return l._raw.replace(/^.*msg=/, 'msg=') + '; the real document applied ' + ms + ' ms after recovery'
  })

  await t.check('500s back off (exponential, jittered): far fewer GETs than one per refresh; routes stay', async () => {
    api.setDoc({ revision: 'r7', servers: [A, B] })
    await pingUntil(mc, h.target, 'b.test', 'beta-motd', FOLLOW_MS)
    const m = api.requests.length
    const hm = h.mark()
    api.routesMode = '500'
    const WINDOW = 12000
    await H.sleep(WINDOW)
    const gets = api.requests.slice(m).filter(r => r.path === '/v1/routes')
    const gaps = gets.slice(1).map((r, i) => r.t - gets[i].t)
    const logged = h.count({ msg: 'routes_fetch_failed', status: '500' }, { after: hm })
    await pingUntil(mc, h.target, 'b.test', 'beta-motd', 1000)
    api.routesMode = 'ok'
    const detail = gets.length + ' GETs in ' + WINDOW + ' ms, gaps ' + JSON.stringify(gaps) + ' ms, ' + logged + ' routes_fetch_failed status=500'
    if (gets.length < 2) throw new Error('stopped retrying: ' + detail)
    if (gets.length > 9) throw new Error('no backoff (one per refresh would be ' + WINDOW / 1000 / REFRESH_S + '): ' + detail)
    if (logged < 1) throw new Error('no log line: ' + detail)
    return detail
  })

  await t.check('after the 500s the API is followed again (backoff bounded, reset on success)', async () => {
    api.setDoc({ revision: 'r8', servers: [A] })
    const ms = await pingUntil(mc, h.target, 'b.test', 'No server at', 65000)
    const m = api.requests.length
    await H.sleep(3000)
    const n = api.requests.slice(m).filter(r => r.path === '/v1/routes').length
    if (n < 2) throw new Error('after recovery only ' + n + ' GETs in 3 s (refresh is ' + REFRESH_S + ' s)')
    return 'applied ' + ms + ' ms after recovery; then ' + n + ' GETs in 3 s'
  })

  await t.check('a request that hangs times out, is logged, and routes stay', async () => {
    const hm = h.mark()
    const m = api.requests.length
    api.routesMode = 'hang'
    const l = await h.waitLine({ msg: 'routes_fetch_failed' }, 25000, { after: hm })
    const hung = api.requests.slice(m).find(r => r.status === 'hang')
    const took = l._t - hung.t
    await pingUntil(mc, h.target, 'a.test', 'alpha-motd', 1000)
    api.routesMode = 'ok'
    if (!/timeout/.test(l.err || '')) throw new Error('unexpected: ' + l._raw)
    return l._raw.replace(/^.*msg=/, 'msg=') + ' after ' + took + ' ms'
  })

  await t.check('connection refused is logged; when the API returns its routes apply', async () => {
    const hm = h.mark()
    await api.refuse()
    const l = await h.waitLine({ msg: 'routes_fetch_failed' }, 65000, { after: hm })
    await pingUntil(mc, h.target, 'a.test', 'alpha-motd', 1000)
    api.setDoc({ revision: 'r9', servers: [A, B] })
    await api.listen()
    const ms = await pingUntil(mc, h.target, 'b.test', 'beta-motd', 65000)
    return l._raw.replace(/^.*msg=/, 'msg=') + '; back ' + ms + ' ms after the API listened again'
  })

  await t.check('the token never appears in the log', async () => {
    const text = fs.readFileSync(h.logPath, 'utf8')
    if (text.includes(s.token)) throw new Error('token found in ' + h.logPath)
    return h.lines.length + ' lines checked'
  })

  await t.check('SIGTERM: exit 0', async () => { await h.stop() })

  // ---- A second hopper: refresh_s 60, token from HOPPER_API_TOKEN_FILE (the config's is wrong).
  const s2 = await setup('routes2')
  const api2 = s2.api
  t.cleanup(() => api2.close())
  fs.writeFileSync(s2.tokenFile, 'wrong-token\n')
  const envTokenFile = path.join(s2.dir, 'token-env')
  fs.writeFileSync(envTokenFile, s2.token + '\n')
  s2.config.api.refresh_s = 60
  api2.setDoc({ servers: [A] })
  const h2 = new H.Hopper(bin, s2.config, { dir: s2.dir, name: 'hopper2', env: { HOPPER_API_TOKEN_FILE: envTokenFile } })
  t.cleanup(() => h2.kill9())
  await h2.start()

  await t.check('HOPPER_API_TOKEN_FILE overrides api.token_file', async () => {
    await h2.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)
    if (api2.unauthorized) throw new Error(api2.unauthorized + ' unauthorized requests')
    return 'authorized'
  })

  await t.check('SIGHUP fetches at once (refresh_s 60)', async () => {
    await H.sleep(1500)
    const before = api2.count('GET /v1/routes')
    api2.setDoc({ servers: [A, B] })
    await H.sleep(1500)
    if (api2.count('GET /v1/routes') !== before) throw new Error('fetched without SIGHUP before refresh_s')
    const t0 = Date.now()
    h2.hup()
    const ms = await pingUntil(mc, h2.target, 'b.test', 'beta-motd', 3000)
    return 'b.test routes ' + (Date.now() - t0) + ' ms after SIGHUP (' + ms + ' ms of pinging)'
  })

  await t.check('while a server is starting the refresh is 1 s, then back to refresh_s', async () => {
    const C = serverDoc('gamma', ['c.test'], '127.0.0.1:' + (await H.freePort()), { state: 'starting', start_timeout_s: 600 })
    api2.setDoc({ servers: [A, B, C] })
    h2.hup()
    await h2.waitLine({ msg: 'server_state', server: 'gamma' }, 3000).catch(() => {})
    const m = api2.requests.length
    await H.sleep(4500)
    const during = api2.requests.slice(m).filter(r => r.path === '/v1/routes').length
    api2.setDoc({ servers: [A, B, Object.assign({}, C, { state: 'sleeping' })] })
    await api2.waitFor(() => api2.requests.slice(m).some(r => r.path === '/v1/routes' && r.status === 200), 3000, 'the sleeping document fetched')
    const m2 = api2.requests.length
    await H.sleep(3500)
    const after = api2.requests.slice(m2).filter(r => r.path === '/v1/routes').length
    const detail = during + ' GETs in 4.5 s while starting, ' + after + ' in 3.5 s after'
    if (during < 3) throw new Error('not refreshing every second while starting: ' + detail)
    if (after > 1) throw new Error('still fast after the start ended: ' + detail)
    return detail
  })

  await t.check('a wrong token: 401 is logged as a failed fetch, routes stay', async () => {
    const hm = h2.mark()
    api2.token = 'rotated-token'
    h2.hup()
    const l = await h2.waitLine({ msg: 'routes_fetch_failed', status: '401' }, 5000, { after: hm })
    await pingUntil(mc, h2.target, 'b.test', 'beta-motd', 1000)
    const text = fs.readFileSync(h2.logPath, 'utf8')
    if (text.includes(s2.token) || text.includes('wrong-token')) throw new Error('a token appears in the log')
    return l._raw.replace(/^.*msg=/, 'msg=')
  })

  await t.check('hopper2 SIGTERM: exit 0', async () => { await h2.stop() })

  // ---- A third: HOPPER_API_TOKEN (the variable itself) wins over every file.
  const s3 = await setup('routes3')
  t.cleanup(() => s3.api.close())
  fs.writeFileSync(s3.tokenFile, 'wrong-token\n')
  s3.api.setDoc({ servers: [A] })
  const h3 = new H.Hopper(bin, s3.config, { dir: s3.dir, name: 'hopper3', env: { HOPPER_API_TOKEN: s3.token, HOPPER_API_TOKEN_FILE: s3.tokenFile } })
  t.cleanup(() => h3.kill9())
  await h3.start()
  await t.check('HOPPER_API_TOKEN overrides the token files, and is not logged', async () => {
    await h3.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)
    if (s3.api.unauthorized) throw new Error(s3.api.unauthorized + ' unauthorized requests')
    await h3.stop()
    if (fs.readFileSync(h3.logPath, 'utf8').includes(s3.token)) throw new Error('token in the log')
    return 'authorized; exit 0'
  })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack || String(e))).then(() => t.done())
