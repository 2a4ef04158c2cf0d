/* Helpers shared by the unit tests: a byte builder with its own VarInt encoder (written apart
 * from src/proto, so a bug there cannot hide itself), file reading, and fixture paths. */
#ifndef HOP_TUTIL_H
#define HOP_TUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TB_CAP 16384

struct tb {
  uint8_t b[TB_CAP];
  size_t len;
};

static inline void tb_u8(struct tb *t, uint8_t v)
{
  if (t->len < TB_CAP)
    t->b[t->len++] = v;
}

static inline void tb_bytes(struct tb *t, const void *p, size_t n)
{
  const uint8_t *s = p;

  for (size_t i = 0; i < n; i++)
    tb_u8(t, s[i]);
}

static inline void tb_varint(struct tb *t, int32_t v)
{
  uint32_t u = (uint32_t)v;

  for (;;) {
    if (u < 0x80) {
      tb_u8(t, (uint8_t)u);
      return;
    }
    tb_u8(t, (uint8_t)((u & 0x7f) | 0x80));
    u >>= 7;
  }
}

static inline void tb_u16(struct tb *t, uint16_t v)
{
  tb_u8(t, (uint8_t)(v >> 8));
  tb_u8(t, (uint8_t)v);
}

static inline void tb_i64(struct tb *t, int64_t v)
{
  uint64_t u = (uint64_t)v;

  for (int i = 7; i >= 0; i--)
    tb_u8(t, (uint8_t)(u >> (8 * i)));
}

/* A VarInt-prefixed string of `n` bytes. */
static inline void tb_strn(struct tb *t, const char *s, size_t n)
{
  tb_varint(t, (int32_t)n);
  tb_bytes(t, s, n);
}

static inline void tb_str(struct tb *t, const char *s)
{
  tb_strn(t, s, strlen(s));
}

/* Appends `body` as one length-prefixed frame. */
static inline void tb_frame(struct tb *t, const struct tb *body)
{
  tb_varint(t, (int32_t)body->len);
  tb_bytes(t, body->b, body->len);
}

/* Appends a Handshake frame. */
static inline void tb_handshake(struct tb *t, int32_t protocol, const char *addr, size_t addr_len,
                                uint16_t port, int next)
{
  struct tb body = { .len = 0 };

  tb_u8(&body, 0x00);
  tb_varint(&body, protocol);
  tb_strn(&body, addr, addr_len);
  tb_u16(&body, port);
  tb_varint(&body, next);
  tb_frame(t, &body);
}

/* Decodes a VarInt with no limits checks beyond 5 bytes; returns bytes used or 0. Test-side only. */
static inline size_t tvarint(const uint8_t *p, size_t len, int32_t *out)
{
  uint32_t v = 0;

  for (size_t i = 0; i < len && i < 5; i++) {
    v |= (uint32_t)(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      *out = (int32_t)v;
      return i + 1;
    }
  }
  return 0;
}

/* Reads a whole file; returns a malloc'd buffer (at least 1 byte allocated) or NULL. */
static inline uint8_t *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;

  if (!f)
    return NULL;
  for (;;) {
    size_t got;

    if (n == cap) {
      uint8_t *nb;

      cap = cap ? cap * 2 : 4096;
      nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    got = fread(buf + n, 1, cap - n, f);
    if (got == 0)
      break;
    n += got;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* The fixtures directory: argv[1] if given, else $HOP_FIXTURES_DIR, else "fixtures". */
static inline const char *fixtures_dir(int argc, char **argv)
{
  const char *env = getenv("HOP_FIXTURES_DIR");

  if (argc > 1)
    return argv[1];
  return env ? env : "fixtures";
}

static inline uint8_t *read_fixture(const char *dir, const char *sub, const char *name,
                                    size_t *len)
{
  char path[1024];

  snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
  return read_file(path, len);
}

#endif
