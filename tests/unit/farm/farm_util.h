/* Helpers shared by the farm's unit tests: specs, and actions rendered as one string so a test
 * states the exact sequence it expects ("a:event:wake_requested a:state:starting a:start"). */
#ifndef HOP_FARM_UTIL_H
#define HOP_FARM_UTIL_H

#include <stdio.h>
#include <string.h>

#include "hop/farm.h"

#define T0 1000000u            /* a start time far from 0, so "since 0" bugs show */

static inline void spec_init(struct hop_farm_server_spec *s, const char *id, enum hop_state st)
{
  memset(s, 0, sizeof *s);
  s->id = id;
  hop_farm_policy_default(&s->policy);
  s->provider_state = st;
}

static inline void render_action(const struct hop_farm_action *a, char *out, size_t cap)
{
  switch (a->kind) {
  case HOP_FARM_START:
    snprintf(out, cap, "%s:start", a->id);
    break;
  case HOP_FARM_PROBE:
    snprintf(out, cap, "%s:probe", a->id);
    break;
  case HOP_FARM_STOP:
    snprintf(out, cap, "%s:stop(%u)", a->id, (unsigned)a->sessions);
    break;
  case HOP_FARM_STATE:
    snprintf(out, cap, "%s:state:%s", a->id, hop_state_name(a->state));
    break;
  case HOP_FARM_EVENT:
    if (a->event == HOP_EVENT_WAKE_READY || a->event == HOP_EVENT_WAKE_FAILED)
      snprintf(out, cap, "%s:event:%s(%llu)", a->id, hop_farm_event_name(a->event),
               (unsigned long long)a->wait_ms);
    else
      snprintf(out, cap, "%s:event:%s", a->id, hop_farm_event_name(a->event));
    break;
  default:
    snprintf(out, cap, "%s:kind%d", a->id, (int)a->kind);
    break;
  }
}

/* Drains every queued action; "" when there were none. The buffer is reused by the next call. */
static inline const char *acts(struct hop_farm *f)
{
  static char buf[8192];
  struct hop_farm_action a;
  size_t used = 0;

  buf[0] = '\0';
  while (hop_farm_next_action(f, &a)) {
    char one[160];

    render_action(&a, one, sizeof one);
    if (used + strlen(one) + 2 < sizeof buf)
      used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", used ? " " : "", one);
  }
  return buf;
}

#endif
