/* hop_peek_feed must give the same answer however the bytes were split. The first input byte
 * seeds the split points (and, in its top bit, small caps); the rest is the connection's bytes.
 * Fed whole, then in pieces on a second parser: results and parsed fields must agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop/conn.h"
#include "hop/peek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct hop_peek whole, split;
  size_t bytes_max, addr_max, len = 0;
  uint32_t x;
  int rw, rs = HOP_PEEK_MORE;

  if (size < 1)
    return 0;
  x = 2654435761u * (data[0] + 1u);
  bytes_max = data[0] & 0x80 ? 256 : HOP_PREREAD_BYTES_MAX;
  addr_max = data[0] & 0x80 ? 255 : HOP_ADDRESS_BYTES_MAX;
  data++;
  size--;

  hop_peek_init(&whole, bytes_max, addr_max);
  rw = hop_peek_feed(&whole, data, size);

  hop_peek_init(&split, bytes_max, addr_max);
  do {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    len += x % 4 == 0 ? 0 : 1 + (x >> 8) % 24;        /* sometimes the same length again */
    if (len > size)
      len = size;
    rs = hop_peek_feed(&split, data, len);
  } while (len < size && rs >= 0 && rs != HOP_PEEK_LEGACY);

  if (rs != rw)
    abort();
  if (rw == HOP_PEEK_DONE) {
    if (whole.pos != split.pos || whole.hs.protocol != split.hs.protocol ||
        whole.hs.intent != split.hs.intent || whole.hs.port != split.hs.port ||
        whole.hs.address.ptr != split.hs.address.ptr ||
        whole.hs.address.len != split.hs.address.len ||
        whole.hs.host_len != split.hs.host_len || strcmp(whole.hs.host, split.hs.host) != 0 ||
        whole.have_login != split.have_login)
      abort();
    if (whole.hs.host_len > HOP_HOST_BYTES_MAX || strlen(whole.hs.host) != whole.hs.host_len)
      abort();
    if (whole.have_login &&
        (whole.login.name.ptr != split.login.name.ptr ||
         whole.login.name.len != split.login.name.len ||
         whole.login.has_uuid != split.login.has_uuid ||
         memcmp(whole.login.uuid, split.login.uuid, 16) != 0))
      abort();
    if (whole.pos > size)
      abort();
  } else if (rw == HOP_PEEK_LEGACY) {
    if (whole.legacy.form != split.legacy.form || whole.legacy.bytes != split.legacy.bytes ||
        whole.legacy.port != split.legacy.port || strcmp(whole.legacy.host, split.legacy.host))
      abort();
  } else if (rw == HOP_PEEK_MORE) {
    if (whole.legacy_pending != split.legacy_pending)
      abort();
  }
  return 0;
}
