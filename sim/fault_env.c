/* The fault injector of the hopper-faults build (meson -Dsim_faults=true): HOP_FAULT(p) answers
 * 1 with probability p * HOPPER_FAULT_SCALE (default 1) from a PRNG seeded by HOPPER_FAULT_SEED
 * (default 1), and logs each injected fault to stderr with its file and line, so a run under
 * faults is reproducible as far as the event loop's ordering allows. */
#include <stdio.h>
#include <stdlib.h>

#include "hop/fault.h"
#include "rng.h"

static struct sim_rng rng;
static double scale = -1;

int hop_sim_fault(const char *file, int line, double p)
{
  const char *e;

  if (scale < 0) {
    e = getenv("HOPPER_FAULT_SEED");
    sim_rng_seed(&rng, e ? strtoull(e, NULL, 10) : 1);
    e = getenv("HOPPER_FAULT_SCALE");
    scale = e ? strtod(e, NULL) : 1.0;
  }
  if (!sim_rng_chance(&rng, p * scale))
    return 0;
  fprintf(stderr, "fault injected at %s:%d\n", file, line);
  return 1;
}
