/* A resumable "what is this connection?" parser over the preread buffer. It gives the same answer
 * however TCP split the bytes: feed it everything received so far, as often as bytes arrive. */
#ifndef HOP_PEEK_H
#define HOP_PEEK_H

#include "hop/proto.h"

enum hop_peek_result {
  HOP_PEEK_MORE = 0,           /* need more bytes (check have_handshake: routing can start) */
  HOP_PEEK_DONE = 1,           /* handshake, and for login/transfer the Login Start, parsed */
  HOP_PEEK_LEGACY = 2,         /* a complete legacy ping (see .legacy) */
};

struct hop_peek {
  size_t pos;                  /* bytes fully parsed; the next call resumes here */
  size_t bytes_max;            /* preread cap: a handshake that needs more is HOP_EPREREAD */
  size_t address_bytes_max;    /* raw server address cap */
  int have_handshake;
  int have_login;
  int legacy_pending;          /* FE or FE 01 seen: a legacy ping if the client now falls silent */
  struct hop_handshake hs;     /* on have_handshake; address points into the caller's buffer */
  struct hop_login login;      /* on have_login; name points into the caller's buffer */
  struct hop_legacy legacy;    /* on HOP_PEEK_LEGACY or legacy_pending */
};

void hop_peek_init(struct hop_peek *pk, size_t bytes_max, size_t address_bytes_max);

/* Give it everything received so far; the buffer may grow between calls but must not move.
 * Returns a hop_peek_result, or a negative HOP_E* code (final: the connection is malformed). */
int hop_peek_feed(struct hop_peek *pk, const uint8_t *buf, size_t len);

/* The client fell silent (or half-closed) after FE or FE 01: it is a legacy ping after all.
 * Returns HOP_PEEK_LEGACY if legacy_pending, else HOP_PEEK_MORE. */
int hop_peek_settle(struct hop_peek *pk);

#endif
