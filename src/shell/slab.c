#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "slab.h"

#define MAP_BYTES        (256 * 1024)
#define TRIM_CHUNKS_MAX  1024   /* madvise calls per trim: a long backlog is spread over ticks */

/* Under AddressSanitizer every chunk is a malloc of its own, so leaks and uses after free are
 * still reported. */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_BY_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_BY_MALLOC 1
#endif
#endif
#ifndef SLAB_BY_MALLOC
#define SLAB_BY_MALLOC 0
#endif

void hop_slab_init(struct hop_slab *s, size_t bytes, size_t keep_max)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);

  s->chunk_bytes = bytes ? (bytes + page - 1) / page * page : page;
  s->chunks_per_map = s->chunk_bytes < MAP_BYTES ? MAP_BYTES / s->chunk_bytes : 1;
  s->keep_max = keep_max;
  s->gets = 0;
  s->free = NULL;
  s->free_len = s->free_cap = s->given_back = 0;
  s->maps = NULL;
  s->maps_len = 0;
}

/* Maps chunks_per_map more chunks; called only when none is free. */
static int grow(struct hop_slab *s)
{
  size_t n = s->chunks_per_map;
  void **free_chunks = realloc(s->free, (s->free_cap + n) * sizeof *s->free);
  void **maps;
  uint8_t *base;

  if (!free_chunks)
    return -1;
  s->free = free_chunks;
  if (!(maps = realloc(s->maps, (s->maps_len + 1) * sizeof *s->maps)))
    return -1;
  s->maps = maps;
  base = mmap(NULL, n * s->chunk_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED)
    return -1;
  s->maps[s->maps_len++] = base;
  s->free_cap += n;
  for (size_t i = n; i-- > 0;)
    s->free[s->free_len++] = base + i * s->chunk_bytes;   /* the lowest address first out */
  s->given_back = s->free_len;   /* never touched: nothing resident */
  return 0;
}

void *hop_slab_get(struct hop_slab *s)
{
  if (SLAB_BY_MALLOC)
    return malloc(s->chunk_bytes);
  if (s->free_len == 0 && grow(s) < 0)
    return NULL;
  s->gets++;
  s->free_len--;
  if (s->given_back > s->free_len)
    s->given_back = s->free_len;
  return s->free[s->free_len];
}

void hop_slab_put(struct hop_slab *s, void *chunk)
{
  if (SLAB_BY_MALLOC) {
    free(chunk);
    return;
  }
  if (chunk)
    s->free[s->free_len++] = chunk;   /* room: free_cap counts every chunk mapped */
}

/* The oldest free chunks go back first: while chunks are taken, the most recent stay resident for
 * the next gets; a quiet slab keeps none (taking one again costs a page fault, not a syscall). */
size_t hop_slab_trim(struct hop_slab *s)
{
  size_t keep = s->gets ? s->keep_max : 0, n = 0;
  size_t end = s->free_len > keep ? s->free_len - keep : 0;

  s->gets = 0;
  if (end > s->given_back + TRIM_CHUNKS_MAX)
    end = s->given_back + TRIM_CHUNKS_MAX;
  for (; s->given_back < end; s->given_back++, n++)
    madvise(s->free[s->given_back], s->chunk_bytes, MADV_DONTNEED);
  return n;
}

void hop_slab_destroy(struct hop_slab *s)
{
  for (size_t i = 0; i < s->maps_len; i++)
    munmap(s->maps[i], s->chunks_per_map * s->chunk_bytes);
  free(s->maps);
  free(s->free);
  s->maps = s->free = NULL;
  s->maps_len = s->free_len = s->free_cap = s->given_back = 0;
}
