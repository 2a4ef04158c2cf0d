/* IP address text and CIDR prefix lists, for trusted_proxies and deny lists.
 *
 * A client is IPv4 however the socket shows it: an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a
 * dual-stack listener reports) matches IPv4 entries, and an entry written inside ::ffff:0:0/96 is
 * stored as the IPv4 prefix it names. Other IPv6 entries, "::/0" included, match IPv6 clients only.
 *
 * Parsing and list building allocate and run off the hot path (config load); matching does
 * neither and is safe on the loop. Errors are HOP_ECIDR (proxy.h, until folded into err.h). */
#ifndef HOP_CIDR_H
#define HOP_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define HOP_IP_TEXT_BYTES   46     /* "ffff:...:255.255.255.255" plus NUL, like INET6_ADDRSTRLEN */
#define HOP_CIDR_TEXT_BYTES 50     /* an address, "/128" and NUL */

/* ---- Address text ---------------------------------------------------------------------------- */

/* Parses exactly `len` bytes of dotted-quad IPv4: four decimal numbers 0..255, no leading zeros
 * (the PROXY spec refuses them, lest they read as octal). Returns 0 or -1. */
int hop_ip4_parse(const char *s, size_t len, uint8_t out[4]);

/* Parses exactly `len` bytes of IPv6 text (RFC 4291 2.2): 1-4 hex digits per group, at most one
 * "::", optionally a dotted-quad tail. No zone ("%eth0"), no brackets. Returns 0 or -1. */
int hop_ip6_parse(const char *s, size_t len, uint8_t out[16]);

/* Writes `addr` (4 bytes for AF_INET, 16 for AF_INET6) as text and a NUL: dotted quad, or
 * RFC 5952 IPv6 (lower case, the longest run of two or more zero groups as "::", hex groups only,
 * mapped addresses too). Returns the length without the NUL, or 0 for another family. */
/* Writes v in decimal (no NUL, at most 10 chars); returns the length. */
size_t hop_put_dec(char *out, unsigned v);

size_t hop_ip_format(char out[HOP_IP_TEXT_BYTES], int family, const uint8_t *addr);

/* ---- Prefixes -------------------------------------------------------------------------------- */

struct hop_cidr {
  uint8_t addr[16];            /* network order, host bits cleared; IPv4 uses the first 4 */
  uint8_t prefix;              /* bits: 0..32 for AF_INET, 0..128 for AF_INET6 */
  uint8_t family;              /* AF_INET or AF_INET6 */
};

/* Parses "10.0.0.0/8", "2001:db8::/32", or a bare address ("192.0.2.7" is /32, "::1" is /128).
 * The prefix is 0..32 or 0..128 in decimal without leading zeros; host bits below it are
 * cleared ("10.1.2.3/8" is 10.0.0.0/8, as HAProxy and nginx read it). An IPv6 prefix of 96 or
 * more inside ::ffff:0:0/96 becomes the IPv4 prefix it covers. No spaces, no zone.
 * `s` is NUL-terminated. Returns 0 or HOP_ECIDR. */
int hop_cidr_parse(const char *s, struct hop_cidr *out);

/* 1 if `addr` (AF_INET or AF_INET6; others never match) lies inside `c`, else 0. */
int hop_cidr_match(const struct hop_cidr *c, const struct sockaddr *addr);

/* Writes the canonical text ("10.0.0.0/8") and a NUL; returns its length. */
size_t hop_cidr_format(char out[HOP_CIDR_TEXT_BYTES], const struct hop_cidr *c);

/* ---- Lists ----------------------------------------------------------------------------------- */

struct hop_cidr_list {
  struct hop_cidr *items;      /* malloc'd; owned by the list */
  size_t len;
  size_t cap;
};

#define HOP_CIDR_LIST_INIT { NULL, 0, 0 }

/* Parses `s` (see hop_cidr_parse) and appends it. Returns 0, HOP_ECIDR (the list is unchanged),
 * or -ENOMEM. */
int hop_cidr_list_add(struct hop_cidr_list *l, const char *s);

/* Frees the entries; the list is empty (and reusable) afterwards. */
void hop_cidr_list_free(struct hop_cidr_list *l);

/* 1 if any entry matches `addr`, else 0. An empty or NULL list matches nothing (the default for
 * trusted_proxies: trust no one). A linear scan: these lists are a handful of entries. */
int hop_cidr_list_match(const struct hop_cidr_list *l, const struct sockaddr *addr);

#endif
