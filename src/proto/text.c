/* Text for players: JSON escaping, {placeholder} templates and the login Disconnect. */
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"

int hop_json_escape(char *out, size_t cap, size_t *pos, const char *s, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  size_t o = *pos;

  for (size_t i = 0; i < len; i++) {
    uint8_t c = (uint8_t)s[i];
    char esc = c == '"' ? '"' : c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r'
             : c == '\t' ? 't' : 0;

    if (esc || c < 0x20) {
      size_t need = esc ? 2 : 6;

      if (cap - o < need)
        return HOP_ENOSPACE;
      out[o++] = '\\';
      if (esc) {
        out[o++] = esc;
      } else {
        memcpy(out + o, "u00", 3);
        out[o + 3] = hex[c >> 4];
        out[o + 4] = hex[c & 0xf];
        o += 5;
      }
    } else {
      if (o == cap)
        return HOP_ENOSPACE;
      out[o++] = (char)c;
    }
  }
  *pos = o;
  return 0;
}

static const char *var_value(const char *const *vars, const char *name, size_t name_len)
{
  for (; vars && vars[0]; vars += 2)
    if (strlen(vars[0]) == name_len && memcmp(vars[0], name, name_len) == 0)
      return vars[1];
  return NULL;
}

int hop_template(char *out, size_t cap, const char *tmpl, const char *const *vars)
{
  size_t o = 0;

  if (cap == 0)
    return HOP_ENOSPACE;
  for (const char *p = tmpl; *p;) {
    const char *close = *p == '{' ? strchr(p, '}') : NULL;
    const char *val = close ? var_value(vars, p + 1, (size_t)(close - p - 1)) : NULL;
    const char *piece = val ? val : p;
    size_t n = val ? strlen(val) : 1;

    if (cap - o <= n)
      return HOP_ENOSPACE;
    memcpy(out + o, piece, n);
    o += n;
    p = val ? close + 1 : p + 1;
  }
  out[o] = '\0';
  return (int)o;
}

int hop_string_packet_encode(uint8_t *out, size_t cap, uint8_t id, const char *s, size_t len)
{
  size_t body = 1 + (size_t)hop_varint_size((int32_t)len) + len;
  size_t pos;

  if (len > HOP_FRAME_BYTES_MAX || body > HOP_FRAME_BYTES_MAX ||
      cap < (size_t)hop_varint_size((int32_t)body) + body)
    return HOP_ENOSPACE;
  pos = (size_t)hop_varint_encode(out, (int32_t)body);
  out[pos++] = id;
  pos += (size_t)hop_varint_encode(out + pos, (int32_t)len);
  memcpy(out + pos, s, len);
  return (int)(pos + len);
}

int hop_disconnect_encode(uint8_t *out, size_t cap, const char *reason, size_t reason_len)
{
  char json[HOP_TEXT_JSON_BYTES];
  size_t pos = 0;

  memcpy(json, "{\"text\":\"", 9);
  pos = 9;
  if (hop_json_escape(json, sizeof json - 2, &pos, reason, reason_len))
    return HOP_ENOSPACE;
  json[pos++] = '"';
  json[pos++] = '}';
  return hop_string_packet_encode(out, cap, 0x00, json, pos);
}
