/* A sharded table of client IPs: open sessions, token buckets, strikes and bans, bounded in
 * size. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <netinet/in.h>
#include <uv.h>

#include "hop/cidr.h"
#include "limits.h"

#define SHARDS      64
#define SHARD_SLOTS 1024       /* 65,536 IPs tracked at most */
#define PROBE_MAX   16
#define NEW_BANS    1024       /* bans not yet taken by the control loop */
/* Sessions over the per-IP cap are admitted to be told why once their intent is known; at most
 * this many at a time, the rest are closed at accept. */
#define OVER_IP_TOLD_MAX 8

struct slot {
  uint8_t key[16];             /* IPv6, IPv4 mapped */
  uint8_t used;
  uint8_t ban_reason;          /* the strike that banned it (enum hop_close) */
  uint16_t strikes;            /* in the window that began at strikes_since_ms */
  uint32_t open;               /* sessions */
  uint32_t milli_status;       /* tokens x 1000 */
  uint32_t milli_login;
  uint64_t last_ms;            /* last refill (loop clock) */
  uint64_t strikes_since_ms;   /* loop clock */
  int64_t banned_until;        /* unix ms; 0 = not banned. Such a slot is never evicted */
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

/* Bans made by workers, waiting for the control loop to store them. */
static struct {
  uv_mutex_t lock;
  struct hop_ban items[NEW_BANS];
  size_t len;
} fresh;

static void init(void)
{
  for (int i = 0; i < SHARDS; i++)
    uv_mutex_init(&locks[i].m);
  uv_mutex_init(&fresh.lock);
}

int64_t hop_wall_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A ban in force? Clears one that ran out, so its slot may be reused. */
static int banned(struct slot *s)
{
  if (!s->banned_until)
    return 0;
  if (s->banned_until > hop_wall_ms())
    return 1;
  s->banned_until = 0;
  s->strikes = 0;
  return 0;
}

void hop_ip_key(const struct sockaddr *sa, uint8_t key[16])
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
    if (s->used && s->open == 0 && !s->banned_until && (!idle || s->last_ms < idle->last_ms))
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
  if (!peer) {                 /* a trusted proxy: its clients are counted by their own IPs */
    if (l->sessions_max && atomic_load(&sessions) >= l->sessions_max)
      return HOP_CLOSE_SESSION_LIMIT;
    atomic_fetch_add(&sessions, 1);
    return HOP_CLOSE_NONE;
  }
  hop_ip_key(peer, key);
  s = find(key, &lock, 1);
  if (s && banned(s)) {
    uv_mutex_unlock(lock);
    return HOP_CLOSE_BANNED;
  }
  if (s && l->sessions_per_ip_max && s->open >= l->sessions_per_ip_max + OVER_IP_TOLD_MAX) {
    uv_mutex_unlock(lock);
    *over_ip = 1;              /* told enough: a slowloris never says its intent */
    return HOP_CLOSE_SESSION_LIMIT;
  }
  if (l->sessions_max && atomic_load(&sessions) >= l->sessions_max) {
    uv_mutex_unlock(lock);
    return HOP_CLOSE_SESSION_LIMIT;
  }
  atomic_fetch_add(&sessions, 1);
  if (s) {
    s->open++;
    *over_ip = l->sessions_per_ip_max && s->open > l->sessions_per_ip_max;
  }
  uv_mutex_unlock(lock);
  return HOP_CLOSE_NONE;
}

int hop_limits_count_ip(const struct hop_limits *l, const struct sockaddr *peer)
{
  uint8_t key[16];
  uv_mutex_t *lock;
  struct slot *s;
  int over = 0;

  hop_ip_key(peer, key);
  s = find(key, &lock, 1);
  if (s) {
    s->open++;
    over = l->sessions_per_ip_max && s->open > l->sessions_per_ip_max;
  }
  uv_mutex_unlock(lock);
  return over;
}

void hop_limits_release(const struct sockaddr *peer)
{
  uint8_t key[16];
  uv_mutex_t *lock;
  struct slot *s;

  atomic_fetch_sub(&sessions, 1);
  if (!peer)
    return;
  hop_ip_key(peer, key);
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
  hop_ip_key(peer, key);
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

/* ---- Strikes and bans --------------------------------------------------------------------- */

int hop_limits_strikes(enum hop_close reason)
{
  switch (reason) {
  case HOP_CLOSE_HANDSHAKE_TIMEOUT: case HOP_CLOSE_BAD_VARINT: case HOP_CLOSE_BAD_FRAME_LENGTH:
  case HOP_CLOSE_FRAME_TOO_LARGE: case HOP_CLOSE_NOT_HANDSHAKE: case HOP_CLOSE_BAD_HANDSHAKE:
  case HOP_CLOSE_BAD_NEXT_STATE: case HOP_CLOSE_BAD_ADDRESS: case HOP_CLOSE_BAD_LOGIN_START:
  case HOP_CLOSE_BAD_LEGACY: case HOP_CLOSE_BAD_STATUS: case HOP_CLOSE_SESSION_LIMIT:
  case HOP_CLOSE_RATE_LIMITED:
    return 1;
  default:
    return 0;
  }
}

/* Queues a new ban for the control loop to store; a full queue only costs its persistence. */
static void queue_fresh(const struct hop_ban *b)
{
  uv_mutex_lock(&fresh.lock);
  if (fresh.len < NEW_BANS)
    fresh.items[fresh.len++] = *b;
  uv_mutex_unlock(&fresh.lock);
}

int hop_limits_strike(const struct hop_limits *l, const struct sockaddr *peer,
                      enum hop_close reason, uint64_t now_ms, struct hop_ban *out)
{
  uint64_t window = (uint64_t)l->ban_window_s * 1000;
  uv_mutex_t *lock;
  struct slot *s;
  int now_banned = 0;

  if (!l->ban_strikes || !hop_limits_strikes(reason) ||
      (l->ban_exempt.len && hop_cidr_list_match(&l->ban_exempt, peer)))
    return 0;
  hop_ip_key(peer, out->key);
  s = find(out->key, &lock, 1);
  if (s && !banned(s)) {
    if (!s->strikes || now_ms - s->strikes_since_ms >= window) {
      s->strikes = 0;
      s->strikes_since_ms = now_ms;
    }
    if (s->strikes < UINT16_MAX)
      s->strikes++;
    if (s->strikes >= l->ban_strikes) {
      out->until_ms = hop_wall_ms() + (int64_t)l->ban_s * 1000;
      out->strikes = s->strikes;
      out->reason = (uint8_t)reason;
      s->banned_until = out->until_ms;
      s->ban_reason = out->reason;
      now_banned = 1;
    }
  }
  uv_mutex_unlock(lock);
  if (now_banned)
    queue_fresh(out);
  return now_banned;
}

int hop_limits_banned(const struct sockaddr *peer)
{
  uint8_t key[16];
  uv_mutex_t *lock;
  struct slot *s;
  int is;

  hop_ip_key(peer, key);
  s = find(key, &lock, 0);
  is = s && banned(s);
  uv_mutex_unlock(lock);
  return is;
}

int hop_limits_ban(const struct hop_ban *b)
{
  uv_mutex_t *lock;
  struct slot *s = find(b->key, &lock, 1);

  if (s) {
    s->banned_until = b->until_ms;
    s->strikes = (uint16_t)(b->strikes < UINT16_MAX ? b->strikes : UINT16_MAX);
    s->ban_reason = b->reason;
  }
  uv_mutex_unlock(lock);
  return s ? 0 : -1;
}

void hop_limits_unban(const uint8_t key[16])
{
  uv_mutex_t *lock;
  struct slot *s = find(key, &lock, 0);

  if (s) {
    s->banned_until = 0;
    s->strikes = 0;
  }
  uv_mutex_unlock(lock);
}

size_t hop_limits_take_new_bans(struct hop_ban *out, size_t max)
{
  size_t n;

  uv_once(&once, init);
  uv_mutex_lock(&fresh.lock);
  n = fresh.len < max ? fresh.len : max;
  memcpy(out, fresh.items, n * sizeof *out);
  memmove(fresh.items, fresh.items + n, (fresh.len - n) * sizeof *out);
  fresh.len -= n;
  uv_mutex_unlock(&fresh.lock);
  return n;
}

size_t hop_limits_list_bans(struct hop_ban *out, size_t max)
{
  int64_t now = hop_wall_ms();
  size_t n = 0;

  uv_once(&once, init);
  for (int i = 0; i < SHARDS; i++) {
    uv_mutex_lock(&locks[i].m);
    for (int j = 0; j < SHARD_SLOTS; j++) {
      const struct slot *s = &shards[i].slots[j];

      if (!s->used || s->banned_until <= now)
        continue;
      if (n < max) {
        memcpy(out[n].key, s->key, 16);
        out[n].until_ms = s->banned_until;
        out[n].strikes = s->strikes;
        out[n].reason = s->ban_reason;
      }
      n++;
    }
    uv_mutex_unlock(&locks[i].m);
  }
  return n;
}

int hop_ip_key_format(const uint8_t key[16], char *out, size_t cap)
{
  static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if (memcmp(key, mapped, 12) == 0)
    return uv_inet_ntop(AF_INET, key + 12, out, cap);
  return uv_inet_ntop(AF_INET6, key, out, cap);
}

int hop_ip_key_parse(const char *text, uint8_t key[16])
{
  uint8_t v4[4];

  memset(key, 0, 16);
  if (uv_inet_pton(AF_INET, text, v4) == 0) {
    key[10] = key[11] = 0xff;
    memcpy(key + 12, v4, 4);
    return 0;
  }
  return uv_inet_pton(AF_INET6, text, key) == 0 ? 0 : -1;
}
