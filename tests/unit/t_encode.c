/* Encoders: login Disconnect, status JSON and response, Pong, legacy kicks, templates, JSON
 * escaping, Handshake. Outputs are decoded here (cJSON for JSON) and, where a real server's
 * answer was captured, compared with it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "test.h"
#include "tutil.h"

static const char *fx_dir;

/* Decodes [len][id][string] with no bytes left over. Returns 0 or -1. */
static int decode_string_packet(const uint8_t *p, size_t len, int *id, const char **s,
                                size_t *s_len)
{
  int32_t flen = 0, slen = 0;
  size_t a = tvarint(p, len, &flen), b;

  if (!a || flen <= 0 || (size_t)flen != len - a)
    return -1;
  *id = p[a];
  b = tvarint(p + a + 1, len - a - 1, &slen);
  if (!b || slen < 0 || (size_t)slen != len - a - 1 - b)
    return -1;
  *s = (const char *)p + a + 1 + b;
  *s_len = (size_t)slen;
  return 0;
}

/* The "text" of a text component given as a JSON document, malloc'd; NULL if not one. */
static char *component_text(const char *json, size_t len)
{
  cJSON *root = cJSON_ParseWithLength(json, len);
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(root, "text");
  char *out = NULL;

  if (cJSON_IsString(text))
    out = strdup(text->valuestring);
  cJSON_Delete(root);
  return out;
}

/* ---- Disconnect ----------------------------------------------------------------------------- */

static void test_disconnect(void)
{
  static const char *const reasons[] = {
    "There is no server at play.example.com.",
    "",
    "quote \" backslash \\ slash / done",
    "new\nline\ttab\rcr \x01\x02\x1f end",
    ("\xc2\xa7" "cRed \xe2\x82\xac \xf0\x9f\x98\x80"),            /* section sign, euro, emoji */
    "{\"text\":\"injected\"}",
  };
  uint8_t out[4096];

  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++) {
    const char *r = reasons[i];
    int n, id = -1;
    const char *s;
    size_t s_len;
    char *text;

    TEST_CTX("reason %zu", i);
    n = hop_disconnect_encode(out, sizeof out, r, strlen(r));
    if (!CHECK(n > 0))
      continue;
    CHECK_EQ(0, decode_string_packet(out, (size_t)n, &id, &s, &s_len));
    CHECK_EQ(0x00, id);
    for (size_t k = 0; k < s_len; k++)
      CHECK((unsigned char)s[k] >= 0x20);                 /* control characters are escaped */
    text = component_text(s, s_len);
    CHECK_STR(r, text);
    /* Exactly one object with one key. */
    {
      cJSON *root = cJSON_ParseWithLength(s, s_len);

      CHECK(cJSON_IsObject(root) && cJSON_GetArraySize(root) == 1);
      cJSON_Delete(root);
    }
    free(text);

    /* Too small a buffer: ENOSPACE and nothing written past it. One that fits exactly works. */
    for (size_t cap = 0; cap < (size_t)n; cap++) {
      uint8_t small[4096];

      memset(small, 0xee, sizeof small);
      TEST_CTX("reason %zu cap %zu", i, cap);
      CHECK_EQ(HOP_ENOSPACE, hop_disconnect_encode(small, cap, r, strlen(r)));
      CHECK_EQ(0xee, small[cap]);
    }
    TEST_CTX("reason %zu exact cap", i);
    CHECK_EQ(n, hop_disconnect_encode(out, (size_t)n, r, strlen(r)));
  }
  TEST_CTX("%s", "");

  /* Byte for byte what real servers sent for the same reason. */
  {
    static const char *const files[] = { "1.8.9-login-disconnect.bin",
                                         "1.20.4-login-disconnect.bin",
                                         "1.21.4-login-disconnect.bin",
                                         "26.1-login-disconnect.bin" };
    static const char reason[] = "You are not whitelisted on this server!";

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      size_t len;
      uint8_t *fx = read_fixture(fx_dir, "handshakes", files[i], &len);
      int n = hop_disconnect_encode(out, sizeof out, reason, sizeof reason - 1);

      TEST_CTX("%s", files[i]);
      if (!CHECK(fx != NULL))
        continue;
      CHECK_BYTES(fx, len, out, n > 0 ? (size_t)n : 0);
      free(fx);
    }
    TEST_CTX("%s", "");
  }

  /* A long reason: the frame length needs two VarInt bytes. */
  {
    char r[400];
    int n, id;
    const char *s;
    size_t s_len;

    memset(r, 'w', sizeof r - 1);
    r[sizeof r - 1] = '\0';
    n = hop_disconnect_encode(out, sizeof out, r, strlen(r));
    CHECK(n > 0);
    CHECK_EQ(0, decode_string_packet(out, n > 0 ? (size_t)n : 0, &id, &s, &s_len));
    CHECK(out[0] & 0x80);
  }
}

/* ---- Status --------------------------------------------------------------------------------- */

static void check_status_json(const char *json, size_t len, const char *version_name,
                              const char *motd, int protocol, int max)
{
  cJSON *root = cJSON_ParseWithLength(json, len);
  const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
  const cJSON *players = cJSON_GetObjectItemCaseSensitive(root, "players");
  const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
  const cJSON *v;

  if (!CHECK(cJSON_IsObject(root))) {
    printf("# json: %.*s\n", (int)len, json);
    return;
  }
  v = cJSON_GetObjectItemCaseSensitive(version, "name");
  CHECK(cJSON_IsString(v) && strcmp(v->valuestring, version_name) == 0);
  v = cJSON_GetObjectItemCaseSensitive(version, "protocol");
  CHECK(cJSON_IsNumber(v) && v->valuedouble == protocol);
  v = cJSON_GetObjectItemCaseSensitive(players, "max");
  CHECK(cJSON_IsNumber(v) && v->valuedouble == max);
  v = cJSON_GetObjectItemCaseSensitive(players, "online");
  CHECK(cJSON_IsNumber(v) && v->valuedouble == 0);
  if (cJSON_IsString(desc)) {
    CHECK_STR(motd, desc->valuestring);
  } else {
    v = cJSON_GetObjectItemCaseSensitive(desc, "text");
    CHECK(cJSON_IsString(v));
    CHECK_STR(motd, cJSON_IsString(v) ? v->valuestring : NULL);
  }
  cJSON_Delete(root);
}

static void test_status(void)
{
  static const char *const motds[] = {
    ("\xc2\xa7" "cNo server at play.example.com"),
    "",
    "two\nlines \"quoted\" back\\slash \x7f \x01",
  };
  static const int32_t protocols[] = { 5, 47, 765, 775, -1, 2147483647 };
  char json[2048];
  uint8_t out[4096];

  for (size_t m = 0; m < sizeof motds / sizeof motds[0]; m++) {
    for (size_t p = 0; p < sizeof protocols / sizeof protocols[0]; p++) {
      int n, f, id = -1;
      const char *s;
      size_t s_len;

      TEST_CTX("motd %zu protocol %d", m, (int)protocols[p]);
      n = hop_status_json(json, sizeof json, "hopper \"1\"", motds[m], strlen(motds[m]),
                          protocols[p], 20);
      if (!CHECK(n > 0))
        continue;
      check_status_json(json, (size_t)n, "hopper \"1\"", motds[m], (int)protocols[p], 20);

      f = hop_status_response_encode(out, sizeof out, json, (size_t)n);
      CHECK(f > n);
      CHECK_EQ(0, decode_string_packet(out, f > 0 ? (size_t)f : 0, &id, &s, &s_len));
      CHECK_EQ(0x00, id);
      CHECK_BYTES(json, (size_t)n, s, s_len);

      /* Exactly enough room works; less is ENOSPACE without writing past the end. */
      CHECK_EQ(n, hop_status_json(json, (size_t)n, "hopper \"1\"", motds[m], strlen(motds[m]),
                                  protocols[p], 20));
      for (size_t cap = 0; cap < (size_t)n; cap++) {
        char small[2048];

        memset(small, 0x7e, sizeof small);
        TEST_CTX("motd %zu protocol %d cap %zu", m, (int)protocols[p], cap);
        CHECK_EQ(HOP_ENOSPACE, hop_status_json(small, cap, "hopper \"1\"", motds[m],
                                               strlen(motds[m]), protocols[p], 20));
        CHECK_EQ(0x7e, small[cap]);
      }
    }
  }
  TEST_CTX("%s", "");

  /* The MOTD length is honoured (no strlen on it). */
  {
    int n = hop_status_json(json, sizeof json, "v", "abcdef", 3, 47, 0);

    CHECK(n > 0);
    check_status_json(json, n > 0 ? (size_t)n : 0, "v", "abc", 47, 0);
  }

  /* The captured answers decode with the same decoder (a check of the check). */
  {
    static const char *const files[] = { "1.8.9-status-response.bin",
                                         "1.20.4-status-response.bin",
                                         "26.1-status-response.bin" };

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
      size_t len, s_len;
      uint8_t *fx = read_fixture(fx_dir, "handshakes", files[i], &len);
      const char *s;
      int id;
      cJSON *root;

      TEST_CTX("%s", files[i]);
      if (!CHECK(fx != NULL))
        continue;
      CHECK_EQ(0, decode_string_packet(fx, len, &id, &s, &s_len));
      CHECK_EQ(0, id);
      root = cJSON_ParseWithLength(s, s_len);
      CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "version")));
      cJSON_Delete(root);
      free(fx);
    }
    TEST_CTX("%s", "");
  }

  /* Status response exact capacity. */
  {
    static const char doc[] = "{\"a\":1}";
    int n = hop_status_response_encode(out, sizeof out, doc, sizeof doc - 1);

    CHECK_EQ(2 + 1 + (int)sizeof doc - 1, n);
    CHECK_EQ(n, hop_status_response_encode(out, (size_t)n, doc, sizeof doc - 1));
    CHECK_EQ(HOP_ENOSPACE, hop_status_response_encode(out, (size_t)n - 1, doc, sizeof doc - 1));
  }
}

static void test_pong_and_classify(void)
{
  uint8_t out[16];
  const uint8_t want[] = { 0x09, 0x01, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
  const uint8_t want_neg[] = { 0x09, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };
  int64_t payload = 0;

  memset(out, 0xcc, sizeof out);
  CHECK_EQ(10, hop_pong_encode(out, sizeof out, 0x0102030405060708LL));
  CHECK_BYTES(want, sizeof want, out, 10);
  CHECK_EQ(0xcc, out[10]);
  CHECK_EQ(10, hop_pong_encode(out, 10, -2));
  CHECK_BYTES(want_neg, sizeof want_neg, out, 10);
  CHECK_EQ(HOP_ENOSPACE, hop_pong_encode(out, 9, 1));

  {
    struct hop_frame f = { want + 1, 9 };

    CHECK_EQ(HOP_STATUS_PING, hop_status_classify(&f, &payload));
    CHECK_EQ(0x0102030405060708LL, payload);
    f.body_len = 8;
    CHECK_EQ(HOP_ESTATUS, hop_status_classify(&f, &payload));
  }
  {
    const uint8_t req[] = { 0x00, 0x00 };
    const uint8_t other[] = { 0x02 };
    struct hop_frame f = { req, 1 };

    CHECK_EQ(HOP_STATUS_REQUEST, hop_status_classify(&f, &payload));
    f.body_len = 2;
    CHECK_EQ(HOP_ESTATUS, hop_status_classify(&f, &payload));
    f.body = other;
    f.body_len = 1;
    CHECK_EQ(HOP_ESTATUS, hop_status_classify(&f, &payload));
  }
  {
    uint8_t ping[10];
    struct hop_frame f = { ping, 10 };

    memcpy(ping, want + 1, 9);
    ping[9] = 0;
    CHECK_EQ(HOP_ESTATUS, hop_status_classify(&f, &payload));   /* a trailing byte */
  }
}

/* ---- Legacy kicks --------------------------------------------------------------------------- */

/* Decodes a kick: 0xFF, u16 character count, that many UTF-16BE units, nothing more. */
static int decode_kick(const uint8_t *p, size_t len, uint16_t *units, size_t *n)
{
  size_t count;

  if (len < 3 || p[0] != 0xff)
    return -1;
  count = (size_t)(p[1] << 8 | p[2]);
  if (len != 3 + 2 * count)
    return -1;
  for (size_t i = 0; i < count; i++)
    units[i] = (uint16_t)(p[3 + 2 * i] << 8 | p[4 + 2 * i]);
  *n = count;
  return 0;
}

/* Splits `units` at `sep` into ASCII fields (non-ASCII units become '?'; the MOTDs here are
 * ASCII). Returns the field count. */
static size_t split_units(const uint16_t *units, size_t n, uint16_t sep, char fields[8][64])
{
  size_t f = 0, k = 0;

  memset(fields, 0, 8 * 64);
  for (size_t i = 0; i < n; i++) {
    if (units[i] == sep) {
      if (++f == 8)
        return f;
      k = 0;
      continue;
    }
    if (k < 63)
      fields[f][k++] = units[i] < 0x80 ? (char)units[i] : units[i] == 0xa7 ? '$' : '?';
  }
  return f + 1;
}

static void test_legacy_kick(void)
{
  static const char *const mcs[] = { "1.8.9", "1.20.4", "1.21.4", "26.1" };
  uint16_t fx_units[512], our_units[512];
  uint8_t out[2048];

  for (size_t i = 0; i < sizeof mcs / sizeof mcs[0]; i++) {
    char name[128], fx_f[8][64], our_f[8][64];
    size_t len, fx_n, our_n, nf;
    uint8_t *fx;
    int n;

    /* FE 01 and FE 01 FA answers: "§1\0proto\0version\0motd\0online\0max". */
    for (int fa = 0; fa <= 1; fa++) {
      snprintf(name, sizeof name, "%s-legacy-fe01%s-response.bin", mcs[i],
               fa ? "fa-1.6.4" : "");
      TEST_CTX("%s", name);
      fx = read_fixture(fx_dir, "handshakes", name, &len);
      if (!CHECK(fx != NULL))
        continue;
      CHECK_EQ(0, decode_kick(fx, len, fx_units, &fx_n));
      nf = split_units(fx_units, fx_n, 0, fx_f);
      CHECK_EQ(6, nf);
      CHECK_STR("$1", fx_f[0]);
      n = hop_legacy_kick_encode(out, sizeof out, fa ? HOP_LEGACY_16 : HOP_LEGACY_14,
                                 atoi(fx_f[1]), fx_f[2], fx_f[3], atoi(fx_f[4]), atoi(fx_f[5]));
      CHECK(n > 0);
      CHECK_EQ(0, decode_kick(out, n > 0 ? (size_t)n : 0, our_units, &our_n));
      CHECK_EQ(6, split_units(our_units, our_n, 0, our_f));
      for (int k = 0; k < 6; k++)
        CHECK_STR(fx_f[k], our_f[k]);
      CHECK_BYTES(fx_units, 2 * fx_n, our_units, 2 * our_n);
      free(fx);
    }

    /* FE answer: "motd§online§max". */
    snprintf(name, sizeof name, "%s-legacy-fe-response.bin", mcs[i]);
    TEST_CTX("%s", name);
    fx = read_fixture(fx_dir, "handshakes", name, &len);
    if (!CHECK(fx != NULL))
      continue;
    CHECK_EQ(0, decode_kick(fx, len, fx_units, &fx_n));
    nf = split_units(fx_units, fx_n, 0xa7, fx_f);
    CHECK_EQ(3, nf);
    CHECK_STR("fixture server", fx_f[0]);
    n = hop_legacy_kick_encode(out, sizeof out, HOP_LEGACY_BETA, 0, "ignored", fx_f[0],
                               atoi(fx_f[1]), atoi(fx_f[2]));
    CHECK(n > 0);
    CHECK_EQ(0, decode_kick(out, n > 0 ? (size_t)n : 0, our_units, &our_n));
    CHECK_BYTES(fx_units, 2 * fx_n, our_units, 2 * our_n);
    free(fx);
  }
  TEST_CTX("%s", "");

  /* Beta clients split the answer at '§': formatting codes in the MOTD must not add fields. */
  {
    char f[8][64];
    size_t our_n;
    int n = hop_legacy_kick_encode(out, sizeof out, HOP_LEGACY_BETA, 0, "v",
                                   "\xc2\xa7" "cHello \xc2\xa7" "lWorld", 3, 20);

    CHECK(n > 0);
    CHECK_EQ(0, decode_kick(out, n > 0 ? (size_t)n : 0, our_units, &our_n));
    CHECK_EQ(3, split_units(our_units, our_n, 0xa7, f));
    CHECK_STR("3", f[1]);
    CHECK_STR("20", f[2]);
    CHECK(strstr(f[0], "Hello") != NULL && strstr(f[0], "World") != NULL);
  }

  /* UTF-8 in, UTF-16BE out, astral characters as surrogate pairs. */
  {
    /* "§eé€😀" */
    const uint16_t want[] = { 0x00a7, 0x0031, 0x0000, 0x0034, 0x0037, 0x0000, 0x0076, 0x0000,
                              0x00a7, 0x0065, 0x00e9, 0x20ac, 0xd83d, 0xde00, 0x0000,
                              0x002d, 0x0033, 0x0000, 0x0031, 0x0030 };
    size_t our_n;
    int n = hop_legacy_kick_encode(out, sizeof out, HOP_LEGACY_14, 47, "v",
                                   "\xc2\xa7" "e\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", -3, 10);

    CHECK(n > 0);
    CHECK_EQ(0, decode_kick(out, n > 0 ? (size_t)n : 0, our_units, &our_n));
    CHECK_BYTES(want, sizeof want, our_units, 2 * our_n);
  }

  /* ENOSPACE when it does not fit; exact capacity works; nothing written past cap. */
  {
    int n = hop_legacy_kick_encode(out, sizeof out, HOP_LEGACY_14, 47, "1.8.9", "motd", 0, 20);

    CHECK(n > 0);
    for (size_t cap = 0; n > 0 && cap < (size_t)n; cap++) {
      uint8_t small[256];

      memset(small, 0x3c, sizeof small);
      TEST_CTX("kick cap %zu", cap);
      CHECK_EQ(HOP_ENOSPACE, hop_legacy_kick_encode(small, cap, HOP_LEGACY_14, 47, "1.8.9",
                                                    "motd", 0, 20));
      CHECK_EQ(0x3c, small[cap]);
    }
    TEST_CTX("%s", "");
    CHECK_EQ(n, hop_legacy_kick_encode(out, n > 0 ? (size_t)n : 0, HOP_LEGACY_14, 47, "1.8.9",
                                       "motd", 0, 20));
  }
}

/* ---- Templates and escaping ----------------------------------------------------------------- */

static void test_template(void)
{
  const char *const vars[] = { "host", "play.example.com", "server", "lobby", NULL };
  const char *const evil[] = { "host", "{server}", "server", "lobby", NULL };
  char out[256];
  int n;

  n = hop_template(out, sizeof out, "There is no server at {host}.", vars);
  CHECK_STR("There is no server at play.example.com.", out);
  CHECK_EQ(strlen(out), n);
  n = hop_template(out, sizeof out, "{server}{host}{server}", vars);
  CHECK_STR("lobbyplay.example.comlobby", out);
  CHECK_EQ(strlen(out), n);
  n = hop_template(out, sizeof out, "plain text", vars);
  CHECK_STR("plain text", out);
  CHECK_EQ(10, n);
  n = hop_template(out, sizeof out, "", vars);
  CHECK_STR("", out);
  CHECK_EQ(0, n);
  n = hop_template(out, sizeof out, "open {host and {} and }", vars);
  CHECK_STR("open {host and {} and }", out);
  n = hop_template(out, sizeof out, "{{host}}", vars);
  CHECK_STR("{play.example.com}", out);
  /* A value is inserted as is, never expanded again: the host comes from the client. */
  n = hop_template(out, sizeof out, "at {host} on {server}", evil);
  CHECK_STR("at {server} on lobby", out);

  /* Capacity: the NUL needs room too. */
  n = hop_template(out, 6, "{server}", vars);
  CHECK_EQ(5, n);
  CHECK_STR("lobby", out);
  CHECK_EQ(HOP_ENOSPACE, hop_template(out, 5, "{server}", vars));
  CHECK_EQ(HOP_ENOSPACE, hop_template(out, 0, "", vars));
  CHECK_EQ(HOP_ENOSPACE, hop_template(out, 3, "abc", vars));
  CHECK_EQ(3, hop_template(out, 4, "abc", vars));
}

static void test_json_escape(void)
{
  static const char in[] = "a\"b\\c/d\ne\rf\tg\x01h\x1fi\x7fj\xc3\xa9k";
  char out[256], doc[300];
  size_t pos = 0;
  cJSON *root;

  CHECK_EQ(0, hop_json_escape(out, sizeof out, &pos, in, sizeof in - 1));
  for (size_t i = 0; i < pos; i++)
    CHECK((unsigned char)out[i] >= 0x20);
  snprintf(doc, sizeof doc, "\"%.*s\"", (int)pos, out);
  root = cJSON_Parse(doc);
  CHECK(cJSON_IsString(root));
  CHECK_STR(in, cJSON_IsString(root) ? root->valuestring : NULL);
  cJSON_Delete(root);

  /* Appends at *pos. */
  memcpy(out, "xy", 2);
  pos = 2;
  CHECK_EQ(0, hop_json_escape(out, sizeof out, &pos, "\"", 1));
  CHECK_EQ(4, pos);
  CHECK_BYTES("xy\\\"", 4, out, 4);

  /* Room for the escaped form, not the raw one. */
  pos = 0;
  CHECK_EQ(HOP_ENOSPACE, hop_json_escape(out, 5, &pos, "\x01", 1));
  pos = 0;
  CHECK_EQ(0, hop_json_escape(out, 6, &pos, "\x01", 1));
  CHECK_EQ(6, pos);
  pos = 0;
  CHECK_EQ(HOP_ENOSPACE, hop_json_escape(out, 1, &pos, "\\", 1));
  pos = 0;
  CHECK_EQ(HOP_ENOSPACE, hop_json_escape(out, 2, &pos, "abc", 3));
}

/* ---- Handshake encode ----------------------------------------------------------------------- */

static void test_handshake_encode(void)
{
  uint8_t out[1200];
  size_t len;
  uint8_t *fx = read_fixture(fx_dir, "handshakes", "1.20.4-status.bin", &len);
  int n = hop_handshake_encode(out, sizeof out, 765, "play.example.com", 16, 25565,
                               HOP_INTENT_STATUS);

  /* The captured client's Handshake is the first 24 bytes of its status opening. */
  if (CHECK(fx != NULL))
    CHECK_BYTES(fx, 24, out, n > 0 ? (size_t)n : 0);
  free(fx);

  /* Round trip through the parser, with a NUL in the address and a 2-byte length. */
  {
    char addr[300];
    struct hop_frame f;
    struct hop_handshake hs;

    memset(addr, 'q', sizeof addr);
    memcpy(addr, "Mc.Example.NET\0FML2\0", 20);
    n = hop_handshake_encode(out, sizeof out, 47, addr, sizeof addr, 25577, HOP_INTENT_LOGIN);
    CHECK(n > 0);
    CHECK_EQ(n, hop_frame_parse(out, n > 0 ? (size_t)n : 0, 4096, &f));
    CHECK_EQ(0, hop_handshake_parse(&f, 1024, &hs));
    CHECK_EQ(47, hs.protocol);
    CHECK_EQ(25577, hs.port);
    CHECK_EQ(HOP_INTENT_LOGIN, hs.intent);
    CHECK_BYTES(addr, sizeof addr, hs.address.ptr, hs.address.len);
    CHECK_MEM("mc.example.net", hs.host, hs.host_len);
    CHECK_EQ(HOP_ENOSPACE, hop_handshake_encode(out, 10, 47, addr, sizeof addr, 1,
                                                HOP_INTENT_LOGIN));
  }
}

int main(int argc, char **argv)
{
  fx_dir = fixtures_dir(argc, argv);
  test_disconnect();
  test_status();
  test_pong_and_classify();
  test_legacy_kick();
  test_template();
  test_json_escape();
  test_handshake_encode();
  return TEST_DONE();
}
