/* The status exchange: Status Request (0x00) -> Status Response, Ping (0x01) -> Pong. */
#include <stdio.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"

int hop_status_classify(const struct hop_frame *f, int64_t *ping_payload)
{
  struct hop_reader r = hop_reader_make(f->body, f->body_len);
  int32_t id;

  if (hop_read_varint(&r, &id))
    return HOP_ESTATUS;
  if (id == 0x00 && r.pos == r.len)
    return HOP_STATUS_REQUEST;
  if (id == 0x01 && hop_read_i64(&r, ping_payload) == 0 && r.pos == r.len)
    return HOP_STATUS_PING;
  return HOP_ESTATUS;
}

int hop_status_response_encode(uint8_t *out, size_t cap, const char *json, size_t json_len)
{
  return hop_string_packet_encode(out, cap, 0x00, json, json_len);
}

int hop_pong_encode(uint8_t *out, size_t cap, int64_t payload)
{
  uint64_t v = (uint64_t)payload;

  if (cap < 10)
    return HOP_ENOSPACE;
  out[0] = 9;
  out[1] = 0x01;
  for (int i = 7; i >= 0; i--, v >>= 8)
    out[2 + i] = (uint8_t)v;
  return 10;
}

static int append(char *out, size_t cap, size_t *pos, const char *s)
{
  size_t n = strlen(s);

  if (cap - *pos < n)
    return HOP_ENOSPACE;
  memcpy(out + *pos, s, n);
  *pos += n;
  return 0;
}

int hop_status_json(char *out, size_t cap, const char *version_name, const char *motd,
                    size_t motd_len, int32_t protocol, int32_t players_max)
{
  char nums[80];
  size_t pos = 0;

  snprintf(nums, sizeof nums, "\",\"protocol\":%d},\"players\":{\"max\":%d,\"online\":0},",
           (int)protocol, (int)players_max);
  if (append(out, cap, &pos, "{\"version\":{\"name\":\"")
      || hop_json_escape(out, cap, &pos, version_name, strlen(version_name))
      || append(out, cap, &pos, nums)
      || append(out, cap, &pos, "\"description\":{\"text\":\"")
      || hop_json_escape(out, cap, &pos, motd, motd_len) || cap - pos < 3)
    return HOP_ENOSPACE;
  memcpy(out + pos, "\"}}", 3);
  return (int)(pos + 3);
}
