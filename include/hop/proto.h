/* Sans-IO Minecraft protocol: the few unencrypted, uncompressed packets a gateway reads and writes.
 * No libuv, no malloc, no clock. Parsed fields point into the caller's buffer.
 *
 * Item parsers return > 0 bytes consumed, 0 when more input is needed, or a negative HOP_E* code.
 * Encoders write into a caller buffer and return the bytes written or HOP_ENOSPACE. */
#ifndef HOP_PROTO_H
#define HOP_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define HOP_VARINT_BYTES_MAX   5
#define HOP_FRAME_BYTES_MAX    2097151     /* a 3-byte length prefix is the protocol's limit */
#define HOP_HOST_BYTES_MAX     253         /* a DNS name, after normalisation */
#define HOP_NAME_CHARS_MAX     16          /* player name, in characters */
#define HOP_NAME_BYTES_MAX     64          /* 16 characters of up to 4 UTF-8 bytes each */
#define HOP_TEXT_JSON_BYTES    4096        /* one player-facing text as a JSON component */

enum hop_intent { HOP_INTENT_NONE = 0, HOP_INTENT_STATUS = 1, HOP_INTENT_LOGIN = 2,
                  HOP_INTENT_TRANSFER = 3, HOP_INTENT_LEGACY = 4 };

const char *hop_intent_name(enum hop_intent intent);

/* ---- VarInt ---------------------------------------------------------------------------------- */

/* Returns bytes consumed (1..5), 0 if more input is needed, or HOP_EVARINT. */
int hop_varint_decode(const uint8_t *p, size_t len, int32_t *out);

/* Writes 1..5 bytes to `out` (which must hold 5); returns the count. */
int hop_varint_encode(uint8_t *out, int32_t v);

/* Bytes hop_varint_encode would write. */
int hop_varint_size(int32_t v);

/* ---- Reader: bounds-checked cursor over one packet body --------------------------------------- */

struct hop_reader {
  const uint8_t *p;
  size_t len;
  size_t pos;
};

struct hop_str {
  const char *ptr;             /* into the packet; not NUL-terminated */
  size_t len;                  /* bytes */
};

static inline struct hop_reader hop_reader_make(const uint8_t *p, size_t len)
{
  struct hop_reader r = { p, len, 0 };
  return r;
}

/* Each returns 0 or HOP_ESHORT (HOP_EVARINT, HOP_ESTRING where named). */
int hop_read_varint(struct hop_reader *r, int32_t *out);
int hop_read_u8(struct hop_reader *r, uint8_t *out);
int hop_read_u16(struct hop_reader *r, uint16_t *out);
int hop_read_i64(struct hop_reader *r, int64_t *out);
int hop_read_bytes(struct hop_reader *r, size_t n, const uint8_t **out);
/* A VarInt-prefixed UTF-8 string of at most `bytes_max` bytes; HOP_ESTRING beyond it. */
int hop_read_string(struct hop_reader *r, size_t bytes_max, struct hop_str *out);

/* ---- Frames ---------------------------------------------------------------------------------- */

struct hop_frame {
  const uint8_t *body;         /* packet id and fields */
  size_t body_len;
};

/* Parses one length-prefixed, uncompressed frame whose length must not exceed `body_max`.
 * Returns header + body bytes consumed, 0 if more input is needed, HOP_EVARINT, HOP_EFRAMELEN
 * (zero or negative), or HOP_EFRAMEBIG (over `body_max` or over HOP_FRAME_BYTES_MAX). A length
 * that is already too big is refused at once, before its body arrives. */
int hop_frame_parse(const uint8_t *p, size_t len, size_t body_max, struct hop_frame *out);

/* ---- Handshake ------------------------------------------------------------------------------- */

struct hop_handshake {
  int32_t protocol;
  struct hop_str address;      /* raw, exactly as sent (Forge markers, TCPShield tails and all) */
  uint16_t port;
  enum hop_intent intent;      /* STATUS, LOGIN or TRANSFER */
  char host[HOP_HOST_BYTES_MAX + 1];   /* normalised for routing, NUL-terminated */
  size_t host_len;
};

/* Parses a Handshake frame body (packet id 0x00). The raw address may be up to
 * `address_bytes_max` bytes; its normalised form must fit HOP_HOST_BYTES_MAX.
 * Returns 0, or HOP_ENOTHS, HOP_ESHORT, HOP_ETRAILING, HOP_ESTATE, HOP_EADDRESS, HOP_EVARINT. */
int hop_handshake_parse(const struct hop_frame *f, size_t address_bytes_max,
                        struct hop_handshake *out);

/* Encodes a Handshake frame. Returns bytes written or HOP_ENOSPACE. */
int hop_handshake_encode(uint8_t *out, size_t cap, int32_t protocol, const char *address,
                         size_t address_len, uint16_t port, enum hop_intent intent);

/* ---- Login Start ----------------------------------------------------------------------------- */

struct hop_login {
  struct hop_str name;
  int has_uuid;
  uint8_t uuid[16];
};

/* Parses a Login Start frame body for `protocol`'s layout:
 *   <= 758 name | 759 name, signature? | 760 name, signature?, uuid? | 761-763 name, uuid? |
 *   >= 764 name, uuid.
 * Returns 0, or HOP_ELOGIN (wrong id, bad name, fields that do not fit or trail). */
int hop_login_parse(const struct hop_frame *f, int32_t protocol, struct hop_login *out);

/* Formats a UUID as 36 characters plus NUL into `out`. */
void hop_uuid_format(const uint8_t uuid[16], char out[37]);

/* ---- Status ---------------------------------------------------------------------------------- */

enum hop_status_packet { HOP_STATUS_REQUEST = 1, HOP_STATUS_PING = 2 };

/* Classifies a status-state frame: returns HOP_STATUS_REQUEST, HOP_STATUS_PING (payload in
 * `*ping_payload`) or HOP_ESTATUS. */
int hop_status_classify(const struct hop_frame *f, int64_t *ping_payload);

/* Encodes a Status Response frame carrying `json` (already a JSON document). */
int hop_status_response_encode(uint8_t *out, size_t cap, const char *json, size_t json_len);

/* Encodes a Pong frame. */
int hop_pong_encode(uint8_t *out, size_t cap, int64_t payload);

/* Writes the status JSON hopper answers with: version.name `version_name` with version.protocol
 * echoing the client's `protocol` (so the list shows it as compatible), players 0/`players_max`,
 * and the MOTD as a text component. Returns bytes written (no NUL) or HOP_ENOSPACE. */
int hop_status_json(char *out, size_t cap, const char *version_name, const char *motd,
                    size_t motd_len, int32_t protocol, int32_t players_max);

/* Encodes a frame holding packet `id` and one VarInt-prefixed string. */
int hop_string_packet_encode(uint8_t *out, size_t cap, uint8_t id, const char *s, size_t len);

/* ---- Login Disconnect ------------------------------------------------------------------------ */

/* Encodes a login-state Disconnect (0x00) whose reason is the JSON text component
 * {"text":"<reason>"}: the form every protocol version accepts in the login state. */
int hop_disconnect_encode(uint8_t *out, size_t cap, const char *reason, size_t reason_len);

/* ---- Text ------------------------------------------------------------------------------------ */

/* Appends `s` to out[*pos..cap) as the inside of a JSON string (quotes not included).
 * Returns 0 or HOP_ENOSPACE. */
int hop_json_escape(char *out, size_t cap, size_t *pos, const char *s, size_t len);

/* Copies `tmpl` to out, replacing each "{name}" with `value` (vars: NULL-terminated pairs).
 * Returns bytes written (no NUL; `out` is NUL-terminated) or HOP_ENOSPACE. */
int hop_template(char *out, size_t cap, const char *tmpl, const char *const *vars);

/* ---- Legacy (pre-Netty) server-list pings ----------------------------------------------------- */

enum hop_legacy_form {
  HOP_LEGACY_BETA = 1,         /* FE            (Beta 1.8 - 1.3) */
  HOP_LEGACY_14 = 2,           /* FE 01         (1.4 - 1.5) */
  HOP_LEGACY_16 = 3,           /* FE 01 FA ...  (1.6, MC|PingHost with host and port) */
};

struct hop_legacy {
  enum hop_legacy_form form;
  int32_t protocol;            /* 1.6 only; else 0 */
  uint16_t port;               /* 1.6 only */
  char host[HOP_HOST_BYTES_MAX + 1];   /* 1.6 only: normalised, NUL-terminated; else "" */
  size_t host_len;
  size_t bytes;                /* bytes of the ping itself */
};

enum hop_legacy_scan {
  HOP_LEGACY_NO = 0,           /* a modern frame (possibly with a 0xFE length byte) */
  HOP_LEGACY_MORE = 1,         /* could still be either: need more bytes, or silence */
  HOP_LEGACY_AMBIGUOUS = 2,    /* complete legacy ping if no more bytes follow (FE, FE 01) */
  HOP_LEGACY_YES = 3,          /* a complete 1.6 ping */
};

/* Decides whether the bytes starting with 0xFE are a legacy ping. `p[0]` must be 0xFE.
 * FE and FE 01 are legacy pings only if the client then falls silent; a modern frame whose
 * length starts with 0xFE continues with the packet id 0x00. Fills `out` for AMBIGUOUS and YES.
 * Returns a hop_legacy_scan value or HOP_ELEGACY. */
int hop_legacy_scan(const uint8_t *p, size_t len, struct hop_legacy *out);

/* Encodes the kick (0xFF) answer for `form`: Beta "motd§online§max"; later forms
 * "§1\0protocol\0version\0motd\0online\0max" in UTF-16BE. */
int hop_legacy_kick_encode(uint8_t *out, size_t cap, enum hop_legacy_form form, int32_t protocol,
                           const char *version, const char *motd, int32_t online, int32_t max);

#endif
