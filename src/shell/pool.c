#include <stdlib.h>

#include "pool.h"

void hop_pool_init(struct hop_pool *p, size_t chunk_bytes, size_t keep_max)
{
  p->chunk_bytes = chunk_bytes < sizeof(void *) ? sizeof(void *) : chunk_bytes;
  p->keep_max = keep_max;
  p->kept = 0;
  p->released = 0;
  p->free_list = NULL;
}

void *hop_pool_get(struct hop_pool *p)
{
  void *c = p->free_list;

  if (!c)
    return malloc(p->chunk_bytes);
  p->free_list = *(void **)c;
  p->kept--;
  return c;
}

void hop_pool_put(struct hop_pool *p, void *chunk)
{
  if (!chunk)
    return;
  if (p->kept == p->keep_max) {
    free(chunk);
    p->released++;
    return;
  }
  *(void **)chunk = p->free_list;
  p->free_list = chunk;
  p->kept++;
}

void hop_pool_drain(struct hop_pool *p)
{
  while (p->free_list) {
    void *c = p->free_list;

    p->free_list = *(void **)c;
    free(c);
  }
  p->kept = 0;
}
