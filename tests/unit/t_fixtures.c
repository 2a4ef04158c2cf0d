/* Every serverbound fixture in fixtures/handshakes/manifest.json through hop_peek_feed, at every
 * split point: the answer must not depend on how TCP split the bytes. Each prefix is also parsed
 * flush against a guard page, so a read past the bytes given faults even without a sanitizer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "hop/conn.h"
#include "hop/err.h"
#include "hop/peek.h"
#include "hop/proto.h"
#include "test.h"
#include "tutil.h"

/* ---- Guarded buffers ------------------------------------------------------------------------ */

struct guarded {
  uint8_t *map;
  size_t map_len;
  uint8_t *p;                          /* p + len is the first byte of a PROT_NONE page */
};

static int guarded_alloc(struct guarded *g, const uint8_t *bytes, size_t len)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t data_pages = (len + page - 1) / page;

  g->map_len = (data_pages + 1) * page;
  g->map = mmap(NULL, g->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g->map == MAP_FAILED)
    return -1;
  if (mprotect(g->map + data_pages * page, page, PROT_NONE) != 0)
    return -1;
  g->p = g->map + data_pages * page - len;
  if (len)
    memcpy(g->p, bytes, len);
  return 0;
}

static void guarded_free(struct guarded *g)
{
  munmap(g->map, g->map_len);
}

/* ---- Expectations --------------------------------------------------------------------------- */

enum kind { K_ROUTE, K_LEGACY_AMBIGUOUS, K_LEGACY_16, K_ERROR, K_NEVER };

struct expect {
  const char *file;
  enum kind kind;
  int result;                          /* K_ROUTE: DONE; K_ERROR: the code */
  int protocol;
  enum hop_intent intent;
  char *address;                       /* raw, NULs restored */
  size_t address_len;
  const char *route_host;
  int port;
  const char *username;                /* NULL for status */
  const char *uuid;                    /* NULL when the Login Start carries none */
  enum hop_legacy_form legacy_form;
  size_t hs_end;                       /* K_ROUTE: bytes of the Handshake frame */
  size_t decided_by;                   /* K_ERROR: the error must be known with this many bytes */
};

struct malformed {
  const char *file;
  int err;                             /* 0 = never decided (MORE) */
  size_t decided_by;                   /* 0 = only with every byte */
};

static const struct malformed malformed[] = {
  { "malformed-varint-6-bytes.bin",          HOP_EVARINT,   5 },
  { "malformed-negative-length.bin",         HOP_EFRAMELEN, 5 },
  { "malformed-zero-length.bin",             HOP_EFRAMELEN, 1 },
  { "malformed-length-2097152.bin",          HOP_EFRAMEBIG, 4 },
  { "malformed-first-packet-id-1.bin",       HOP_ENOTHS,    0 },
  { "malformed-handshake-short-frame.bin",   HOP_ESHORT,    0 },
  { "malformed-handshake-trailing-bytes.bin", HOP_ETRAILING, 0 },
  { "malformed-next-state-7.bin",            HOP_ESTATE,    24 },
  { "malformed-address-300.bin",             HOP_EADDRESS,  310 },
  { "malformed-truncated-handshake.bin",     0,             0 },
  { "empty.bin",                             0,             0 },
};

static const char *jstr(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jint(const cJSON *o, const char *key, int dflt)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

  return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/* ---- The split-point checks ----------------------------------------------------------------- */

static int prefix_ok(const struct expect *e, size_t cut, size_t len, int r,
                     const struct hop_peek *pk)
{
  switch (e->kind) {
  case K_ROUTE:
    if (e->intent == HOP_INTENT_STATUS && cut >= e->hs_end)
      return r == HOP_PEEK_DONE;
    if (cut == len)
      return r == HOP_PEEK_DONE;
    return r == HOP_PEEK_MORE && pk->have_handshake == (cut >= e->hs_end);
  case K_LEGACY_AMBIGUOUS:
  case K_LEGACY_16:
    if (e->kind == K_LEGACY_16 && cut == len)
      return r == HOP_PEEK_LEGACY;
    if (r != HOP_PEEK_MORE || pk->have_handshake)
      return 0;
    if (cut == 0)
      return 1;
    /* FE alone is a Beta ping, FE 01 a 1.4 ping, if the client now falls silent. */
    if (cut <= 2)
      return pk->legacy_pending &&
             pk->legacy.form == (cut == 1 ? HOP_LEGACY_BETA : HOP_LEGACY_14);
    return !pk->legacy_pending;
  case K_ERROR:
    if (cut >= e->decided_by)
      return r == e->result;
    return r == HOP_PEEK_MORE || r == e->result;
  case K_NEVER:
    return r == HOP_PEEK_MORE && !pk->have_handshake;
  }
  return 0;
}

static void check_final(const struct expect *e, const uint8_t *buf, size_t len, int r,
                        const struct hop_peek *pk)
{
  switch (e->kind) {
  case K_ROUTE: {
    char uuid[37];

    CHECK_EQ(HOP_PEEK_DONE, r);
    CHECK_EQ(1, pk->have_handshake);
    CHECK_EQ(e->protocol, pk->hs.protocol);
    CHECK_EQ(e->intent, pk->hs.intent);
    CHECK_BYTES(e->address, e->address_len, pk->hs.address.ptr, pk->hs.address.len);
    CHECK((const uint8_t *)pk->hs.address.ptr > buf &&
          (const uint8_t *)pk->hs.address.ptr + pk->hs.address.len <= buf + len);
    CHECK_MEM(e->route_host, pk->hs.host, pk->hs.host_len);
    CHECK_EQ(strlen(e->route_host), strlen(pk->hs.host));    /* NUL-terminated at host_len */
    CHECK_EQ(e->port, pk->hs.port);
    if (e->intent == HOP_INTENT_STATUS) {
      CHECK_EQ(0, pk->have_login);
      CHECK_EQ(e->hs_end, pk->pos);
      break;
    }
    CHECK_EQ(1, pk->have_login);
    CHECK_EQ(len, pk->pos);
    if (e->username) {
      CHECK_MEM(e->username, pk->login.name.ptr, pk->login.name.len);
      CHECK((const uint8_t *)pk->login.name.ptr > buf + e->hs_end &&
            (const uint8_t *)pk->login.name.ptr + pk->login.name.len <= buf + len);
    }
    CHECK_EQ(e->uuid != NULL, pk->login.has_uuid);
    if (e->uuid && pk->login.has_uuid) {
      hop_uuid_format(pk->login.uuid, uuid);
      CHECK_STR(e->uuid, uuid);
    }
    break;
  }
  case K_LEGACY_AMBIGUOUS: {
    struct hop_peek copy = *pk;

    CHECK_EQ(HOP_PEEK_MORE, r);
    CHECK_EQ(1, pk->legacy_pending);
    CHECK_EQ(0, pk->have_handshake);
    CHECK_EQ(e->legacy_form, pk->legacy.form);
    CHECK_EQ(len, pk->legacy.bytes);
    CHECK_EQ(HOP_PEEK_LEGACY, hop_peek_settle(&copy));
    CHECK_EQ(e->legacy_form, copy.legacy.form);
    CHECK_EQ(0, copy.legacy.host_len);
    break;
  }
  case K_LEGACY_16:
    CHECK_EQ(HOP_PEEK_LEGACY, r);
    CHECK_EQ(0, pk->have_handshake);
    CHECK_EQ(HOP_LEGACY_16, pk->legacy.form);
    CHECK_EQ(e->protocol, pk->legacy.protocol);
    CHECK_EQ(e->port, pk->legacy.port);
    CHECK_MEM(e->route_host, pk->legacy.host, pk->legacy.host_len);
    CHECK_EQ(len, pk->legacy.bytes);
    break;
  case K_ERROR:
    CHECK_EQ(e->result, r);
    break;
  case K_NEVER: {
    struct hop_peek copy = *pk;

    CHECK_EQ(HOP_PEEK_MORE, r);
    CHECK_EQ(0, pk->legacy_pending);
    CHECK_EQ(HOP_PEEK_MORE, hop_peek_settle(&copy));   /* silence does not make it legacy */
    break;
  }
  }
}

static void run_fixture(const struct expect *e, const uint8_t *bytes, size_t len)
{
  struct guarded whole;
  size_t first_err = SIZE_MAX;

  if (guarded_alloc(&whole, bytes, len) != 0) {
    CHECK(!"mmap");
    return;
  }

  /* 1. Split once at every offset: feed the prefix, then everything. */
  for (size_t cut = 0; cut <= len; cut++) {
    struct hop_peek pk;
    int r1, r2;

    TEST_CTX("%s: cut %zu of %zu", e->file, cut, len);
    hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
    r1 = hop_peek_feed(&pk, whole.p, cut);
    CHECK(prefix_ok(e, cut, len, r1, &pk));
    if (r1 < 0) {
      if (first_err == SIZE_MAX)
        first_err = cut;
      continue;                        /* final: the caller stops feeding */
    }
    CHECK(first_err == SIZE_MAX);      /* once refused, a longer prefix is refused too */
    if (e->kind == K_LEGACY_16 && r1 == HOP_PEEK_LEGACY)
      continue;
    r2 = hop_peek_feed(&pk, whole.p, len);
    check_final(e, whole.p, len, r2, &pk);
  }

  /* 2. Byte-by-byte growth on one parser. */
  {
    struct hop_peek pk;
    int r = HOP_PEEK_MORE;

    hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
    for (size_t k = 0; k <= len; k++) {
      TEST_CTX("%s: growing, %zu of %zu", e->file, k, len);
      r = hop_peek_feed(&pk, whole.p, k);
      CHECK(prefix_ok(e, k, len, r, &pk));
      if (r < 0 || r == HOP_PEEK_LEGACY)
        break;
    }
    TEST_CTX("%s: growing, final", e->file);
    check_final(e, whole.p, len, r, &pk);
  }

  /* 3. Every prefix alone, flush against the guard page. */
  for (size_t cut = 0; cut <= len; cut++) {
    struct guarded g;
    struct hop_peek pk;
    int r;

    TEST_CTX("%s: guarded prefix %zu of %zu", e->file, cut, len);
    if (guarded_alloc(&g, bytes, cut) != 0) {
      CHECK(!"mmap");
      break;
    }
    hop_peek_init(&pk, HOP_PREREAD_BYTES_MAX, HOP_ADDRESS_BYTES_MAX);
    r = hop_peek_feed(&pk, g.p, cut);
    CHECK(prefix_ok(e, cut, len, r, &pk));
    /* Feeding the same bytes again changes nothing. */
    if (r >= 0 && r != HOP_PEEK_LEGACY)
      CHECK_EQ(r, hop_peek_feed(&pk, g.p, cut));
    guarded_free(&g);
  }

  if (e->kind == K_ERROR)
    CHECK(first_err != SIZE_MAX && first_err <= (e->decided_by ? e->decided_by : len));
  guarded_free(&whole);
  TEST_CTX("%s", "");
}

/* ---- Manifest ------------------------------------------------------------------------------- */

/* cJSON strings are NUL-terminated, so "\u0000" inside server_address would cut it short. The
 * manifest has no U+0001, so it stands in for NUL while parsing and is turned back afterwards. */
static char *manifest_text(const char *dir, size_t *len)
{
  char *text = (char *)read_fixture(dir, "handshakes", "manifest.json", len);

  if (!text)
    return NULL;
  text = realloc(text, *len + 1);
  text[*len] = '\0';
  if (strstr(text, "\\u0001"))
    return NULL;
  for (char *p = text; (p = strstr(p, "\\u0000")) != NULL; p += 6)
    p[5] = '1';
  return text;
}

static int fill_expect(struct expect *e, const cJSON *f, const uint8_t *bytes, size_t len)
{
  const char *intent = jstr(f, "intent");
  const char *addr = jstr(f, "server_address");
  int32_t flen;
  size_t hlen;

  memset(e, 0, sizeof *e);
  e->file = jstr(f, "file");
  if (!intent || !e->file)
    return -1;
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    if (strcmp(malformed[i].file, e->file) == 0) {
      e->kind = malformed[i].err ? K_ERROR : K_NEVER;
      e->result = malformed[i].err;
      e->decided_by = malformed[i].decided_by ? malformed[i].decided_by : len;
      return 0;
    }
  }
  if (strcmp(intent, "malformed") == 0 || strcmp(intent, "empty") == 0)
    return -1;                         /* a new malformed fixture needs a row above */
  if (strcmp(intent, "legacy") == 0) {
    const char *form = jstr(f, "legacy_form");

    if (!form)
      return -1;
    if (strcmp(form, "1.6") == 0) {
      e->kind = K_LEGACY_16;
      e->protocol = jint(f, "protocol", -1);
      e->port = jint(f, "server_port", -1);
      e->route_host = jstr(f, "route_host");
      return e->route_host ? 0 : -1;
    }
    e->kind = K_LEGACY_AMBIGUOUS;
    e->legacy_form = len == 1 ? HOP_LEGACY_BETA : HOP_LEGACY_14;
    return 0;
  }
  e->kind = K_ROUTE;
  e->result = HOP_PEEK_DONE;
  e->intent = strcmp(intent, "status") == 0 ? HOP_INTENT_STATUS
            : strcmp(intent, "login") == 0 ? HOP_INTENT_LOGIN
            : strcmp(intent, "transfer") == 0 ? HOP_INTENT_TRANSFER : HOP_INTENT_NONE;
  if (e->intent == HOP_INTENT_NONE || !addr)
    return -1;
  e->protocol = jint(f, "protocol", -1);
  e->port = jint(f, "server_port", -1);
  e->route_host = jstr(f, "route_host");
  e->username = jstr(f, "username");
  e->uuid = jstr(f, "uuid");
  e->address_len = strlen(addr);
  e->address = malloc(e->address_len + 1);
  for (size_t i = 0; i <= e->address_len; i++)
    e->address[i] = addr[i] == 0x01 ? '\0' : addr[i];
  hlen = tvarint(bytes, len, &flen);
  if (!hlen || !e->route_host)
    return -1;
  e->hs_end = hlen + (size_t)flen;
  return 0;
}

int main(int argc, char **argv)
{
  const char *dir = fixtures_dir(argc, argv);
  size_t text_len, seen = 0, seen_malformed = 0, seen_legacy = 0;
  char *text = manifest_text(dir, &text_len);
  cJSON *root, *files, *f;

  if (!CHECK(text != NULL)) {
    printf("# cannot read %s/handshakes/manifest.json\n", dir);
    return TEST_DONE();
  }
  root = cJSON_Parse(text);
  files = cJSON_GetObjectItemCaseSensitive(root, "files");
  if (!CHECK(cJSON_IsArray(files)))
    return TEST_DONE();

  cJSON_ArrayForEach(f, files) {
    const char *dirn = jstr(f, "direction");
    const char *file = jstr(f, "file");
    struct expect e;
    uint8_t *bytes;
    size_t len;

    if (!dirn || strcmp(dirn, "serverbound") != 0)
      continue;
    bytes = read_fixture(dir, "handshakes", file, &len);
    TEST_CTX("%s", file ? file : "?");
    if (!CHECK(bytes != NULL))
      continue;
    CHECK_EQ(jint(f, "bytes", -1), len);
    if (!CHECK(fill_expect(&e, f, bytes, len) == 0)) {
      free(bytes);
      continue;
    }
    seen++;
    seen_malformed += e.kind == K_ERROR || e.kind == K_NEVER;
    seen_legacy += e.kind == K_LEGACY_16 || e.kind == K_LEGACY_AMBIGUOUS;
    run_fixture(&e, bytes, len);
    free(e.address);
    free(bytes);
  }
  /* The suite is only as good as its coverage of the manifest. */
  CHECK(seen >= 50);
  CHECK_EQ(sizeof malformed / sizeof malformed[0], seen_malformed);
  CHECK_EQ(4, seen_legacy);
  printf("# %zu serverbound fixtures\n", seen);
  cJSON_Delete(root);
  free(text);
  return TEST_DONE();
}
