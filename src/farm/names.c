/* Stable names for the farm's enums: they appear in logs, events, the admin view and the routes
 * document, so they never change once released. */
#include <string.h>

#include "hop/farm.h"

static const char *const state_names[] = {
  [HOP_STATE_SLEEPING] = "sleeping",
  [HOP_STATE_STARTING] = "starting",
  [HOP_STATE_RUNNING] = "running",
  [HOP_STATE_STOPPING] = "stopping",
  [HOP_STATE_FAILED] = "failed",
};

static const char *const wake_names[] = {
  [HOP_WAKE_STARTED] = "started",
  [HOP_WAKE_JOINED] = "joined",
  [HOP_WAKE_RUNNING] = "running",
  [HOP_WAKE_REFUSED_COOLDOWN] = "refused_cooldown",
  [HOP_WAKE_REFUSED_QUOTA] = "refused_quota",
  [HOP_WAKE_REFUSED_NOT_ALLOWED] = "refused_not_allowed",
  [HOP_WAKE_REFUSED_NO_AUTOSTART] = "refused_no_autostart",
  [HOP_WAKE_UNKNOWN] = "unknown",
};

static const char *const event_names[] = {
  [HOP_EVENT_WAKE_REQUESTED] = "wake_requested",
  [HOP_EVENT_WAKE_READY] = "wake_ready",
  [HOP_EVENT_WAKE_FAILED] = "wake_failed",
  [HOP_EVENT_STOP_REQUESTED] = "stop_requested",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Out-of-range values (a corrupted enum) get "?" rather than a crash in a log line. */
static const char *name_at(const char *const *names, size_t n, int i)
{
  return i >= 0 && (size_t)i < n && names[i] ? names[i] : "?";
}

const char *hop_state_name(enum hop_state state)
{
  return name_at(state_names, COUNT(state_names), (int)state);
}

int hop_state_parse(const char *name)
{
  if (!name)
    return -1;
  for (size_t i = 0; i < COUNT(state_names); i++)
    if (strcmp(state_names[i], name) == 0)
      return (int)i;
  return -1;
}

const char *hop_wake_result_name(enum hop_wake_result r)
{
  return name_at(wake_names, COUNT(wake_names), (int)r);
}

const char *hop_farm_event_name(enum hop_farm_event e)
{
  return name_at(event_names, COUNT(event_names), (int)e);
}
