/* Fault points (FoundationDB's BUGGIFY). HOP_FAULT(p) is the constant 0 in normal builds, so the
 * branch it guards compiles away. A build with -DHOP_SIM (meson -Dsim_faults=true builds
 * hopper-faults) asks the injector instead, which answers 1 with probability p from a seeded
 * PRNG (sim/fault_env.c), so a failure path can be exercised and replayed:
 *
 *   if (HOP_FAULT(0.02))
 *     status = UV_ECONNREFUSED;     (the backend refused, as the kernel would say it)
 *
 * Place them where the real world fails: a store job, an HTTP answer, a connect. */
#ifndef HOP_FAULT_H
#define HOP_FAULT_H

#ifdef HOP_SIM
int hop_sim_fault(const char *file, int line, double p);
#define HOP_FAULT(p) hop_sim_fault(__FILE__, __LINE__, (p))
#else
#define HOP_FAULT(p) 0
#endif

#endif
