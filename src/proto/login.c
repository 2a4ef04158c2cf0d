/* Login Start (serverbound 0x00 in the login state). Its layout changed five times:
 *   <= 758 (1.18.2)  name
 *      759 (1.19)    name, has_sig, [expiry i64, key, signature]
 *      760 (1.19.2)  name, has_sig, [expiry i64, key, signature], has_uuid, [uuid]
 *  761-763 (1.19.3+) name, has_uuid, [uuid]
 *   >= 764 (1.20.2+) name, uuid */
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"

#define KEY_BYTES_MAX 512              /* vanilla's limits for the 1.19 signature block */
#define SIG_BYTES_MAX 4096

/* Counts UTF-8 code points; returns -1 if the bytes are not UTF-8. */
static long utf8_chars(const char *s, size_t len)
{
  long chars = 0;

  for (size_t i = 0; i < len; chars++) {
    uint8_t c = (uint8_t)s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;

    if (n == 0 || i + n > len)
      return -1;
    for (size_t k = 1; k < n; k++)
      if (((uint8_t)s[i + k] >> 6) != 0x2)
        return -1;
    i += n;
  }
  return chars;
}

static int read_bool(struct hop_reader *r, int *out)
{
  uint8_t b;

  if (hop_read_u8(r, &b) || b > 1)
    return HOP_ELOGIN;
  *out = b;
  return 0;
}

static int skip_blob(struct hop_reader *r, int32_t bytes_max)
{
  int32_t n;
  const uint8_t *p;

  if (hop_read_varint(r, &n) || n < 0 || n > bytes_max || hop_read_bytes(r, (size_t)n, &p))
    return HOP_ELOGIN;
  return 0;
}

static int read_signature(struct hop_reader *r)
{
  int64_t expiry;
  int has_sig;

  if (read_bool(r, &has_sig))
    return HOP_ELOGIN;
  if (!has_sig)
    return 0;
  if (hop_read_i64(r, &expiry) || skip_blob(r, KEY_BYTES_MAX) || skip_blob(r, SIG_BYTES_MAX))
    return HOP_ELOGIN;
  return 0;
}

static int read_uuid(struct hop_reader *r, struct hop_login *out)
{
  const uint8_t *p;

  if (hop_read_bytes(r, 16, &p))
    return HOP_ELOGIN;
  memcpy(out->uuid, p, 16);
  out->has_uuid = 1;
  return 0;
}

static int read_optional_uuid(struct hop_reader *r, struct hop_login *out)
{
  int has_uuid;

  if (read_bool(r, &has_uuid))
    return HOP_ELOGIN;
  return has_uuid ? read_uuid(r, out) : 0;
}

int hop_login_parse(const struct hop_frame *f, int32_t protocol, struct hop_login *out)
{
  struct hop_reader r = hop_reader_make(f->body, f->body_len);
  int32_t id;
  long chars;
  int err = 0;

  memset(out, 0, sizeof *out);
  if (hop_read_varint(&r, &id) || id != 0x00)
    return HOP_ELOGIN;
  if (hop_read_string(&r, HOP_NAME_BYTES_MAX, &out->name))
    return HOP_ELOGIN;
  chars = utf8_chars(out->name.ptr, out->name.len);
  if (chars < 1 || chars > HOP_NAME_CHARS_MAX)
    return HOP_ELOGIN;

  if (protocol == 759)
    err = read_signature(&r);
  else if (protocol == 760)
    err = read_signature(&r) ? HOP_ELOGIN : read_optional_uuid(&r, out);
  else if (protocol >= 761 && protocol <= 763)
    err = read_optional_uuid(&r, out);
  else if (protocol >= 764)
    err = read_uuid(&r, out);
  if (err)
    return HOP_ELOGIN;
  return r.pos == r.len ? 0 : HOP_ELOGIN;
}

void hop_uuid_format(const uint8_t uuid[16], char out[37])
{
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;

  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[o++] = '-';
    out[o++] = hex[uuid[i] >> 4];
    out[o++] = hex[uuid[i] & 0xf];
  }
  out[o] = '\0';
}
