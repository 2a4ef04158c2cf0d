/* Bounds-checked reads from one packet body. A field that runs past the body is HOP_ESHORT. */
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"

int hop_read_varint(struct hop_reader *r, int32_t *out)
{
  int n = hop_varint_decode(r->p + r->pos, r->len - r->pos, out);

  if (n == 0)
    return HOP_ESHORT;
  if (n < 0)
    return n;
  r->pos += (size_t)n;
  return 0;
}

int hop_read_bytes(struct hop_reader *r, size_t n, const uint8_t **out)
{
  if (r->len - r->pos < n)
    return HOP_ESHORT;
  *out = r->p + r->pos;
  r->pos += n;
  return 0;
}

int hop_read_u8(struct hop_reader *r, uint8_t *out)
{
  const uint8_t *p;
  int err = hop_read_bytes(r, 1, &p);

  if (err == 0)
    *out = p[0];
  return err;
}

int hop_read_u16(struct hop_reader *r, uint16_t *out)
{
  const uint8_t *p;
  int err = hop_read_bytes(r, 2, &p);

  if (err == 0)
    *out = (uint16_t)(p[0] << 8 | p[1]);
  return err;
}

int hop_read_i64(struct hop_reader *r, int64_t *out)
{
  const uint8_t *p;
  uint64_t v = 0;
  int err = hop_read_bytes(r, 8, &p);

  if (err)
    return err;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  *out = (int64_t)v;
  return 0;
}

int hop_read_string(struct hop_reader *r, size_t bytes_max, struct hop_str *out)
{
  int32_t n;
  const uint8_t *p;
  int err = hop_read_varint(r, &n);

  if (err)
    return err;
  if (n < 0 || (size_t)n > bytes_max)
    return HOP_ESTRING;
  err = hop_read_bytes(r, (size_t)n, &p);
  if (err)
    return err;
  out->ptr = (const char *)p;
  out->len = (size_t)n;
  return 0;
}
