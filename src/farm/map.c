/* A string-keyed hash index over items that never move: open addressing with linear probing,
 * load factor at most 1/2, and backward-shift deletion (no tombstones, so lookups stay short
 * however many servers or IPs come and go). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t hash_str(const char *s)
{
  uint32_t h = 2166136261u;    /* FNV-1a */

  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static size_t find(const struct map *m, const char *key, uint32_t h)
{
  size_t mask = m->cap - 1;

  for (size_t i = h & mask;; i = (i + 1) & mask) {
    const struct map_slot *s = &m->slots[i];

    if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
      return i;
  }
}

void *hop_map_get(const struct map *m, const char *key)
{
  size_t i;

  if (m->cap == 0)
    return NULL;
  i = find(m, key, hash_str(key));
  return m->slots[i].key ? m->slots[i].item : NULL;
}

static void place(struct map *m, struct map_slot s)
{
  size_t mask = m->cap - 1, i = s.hash & mask;

  while (m->slots[i].key)
    i = (i + 1) & mask;
  m->slots[i] = s;
  m->count++;
}

int hop_map_reserve(struct map *m, size_t count)
{
  struct map grown = { NULL, m->cap ? m->cap : 16, 0 };

  while (count * 2 > grown.cap)
    grown.cap *= 2;
  if (grown.cap == m->cap)
    return 0;
  grown.slots = calloc(grown.cap, sizeof *grown.slots);
  if (!grown.slots)
    return -ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].key)
      place(&grown, m->slots[i]);
  free(m->slots);
  *m = grown;
  return 0;
}

void hop_map_put(struct map *m, const char *key, void *item)
{
  struct map_slot s = { key, item, hash_str(key) };

  place(m, s);
}

/* Backward shift: after emptying slot i, walk the cluster and pull back every entry whose home
 * is not cyclically within (i, j], so no probe sequence crosses a hole. */
void hop_map_del(struct map *m, const char *key)
{
  size_t mask, i;

  if (m->cap == 0)
    return;
  mask = m->cap - 1;
  i = find(m, key, hash_str(key));
  if (!m->slots[i].key)
    return;
  m->slots[i].key = NULL;
  m->count--;
  for (size_t j = (i + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
    size_t home = m->slots[j].hash & mask;
    int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);

    if (stays)
      continue;
    m->slots[i] = m->slots[j];
    m->slots[j].key = NULL;
    i = j;
  }
}

void hop_map_free(struct map *m)
{
  free(m->slots);
  m->slots = NULL;
  m->cap = m->count = 0;
}
