#include <stdlib.h>
#include <string.h>

#include "hop/config.h"
#include "hop/err.h"

int hop_endpoint_parse(const char *s, char *host, size_t host_cap, uint16_t *port,
                       int port_zero_ok)
{
  const char *colon, *h = s;
  size_t h_len;
  char *end;
  unsigned long p;

  if (s[0] == '[') {
    const char *close = strchr(s, ']');

    if (!close || close[1] != ':')
      return HOP_ECONFIG;
    h = s + 1;
    h_len = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon || memchr(s, ':', (size_t)(colon - s)))
      return HOP_ECONFIG;      /* no port, or an IPv6 address without brackets */
    h_len = (size_t)(colon - s);
  }
  if (h_len == 0 || h_len >= host_cap || colon[1] < '0' || colon[1] > '9')
    return HOP_ECONFIG;
  p = strtoul(colon + 1, &end, 10);
  if (*end != '\0' || p > 65535 || (p == 0 && !port_zero_ok))
    return HOP_ECONFIG;
  memcpy(host, h, h_len);
  host[h_len] = '\0';
  *port = (uint16_t)p;
  return 0;
}
