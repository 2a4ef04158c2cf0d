/* HOP_FAULT: the constant 0 in a normal build (checked at compile time); with -DHOP_SIM it
 * asks the injector, which answers by probability from its seeded PRNG. */
#include <stdio.h>

#include "hop/fault.h"

#ifndef HOP_SIM
_Static_assert(HOP_FAULT(1.0) == 0, "HOP_FAULT must compile to 0 without HOP_SIM");

int main(void)
{
  puts("ok: HOP_FAULT(1.0) is the constant 0");
  return 0;
}
#else
int main(void)
{
  int hits = 0;

  for (int i = 0; i < 1000; i++)
    hits += HOP_FAULT(0.5);
  if (HOP_FAULT(0.0) || !HOP_FAULT(1.0) || hits < 400 || hits > 600) {
    printf("FAIL: injector answered %d of 1000 at p=0.5\n", hits);
    return 1;
  }
  printf("ok: injector answered %d of 1000 at p=0.5\n", hits);
  return 0;
}
#endif
