/* Error codes. Functions return 0 or a negative code; libuv codes pass through untouched.
 * Ours sit in -1000..-1099, clear of errno (< 200) and UV_EAI_* (-3000s). */
#ifndef HOP_ERR_H
#define HOP_ERR_H

#define HOP_ERR_MAP(X)                                                          \
  X(EVARINT,    -1001, "VarInt longer than 5 bytes")                            \
  X(EFRAMELEN,  -1002, "frame length zero or negative")                         \
  X(EFRAMEBIG,  -1003, "frame longer than allowed")                             \
  X(ENOTHS,     -1004, "first packet is not a handshake")                       \
  X(ESHORT,     -1005, "packet shorter than its fields")                        \
  X(ETRAILING,  -1006, "packet longer than its fields")                         \
  X(ESTATE,     -1007, "invalid next state in handshake")                       \
  X(EADDRESS,   -1008, "server address too long")                               \
  X(ELOGIN,     -1009, "malformed Login Start")                                 \
  X(ELEGACY,    -1010, "malformed legacy ping")                                 \
  X(EPREREAD,   -1011, "handshake does not fit the preread buffer")             \
  X(ESTATUS,    -1012, "unexpected packet in status exchange")                  \
  X(ENOSPACE,   -1013, "output buffer too small")                               \
  X(ENOROUTE,   -1014, "no route for server address")                           \
  X(ECONFIG,    -1015, "invalid configuration")                                 \
  X(ESTRING,    -1016, "string too long or not valid UTF-8")                    \
  X(EPROXYSIG,  -1100, "not a PROXY protocol header")                           \
  X(EPROXYV1,   -1101, "malformed PROXY v1 line")                               \
  X(EPROXYLONG, -1102, "PROXY v1 line without CRLF in 107 bytes")               \
  X(EPROXYVER,  -1103, "unsupported PROXY v2 version or command")               \
  X(EPROXYFAM,  -1104, "invalid PROXY v2 address family or transport")          \
  X(EPROXYLEN,  -1105, "PROXY v2 length shorter than its addresses")            \
  X(EPROXYTLV,  -1106, "PROXY v2 TLV runs past the header")                     \
  X(EPROXYBIG,  -1107, "PROXY header longer than allowed")                      \
  X(ECIDR,      -1108, "invalid IP address or CIDR prefix")

enum hop_err {
#define X(name, code, text) HOP_##name = (code),
  HOP_ERR_MAP(X)
#undef X
};

/* Our table first; NULL for codes that are not ours (the shell then asks uv_strerror). */
const char *hop_err_text(int err);

/* Short, stable, log-friendly name ("EVARINT"), or NULL. */
const char *hop_err_name(int err);

#endif
