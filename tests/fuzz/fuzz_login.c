/* hop_login_parse: the first 2 input bytes (big-endian) pick the protocol, the rest is the Login
 * Start frame body. Whatever it says must stay inside the body and within the name limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct hop_frame f;
  struct hop_login lg;
  char uuid[37];
  int32_t protocol;
  int r;

  if (size < 2)
    return 0;
  protocol = data[0] << 8 | data[1];
  f.body = data + 2;
  f.body_len = size - 2;
  r = hop_login_parse(&f, protocol, &lg);
  if (r != 0) {
    if (r != HOP_ELOGIN)
      abort();
    return 0;
  }
  if ((const uint8_t *)lg.name.ptr < f.body ||
      (const uint8_t *)lg.name.ptr + lg.name.len > f.body + f.body_len ||
      lg.name.len == 0 || lg.name.len > HOP_NAME_BYTES_MAX)
    abort();
  if (lg.has_uuid != 0 && lg.has_uuid != 1)
    abort();
  if (protocol >= 764 && !lg.has_uuid)
    abort();
  if (protocol <= 759 && lg.has_uuid)
    abort();
  hop_uuid_format(lg.uuid, uuid);
  if (strlen(uuid) != 36)
    abort();
  return 0;
}
