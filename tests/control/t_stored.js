'use strict'
// control-stored: the last good routes document is kept in SQLite (it survives kill -9) and routes
// a restart while the API is down; a rejected document never replaces it; with nothing stored and
// the API down hopper still opens its port (bounded wait) and follows the API once it is back.
const { H, serverDoc, binary, setup, pingUntil } = require('./common')

const bin = binary()
const mc = H.loadMc()
const t = new H.Checks('control-stored')

async function main () {
  const s = await setup('stored')
  const api = s.api
  t.cleanup(() => api.close())
  const [pa, pb] = [await H.freePort(), await H.freePort()]
  const alpha = H.startMcServer({ port: pa, motd: 'alpha-motd' })
  const beta = H.startMcServer({ port: pb, motd: 'beta-motd' })
  t.cleanup(() => alpha.stop())
  t.cleanup(() => beta.stop())
  await Promise.all([alpha.listening, beta.listening])
  const A = serverDoc('alpha', ['a.test'], '127.0.0.1:' + pa, { state: 'running' })
  const B = serverDoc('beta', ['b.test', '*.b.test'], '127.0.0.1:' + pb, { state: 'running' })

  api.setDoc({ revision: 'r1', servers: [A] })
  const h1 = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopper1' })
  t.cleanup(() => h1.kill9())
  await h1.start()

  await t.check('a second document and then a rejected one; hopper killed with kill -9', async () => {
    await h1.waitLine({ msg: 'routes_loaded', source: 'api' }, 5000)
    api.setDoc({ revision: 'r2', servers: [A, B] })
    await pingUntil(mc, h1.target, 'x.b.test', 'beta-motd', 4000)
    const m = h1.mark()
    api.routesMode = 'lying'
    api.lyingDoc = { revision: 'bad', servers: [A, Object.assign({}, B, { backend: 'nowhere' })] }
    const l = await h1.waitLine({ msg: 'routes_rejected' }, 4000, { after: m })
    await H.sleep(500)
    const x = await h1.kill9()
    if (x.signal !== 'SIGKILL') throw new Error('exit ' + JSON.stringify(x))
    return 'rejected: ' + l.err
  })

  await api.refuse()

  const h2 = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopper2' })
  t.cleanup(() => h2.kill9())
  await t.check('API refusing connections at start: hopper starts from the stored document', async () => {
    await h2.start()
    const l = h2.find({ msg: 'routes_loaded' })
    if (!l || l.source !== 'stored' || l.servers !== '2') throw new Error('first routes_loaded: ' + (l ? l._raw : 'none'))
    const r = h2.find({ msg: 'ready' })
    if (r.servers !== '2') throw new Error(r._raw)
    return l._raw.replace(/^.*msg=/, 'msg=') + ' before msg=ready'
  })

  await t.check('the stored (last good, not the rejected) routes route real clients', async () => {
    const a = await H.mcPing(mc, h2.target, 'a.test')
    const b = await H.mcPing(mc, h2.target, 'deep.b.test')
    if (!a.motd.includes('alpha-motd') || !b.motd.includes('beta-motd')) throw new Error(JSON.stringify([a.motd, b.motd]))
    const { client } = await H.mcLogin(mc, h2.target, 'a.test', 'Stored1')
    await H.mcEnd(client)
    return 'status and login through the stored routes'
  })

  await t.check('the unreachable API is logged', async () => {
    const l = await h2.waitLine({ msg: 'routes_fetch_failed' }, 5000)
    return l._raw.replace(/^.*msg=/, 'msg=')
  })

  await t.check('when the API returns, its new document applies (stored ETag sent as If-None-Match)', async () => {
    api.routesMode = 'ok'
    const storedEtag = api.etag
    api.setDoc({ revision: 'r3', servers: [B] })
    const m = api.requests.length
    await api.listen()
    const ms = await pingUntil(mc, h2.target, 'a.test', 'No server at', 65000)
    const first = api.requests.slice(m).find(r => r.path === '/v1/routes')
    const inm = first && first.headers['if-none-match']
    if (inm !== storedEtag) throw new Error('first GET after return carried If-None-Match ' + inm + ', stored ETag was ' + storedEtag)
    return 'a.test gone ' + ms + ' ms after the API listened again; If-None-Match ' + inm
  })

  await t.check('hopper2 SIGTERM: exit 0', async () => { await h2.stop() })

  await t.check('API answering 500 at start: the stored document routes', async () => {
    api.routesMode = '500'
    const h3 = new H.Hopper(bin, s.config, { dir: s.dir, name: 'hopper3' })
    t.cleanup(() => h3.kill9())
    await h3.start()
    const l = h3.find({ msg: 'routes_loaded' })
    if (!l || l.source !== 'stored') throw new Error('no stored routes: ' + h3.tail(5).join(' | '))
    await pingUntil(mc, h3.target, 'b.test', 'beta-motd', 2000)
    await h3.waitLine({ msg: 'routes_fetch_failed', status: '500' }, 5000)
    await h3.stop()
    api.routesMode = 'ok'
    return 'r3 from the store, then routes_fetch_failed status=500'
  })

  await t.check('nothing stored and the API down: the port opens anyway (bounded), then the API is followed', async () => {
    const s4 = await setup('stored-empty')
    t.cleanup(() => s4.api.close())
    s4.api.setDoc({ servers: [A] })
    await s4.api.refuse()
    const h4 = new H.Hopper(bin, s4.config, { dir: s4.dir, name: 'hopper4', startTimeoutMs: 20000 })
    t.cleanup(() => h4.kill9())
    const t0 = Date.now()
    await h4.start()
    const took = Date.now() - t0
    const r = h4.find({ msg: 'ready' })
    const p = await H.mcPing(mc, h4.target, 'a.test')
    if (!p.motd.includes('No server at')) throw new Error('a.test answers ' + p.motd)
    await s4.api.listen()
    const ms = await pingUntil(mc, h4.target, 'a.test', 'alpha-motd', 65000)
    await h4.stop()
    return 'ready (servers=' + r.servers + ') ' + took + ' ms after spawn; routes ' + ms + ' ms after the API listened'
  })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack || String(e))).then(() => t.done())
