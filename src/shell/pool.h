/* A per-loop free list of equal-sized chunks: no locks, no allocation once warm.
 * Private to src/shell. */
#ifndef HOP_SHELL_POOL_H
#define HOP_SHELL_POOL_H

#include <stddef.h>

struct hop_pool {
  size_t chunk_bytes;
  size_t keep_max;             /* free chunks kept for reuse; the rest go back to malloc */
  size_t kept;
  size_t released;             /* chunks given back to malloc so far */
  void *free_list;
};

void hop_pool_init(struct hop_pool *p, size_t chunk_bytes, size_t keep_max);
/* A chunk of chunk_bytes, or NULL when memory is exhausted. */
void *hop_pool_get(struct hop_pool *p);
void hop_pool_put(struct hop_pool *p, void *chunk);
void hop_pool_drain(struct hop_pool *p);

#endif
