#!/usr/bin/env node
// The demo's test client: pings, logs in as DemoPlayer, chats, prints what happens with timestamps,
// and leaves. Run it against `scripts/demo` (or any hopper):
//   node tests/interop/demo_client.js [host] [port] [version]       (localhost 25565 1.20.4)
// Like the vanilla client, it gives up on a login after 30 s without a packet (minecraft-protocol
// itself has no such timeout), so it shows whether hopper's hold keepalive works.
// Exit status: 0 it joined and chatted; 1 anything else.
'use strict'
const net = require('net')
const mc = require('minecraft-protocol')

const host = process.argv[2] || 'localhost'
const port = Number(process.argv[3] || 25565)
const version = process.argv[4] || '1.20.4'
const NAME = 'DemoPlayer'
const READ_TIMEOUT_MS = 30000
const t0 = Date.now()

function say (what) {
  const s = ((Date.now() - t0) / 1000).toFixed(2).padStart(7)
  console.log(new Date().toISOString().slice(11, 23) + '  +' + s + ' s  ' + what)
}

function flatten (c) {
  if (c === null || c === undefined) return ''
  if (typeof c === 'string') {
    const s = c.trim()
    if (s.startsWith('{') || s.startsWith('[') || s.startsWith('"')) { try { return flatten(JSON.parse(s)) } catch (_) {} }
    return c
  }
  if (Array.isArray(c)) return c.map(flatten).join('')
  if (typeof c === 'object') {
    if (c.type && c.value !== undefined && Object.keys(c).length <= 3) return flatten(c.value)
    return (c.text !== undefined ? flatten(c.text) : '') + (c[''] !== undefined ? flatten(c['']) : '') +
      (c.translate !== undefined ? flatten(c.translate) : '') + (c.extra ? flatten(c.extra) : '')
  }
  return String(c)
}

function ping () {
  return new Promise(resolve => {
    const timer = setTimeout(() => resolve(null), 8000)
    mc.ping({ host, port, version, closeTimeout: 7000 }).then(r => { clearTimeout(timer); resolve(r) },
      e => { clearTimeout(timer); say('ping failed: ' + e.message); resolve(null) })
  })
}

function showPing (r) {
  if (!r) return
  say('server list: "' + flatten(r.description).replace(/§./g, '') + '"  players ' + (r.players ? r.players.online + '/' + r.players.max : '?') +
    '  version ' + (r.version ? r.version.name + ' (protocol ' + r.version.protocol + ')' : '?'))
}

function login () {
  return new Promise(resolve => {
    say('logging in as ' + NAME + ' (' + version + ') to ' + host + ':' + port)
    const client = mc.createClient({ host, port, username: NAME, version, auth: 'offline', hideErrors: true, closeTimeout: 3000,
      connect: c => { const s = net.connect(port, host); s.setNoDelay(true); c.setSocket(s) } })
    let timer = null
    let finished = false
    const done = (ok, why) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      clearTimeout(bound)
      resolve({ ok, why, client })
    }
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        say('no packet for ' + READ_TIMEOUT_MS / 1000 + ' s: giving up, as the vanilla client would ("Timed out")')
        client.socket.destroy()
        done(false, 'read timeout')
      }, READ_TIMEOUT_MS)
    }
    const bound = setTimeout(() => { say('still not in after 120 s; giving up'); client.socket.destroy(); done(false, 'bound') }, 120000)
    arm()
    client.on('packet', (data, meta) => {
      if (meta.state !== 'login') return
      arm()
      if (meta.name === 'login_plugin_request') say('login held by hopper: Login Plugin Request #' + data.messageId + ' on "' + data.channel + '" (answered "not understood"; keeps the login alive)')
      else if (meta.name === 'success') say('login accepted by the server (Login Success)')
      else if (meta.name === 'compress') say('the server enabled compression')
    })
    client.on('error', e => say('error: ' + (e.message || e)))
    client.once('disconnect', p => { say('disconnected during login: "' + flatten(p.reason) + '"'); done(false, 'disconnect') })
    client.once('kick_disconnect', p => { say('kicked: "' + flatten(p.reason) + '"'); done(false, 'kick') })
    client.once('end', r => done(false, 'connection ended (' + r + ')'))
    client.once('login', () => { say('in the game (play state)'); done(true) })
  })
}

function chat (client, text) {
  return new Promise(resolve => {
    const timer = setTimeout(() => { say('no echo within 5 s'); resolve(false) }, 5000)
    const on = m => {
      const s = flatten(m.formattedMessage) + flatten(m.plainMessage) + flatten(m.unsignedContent)
      if (s.includes(text)) { clearTimeout(timer); say('chat from the server: "' + s.trim() + '"'); resolve(true) }
    }
    client.on('systemChat', on)
    client.on('playerChat', on)
    say('chat: "' + text + '"')
    client.chat(text)
  })
}

async function main () {
  say('pinging ' + host + ':' + port)
  showPing(await ping())
  const r = await login()
  if (!r.ok) { say('did not get in: ' + r.why); process.exit(1) }
  const echoed = await chat(r.client, 'hello from the hopper demo client')
  await new Promise(resolve => setTimeout(resolve, 2000))
  say('leaving')
  await new Promise(resolve => { r.client.once('end', resolve); r.client.end(); setTimeout(resolve, 3000) })
  say('pinging again')
  showPing(await ping())
  say(echoed ? 'done' : 'done (no chat echo)')
  process.exit(echoed ? 0 : 1)
}

main()
