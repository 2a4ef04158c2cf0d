/* The virtual clock: a min-heap of timed events. Popping one moves the clock to its time, so a
 * run jumps from deadline to deadline and an idle hour costs nothing. Ties break by insertion
 * order, which keeps every run of one seed in the same order. */
#ifndef SIM_EVQ_H
#define SIM_EVQ_H

#include <stddef.h>
#include <stdint.h>

struct sim_event {
  uint64_t at_ms;
  uint64_t seq;                /* insertion order: the tie-break */
  int kind;                    /* enum sim_ev in sim.h */
  uint32_t a, b;               /* what it is about (session id, replica, server index, ...) */
  int64_t c;                   /* a value (status, generation, ...) */
};

struct sim_evq {
  struct sim_event *heap;
  size_t len, cap;
  uint64_t next_seq;
};

/* Returns 0 or -1 (out of memory). */
int sim_evq_push(struct sim_evq *q, uint64_t at_ms, int kind, uint32_t a, uint32_t b, int64_t c);
/* Pops the earliest event into `out`; returns 1, or 0 when the queue is empty. */
int sim_evq_pop(struct sim_evq *q, struct sim_event *out);
void sim_evq_free(struct sim_evq *q);

#endif
