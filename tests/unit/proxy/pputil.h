/* Helpers for the PROXY protocol and CIDR tests: socket addresses built and printed with libc's
 * inet_pton/inet_ntop (written apart from src/proto, so a bug there cannot hide itself), and a
 * seeded xorshift for the randomised checks. */
#ifndef HOP_PPUTIL_H
#define HOP_PPUTIL_H

#ifndef _POSIX_C_SOURCE
#  define _POSIX_C_SOURCE 200809L      /* inet_pton, inet_ntop under -std=c11 */
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Fills `ss` from "1.2.3.4" or "2001:db8::1" and a port; returns 0, or -1 if libc refuses it. */
static inline int sa_make(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
  struct sockaddr_in in;
  struct sockaddr_in6 in6;

  memset(ss, 0, sizeof *ss);
  memset(&in, 0, sizeof in);
  memset(&in6, 0, sizeof in6);
  if (inet_pton(AF_INET, ip, &in.sin_addr) == 1) {
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    memcpy(ss, &in, sizeof in);
    return 0;
  }
  if (inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    memcpy(ss, &in6, sizeof in6);
    return 0;
  }
  return -1;
}

/* "1.2.3.4:80", "[2001:db8::1]:80", "AF_UNSPEC" or "family N"; into `buf` (at least 80 bytes). */
static inline const char *sa_text(const struct sockaddr_storage *ss, char *buf)
{
  char ip[INET6_ADDRSTRLEN];

  if (ss->ss_family == AF_INET) {
    struct sockaddr_in in;

    memcpy(&in, ss, sizeof in);
    inet_ntop(AF_INET, &in.sin_addr, ip, sizeof ip);
    snprintf(buf, 80, "%s:%u", ip, ntohs(in.sin_port));
  } else if (ss->ss_family == AF_INET6) {
    struct sockaddr_in6 in6;

    memcpy(&in6, ss, sizeof in6);
    inet_ntop(AF_INET6, &in6.sin6_addr, ip, sizeof ip);
    snprintf(buf, 80, "[%s]:%u", ip, ntohs(in6.sin6_port));
  } else if (ss->ss_family == AF_UNSPEC) {
    snprintf(buf, 80, "AF_UNSPEC");
  } else {
    snprintf(buf, 80, "family %d", (int)ss->ss_family);
  }
  return buf;
}

static inline uint32_t xs_next(uint32_t *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 17;
  *x ^= *x << 5;
  return *x;
}

#endif
