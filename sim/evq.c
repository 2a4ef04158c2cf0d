/* A binary min-heap ordered by (at_ms, seq). */
#include <stdlib.h>

#include "evq.h"

static int before(const struct sim_event *x, const struct sim_event *y)
{
  return x->at_ms != y->at_ms ? x->at_ms < y->at_ms : x->seq < y->seq;
}

static void swap(struct sim_event *x, struct sim_event *y)
{
  struct sim_event t = *x;

  *x = *y;
  *y = t;
}

int sim_evq_push(struct sim_evq *q, uint64_t at_ms, int kind, uint32_t a, uint32_t b, int64_t c)
{
  size_t i;

  if (q->len == q->cap) {
    size_t cap = q->cap ? q->cap * 2 : 256;
    struct sim_event *grown = realloc(q->heap, cap * sizeof *grown);

    if (!grown)
      return -1;
    q->heap = grown;
    q->cap = cap;
  }
  i = q->len++;
  q->heap[i] = (struct sim_event){ at_ms, q->next_seq++, kind, a, b, c };
  while (i > 0 && before(&q->heap[i], &q->heap[(i - 1) / 2])) {
    swap(&q->heap[i], &q->heap[(i - 1) / 2]);
    i = (i - 1) / 2;
  }
  return 0;
}

int sim_evq_pop(struct sim_evq *q, struct sim_event *out)
{
  size_t i = 0;

  if (q->len == 0)
    return 0;
  *out = q->heap[0];
  q->heap[0] = q->heap[--q->len];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;

    if (l < q->len && before(&q->heap[l], &q->heap[m]))
      m = l;
    if (r < q->len && before(&q->heap[r], &q->heap[m]))
      m = r;
    if (m == i)
      break;
    swap(&q->heap[i], &q->heap[m]);
    i = m;
  }
  return 1;
}

void sim_evq_free(struct sim_evq *q)
{
  free(q->heap);
  q->heap = NULL;
  q->len = q->cap = 0;
}
