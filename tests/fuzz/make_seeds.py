#!/usr/bin/env python3
"""Regenerates fixtures/fuzz/{peek,legacy,login}/ from fixtures/handshakes/.

peek:   every serverbound fixture, prefixed with one split-seed byte (0x00, and 0x81 for the
        small-cap mode on a few).
legacy: the legacy-*.bin files as they are (the target forces the first byte to 0xFE), plus a
        modern handshake whose frame length begins with 0xFE.
login:  the Login Start body (after the frame length) of every login fixture, prefixed with the
        handshake's protocol as 2 big-endian bytes.
Run from the repository root: tests/fuzz/make_seeds.py
"""
import json
import os
import shutil

SRC = 'fixtures/handshakes'
DST = 'fixtures/fuzz'


def varint(b, i=0):
    v = 0
    for k in range(5):
        v |= (b[i + k] & 0x7f) << (7 * k)
        if not b[i + k] & 0x80:
            return v, i + k + 1
    raise ValueError('varint')


def write(target, name, data):
    with open(os.path.join(DST, target, name), 'wb') as f:
        f.write(data)


def main():
    manifest = json.load(open(os.path.join(SRC, 'manifest.json')))
    for t in ('peek', 'legacy', 'login'):
        shutil.rmtree(os.path.join(DST, t), ignore_errors=True)
        os.makedirs(os.path.join(DST, t))
    for e in manifest['files']:
        if e['direction'] != 'serverbound':
            continue
        data = open(os.path.join(SRC, e['file']), 'rb').read()
        base = e['file'][:-4]
        write('peek', base, b'\x00' + data)
        if e['file'].startswith(('1.20.4', 'legacy', 'malformed-address', 'tcpshield')):
            write('peek', base + '-small', b'\x81' + data)
        if e['intent'] == 'legacy':
            write('legacy', base, data)
        if e['intent'] in ('login', 'transfer') and e.get('protocol'):
            n, i = varint(data)
            i += n                                  # past the handshake frame
            n, j = varint(data, i)                  # the Login Start frame
            body = data[j:j + n]
            write('login', base, e['protocol'].to_bytes(2, 'big') + body)
    # A modern handshake of frame length 254 (FE 01 00 ...): not a legacy ping.
    addr = b'mc.example.net///' + b'z' * (246 - 17)
    body = b'\x00' + b'\xfd\x05' + bytes([0xf6, 0x01]) + addr + b'\x63\xdd\x01'
    frame = bytes([0xfe, 0x01]) + body
    assert len(body) == 254
    write('legacy', 'modern-fe01-frame', frame)
    write('peek', 'modern-fe01-frame', b'\x00' + frame + b'\x01\x00')


if __name__ == '__main__':
    main()
