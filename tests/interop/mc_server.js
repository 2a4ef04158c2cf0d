#!/usr/bin/env node
// A real minecraft-protocol server for wake-on-join tests and the demo: logs players in, echoes
// chat, and can take its time before it listens (a server that is slow to start).
//   node mc_server.js --port 25566 [--version 1.20.4] [--motd text] [--start-delay-ms 0]
//                     [--login-refuse-ms 0]
// --login-refuse-ms: for that long after listening, status works but logins are kicked
// ("still loading"), like a server that accepts TCP before it takes logins.
'use strict'
const path = require('path')
process.chdir(__dirname)
const mc = require('minecraft-protocol')

function arg (name, fallback) {
  const i = process.argv.indexOf('--' + name)
  return i > 0 ? process.argv[i + 1] : fallback
}

const port = Number(arg('port', '25566'))
const version = arg('version', '1.20.4')
const motd = arg('motd', 'hopper demo server')
const startDelay = Number(arg('start-delay-ms', '0'))
const refuseMs = Number(arg('login-refuse-ms', '0'))
const mcData = require('minecraft-data')(version)
const nbt = require('prismarine-nbt')
const { loginPacketFor, echoChat } = require('../lib/mc_backend')

setTimeout(() => {
  const server = mc.createServer({ 'online-mode': false, version, port, host: '127.0.0.1', motd,
                                   maxPlayers: 20, hideErrors: true })
  const listeningAt = Date.now()
  server.on('listening', () => console.error(`mc_server: listening on ${port} (${version})`))
  server.on('playerJoin', client => {
    if (Date.now() - listeningAt < refuseMs) {
      client.end('still loading')
      return
    }
    console.error(`mc_server: ${client.username} joined`)
    client.write('login', loginPacketFor(mcData, client, server))
    const onChat = p => echoChat(nbt, mcData, client, 'echo: ' + p.message)
    client.on('chat', onChat)
    client.on('chat_message', onChat)
  })
  const stop = () => { server.close(); process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}, startDelay)
void path
