/* The per-client-IP wake quota: at most `wake_quota` starts per IP per window, so one address
 * cannot spin servers up and down. A fixed window per IP, opened by its first counted start:
 * 16 bytes of state per IP whatever the quota, at the price of allowing up to twice the quota
 * across a window boundary. At most `wake_quota_ips_max` IPs are remembered; beyond that the
 * one charged least recently is forgotten (and so gets a fresh allowance). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct quota_ip {
  char ip[IP_BYTES_MAX + 1];
  uint64_t window_from_ms;     /* when its current window opened */
  uint32_t wakes;              /* starts counted in that window */
  struct quota_ip *prev, *next;    /* LRU list, least recently charged first */
};

void hop_quota_init(struct quota *q, const struct hop_farm_config *cfg)
{
  memset(q, 0, sizeof *q);
  q->wakes_max = cfg->wake_quota;
  q->window_ms = (uint64_t)cfg->wake_quota_window_s * 1000;
  q->ips_max = cfg->wake_quota_ips_max;
}

void hop_quota_free(struct quota *q)
{
  struct quota_ip *e = q->lru_head;

  while (e) {
    struct quota_ip *next = e->next;

    free(e);
    e = next;
  }
  hop_map_free(&q->index);
  q->lru_head = q->lru_tail = NULL;
  q->ips_len = 0;
}

static int applies(const struct quota *q, const char *ip)
{
  return q->wakes_max > 0 && q->ips_max > 0 && ip && *ip;
}

static void key_of(const char *ip, char key[IP_BYTES_MAX + 1])
{
  size_t len = 0;

  while (len < IP_BYTES_MAX && ip[len])
    len++;
  memcpy(key, ip, len);
  key[len] = '\0';
}

static uint32_t wakes_in_window(const struct quota *q, const struct quota_ip *e, uint64_t now_ms)
{
  return now_ms - e->window_from_ms >= q->window_ms ? 0 : e->wakes;
}

int hop_quota_allows(const struct quota *q, const char *ip, uint64_t now_ms)
{
  char key[IP_BYTES_MAX + 1];
  const struct quota_ip *e;

  if (!applies(q, ip))
    return 1;
  key_of(ip, key);
  e = hop_map_get(&q->index, key);
  return !e || wakes_in_window(q, e, now_ms) < q->wakes_max;
}

static void lru_unlink(struct quota *q, struct quota_ip *e)
{
  if (e->prev)
    e->prev->next = e->next;
  else
    q->lru_head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    q->lru_tail = e->prev;
  e->prev = e->next = NULL;
}

static void lru_append(struct quota *q, struct quota_ip *e)
{
  e->prev = q->lru_tail;
  e->next = NULL;
  if (q->lru_tail)
    q->lru_tail->next = e;
  else
    q->lru_head = e;
  q->lru_tail = e;
}

/* An entry for a new IP: the evicted oldest one when full, else a fresh allocation. */
static struct quota_ip *entry_new(struct quota *q, const char *key)
{
  struct quota_ip *e;

  if (q->ips_len >= q->ips_max) {
    e = q->lru_head;
    hop_map_del(&q->index, e->ip);
    lru_unlink(q, e);
  } else {
    if (hop_map_reserve(&q->index, q->ips_len + 1) < 0)
      return NULL;
    e = malloc(sizeof *e);
    if (!e)
      return NULL;
    q->ips_len++;
  }
  memcpy(e->ip, key, strlen(key) + 1);
  e->wakes = 0;
  e->window_from_ms = 0;
  hop_map_put(&q->index, e->ip, e);
  lru_append(q, e);
  return e;
}

void hop_quota_charge(struct quota *q, const char *ip, uint64_t now_ms)
{
  char key[IP_BYTES_MAX + 1];
  struct quota_ip *e;

  if (!applies(q, ip))
    return;
  key_of(ip, key);
  e = hop_map_get(&q->index, key);
  if (!e && !(e = entry_new(q, key)))
    return;                    /* out of memory: this start goes uncounted rather than refused */
  if (wakes_in_window(q, e, now_ms) == 0) {
    e->window_from_ms = now_ms;
    e->wakes = 0;
  }
  e->wakes++;
  lru_unlink(q, e);
  lru_append(q, e);
}
