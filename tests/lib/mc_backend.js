// What a test backend says to a player once logged in: the login (Join Game) packet and a chat line,
// for every version minecraft-protocol speaks. Shared by the in-process backends of
// tests/interop/run.js and by tests/interop/mc_server.js. Takes minecraft-data and prismarine-nbt
// from the caller, which loads them from tests/interop/node_modules.
'use strict'

function loginPacketFor (mcData, client, server) {
  const version = mcData.version
  if (mcData.loginPacket) {
    return { ...mcData.loginPacket, entityId: client.id, enforceSecureChat: false, enforcesSecureChat: false }
  }
  // Pre-1.16 versions have no loginPacket in minecraft-data; these are the fields 1.7-1.15 need
  // (the same fallback minecraft-protocol's own serverTest uses).
  return {
    entityId: client.id,
    gameMode: 1,
    dimension: 0,
    difficulty: 2,
    maxPlayers: server.maxPlayers,
    levelType: 'default',
    reducedDebugInfo: version.version >= 735 ? false : 0,
    viewDistance: 10,
    hashedSeed: [0, 0],
    enableRespawnScreen: true
  }
}

function echoChat (nbt, mcData, client, text) {
  if (mcData.supportFeature('signedChat')) {
    const content = mcData.supportFeature('chatPacketsUseNbtComponents')
      ? nbt.comp({ text: nbt.string(text) })
      : JSON.stringify({ text })
    client.write('system_chat', { content, isActionBar: false, type: 1 })
  } else {
    client.write('chat', { message: JSON.stringify({ text }), position: 1, sender: '00000000-0000-0000-0000-000000000000' })
  }
}

module.exports = { loginPacketFor, echoChat }
