/* Handshake (serverbound 0x00): protocol, server address, port, next state. */
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "hop/route.h"

const char *hop_intent_name(enum hop_intent intent)
{
  switch (intent) {
  case HOP_INTENT_STATUS:   return "status";
  case HOP_INTENT_LOGIN:    return "login";
  case HOP_INTENT_TRANSFER: return "transfer";
  case HOP_INTENT_LEGACY:   return "legacy";
  case HOP_INTENT_NONE:     break;
  }
  return "-";
}

int hop_handshake_parse(const struct hop_frame *f, size_t address_bytes_max,
                        struct hop_handshake *out)
{
  struct hop_reader r = hop_reader_make(f->body, f->body_len);
  int32_t id, next;
  int err, n;

  if ((err = hop_read_varint(&r, &id)))
    return err;
  if (id != 0x00)
    return HOP_ENOTHS;
  if ((err = hop_read_varint(&r, &out->protocol)))
    return err;
  err = hop_read_string(&r, address_bytes_max, &out->address);
  if (err == HOP_ESTRING)
    return HOP_EADDRESS;
  if (err)
    return err;
  if ((err = hop_read_u16(&r, &out->port)))
    return err;
  if ((err = hop_read_varint(&r, &next)))
    return err;
  if (next < HOP_INTENT_STATUS || next > HOP_INTENT_TRANSFER)
    return HOP_ESTATE;
  if (r.pos != r.len)
    return HOP_ETRAILING;
  out->intent = (enum hop_intent)next;
  n = hop_host_normalize(out->address.ptr, out->address.len, out->host, sizeof out->host);
  if (n < 0)
    return n;
  out->host_len = (size_t)n;
  return 0;
}

int hop_handshake_encode(uint8_t *out, size_t cap, int32_t protocol, const char *address,
                         size_t address_len, uint16_t port, enum hop_intent intent)
{
  size_t body = 1 + (size_t)hop_varint_size(protocol) + (size_t)hop_varint_size((int32_t)address_len)
                + address_len + 2 + 1;
  size_t pos = 0;

  if (address_len > HOP_FRAME_BYTES_MAX || body + 3 > cap)
    return HOP_ENOSPACE;
  pos += (size_t)hop_varint_encode(out, (int32_t)body);
  out[pos++] = 0x00;
  pos += (size_t)hop_varint_encode(out + pos, protocol);
  pos += (size_t)hop_varint_encode(out + pos, (int32_t)address_len);
  memcpy(out + pos, address, address_len);
  pos += address_len;
  out[pos++] = (uint8_t)(port >> 8);
  out[pos++] = (uint8_t)port;
  out[pos++] = (uint8_t)intent;
  return (int)pos;
}
