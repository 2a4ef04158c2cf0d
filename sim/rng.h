/* The simulator's one source of randomness: xoshiro256** seeded through splitmix64. Every random
 * choice in a run (arrivals, byte splits, faults, latencies, backoff jitter) draws from the one
 * generator in struct sim, in event order, so a seed replays a run bit for bit. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdint.h>

struct sim_rng {
  uint64_t s[4];
};

void sim_rng_seed(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_u64(struct sim_rng *r);
/* Uniform in [0, n); 0 when n is 0. */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* Uniform in [lo, hi] (hi >= lo). */
uint64_t sim_rng_range(struct sim_rng *r, uint64_t lo, uint64_t hi);
/* 1 with probability p (p <= 0: never, p >= 1: always; neither draws). */
int sim_rng_chance(struct sim_rng *r, double p);
/* Exponentially distributed with the given mean (for Poisson arrivals), in whole ms. */
uint64_t sim_rng_exp_ms(struct sim_rng *r, double mean_ms);

#endif
