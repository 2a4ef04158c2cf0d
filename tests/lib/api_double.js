'use strict'
// tests/lib/api_double.js: a control-plane API test double that speaks real HTTP (node:http), for
// hopper's `provider: "api"` (DESIGN.md section 4, docs/control-plane.md). Scriptable per test.
//
//   const { ApiDouble } = require('../lib/api_double')
//   const api = new ApiDouble({ token: 'secret-token' })   // bearer required (401 otherwise); null = none
//   await api.listen()                 // 127.0.0.1, ephemeral port (or opts.port); api.baseUrl
//   api.setDoc({ servers: [...] })     // the routes document; every call gets a new ETag
//   api.setServer('id', { state: 'running' })   // patch one server in the document (new ETag)
//   api.routesMode = 'ok'              // GET /v1/routes answers:
//       'ok'        200 + ETag, or 304 when If-None-Match matches
//       '500'       500 with a small JSON error
//       'hang'      never answers (the socket stays open until the test ends or mode changes)
//       'garbage'   raw bytes that are not HTTP, then close
//       'badjson'   200 + ETag, body is not JSON
//       'lying'     200 + a new ETag + api.lyingDoc (a JSON document that fails validation)
//       'truncated' 200 with a Content-Length longer than the body, then close
//   await api.refuse()                 // close the listener and every socket: connections are refused
//   await api.listen()                 // ... and come back on the same port
//   api.eventsMode = 'ok'              // POST /v1/events: 'ok' (200) | '500' | 'hang' | 'drop' (records
//                                      // the events, then destroys the socket without answering)
//   api.startMode / api.stopMode = 'ok' (202) | '500' | 'hang'
//   api.servers['id'] = { spawn: true, version, motd, startDelayMs, loginRefuseMs,
//                         flipTo: null | 'starting' | 'running', startStatus: 202 }   // per-server start behaviour
//       start: counts the call, then (spawn) runs tests/interop/mc_server.js on the server's backend port
//       (once; a second start while it runs spawns nothing) and (flipTo) sets the document's state.
//       stop: counts the call, kills the spawned mc_server and sets the document's state to "sleeping".
//   api.requests                       // [{ t, method, path, headers, body, status }] every request seen
//   api.count('GET /v1/routes')        // how many; also 'POST /v1/servers/x/start' etc.
//   api.events                         // Map id -> first copy of each event; api.eventList (arrival order,
//                                      // deduplicated); api.eventCopies (all, with duplicates); api.dupes
//   await api.waitFor(() => cond, ms, what)   // polls (50 ms); throws on timeout
//   await api.close()                  // closes everything and kills spawned servers
//
// Nothing here asserts; tests read the counters.

const http = require('http')
const { startMcServer, withTimeout, sleep } = require('./hopper')

class ApiDouble {
  constructor (opts) {
    this.opts = opts || {}
    this.token = this.opts.token === undefined ? 'test-token' : this.opts.token
    this.port = this.opts.port || 0
    this.doc = { servers: [] }
    this.etagN = 0
    this.etag = null
    this.routesMode = 'ok'
    this.eventsMode = 'ok'
    this.startMode = 'ok'
    this.stopMode = 'ok'
    this.lyingDoc = null
    this.servers = {}
    this.procs = {}
    this.requests = []
    this.events = new Map()
    this.eventList = []
    this.eventCopies = []
    this.eventPosts = 0
    this.dupes = 0
    this.unauthorized = 0
    this.sockets = new Set()
    this.hung = new Set()
    this.server = null
    this.setDoc(this.doc)
  }

  get baseUrl () { return 'http://127.0.0.1:' + this.port }

  setDoc (doc) {
    this.doc = JSON.parse(JSON.stringify(doc))
    this.etag = '"doc-' + (++this.etagN) + '"'
  }

  setServer (id, patch) {
    const s = this.doc.servers.find(x => x.id === id)
    if (!s) throw new Error('no server ' + id + ' in the document')
    Object.assign(s, patch)
    this.etag = '"doc-' + (++this.etagN) + '"'
  }

  serverOf (id) { return this.doc.servers.find(x => x.id === id) }

  count (what) {
    return this.requests.filter(r => (r.method + ' ' + r.path) === what).length
  }

  listen () {
    return new Promise((resolve, reject) => {
      const srv = http.createServer((req, res) => this.handle(req, res))
      srv.keepAliveTimeout = 5000
      srv.on('connection', s => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)) })
      srv.once('error', reject)
      srv.listen(this.port, '127.0.0.1', () => {
        this.port = srv.address().port
        this.server = srv
        resolve(this)
      })
    })
  }

  // Closes the listener and every open socket: from now on connections are refused.
  async refuse () {
    const srv = this.server
    this.server = null
    if (!srv) return
    const closed = new Promise(resolve => srv.close(() => resolve()))
    for (const s of this.sockets) s.destroy()
    this.hung.clear()
    await withTimeout(closed, 5000, 'api double to close')
  }

  async close () {
    await this.refuse()
    await Promise.all(Object.keys(this.procs).map(id => this.killServer(id)))
  }

  async killServer (id) {
    const p = this.procs[id]
    delete this.procs[id]
    if (p) await p.stop()
  }

  async waitFor (cond, ms, what) {
    const end = Date.now() + (ms || 10000)
    for (;;) {
      if (cond()) return
      if (Date.now() > end) throw new Error('timed out after ' + (ms || 10000) + ' ms waiting for ' + (what || 'a condition'))
      await sleep(50)
    }
  }

  handle (req, res) {
    const chunks = []
    req.on('data', c => chunks.push(c))
    req.on('end', () => {
      const r = { t: Date.now(), method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: null }
      this.requests.push(r)
      try {
        this.route(req, res, r)
      } catch (e) {
        console.log('# api double: handler error: ' + (e.stack || e))
        this.reply(res, r, 500, { error: 'double' })
      }
    })
  }

  reply (res, r, status, body, headers) {
    r.status = status
    const text = body === undefined ? '' : (typeof body === 'string' ? body : JSON.stringify(body))
    res.writeHead(status, Object.assign({ 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }, headers || {}))
    res.end(text)
  }

  hang (req, r) {
    r.status = 'hang'
    this.hung.add(req.socket)
  }

  route (req, res, r) {
    if (this.token !== null && req.headers.authorization !== 'Bearer ' + this.token) {
      this.unauthorized++
      return this.reply(res, r, 401, { error: 'unauthorized' })
    }
    const url = req.url.replace(/\?.*$/, '')
    let m
    if (req.method === 'GET' && url === '/v1/routes') return this.routes(req, res, r)
    if (req.method === 'POST' && url === '/v1/events') return this.onEvents(req, res, r)
    if (req.method === 'POST' && (m = /^\/v1\/servers\/([^/]+)\/(start|stop)$/.exec(url))) {
      const id = decodeURIComponent(m[1])
      if (!this.serverOf(id)) return this.reply(res, r, 404, { error: 'no such server' })
      return m[2] === 'start' ? this.onStart(id, req, res, r) : this.onStop(id, req, res, r)
    }
    return this.reply(res, r, 404, { error: 'not found' })
  }

  routes (req, res, r) {
    switch (this.routesMode) {
      case '500': return this.reply(res, r, 500, { error: 'scripted failure' })
      case 'hang': return this.hang(req, r)
      case 'garbage':
        r.status = 'garbage'
        req.socket.end('\x00\x01\x02 this is not HTTP at all \xff\xfe\r\n\r\n')
        return
      case 'badjson':
        return this.reply(res, r, 200, '{"servers": [ {"id": "x", ', { ETag: '"bad-' + (++this.etagN) + '"' })
      case 'lying':
        return this.reply(res, r, 200, this.lyingDoc, { ETag: '"lie-' + (++this.etagN) + '"' })
      case 'truncated': {
        r.status = 'truncated'
        const body = JSON.stringify(this.doc)
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length + 100, ETag: '"trunc-' + (++this.etagN) + '"' })
        res.write(body.slice(0, Math.floor(body.length / 2)))
        setTimeout(() => req.socket.destroy(), 50)
        return
      }
    }
    if (req.headers['if-none-match'] === this.etag) return this.reply(res, r, 304, undefined, { ETag: this.etag })
    return this.reply(res, r, 200, this.doc, { ETag: this.etag })
  }

  onEvents (req, res, r) {
    let body
    try { body = JSON.parse(r.body) } catch (e) { return this.reply(res, r, 400, { error: 'bad json' }) }
    if (this.eventsMode === '500') return this.reply(res, r, 500, { error: 'scripted failure' })
    if (this.eventsMode === 'hang') return this.hang(req, r)
    this.eventPosts++
    for (const ev of body.events || []) {
      this.eventCopies.push(ev)
      if (this.events.has(ev.id)) {
        this.dupes++
      } else {
        this.events.set(ev.id, ev)
        this.eventList.push(ev)
      }
    }
    if (this.eventsMode === 'drop') {
      r.status = 'drop'
      req.socket.destroy()
      return
    }
    return this.reply(res, r, 200, { accepted: (body.events || []).length })
  }

  onStart (id, req, res, r) {
    if (this.startMode === '500') return this.reply(res, r, 500, { error: 'scripted failure' })
    if (this.startMode === 'hang') return this.hang(req, r)
    const cfg = this.servers[id] || {}
    const doc = this.serverOf(id)
    if (cfg.spawn && !this.procs[id]) {
      const port = Number(/:(\d+)$/.exec(doc.backend)[1])
      this.procs[id] = startMcServer({ port, version: cfg.version, motd: cfg.motd || id + ' is up', startDelayMs: cfg.startDelayMs, loginRefuseMs: cfg.loginRefuseMs })
    }
    if (cfg.flipTo) this.setServer(id, { state: cfg.flipTo })
    return this.reply(res, r, cfg.startStatus || 202, { accepted: true })
  }

  onStop (id, req, res, r) {
    if (this.stopMode === '500') return this.reply(res, r, 500, { error: 'scripted failure' })
    if (this.stopMode === 'hang') return this.hang(req, r)
    this.killServer(id).catch(() => {})
    if (this.serverOf(id).state !== 'sleeping') this.setServer(id, { state: 'sleeping' })
    return this.reply(res, r, 202, { accepted: true })
  }
}

// A valid server entry for the routes document, with test-friendly defaults (min_online_s 0).
function serverDoc (id, hosts, backend, extra) {
  return Object.assign({ id, hosts, backend, state: 'sleeping', auto_start: true, join: 'hold', min_online_s: 0, cooldown_s: 0 }, extra || {})
}

module.exports = { ApiDouble, serverDoc }
