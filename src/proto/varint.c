/* VarInt: 7 bits per byte, least significant group first, at most 5 bytes for 32 bits. */
#include "hop/err.h"
#include "hop/proto.h"

int hop_varint_decode(const uint8_t *p, size_t len, int32_t *out)
{
  uint32_t v = 0;

  for (size_t i = 0; i < HOP_VARINT_BYTES_MAX; i++) {
    if (i == len)
      return 0;
    if (i == 4 && (p[i] & 0xf0))
      return HOP_EVARINT;              /* would not fit in 32 bits, or a 6th byte follows */
    v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      *out = (int32_t)v;
      return (int)i + 1;
    }
  }
  return HOP_EVARINT;
}

int hop_varint_encode(uint8_t *out, int32_t v)
{
  uint32_t u = (uint32_t)v;
  int n = 0;

  do {
    uint8_t b = u & 0x7f;

    u >>= 7;
    out[n++] = u ? (b | 0x80) : b;
  } while (u);
  return n;
}

int hop_varint_size(int32_t v)
{
  uint32_t u = (uint32_t)v;
  int n = 1;

  while (u >= 0x80) {
    u >>= 7;
    n++;
  }
  return n;
}
