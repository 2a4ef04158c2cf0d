#include "hop/close.h"
#include "hop/err.h"
#include "hop/proxy.h"

const char *hop_close_name(enum hop_close reason)
{
  static const char *const names[] = {
#define X(name, text) text,
    HOP_CLOSE_MAP(X)
#undef X
  };

  return (unsigned)reason < HOP_CLOSE_COUNT ? names[reason] : "unknown";
}

enum hop_close hop_close_from_err(int err)
{
  switch (err) {
  case HOP_EVARINT:   return HOP_CLOSE_BAD_VARINT;
  case HOP_EFRAMELEN: return HOP_CLOSE_BAD_FRAME_LENGTH;
  case HOP_EFRAMEBIG:
  case HOP_EPREREAD:  return HOP_CLOSE_FRAME_TOO_LARGE;
  case HOP_ENOTHS:    return HOP_CLOSE_NOT_HANDSHAKE;
  case HOP_ESHORT:
  case HOP_ETRAILING: return HOP_CLOSE_BAD_HANDSHAKE;
  case HOP_ESTATE:    return HOP_CLOSE_BAD_NEXT_STATE;
  case HOP_EADDRESS:  return HOP_CLOSE_BAD_ADDRESS;
  case HOP_ELOGIN:    return HOP_CLOSE_BAD_LOGIN_START;
  case HOP_ELEGACY:   return HOP_CLOSE_BAD_LEGACY;
  case HOP_ESTATUS:   return HOP_CLOSE_BAD_STATUS;
  case HOP_ENOROUTE:  return HOP_CLOSE_NO_ROUTE;
  case HOP_EPROXYSIG: case HOP_EPROXYV1: case HOP_EPROXYLONG: case HOP_EPROXYVER:
  case HOP_EPROXYFAM: case HOP_EPROXYLEN: case HOP_EPROXYTLV: case HOP_EPROXYBIG:
    return HOP_CLOSE_PROXY_MALFORMED;
  default:            return HOP_CLOSE_INTERNAL;
  }
}
