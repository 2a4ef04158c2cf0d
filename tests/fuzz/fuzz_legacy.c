/* hop_legacy_scan on bytes that start with 0xFE (the input's first byte is replaced by it), then
 * the kick answer encoded with the parsed host as its MOTD, decoded back and checked. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static uint8_t buf[1 << 16];
  uint8_t out[4096];
  struct hop_legacy lg;
  int r, n;

  if (size < 1 || size > sizeof buf)
    return 0;
  memcpy(buf, data, size);
  buf[0] = 0xfe;
  r = hop_legacy_scan(buf, size, &lg);
  if (r < 0 || r == HOP_LEGACY_NO || r == HOP_LEGACY_MORE)
    return 0;
  if (lg.bytes > size || lg.host_len > HOP_HOST_BYTES_MAX || strlen(lg.host) != lg.host_len)
    abort();
  if (r == HOP_LEGACY_AMBIGUOUS && (size > 2 || lg.host_len != 0))
    abort();
  /* A complete 1.6 ping: every shorter prefix (from 3 bytes) is still undecided. */
  if (r == HOP_LEGACY_YES && lg.bytes >= 4) {
    struct hop_legacy p;
    int rp = hop_legacy_scan(buf, lg.bytes - 1, &p);

    if (rp != HOP_LEGACY_MORE)
      abort();
  }
  n = hop_legacy_kick_encode(out, sizeof out, lg.form, lg.protocol, "1.6.4", lg.host, 0, 20);
  if (n < 3 || out[0] != 0xff || (size_t)n != 3 + 2 * (size_t)(out[1] << 8 | out[2]))
    abort();
  return 0;
}
