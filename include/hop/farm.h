/* The server farm's lifecycle, sans-IO: which servers sleep, start, run, stop or failed, who
 * woke them, how many sessions each has, and when an idle one should be stopped. Pure: events and
 * now_ms in, actions and one deadline out; no clock, no I/O. The control loop and the simulator
 * drive the same code.
 *
 *   sleeping --wake--> starting --probe ok (+grace)--> running --idle_stop_s at 0 sessions--> stopping
 *      ^                  | start_timeout_s / start call failed                                  |
 *      +---- failed <-----+                                                   stop done -> sleeping
 *
 * Only a login or a transfer wakes a server (the caller decides that; status pings never call
 * hop_farm_wake). One start per server at a time: later wakes join it. */
#ifndef HOP_FARM_H
#define HOP_FARM_H

#include <stddef.h>
#include <stdint.h>

enum hop_state {
  HOP_STATE_SLEEPING,
  HOP_STATE_STARTING,
  HOP_STATE_RUNNING,
  HOP_STATE_STOPPING,
  HOP_STATE_FAILED,
};

/* "sleeping", "starting", "running", "stopping", "failed". */
const char *hop_state_name(enum hop_state state);
/* Returns the state, or -1 for an unknown name. */
int hop_state_parse(const char *name);

enum hop_join { HOP_JOIN_KICK, HOP_JOIN_HOLD };

/* Per-server policy (from the routes document, the SQLite store or the config). */
struct hop_farm_policy {
  int auto_start;              /* a login may wake it (default 1) */
  enum hop_join join;          /* what a login to a non-running server gets (default HOLD) */
  uint32_t idle_stop_s;        /* stop after this long with 0 sessions; 0 = never (default 0) */
  uint32_t min_online_s;       /* never stop earlier than this after it became running (60) */
  uint32_t start_timeout_s;    /* starting longer than this = failed (default 180) */
  uint32_t ready_grace_ms;     /* wait after the first good probe before running (default 0) */
  uint32_t cooldown_s;         /* after failed or stopped, wakes are refused this long (10) */
  const char *const *wake_allow;   /* NULL-terminated player names allowed to wake; NULL = all */
};

/* The defaults above, usable without linking the farm (hop_farm_policy_default sets the same). */
#define HOP_FARM_POLICY_DEFAULT { 1, HOP_JOIN_HOLD, 0, 60, 180, 0, 10, NULL }

void hop_farm_policy_default(struct hop_farm_policy *p);

struct hop_farm_config {
  uint32_t probe_interval_ms;  /* between readiness probes while starting (default 1000) */
  uint32_t wake_quota;         /* wakes one client IP may cause per window; 0 = unlimited (3) */
  uint32_t wake_quota_window_s;    /* (default 600) */
  size_t wake_quota_ips_max;   /* IPs remembered; the oldest are forgotten beyond it (4096) */
};

void hop_farm_config_default(struct hop_farm_config *c);

/* One server as the provider describes it. */
struct hop_farm_server_spec {
  const char *id;
  struct hop_farm_policy policy;
  enum hop_state provider_state;   /* what the API document / SQLite row says */
};

enum hop_wake_result {
  HOP_WAKE_STARTED,            /* this call started it */
  HOP_WAKE_JOINED,             /* a start is already in flight (or queued behind a stop) */
  HOP_WAKE_RUNNING,            /* already running: connect */
  HOP_WAKE_REFUSED_COOLDOWN,
  HOP_WAKE_REFUSED_QUOTA,
  HOP_WAKE_REFUSED_NOT_ALLOWED,
  HOP_WAKE_REFUSED_NO_AUTOSTART,
  HOP_WAKE_UNKNOWN,            /* no such server */
};

const char *hop_wake_result_name(enum hop_wake_result r);

enum hop_farm_action_kind {
  HOP_FARM_START = 1,          /* call the API's start / spawn start_cmd; report hop_farm_start_result */
  HOP_FARM_PROBE,              /* status-probe the backend now; report hop_farm_probe_result */
  HOP_FARM_STOP,               /* call the API's stop / spawn stop_cmd; report hop_farm_stop_result */
  HOP_FARM_STATE,              /* the state changed: publish it to the workers */
  HOP_FARM_EVENT,              /* record an event for the control plane (see event kinds) */
};

enum hop_farm_event {
  HOP_EVENT_WAKE_REQUESTED = 1,
  HOP_EVENT_WAKE_READY,
  HOP_EVENT_WAKE_FAILED,
  HOP_EVENT_STOP_REQUESTED,
};

const char *hop_farm_event_name(enum hop_farm_event e);

struct hop_farm_action {
  enum hop_farm_action_kind kind;
  char id[65];                 /* server id */
  enum hop_state state;        /* STATE: the new state */
  enum hop_farm_event event;   /* EVENT */
  uint32_t sessions;           /* STOP: this replica's live sessions (0 by construction) */
  uint64_t wait_ms;            /* EVENT wake_ready / wake_failed: since the wake */
};

struct hop_farm;

/* NULL on allocation failure. */
struct hop_farm *hop_farm_new(const struct hop_farm_config *cfg);
void hop_farm_free(struct hop_farm *f);

/* Replaces the set of servers. Servers that stay keep their local state, sessions and timers;
 * new ones take the provider's state; removed ones are forgotten once they have no sessions.
 * The provider's state is authoritative when it changes from the previous sync (a document that
 * keeps repeating "sleeping" does not undo a start of ours), except while a start of ours is in
 * flight (a "sleeping" document then does not cancel it) or a stop of ours is (a "running" one
 * does not); a lagging "starting" does not apply to a running server, nor "stopping" to a
 * sleeping one. Strings are copied. Returns 0 or -ENOMEM (the farm is then unchanged). */
int hop_farm_sync(struct hop_farm *f, const struct hop_farm_server_spec *servers, size_t n,
                  uint64_t now_ms);

/* An unknown or removed id reads as sleeping; a removed one's sessions are counted until they
 * end. */
enum hop_state hop_farm_state(const struct hop_farm *f, const char *id);
uint32_t hop_farm_sessions(const struct hop_farm *f, const char *id);

/* A login or transfer reached server `id` while it is not running. `client_ip` and `player`
 * feed the quota and the allow-list. */
enum hop_wake_result hop_farm_wake(struct hop_farm *f, const char *id, const char *client_ip,
                                   const char *player, uint64_t now_ms);

/* Live session counts (sessions relayed to the server, across all workers). */
void hop_farm_session_begin(struct hop_farm *f, const char *id, uint64_t now_ms);
void hop_farm_session_end(struct hop_farm *f, const char *id, uint64_t now_ms);

/* Results of the actions. `ok` 0 means failure. */
void hop_farm_start_result(struct hop_farm *f, const char *id, int ok, uint64_t now_ms);
void hop_farm_probe_result(struct hop_farm *f, const char *id, int ok, uint64_t now_ms);
void hop_farm_stop_result(struct hop_farm *f, const char *id, int ok, uint64_t now_ms);

void hop_farm_on_timer(struct hop_farm *f, uint64_t now_ms);

/* Pops the next action; returns 1, or 0 when there is none. */
int hop_farm_next_action(struct hop_farm *f, struct hop_farm_action *out);

/* The earliest moment hop_farm_on_timer has work, or UINT64_MAX. */
uint64_t hop_farm_deadline(const struct hop_farm *f);

#endif
