/* What is this connection? A resumable parse of the opening bytes: legacy ping, or Handshake and
 * (for logins) Login Start. Each call re-reads only what it has not parsed yet. */
#include <string.h>

#include "hop/err.h"
#include "hop/peek.h"

void hop_peek_init(struct hop_peek *pk, size_t bytes_max, size_t address_bytes_max)
{
  memset(pk, 0, sizeof *pk);
  pk->bytes_max = bytes_max;
  pk->address_bytes_max = address_bytes_max;
}

/* More bytes are needed: fine unless the buffer is already full. */
static int need_more(const struct hop_peek *pk, size_t len)
{
  return len >= pk->bytes_max ? HOP_EPREREAD : HOP_PEEK_MORE;
}

/* Parses the next frame at pk->pos; it must end within the preread cap. */
static int next_frame(const struct hop_peek *pk, const uint8_t *buf, size_t len,
                      struct hop_frame *f)
{
  size_t room = pk->bytes_max > pk->pos + 1 ? pk->bytes_max - pk->pos - 1 : 0;

  return hop_frame_parse(buf + pk->pos, len - pk->pos, room, f);
}

static int feed_legacy(struct hop_peek *pk, const uint8_t *buf, size_t len)
{
  int r = hop_legacy_scan(buf, len, &pk->legacy);

  pk->legacy_pending = r == HOP_LEGACY_AMBIGUOUS;
  if (r < 0)
    return r;
  if (r == HOP_LEGACY_YES)
    return HOP_PEEK_LEGACY;
  if (r == HOP_LEGACY_NO)
    return 1;                          /* go on as a modern frame */
  return need_more(pk, len);
}

int hop_peek_feed(struct hop_peek *pk, const uint8_t *buf, size_t len)
{
  struct hop_frame f;
  int n, err;

  if (len > pk->bytes_max)
    len = pk->bytes_max;
  if (!pk->have_handshake) {
    if (len == 0)
      return HOP_PEEK_MORE;
    if (buf[0] == 0xfe && (n = feed_legacy(pk, buf, len)) != 1)
      return n;
    n = next_frame(pk, buf, len, &f);
    if (n <= 0)
      return n < 0 ? n : need_more(pk, len);
    if ((err = hop_handshake_parse(&f, pk->address_bytes_max, &pk->hs)))
      return err;
    pk->have_handshake = 1;
    pk->pos = (size_t)n;
  }
  if (pk->hs.intent == HOP_INTENT_STATUS)
    return HOP_PEEK_DONE;
  if (!pk->have_login) {
    n = next_frame(pk, buf, len, &f);
    if (n <= 0)
      return n < 0 ? n : need_more(pk, len);
    if ((err = hop_login_parse(&f, pk->hs.protocol, &pk->login)))
      return err;
    pk->have_login = 1;
    pk->pos += (size_t)n;
  }
  return HOP_PEEK_DONE;
}

int hop_peek_settle(struct hop_peek *pk)
{
  if (!pk->legacy_pending)
    return HOP_PEEK_MORE;
  pk->legacy_pending = 0;
  return HOP_PEEK_LEGACY;
}
