/* The route table: servers plus two hash indexes, exact names and wildcard suffixes.
 * Lookup is one exact probe, then one probe per label suffix, longest first: O(labels). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hop/err.h"
#include "hop/proto.h"
#include "hop/route.h"

struct slot {
  const char *key;             /* NULL when empty; points into a server's strings */
  size_t len;
  uint32_t hash;
  int server;
};

struct index {
  struct slot *slots;
  size_t cap;                  /* a power of two, or 0 */
  size_t count;
};

struct hop_route_table {
  struct hop_server *servers;
  size_t servers_len, servers_cap;
  struct index ids, exact, wild;
  int default_server;          /* -1 when none */
};

/* ---- Index -------------------------------------------------------------------------------- */

static uint32_t hash_bytes(const char *s, size_t len)
{
  uint32_t h = 2166136261u;    /* FNV-1a */

  for (size_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static const struct slot *index_get(const struct index *ix, const char *key, size_t len)
{
  uint32_t h;

  if (ix->cap == 0)
    return NULL;
  h = hash_bytes(key, len);
  for (size_t i = h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
    const struct slot *s = &ix->slots[i];

    if (!s->key)
      return NULL;
    if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
      return s;
  }
}

static void index_place(struct index *ix, struct slot s)
{
  size_t i = s.hash & (ix->cap - 1);

  while (ix->slots[i].key)
    i = (i + 1) & (ix->cap - 1);
  ix->slots[i] = s;
  ix->count++;
}

/* Keeps the load factor under 1/2. */
static int index_reserve(struct index *ix)
{
  struct index grown;

  if ((ix->count + 1) * 2 <= ix->cap)
    return 0;
  grown.cap = ix->cap ? ix->cap * 2 : 16;
  grown.count = 0;
  grown.slots = calloc(grown.cap, sizeof *grown.slots);
  if (!grown.slots)
    return -ENOMEM;
  for (size_t i = 0; i < ix->cap; i++)
    if (ix->slots[i].key)
      index_place(&grown, ix->slots[i]);
  free(ix->slots);
  *ix = grown;
  return 0;
}

static int index_put(struct index *ix, const char *key, size_t len, int server)
{
  struct slot s = { key, len, hash_bytes(key, len), server };
  int err = index_reserve(ix);

  if (err == 0)
    index_place(ix, s);
  return err;
}

/* ---- Building ----------------------------------------------------------------------------- */

struct hop_route_table *hop_route_table_new(void)
{
  struct hop_route_table *t = calloc(1, sizeof *t);

  if (t)
    t->default_server = -1;
  return t;
}

static void strv_free(char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}

static void server_free(struct hop_server *s)
{
  for (size_t i = 0; i < s->hosts_len; i++)
    free(s->hosts[i]);
  free(s->hosts);
  strv_free(s->wake_allow_store);
  strv_free(s->start_cmd);
  strv_free(s->stop_cmd);
  for (int i = 0; i < HOP_STATES; i++) {
    free(s->status.description[i]);
    free(s->status.motd_plain[i]);
    free(s->status.tail[i]);
  }
  free(s->status.favicon);
  free(s->last_status);
  free(s->id);
  free(s->backend);
  free(s->backend_host);
}

void hop_route_table_free(struct hop_route_table *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->servers_len; i++)
    server_free(&t->servers[i]);
  free(t->servers);
  free(t->ids.slots);
  free(t->exact.slots);
  free(t->wild.slots);
  free(t);
}

int hop_route_table_add_server(struct hop_route_table *t, const char *id, const char *backend,
                               const char *backend_host, uint16_t backend_port)
{
  struct hop_server *s;

  if (index_get(&t->ids, id, strlen(id)))
    return HOP_ECONFIG;
  if (t->servers_len == t->servers_cap) {
    size_t cap = t->servers_cap ? t->servers_cap * 2 : 8;
    struct hop_server *grown = realloc(t->servers, cap * sizeof *grown);

    if (!grown)
      return -ENOMEM;
    t->servers = grown;
    t->servers_cap = cap;
    /* the id index points into server strings, which do not move: no rebuild needed */
  }
  s = &t->servers[t->servers_len];
  memset(s, 0, sizeof *s);
  s->policy = (struct hop_farm_policy)HOP_FARM_POLICY_DEFAULT;
  s->status.players_max = -1;
  atomic_init(&s->state, HOP_STATE_RUNNING);
  s->id = strdup(id);
  s->backend = strdup(backend);
  s->backend_host = strdup(backend_host);
  s->backend_port = backend_port;
  if (!s->id || !s->backend || !s->backend_host || index_put(&t->ids, s->id, strlen(s->id),
                                                             (int)t->servers_len)) {
    server_free(s);
    return -ENOMEM;
  }
  return (int)t->servers_len++;
}

static int host_char_ok(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':';
}

/* A name of dot-separated non-empty labels; a leading "*." makes it a wildcard. */
static int pattern_ok(const char *p, size_t len)
{
  size_t label = 0;

  if (len >= 2 && p[0] == '*' && p[1] == '.') {
    p += 2;
    len -= 2;
  }
  if (len == 0)
    return 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '.') {
      if (label == 0)
        return 0;
      label = 0;
    } else if (host_char_ok(p[i])) {
      label++;
    } else {
      return 0;
    }
  }
  return label > 0;
}

int hop_route_table_add_host(struct hop_route_table *t, int server_idx, const char *pattern,
                             char *err, size_t err_bytes)
{
  struct hop_server *s = &t->servers[server_idx];
  char norm[HOP_HOST_BYTES_MAX + 1];
  int n = hop_host_normalize(pattern, strlen(pattern), norm, sizeof norm);
  int wildcard = n >= 2 && norm[0] == '*';
  const char *key = norm + (wildcard ? 2 : 0);
  struct index *ix = wildcard ? &t->wild : &t->exact;
  const struct slot *dup;
  char **hosts, *copy;

  if (n < 0 || pattern[strcspn(pattern, "/\\")] != '\0' || !pattern_ok(norm, (size_t)n)) {
    snprintf(err, err_bytes, "\"%s\" is not a host name or *.suffix wildcard", pattern);
    return HOP_ECONFIG;
  }
  dup = index_get(ix, key, strlen(key));
  if (dup) {
    snprintf(err, err_bytes, "\"%s\" already routes to server \"%s\"", norm,
             t->servers[dup->server].id);
    return HOP_ECONFIG;
  }
  hosts = realloc(s->hosts, (s->hosts_len + 1) * sizeof *hosts);
  if (!hosts)
    return -ENOMEM;
  s->hosts = hosts;
  copy = strdup(norm);
  if (!copy)
    return -ENOMEM;
  if (index_put(ix, copy + (wildcard ? 2 : 0), strlen(key), server_idx)) {
    free(copy);
    return -ENOMEM;
  }
  s->hosts[s->hosts_len++] = copy;
  return 0;
}

struct hop_server *hop_route_table_edit(struct hop_route_table *t, int idx)
{
  return &t->servers[idx];
}

int hop_route_table_set_default(struct hop_route_table *t, const char *id)
{
  const struct slot *s = index_get(&t->ids, id, strlen(id));

  if (!s)
    return HOP_ECONFIG;
  t->default_server = s->server;
  return 0;
}

int hop_route_table_seal(struct hop_route_table *t)
{
  (void)t;                     /* indexes are built as hosts are added; nothing left to do */
  return 0;
}

/* ---- Lookup ------------------------------------------------------------------------------- */

const struct hop_server *hop_route_lookup(const struct hop_route_table *t, const char *host,
                                          size_t host_len)
{
  const struct slot *s = index_get(&t->exact, host, host_len);

  for (size_t i = 0; !s && i < host_len; i++)
    if (host[i] == '.')
      s = index_get(&t->wild, host + i + 1, host_len - i - 1);
  if (s)
    return &t->servers[s->server];
  return t->default_server >= 0 ? &t->servers[t->default_server] : NULL;
}

size_t hop_route_table_servers(const struct hop_route_table *t)
{
  return t->servers_len;
}

const struct hop_server *hop_route_table_server(const struct hop_route_table *t, size_t idx)
{
  return idx < t->servers_len ? &t->servers[idx] : NULL;
}

const struct hop_server *hop_route_table_find_id(const struct hop_route_table *t, const char *id)
{
  const struct slot *s = index_get(&t->ids, id, strlen(id));

  return s ? &t->servers[s->server] : NULL;
}
