/* A sharded table of client IPs: open sessions and token buckets, bounded in size. */
#include <stdatomic.h>
#include <string.h>

#include <netinet/in.h>
#include <uv.h>

#include "hop/cidr.h"
#include "limits.h"

#define SHARDS      64
#define SHARD_SLOTS 1024       /* 65,536 IPs tracked at most */
#define PROBE_MAX   16

struct slot {
  uint8_t key[16];             /* IPv6, IPv4 mapped */
  uint8_t used;
  uint32_t open;               /* sessions */
  uint32_t milli_status;       /* tokens x 1000 */
  uint32_t milli_login;
  uint64_t last_ms;            /* last refill */
};

/* The locks live apart from the slots: initialising them would otherwise touch a page of every
 * shard (256 KiB resident before the first few clients); the slots' pages are touched only as
 * clients hash into them. One cache line per lock, so workers on different shards do not share. */
static struct {
  _Alignas(64) uv_mutex_t m;
} locks[SHARDS];

static struct shard {
  struct slot slots[SHARD_SLOTS];
} shards[SHARDS];

static uv_once_t once = UV_ONCE_INIT;
static _Atomic uint32_t sessions;

static void init(void)
{
  for (int i = 0; i < SHARDS; i++)
    uv_mutex_init(&locks[i].m);
}

static void key_of(const struct sockaddr *sa, uint8_t key[16])
{
  memset(key, 0, 16);
  if (sa->sa_family == AF_INET) {
    key[10] = key[11] = 0xff;
    memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
  }
}

static uint32_t hash_key(const uint8_t key[16])
{
  uint32_t h = 2166136261u;

  for (int i = 0; i < 16; i++)
    h = (h ^ key[i]) * 16777619u;
  return h;
}

/* The client's slot, locked in its shard; creates it (evicting an idle one if the probe window
 * is full). NULL if all are busy: the client then goes untracked, as before limits existed. */
static struct slot *find(const uint8_t key[16], uv_mutex_t **lock_out, int create)
{
  uint32_t h = hash_key(key);
  struct shard *sh = &shards[h % SHARDS];
  struct slot *free_slot = NULL, *idle = NULL;

  uv_once(&once, init);
  *lock_out = &locks[h % SHARDS].m;
  uv_mutex_lock(*lock_out);
  for (int i = 0; i < PROBE_MAX; i++) {
    struct slot *s = &sh->slots[(h / SHARDS + (uint32_t)i) % SHARD_SLOTS];

    if (s->used && memcmp(s->key, key, 16) == 0)
      return s;
    if (!s->used && !free_slot)
      free_slot = s;
    if (s->used && s->open == 0 && (!idle || s->last_ms < idle->last_ms))
      idle = s;
  }
  if (!create)
    return NULL;
  if (!free_slot)
    free_slot = idle;
  if (free_slot) {
    memset(free_slot, 0, sizeof *free_slot);
    memcpy(free_slot->key, key, 16);
    free_slot->used = 1;
    free_slot->milli_status = free_slot->milli_login = UINT32_MAX;   /* full: refilled to burst */
  }
  return free_slot;
}

enum hop_close hop_limits_admit(const struct hop_limits *l, const struct sockaddr *peer,
                                int *over_ip)
{
  uint8_t key[16];
  uv_mutex_t *lock;
  struct slot *s;

  *over_ip = 0;
  if (peer && l->deny.len && hop_cidr_list_match(&l->deny, peer))
    return HOP_CLOSE_DENIED;
  if (l->sessions_max && atomic_load(&sessions) >= l->sessions_max)
    return HOP_CLOSE_SESSION_LIMIT;
  atomic_fetch_add(&sessions, 1);
  if (!peer)
    return HOP_CLOSE_NONE;     /* a trusted proxy: its clients are counted by their own IPs */
  key_of(peer, key);
  s = find(key, &lock, 1);
  if (s) {
    s->open++;
    *over_ip = l->sessions_per_ip_max && s->open > l->sessions_per_ip_max;
  }
  uv_mutex_unlock(lock);
  return HOP_CLOSE_NONE;
}

void hop_limits_release(const struct sockaddr *peer)
{
  uint8_t key[16];
  uv_mutex_t *lock;
  struct slot *s;

  atomic_fetch_sub(&sessions, 1);
  if (!peer)
    return;
  key_of(peer, key);
  s = find(key, &lock, 0);
  if (s && s->open)
    s->open--;
  uv_mutex_unlock(lock);
}

/* Adds the tokens (x 1000) earned since the last refill, up to the burst. */
static void refill(uint32_t *milli, uint32_t per_s, uint32_t burst, uint64_t elapsed_ms)
{
  uint64_t cap = (uint64_t)burst * 1000, now = *milli;

  now = now >= cap ? cap : now + elapsed_ms * per_s;
  *milli = (uint32_t)(now > cap ? cap : now);
}

int hop_limits_rate(const struct hop_limits *l, const struct sockaddr *peer, int login,
                    uint64_t now_ms)
{
  uint32_t per_s = login ? l->login_per_s : l->status_per_s;
  uint8_t key[16];
  uv_mutex_t *lock;
  struct slot *s;
  uint64_t elapsed;
  int ok = 1;

  if (!per_s)
    return 1;
  key_of(peer, key);
  s = find(key, &lock, 1);
  if (s) {
    elapsed = now_ms > s->last_ms ? now_ms - s->last_ms : 0;
    s->last_ms = now_ms;
    uint32_t *bucket = login ? &s->milli_login : &s->milli_status;

    /* both buckets refill from the same moment */
    refill(&s->milli_status, l->status_per_s, l->status_burst, elapsed);
    refill(&s->milli_login, l->login_per_s, l->login_burst, elapsed);
    ok = *bucket >= 1000;
    if (ok)
      *bucket -= 1000;

  }
  uv_mutex_unlock(lock);
  return ok;
}
