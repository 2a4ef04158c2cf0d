#!/usr/bin/env node
'use strict'
// `hopper servers add|set|rm|list` on a real SQLite file: validation errors name the field, a host
// may route to one server only, and a running hopper picks every change up within ~2 s without a
// restart (checked by what a real status ping sees, not only by the log).
//   node t_cli.js path/to/hopper
const H = require('../lib/hopper')
const E = require('./lib')

const bin = process.argv[2]
const t = new H.Checks('embedded-cli')
const mc = H.loadMc()
const PICKUP_MS = 2500

async function main () {
  if (!bin) { console.log('usage: t_cli.js path/to/hopper'); process.exit(1) }
  const h = new H.Hopper(bin, { listen: ['127.0.0.1:0'], workers: 2, provider: 'sqlite', farm: { probe_interval_ms: 500 } })
  h.writeConfig()
  const cfg = h.configPath
  const cli = args => E.cli(bin, cfg, args)
  const refused = (name, args, want) => t.check(name, async () => {
    const r = cli(args)
    if (r.code === 0) throw new Error('accepted (exit 0): ' + r.stdout.trim())
    if (!want.test(r.stderr)) throw new Error('exit ' + r.code + ', stderr ' + JSON.stringify(r.stderr.trim()) + ' does not match ' + want)
    return 'exit ' + r.code + ': ' + r.stderr.trim()
  })

  // ---- The CLI on its own ------------------------------------------------------------------------
  await t.check('add a server', async () => {
    const r = cli(['add', 'alpha', '--host', 'alpha.test', '--host', '*.alpha.test', '--backend', '127.0.0.1:1',
      'join=kick', 'idle_stop_s=30', 'min_online_s=0', 'start_cmd=["/bin/true","x"]', 'status={"sleeping":"alpha sleeps","max_players":7}'])
    if (r.code !== 0) throw new Error('exit ' + r.code + ': ' + r.stderr)
    return r.stdout.trim()
  })
  await t.check('list shows the row: state sleeping, backend, hosts, options, start_cmd', async () => {
    const row = E.rows(bin, cfg).alpha
    if (!row) throw new Error('no row alpha in list')
    for (const want of ['"alpha.test"', '"*.alpha.test"', '"join":"kick"', '"idle_stop_s":30', 'start_cmd=["/bin/true","x"]', '"max_players":7'])
      if (!row.line.includes(want)) throw new Error('list line lacks ' + want + ': ' + row.line)
    if (row.state !== 'sleeping' || row.backend !== '127.0.0.1:1') throw new Error('state/backend ' + row.state + ' ' + row.backend)
    return row.line.replace(/\s+/g, ' ')
  })
  await refused('add with an existing id is refused', ['add', 'alpha', '--host', 'x.test', '--backend', '127.0.0.1:1'], /alpha.*exists/)
  await refused('bad backend names the field', ['add', 'b', '--host', 'b.test', '--backend', 'nope'], /backend/)
  await refused('missing backend names the field', ['add', 'b', '--host', 'b.test'], /backend/)
  await refused('bad join names the field', ['add', 'b', '--host', 'b.test', '--backend', '127.0.0.1:1', 'join=maybe'], /join/)
  await refused('negative idle_stop_s names the field', ['add', 'b', '--host', 'b.test', '--backend', '127.0.0.1:1', 'idle_stop_s=-1'], /idle_stop_s/)
  await refused('start_cmd as a string names the field', ['add', 'b', '--host', 'b.test', '--backend', '127.0.0.1:1', 'start_cmd="/bin/true"'], /start_cmd/)
  await refused('unknown key names the key', ['add', 'b', '--host', 'b.test', '--backend', '127.0.0.1:1', 'idle_stop=5'], /idle_stop/)
  await refused('unknown status key names status.<key>', ['set', 'alpha', 'status={"sleepy":"x"}'], /status\.sleepy/)
  await refused('set of a bad value names the field', ['set', 'alpha', 'cooldown_s="soon"'], /cooldown_s/)
  await refused('a host that routes to another server is refused (add)', ['add', 'beta', '--host', 'ALPHA.test', '--backend', '127.0.0.1:1'], /alpha\.test/)
  await refused('a host covered by the same wildcard twice is refused (add)', ['add', 'beta', '--host', '*.alpha.test', '--backend', '127.0.0.1:1'], /\*\.alpha\.test/)
  await refused('set on an unknown id', ['set', 'nosuch', 'join=hold'], /no server "nosuch"/)
  await refused('rm of an unknown id', ['rm', 'nosuch'], /no server "nosuch"/)
  await refused('KEY without =', ['set', 'alpha', 'join'], /KEY=VALUE/)
  await t.check('a refused change wrote nothing', async () => {
    const all = E.rows(bin, cfg)
    if (Object.keys(all).join(',') !== 'alpha') throw new Error('rows: ' + Object.keys(all).join(','))
    if (!all.alpha.line.includes('"join":"kick"')) throw new Error('alpha changed: ' + all.alpha.line)
    return 'only alpha, unchanged'
  })
  await t.check('add beta, then set beta hosts to a host of alpha is refused', async () => {
    const a = cli(['add', 'beta', '--host', 'beta.test', '--backend', '127.0.0.1:2'])
    if (a.code !== 0) throw new Error('add beta: ' + a.stderr)
    const r = cli(['set', 'beta', 'hosts=beta.test,alpha.test'])
    if (r.code === 0) throw new Error('accepted')
    if (!/alpha\.test/.test(r.stderr)) throw new Error('stderr ' + r.stderr)
    if (E.rows(bin, cfg).beta.line.includes('alpha.test')) throw new Error('beta row changed anyway')
    return r.stderr.trim()
  })
  // VALUE is JSON "if it parses as JSON": a value that only starts like JSON (a host:port starts
  // like the number 127.0) must stay a string (cJSON_Parse accepts a prefix; the whole value must parse).
  await t.check('set backend=127.0.0.1:5 (a value that only starts like a JSON number) is taken as the string', async () => {
    const r = cli(['set', 'beta', 'backend=127.0.0.1:5'])
    if (r.code !== 0) throw new Error('exit ' + r.code + ': ' + r.stderr.trim())
    const row = E.rows(bin, cfg).beta
    if (row.backend !== '127.0.0.1:5') throw new Error('backend is ' + row.backend)
    return 'backend 127.0.0.1:5'
  })
  await t.check('set hosts as a comma list, then rm', async () => {
    E.cliOk(bin, cfg, ['set', 'beta', 'hosts=beta.test,b2.test'])
    if (!E.rows(bin, cfg).beta.line.includes('["beta.test","b2.test"]')) throw new Error(E.rows(bin, cfg).beta.line)
    E.cliOk(bin, cfg, ['rm', 'beta'])
    if (E.rows(bin, cfg).beta) throw new Error('beta still listed')
    return 'ok'
  })

  // ---- A running hopper picks changes up -----------------------------------------------------
  await h.start()
  t.cleanup(() => h.exited || h.stop())
  const sleeping = async (host, want) => {
    const r = await H.mcPing(mc, h.target, host, '1.20.4')
    if (!r.motd.includes(want)) throw new Error('MOTD ' + JSON.stringify(r.motd) + ', want ' + JSON.stringify(want))
    return r
  }
  await t.check('status of alpha at start: its sleeping MOTD', async () => (await sleeping('alpha.test', 'alpha sleeps')).motd)

  // Each change: the CLI edit, then poll real pings until they show it (bounded by PICKUP_MS).
  const pickedUp = async (what, probe) => {
    const t0 = Date.now()
    let last
    for (;;) {
      try { last = await probe(); return what + ' visible after ' + (Date.now() - t0) + ' ms' } catch (e) { last = e }
      if (Date.now() - t0 > PICKUP_MS) throw new Error(what + ' not visible after ' + PICKUP_MS + ' ms: ' + (last && last.message))
      await H.sleep(100)
    }
  }
  await t.check('add while running: the new host answers within ' + PICKUP_MS + ' ms', async () => {
    const r0 = await H.mcPing(mc, h.target, 'gamma.test', '1.20.4')
    if (!/No server/.test(r0.motd)) throw new Error('before add, gamma.test answered ' + r0.motd)
    E.cliOk(bin, cfg, ['add', 'gamma', '--host', 'gamma.test', '--backend', '127.0.0.1:3', 'status={"sleeping":"gamma v1"}'])
    return pickedUp('add', () => sleeping('gamma.test', 'gamma v1'))
  })
  await t.check('set while running: the new MOTD within ' + PICKUP_MS + ' ms', async () => {
    E.cliOk(bin, cfg, ['set', 'gamma', 'status={"sleeping":"gamma v2","max_players":42}'])
    const d = await pickedUp('set', () => sleeping('gamma.test', 'gamma v2'))
    const r = await H.mcPing(mc, h.target, 'gamma.test', '1.20.4')
    if (!r.res.players || r.res.players.max !== 42) throw new Error('players ' + JSON.stringify(r.res.players))
    return d + ', players.max 42'
  })
  await t.check('set hosts while running: old host gone, new host answers', async () => {
    E.cliOk(bin, cfg, ['set', 'gamma', 'hosts=["gamma2.test"]'])
    const d = await pickedUp('hosts change', () => sleeping('gamma2.test', 'gamma v2'))
    const old = await H.mcPing(mc, h.target, 'gamma.test', '1.20.4')
    if (!/No server/.test(old.motd)) throw new Error('gamma.test still answers ' + old.motd)
    return d
  })
  await t.check('rm while running: the host stops answering within ' + PICKUP_MS + ' ms', async () => {
    E.cliOk(bin, cfg, ['rm', 'gamma'])
    return pickedUp('rm', async () => {
      const r = await H.mcPing(mc, h.target, 'gamma2.test', '1.20.4')
      if (!/No server/.test(r.motd)) throw new Error('still ' + r.motd)
    })
  })
  await t.check('every edit was accepted by the running hopper (no routes_rejected)', async () => {
    const bad = h.count({ msg: 'routes_rejected' })
    if (bad) throw new Error(bad + ' routes_rejected lines: ' + h.find({ msg: 'routes_rejected' })._raw)
    return h.count({ msg: 'routes_loaded' }) + ' routes_loaded lines'
  })
  await t.check('no start_cmd ran for pings (alpha start_cmd is /bin/true: no start_cmd_exited line)', async () => {
    if (h.count({ msg: 'start_cmd_exited' }) || h.count(E.isEvent('wake_requested'))) throw new Error('a wake happened')
    return 'none'
  })
  await t.check('hopper stops with exit 0', async () => { await h.stop(); return 'exit 0' })
}

main().catch(e => t.ok(false, 'unexpected error', e.stack)).finally(() => t.done())
