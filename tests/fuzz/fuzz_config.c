/* hop_config_parse: the whole input is the config file. A rejection answers HOP_ECONFIG (or
 * -ENOMEM) with one NUL-terminated line that starts with the file name, never writes past
 * err_bytes, and reads the same again (a shorter buffer gets a prefix of it). An accepted config
 * has a listener, every answer text and a route table in which each exact host finds its server. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hop/config.h"
#include "hop/err.h"
#include "hop/route.h"

#define NAME "fuzz/hopper.json"
#define CANARY 0xa5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* err[0..err_bytes) holds a NUL-terminated prefix of "NAME: ..."; nothing past it was written. */
static void check_err(const char *err, size_t err_bytes, size_t buf_bytes)
{
  const char *nul = memchr(err, '\0', err_bytes);
  size_t len, want = strlen(NAME ": ");

  if (!nul)
    abort();
  len = (size_t)(nul - err);
  if (memcmp(err, NAME ": ", len < want ? len : want) != 0 || (err_bytes > want && len < want))
    abort();
  for (size_t i = err_bytes; i < buf_bytes; i++)
    if ((uint8_t)err[i] != CANARY)
      abort();
}

static void check_config(const struct hop_config *c)
{
  const struct hop_conn_config *cc = &c->conn;

  if (c->listen_len < 1 || !c->routes || cc->address_bytes_max > cc->preread_bytes_max)
    abort();
  for (size_t i = 0; i < c->listen_len; i++)
    if (!c->listen[i])
      abort();
  if (!cc->unknown_motd || !cc->unknown_disconnect || !cc->unreachable_motd ||
      !cc->unreachable_disconnect || !cc->version_name || !cc->starting_disconnect ||
      !cc->failed_disconnect)
    abort();
  for (int i = 0; i < HOP_STATES; i++)
    if (!cc->state_motd[i])
      abort();
  for (int i = 0; i < HOP_REFUSALS; i++)
    if (!cc->refused_disconnect[i])
      abort();
  for (size_t i = 0; i < hop_route_table_servers(c->routes); i++) {
    const struct hop_server *s = hop_route_table_server(c->routes, i);

    if (hop_route_table_find_id(c->routes, s->id) != s)
      abort();
    for (size_t h = 0; h < s->hosts_len; h++)
      if (s->hosts[h][0] != '*' && hop_route_lookup(c->routes, s->hosts[h],
                                                    strlen(s->hosts[h])) != s)
        abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char err[HOP_CONFIG_ERR_BYTES + 16], again[sizeof err];
  struct hop_config c;
  size_t small = 1 + size % 48, n;
  int rc;

  memset(err, CANARY, sizeof err);
  rc = hop_config_parse(NAME, (const char *)data, size, &c, err, HOP_CONFIG_ERR_BYTES);
  if (rc == 0) {
    check_config(&c);
    hop_config_free(&c);
    return 0;
  }
  if (rc != HOP_ECONFIG && rc != -ENOMEM)
    abort();
  check_err(err, HOP_CONFIG_ERR_BYTES, sizeof err);

  memset(again, CANARY, sizeof again);
  if (hop_config_parse(NAME, (const char *)data, size, &c, again, small) != rc)
    abort();
  check_err(again, small, sizeof again);
  n = strlen(err) < small - 1 ? strlen(err) : small - 1;
  if (strlen(again) != n || memcmp(again, err, n) != 0)
    abort();                           /* deterministic, and cut short rather than garbled */
  return 0;
}
