#!/usr/bin/env python3
"""Regenerates fixtures/fuzz/proxy/ for tests/fuzz/fuzz_proxy.c.

Byte 0 is the mode: bit 6 set means address/CIDR text; otherwise bit 7 picks the small cap
(64 bytes) and bits 0-5 seed the split points, and the rest is a connection's first bytes.
Header seeds: every v1 form, v2 PROXY/LOCAL over each family, with and without TLVs, some
malformed, most followed by a real handshake from fixtures/handshakes/.
Run from the repository root: tests/fuzz/make_proxy_seeds.py
"""
import os
import shutil
import struct

DST = 'fixtures/fuzz/proxy'
SIG = b'\r\n\r\n\x00\r\nQUIT\n'
HS = open('fixtures/handshakes/1.21.4-login.bin', 'rb').read()


def v2(ver_cmd, fam, body):
    return SIG + bytes([ver_cmd, fam]) + struct.pack('>H', len(body)) + body


def tlv(t, value):
    return bytes([t]) + struct.pack('>H', len(value)) + value


def main():
    shutil.rmtree(DST, ignore_errors=True)
    os.makedirs(DST)
    seeds = {}
    v1 = {
        'v1-tcp4': b'PROXY TCP4 192.0.2.1 198.51.100.2 51234 25565\r\n',
        'v1-tcp4-max': b'PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n',
        'v1-tcp6': b'PROXY TCP6 2001:db8::1 2001:db8::2 51234 25565\r\n',
        'v1-tcp6-mapped': b'PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2 1 2\r\n',
        'v1-tcp6-max': b'PROXY TCP6 ' + b':'.join([b'ffff'] * 8) + b' ' +
                       b':'.join([b'ffff'] * 8) + b' 65535 65535\r\n',
        'v1-unknown': b'PROXY UNKNOWN\r\n',
        'v1-unknown-long': b'PROXY UNKNOWN ' + b':'.join([b'ffff'] * 8) + b' ' +
                           b':'.join([b'ffff'] * 8) + b' 65535 65535\r\n',
        'v1-bad-port': b'PROXY TCP4 192.0.2.1 198.51.100.2 65536 25565\r\n',
        'v1-bad-lf': b'PROXY TCP4 192.0.2.1 198.51.100.2 51234 25565\n',
        'v1-extra-space': b'PROXY TCP4 192.0.2.1  198.51.100.2 51234 25565\r\n',
    }
    for name, line in v1.items():
        seeds[name] = b'\x00' + line + HS
        seeds[name + '-split'] = b'\x17' + line + HS
    seeds['v1-tcp4-smallcap'] = b'\x80' + v1['v1-tcp4'] + HS
    seeds['v1-tcp6-smallcap'] = b'\x81' + v1['v1-tcp6'] + HS

    inet = bytes([192, 0, 2, 1, 198, 51, 100, 2]) + struct.pack('>HH', 51234, 25565)
    inet6 = (bytes.fromhex('20010db8000000000000000000000001') +
             bytes.fromhex('20010db8000000000000000000000002') + struct.pack('>HH', 51234, 25565))
    tlvs = tlv(0x02, b'mc.example.net') + tlv(0x04, b'') + tlv(0x05, b'\x01' * 16)
    v2s = {
        'v2-tcp4': v2(0x21, 0x11, inet),
        'v2-tcp6': v2(0x21, 0x21, inet6),
        'v2-tcp4-tlv': v2(0x21, 0x11, inet + tlvs),
        'v2-tcp6-tlv': v2(0x21, 0x21, inet6 + tlvs),
        'v2-local': v2(0x20, 0x00, b''),
        'v2-local-junk': v2(0x20, 0xff, b'\x01\x02\x03'),
        'v2-unspec': v2(0x21, 0x00, b'\xee' * 8),
        'v2-udp4': v2(0x21, 0x12, inet),
        'v2-unix': v2(0x21, 0x31, b'/run/a'.ljust(108, b'\0') + b'/run/b'.ljust(108, b'\0')),
        'v2-bad-tlv': v2(0x21, 0x11, inet + b'\x02\x00\x09short'),
        'v2-bad-len': v2(0x21, 0x21, inet),
        'v2-bad-ver': SIG + b'\x11\x11' + struct.pack('>H', 12) + inet,
        'v2-bad-fam': SIG + b'\x21\x13' + struct.pack('>H', 12) + inet,
        'v2-big': v2(0x21, 0x11, inet + tlv(0x04, b'\0' * 600)),
    }
    for name, hdr in v2s.items():
        seeds[name] = b'\x05' + hdr + HS
    seeds['v2-tcp6-tlv-smallcap'] = b'\x85' + v2s['v2-tcp6-tlv'] + HS
    seeds['minecraft-login'] = b'\x00' + HS
    seeds['minecraft-status'] = b'\x00' + open('fixtures/handshakes/1.21.4-status.bin', 'rb').read()
    seeds['legacy-fe01'] = b'\x00' + open('fixtures/handshakes/legacy-fe01.bin', 'rb').read()

    for i, text in enumerate([b'10.0.0.0/8', b'192.0.2.7', b'2001:db8::/32', b'::/0',
                              b'::ffff:10.0.0.0/104', b'1:2:3:4:5:6:1.2.3.4', b'fe80::1%eth0',
                              b'2001:db8:0:0:1:0:0:1/64', b'0.0.0.0/0', b'::1']):
        seeds['text-%02d' % i] = b'\x40' + text

    for name, data in seeds.items():
        with open(os.path.join(DST, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
