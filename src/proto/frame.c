/* Length-prefixed frames, uncompressed (the opening packets always are). */
#include "hop/err.h"
#include "hop/proto.h"

int hop_frame_parse(const uint8_t *p, size_t len, size_t body_max, struct hop_frame *out)
{
  int32_t body_len;
  int n = hop_varint_decode(p, len, &body_len);

  if (n <= 0)
    return n;
  if (body_len <= 0)
    return HOP_EFRAMELEN;
  if (body_len > HOP_FRAME_BYTES_MAX || (size_t)body_len > body_max)
    return HOP_EFRAMEBIG;              /* refused now, not after the body arrives */
  if (len - (size_t)n < (size_t)body_len)
    return 0;
  out->body = p + n;
  out->body_len = (size_t)body_len;
  return n + body_len;
}
