/* PROXY protocol v1 (text) and v2 (binary), as haproxy's doc/proxy-protocol.txt defines them:
 * parse what a trusted load balancer puts in front of a client's bytes, and encode what hopper puts
 * in front of the bytes it replays to a backend. Sans-IO: no libuv, no malloc, no clock.
 *
 * Whether a header is allowed at all is the caller's business (trusted_proxies, see cidr.h): the
 * spec forbids guessing, so a listener either requires a header from a trusted peer or takes none.
 * See docs/proxy-protocol.md. */
#ifndef HOP_PROXY_H
#define HOP_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "hop/err.h"
#include <netinet/in.h>
#include <sys/socket.h>

/* Errors are HOP_EPROXY* and HOP_ECIDR in err.h. */

#define HOP_PROXY_V1_BYTES_MAX     107          /* spec: "PROXY UNKNOWN <v6> <v6> 65535 65535\r\n" */
#define HOP_PROXY_V2_BYTES_MAX     (16 + 65535) /* signature, version, family, u16 length */
#define HOP_PROXY_BYTES_DEFAULT    512          /* a sane cap for parse: TCP6 plus a few TLVs */
#define HOP_PROXY_ENCODE_BYTES_MAX 108          /* enough for anything the encoders write */

/* ---- Detect ---------------------------------------------------------------------------------- */

enum hop_proxy_detect {
  HOP_PROXY_MORE = 0,          /* a prefix of a PROXY signature (or nothing yet): need more */
  HOP_PROXY_NO = 1,            /* cannot be a PROXY header (a Minecraft frame, a legacy ping) */
  HOP_PROXY_V1 = 2,            /* begins with "PROXY" */
  HOP_PROXY_V2 = 3,            /* begins with the 12-byte v2 signature */
};

/* Tells from the first bytes whether they can be a PROXY header. The answer comes at the first
 * byte that differs from both signatures, which for any Minecraft opening is byte 1 or 2.
 * V1/V2 mean only that the signature matched: hop_proxy_parse judges the rest.
 * Returns a hop_proxy_detect value. */
int hop_proxy_detect(const uint8_t *p, size_t len);

/* ---- Parse ----------------------------------------------------------------------------------- */

struct hop_proxy_header {
  int version;                  /* 1 or 2 */
  int local;                    /* 1: no client address carried (v1 UNKNOWN; v2 LOCAL; v2 PROXY over
                                 * UNSPEC, UDP or UNIX): keep the socket's own peer address */
  struct sockaddr_storage src;  /* !local: the client, AF_INET or AF_INET6, as on the wire
                                 * (an IPv4-mapped IPv6 address stays AF_INET6) */
  struct sockaddr_storage dst;  /* !local: the address the client connected to */
  const uint8_t *tlv;           /* v2 PROXY with a known family: TLVs after the addresses, in the
                                 * caller's buffer (bounds already checked); else NULL */
  size_t tlv_len;               /* bytes */
};

/* Parses one PROXY header, v1 or v2, at the start of `p`. The header may be at most
 * `bytes_max` bytes (HOP_PROXY_BYTES_DEFAULT is a good cap; a v1 line is never over 107 bytes).
 * Any split gives the same answer: a prefix of the input returns 0 or what the whole returns.
 * Malformed input is refused early: a v2 version, family or length (over the cap, or short of
 * the addresses) by byte 13, 14 or 16; a v1 field as soon as it holds a byte or a length that no
 * valid field could (see docs/proxy-protocol.md).
 * Returns the header's bytes (> 0; the next byte is the client's first), 0 if more input is
 * needed, or HOP_EPROXYSIG, HOP_EPROXYV1, HOP_EPROXYLONG, HOP_EPROXYVER, HOP_EPROXYFAM,
 * HOP_EPROXYLEN, HOP_EPROXYTLV, HOP_EPROXYBIG. `out` is written only on success. */
int hop_proxy_parse(const uint8_t *p, size_t len, size_t bytes_max, struct hop_proxy_header *out);

/* Finds the first v2 TLV of `type` (PP2_TYPE_AUTHORITY is 0x02) in a parsed header.
 * Returns 1 with `*value` (into the caller's buffer) and `*value_len` set, or 0. */
int hop_proxy_tlv_find(const struct hop_proxy_header *h, uint8_t type, const uint8_t **value,
                       size_t *value_len);

/* ---- Encode ---------------------------------------------------------------------------------- */

/* Each encoder writes the header that tells a backend about a client at `src` that connected to
 * `dst` (AF_INET or AF_INET6). The families decide the form:
 *   both IPv4 (plain or IPv4-mapped IPv6)   TCP4, v2 family 0x11, addresses unmapped
 *   otherwise both IPv4 or IPv6             TCP6, v2 family 0x21, the IPv4 side mapped to
 *                                           ::ffff:a.b.c.d (HAProxy's answer to mixed families)
 *   NULL, or any other family               v1 "PROXY UNKNOWN", v2 LOCAL over UNSPEC: the
 *                                           backend keeps hopper's own address (health checks)
 * v1 writes IPv6 in RFC 5952 form without a dotted tail, the spec's hex groups.
 * Returns bytes written or HOP_ENOSPACE (nothing useful is left in `out` then). */
int hop_proxy_encode_v1(uint8_t *out, size_t cap, const struct sockaddr *src,
                        const struct sockaddr *dst);
int hop_proxy_encode_v2(uint8_t *out, size_t cap, const struct sockaddr *src,
                        const struct sockaddr *dst);

/* hop_proxy_encode_v1 for version 1, _v2 for 2; HOP_EPROXYVER for any other version. */
int hop_proxy_encode(uint8_t *out, size_t cap, int version, const struct sockaddr *src,
                     const struct sockaddr *dst);

#endif
