/* Host normalisation: what a player typed, reduced to the name we route on. */
#include "hop/err.h"
#include "hop/route.h"

#include <string.h>

/* Length of the routable prefix: up to the first NUL, "///" or backslash. */
static size_t routable_len(const char *raw, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (raw[i] == '\0' || raw[i] == '\\')
      return i;
    if (raw[i] == '/' && i + 2 < len && raw[i + 1] == '/' && raw[i + 2] == '/')
      return i;
  }
  return len;
}

int hop_host_normalize(const char *raw, size_t raw_len, char *out, size_t out_cap)
{
  size_t n = routable_len(raw, raw_len);

  while (n > 0 && raw[n - 1] == '.')
    n--;
  if (out_cap == 0 || n > out_cap - 1)
    return HOP_EADDRESS;
  for (size_t i = 0; i < n; i++) {
    char c = raw[i];

    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  out[n] = '\0';
  return (int)n;
}
