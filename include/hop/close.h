/* Every session ends with exactly one close reason. It feeds the session's log line and metrics. */
#ifndef HOP_CLOSE_H
#define HOP_CLOSE_H

#define HOP_CLOSE_MAP(X)                                                                     \
  X(NONE,                "none")                 /* not closed yet */                         \
  X(CLIENT_CLOSED,       "client_closed")        /* relayed; the client ended it first */     \
  X(BACKEND_CLOSED,      "backend_closed")       /* relayed; the backend ended it first */    \
  X(CLIENT_RESET,        "client_reset")         /* read or write error on the client */      \
  X(BACKEND_RESET,       "backend_reset")        /* read or write error on the backend */     \
  X(IDLE_TIMEOUT,        "idle_timeout")                                                      \
  X(HANDSHAKE_TIMEOUT,   "handshake_timeout")    /* the opening packets did not arrive in time */ \
  X(EARLY_EOF,           "early_eof")            /* the client closed before it was routed */ \
  X(BAD_VARINT,          "bad_varint")                                                        \
  X(BAD_FRAME_LENGTH,    "bad_frame_length")     /* zero or negative */                       \
  X(FRAME_TOO_LARGE,     "frame_too_large")      /* over the protocol or the preread cap */   \
  X(NOT_HANDSHAKE,       "not_handshake")                                                     \
  X(BAD_HANDSHAKE,       "bad_handshake")        /* fields do not fit, or trail */            \
  X(BAD_NEXT_STATE,      "bad_next_state")                                                    \
  X(BAD_ADDRESS,         "bad_address")          /* server address too long */                \
  X(BAD_LOGIN_START,     "bad_login_start")                                                   \
  X(BAD_LEGACY,          "bad_legacy")                                                        \
  X(BAD_STATUS,          "bad_status")           /* unexpected packet in a status exchange */ \
  X(NO_ROUTE,            "no_route")                                                          \
  X(BACKEND_UNREACHABLE, "backend_unreachable")  /* resolve or connect failed */              \
  X(CONNECT_TIMEOUT,     "connect_timeout")                                                   \
  X(SERVER_NOT_RUNNING,  "server_not_running")   /* status answered for a sleeping/starting server */ \
  X(SERVER_STARTING,     "server_starting")      /* login told to rejoin while the server starts */ \
  X(WAKE_REFUSED,        "wake_refused")         /* cooldown, quota, allow-list or no auto_start */ \
  X(START_FAILED,        "start_failed")         /* the server did not become ready */ \
  X(PROXY_UNTRUSTED,     "proxy_untrusted")      /* a PROXY header from a peer not trusted */ \
  X(PROXY_MISSING,       "proxy_missing")        /* a trusted peer sent no PROXY header */    \
  X(PROXY_MALFORMED,     "proxy_malformed")                                                   \
  X(DENIED,              "denied")               /* the client is in limits.deny */           \
  X(SESSION_LIMIT,       "session_limit")        /* limits.sessions_max or _per_ip_max */     \
  X(BANNED,              "banned")               /* a temporary ban (limits.ban): one accept, one close */ \
  X(RATE_LIMITED,        "rate_limited")         /* the client's status or login bucket ran dry */ \
  X(DRAIN,               "drain")                /* still open when the drain time ran out */ \
  X(INTERNAL,            "internal")             /* out of memory or a libuv failure */

enum hop_close {
#define X(name, text) HOP_CLOSE_##name,
  HOP_CLOSE_MAP(X)
#undef X
  HOP_CLOSE_COUNT
};

const char *hop_close_name(enum hop_close reason);

/* The close reason for a malformed-input error from the parsers (HOP_E*). */
enum hop_close hop_close_from_err(int err);

#endif
