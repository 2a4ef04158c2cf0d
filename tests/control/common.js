'use strict'
// Shared setup for tests/control: the hopper binary from argv, a token file, an API double and
// a config for provider "api".
const fs = require('fs')
const path = require('path')
const H = require('../lib/hopper')
const { ApiDouble, serverDoc } = require('../lib/api_double')

function binary () {
  const bin = process.argv[2]
  if (!bin || !fs.existsSync(bin)) {
    console.log('usage: node ' + path.basename(process.argv[1]) + ' path/to/hopper')
    process.exit(2)
  }
  return path.resolve(bin)
}

// A fresh directory with a token file, an API double listening, and a config for hopper.
async function setup (name, opts) {
  opts = opts || {}
  const dir = H.tmpdir('hopper-' + name + '-')
  const token = opts.token || 'tok-' + Math.random().toString(36).slice(2) + '-secret'
  const tokenFile = path.join(dir, 'token')
  fs.writeFileSync(tokenFile, '\n  ' + token + '  \n')
  const api = new ApiDouble({ token })
  await api.listen()
  const config = Object.assign({
    listen: ['127.0.0.1:0'],
    workers: 2,
    provider: 'api',
    api: { base_url: api.baseUrl, token_file: tokenFile, refresh_s: 1 },
    store: { path: path.join(dir, 'hopper.db') },
    farm: { probe_interval_ms: 500 },
    drain_s: 2
  }, opts.config || {})
  return { dir, token, tokenFile, api, config }
}

module.exports = { H, ApiDouble, serverDoc, binary, setup }

// Pings `host` through hopper every 150 ms until the MOTD satisfies want (a string to include or
// a function); resolves with the milliseconds it took, rejects after ms with the last MOTD seen.
async function pingUntil (mc, target, host, want, ms, version) {
  const t0 = Date.now()
  const ok = typeof want === 'function' ? want : m => m.includes(want)
  let last = '(no answer)'
  for (;;) {
    try {
      const p = await H.mcPing(mc, target, host, version, { timeout: 3000 })
      last = JSON.stringify(p.motd)
      if (ok(p.motd)) return Date.now() - t0
    } catch (e) { last = 'error: ' + e.message }
    if (Date.now() - t0 > ms) throw new Error('after ' + ms + ' ms ' + host + ' still answers ' + last)
    await H.sleep(150)
  }
}

module.exports.pingUntil = pingUntil
