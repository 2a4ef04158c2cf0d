/* Pre-Netty server-list pings and their kick (0xFF) answers, all in UTF-16BE.
 *   Beta 1.8 - 1.3: FE
 *   1.4 - 1.5:      FE 01
 *   1.6:            FE 01 FA, u16 11, "MC|PingHost", u16 rest, u8 protocol, u16 n, host[n], i32 port
 * FE and FE 01 are also how a modern frame of 254 bytes or more begins, so they count as a legacy
 * ping only when the client falls silent after them (the caller's settle timer decides). */
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "hop/route.h"

#define PING_HOST_CHARS_MAX 255

static const char ping_host_channel[] = "MC|PingHost";

static uint16_t u16_at(const uint8_t *p)
{
  return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parses the 1.6 form; p[0..2] are FE 01 FA. */
static int scan_16(const uint8_t *p, size_t len, struct hop_legacy *out)
{
  size_t chan_len = sizeof ping_host_channel - 1;
  size_t head = 3 + 2 + 2 * chan_len + 2;     /* up to and including the data length */
  size_t data_len, host_chars;
  char raw[PING_HOST_CHARS_MAX];
  int n;

  if (len >= 5 && u16_at(p + 3) != chan_len)
    return HOP_ELEGACY;
  for (size_t i = 0; i < chan_len && 5 + 2 * i + 1 < len; i++)
    if (p[5 + 2 * i] != 0 || p[6 + 2 * i] != (uint8_t)ping_host_channel[i])
      return HOP_ELEGACY;
  if (len < head + 3)
    return HOP_LEGACY_MORE;
  data_len = u16_at(p + head - 2);
  host_chars = u16_at(p + head + 1);
  if (host_chars > PING_HOST_CHARS_MAX || data_len != 7 + 2 * host_chars)
    return HOP_ELEGACY;
  if (len < head + data_len)
    return HOP_LEGACY_MORE;

  for (size_t i = 0; i < host_chars; i++) {
    uint16_t c = u16_at(p + head + 3 + 2 * i);

    raw[i] = c < 0x80 ? (char)c : '?';       /* never routable, but not malformed either */
  }
  n = hop_host_normalize(raw, host_chars, out->host, sizeof out->host);
  if (n < 0)
    return HOP_ELEGACY;
  out->host_len = (size_t)n;
  out->form = HOP_LEGACY_16;
  out->protocol = p[head];
  out->port = u16_at(p + head + 3 + 2 * host_chars + 2);   /* low half of the i32 */
  out->bytes = head + data_len;
  return HOP_LEGACY_YES;
}

int hop_legacy_scan(const uint8_t *p, size_t len, struct hop_legacy *out)
{
  memset(out, 0, sizeof *out);
  if (len == 1 || (len == 2 && p[1] == 0x01)) {
    out->form = len == 1 ? HOP_LEGACY_BETA : HOP_LEGACY_14;
    out->bytes = len;
    return HOP_LEGACY_AMBIGUOUS;
  }
  if (p[1] != 0x01 || p[2] != 0xfa)
    return HOP_LEGACY_NO;              /* a modern frame whose length begins with 0xFE */
  return scan_16(p, len, out);
}

/* ---- Kick encoding -------------------------------------------------------------------------- */

struct utf16_out {
  uint8_t *p;
  size_t cap, len;                     /* bytes */
  int overflow;
};

static void put_unit(struct utf16_out *o, uint32_t u)
{
  if (o->cap - o->len < 2) {
    o->overflow = 1;
    return;
  }
  o->p[o->len++] = (uint8_t)(u >> 8);
  o->p[o->len++] = (uint8_t)u;
}

/* Appends UTF-8 `s` as UTF-16BE; invalid bytes become U+FFFD. */
static void put_utf8(struct utf16_out *o, const char *s, size_t len)
{
  for (size_t i = 0; i < len;) {
    uint8_t c = (uint8_t)s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);

    if (n == 0 || i + n > len) {
      put_unit(o, 0xfffd);
      i++;
      continue;
    }
    for (size_t k = 1; k < n; k++)
      cp = cp << 6 | ((uint8_t)s[i + k] & 0x3fu);
    i += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put_unit(o, 0xd800 | (cp >> 10));
      put_unit(o, 0xdc00 | (cp & 0x3ff));
    } else {
      put_unit(o, cp);
    }
  }
}

static void put_str(struct utf16_out *o, const char *s)
{
  put_utf8(o, s, strlen(s));
}

static void put_int(struct utf16_out *o, int32_t v)
{
  char buf[16];
  size_t n = 0;
  uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;

  do {
    buf[sizeof buf - 1 - n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    buf[sizeof buf - 1 - n++] = '-';
  put_utf8(o, buf + sizeof buf - n, n);
}

/* Beta clients split the answer at '§', so the MOTD loses its formatting codes ("§c"). */
static void put_beta_motd(struct utf16_out *o, const char *motd)
{
  const char *p = motd, *mark;

  while ((mark = strstr(p, "\xc2\xa7")) != NULL) {
    put_utf8(o, p, (size_t)(mark - p));
    p = mark + 2;
    if (*p)
      p++;                     /* the code letter after the mark (ASCII in practice) */
  }
  put_str(o, p);
}

int hop_legacy_kick_encode(uint8_t *out, size_t cap, enum hop_legacy_form form, int32_t protocol,
                           const char *version, const char *motd, int32_t online, int32_t max)
{
  struct utf16_out o = { out, cap, 3, 0 };
  size_t units;

  if (cap < 3)
    return HOP_ENOSPACE;
  if (form == HOP_LEGACY_BETA) {
    put_beta_motd(&o, motd);
    put_str(&o, "\xc2\xa7");
    put_int(&o, online);
    put_str(&o, "\xc2\xa7");
    put_int(&o, max);
  } else {
    put_str(&o, "\xc2\xa7" "1");
    put_unit(&o, 0);
    put_int(&o, protocol);
    put_unit(&o, 0);
    put_str(&o, version);
    put_unit(&o, 0);
    put_str(&o, motd);
    put_unit(&o, 0);
    put_int(&o, online);
    put_unit(&o, 0);
    put_int(&o, max);
  }
  units = (o.len - 3) / 2;
  if (o.overflow || units > 0xffff)
    return HOP_ENOSPACE;
  out[0] = 0xff;
  out[1] = (uint8_t)(units >> 8);
  out[2] = (uint8_t)units;
  return (int)o.len;
}
