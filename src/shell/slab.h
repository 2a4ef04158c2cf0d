/* Equal-sized chunks of whole pages, carved from large mappings: for buffers that come and go in
 * bursts between long-lived allocations. A free chunk's pages go back to the kernel wherever it
 * lies, where malloc keeps a page resident while any live allocation shares it. Per loop, no locks.
 * Private to src/shell. */
#ifndef HOP_SHELL_SLAB_H
#define HOP_SHELL_SLAB_H

#include <stddef.h>

struct hop_slab {
  size_t chunk_bytes;          /* whole pages */
  size_t chunks_per_map;
  size_t keep_max;             /* free chunks left resident for reuse while chunks are taken */
  size_t gets;                 /* chunks taken since the last trim */
  void **free;                 /* free chunks, the most recently freed last */
  size_t free_len;
  size_t free_cap;             /* every chunk mapped so far fits */
  size_t given_back;           /* free[0 .. given_back) hold no resident pages */
  void **maps;
  size_t maps_len;
};

/* Chunks of at least bytes. */
void hop_slab_init(struct hop_slab *s, size_t bytes, size_t keep_max);
/* A chunk, or NULL when memory is exhausted. Its bytes are unspecified. */
void *hop_slab_get(struct hop_slab *s);
void hop_slab_put(struct hop_slab *s, void *chunk);
/* Gives the pages of free chunks beyond the keep_max most recent back to the kernel, or of all free
 * chunks if none was taken since the last call (a bounded number per call). Returns how many chunks
 * it gave back. */
size_t hop_slab_trim(struct hop_slab *s);
/* Unmaps everything; every chunk must have been put back. */
void hop_slab_destroy(struct hop_slab *s);

#endif
