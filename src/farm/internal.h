/* Private to src/farm: the farm's structures and the helpers its files share. Nothing outside
 * src/farm includes this; the contract is include/hop/farm.h. */
#ifndef HOP_FARM_INTERNAL_H
#define HOP_FARM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hop/farm.h"

#define NEVER UINT64_MAX
#define ID_BYTES_MAX 64        /* matches struct hop_farm_action.id; longer ids are skipped */
#define IP_BYTES_MAX 63        /* longer client_ip strings are cut here before keying */

/* ---- String-keyed hash index (open addressing, linear probing) ---------------------------- */

struct map_slot {
  const char *key;             /* NULL when empty; points into the item, which never moves */
  void *item;
  uint32_t hash;
};

struct map {
  struct map_slot *slots;
  size_t cap;                  /* a power of two, or 0 */
  size_t count;
};

void *hop_map_get(const struct map *m, const char *key);
/* Makes room for `count` items in all (load factor <= 1/2). Returns 0 or -ENOMEM. */
int hop_map_reserve(struct map *m, size_t count);
/* Needs room reserved; `key` must not be present and must live as long as the entry. */
void hop_map_put(struct map *m, const char *key, void *item);
void hop_map_del(struct map *m, const char *key);
void hop_map_free(struct map *m);

/* ---- Per-IP wake quota -------------------------------------------------------------------- */

struct quota_ip;

struct quota {
  uint32_t wakes_max;          /* per window; 0 = unlimited */
  uint64_t window_ms;
  size_t ips_max;
  size_t ips_len;
  struct map index;            /* ip -> struct quota_ip */
  struct quota_ip *lru_head;   /* least recently charged: evicted first */
  struct quota_ip *lru_tail;
};

void hop_quota_init(struct quota *q, const struct hop_farm_config *cfg);
void hop_quota_free(struct quota *q);
/* 1 if `ip` may cause one more start at `now_ms`, else 0. Changes nothing. */
int hop_quota_allows(const struct quota *q, const char *ip, uint64_t now_ms);
/* Counts one start against `ip`. Never fails: if memory runs out the start goes uncounted. */
void hop_quota_charge(struct quota *q, const char *ip, uint64_t now_ms);

/* ---- Servers and the farm ----------------------------------------------------------------- */

struct server {
  char id[ID_BYTES_MAX + 1];
  struct hop_farm_policy policy;   /* wake_allow points at `allow` */
  char **allow;                /* owned copy of the allow-list, NULL-terminated; NULL = all */
  enum hop_state state;
  enum hop_state provider_state;   /* as the last sync said */
  int listed;                  /* in the last sync; 0 = removed, kept only to count sessions */
  int ours;                    /* STARTING/STOPPING: we asked for it (START/STOP emitted) */
  int woken;                   /* STARTING: a wake started or joined this attempt */
  int restart_pending;         /* STOPPING: a wake joined; start again once it sleeps */
  int probe_inflight;          /* STARTING: a PROBE is out and its result is not in */
  int cooldown;                /* cooldown_from_ms is set */
  uint32_t sessions;
  size_t pos;                  /* index in hop_farm.servers */
  uint64_t sync_gen;           /* last sync that listed it */
  uint64_t wake_ms;            /* STARTING/STOPPING: first wake of this attempt (for wait_ms) */
  uint64_t starting_ms;        /* STARTING: when it began (start_timeout_s counts from here) */
  uint64_t probe_ms;           /* STARTING: next PROBE, or NEVER */
  uint64_t probe_ok_ms;        /* STARTING: first good probe (grace counts from here), or NEVER */
  uint64_t running_ms;         /* RUNNING: when it became running (min_online_s) */
  uint64_t idle_from_ms;       /* RUNNING: when sessions last reached 0, or running began */
  uint64_t cooldown_from_ms;   /* when it last failed or stopped */
  uint64_t deadline_ms;        /* earliest timer work, or NEVER; kept by hop_server_rearm */
};

struct hop_farm {
  struct hop_farm_config cfg;
  struct server **servers;     /* listed and removed-with-sessions, in no particular order */
  size_t servers_len, servers_cap;
  struct map ids;              /* id -> struct server */
  uint64_t sync_gen;
  struct quota quota;
  struct hop_farm_action *actions;   /* ring */
  size_t actions_head, actions_len, actions_cap;
};

/* Grows the action ring to hold `extra` more actions than are queued. 0 or -ENOMEM. */
int hop_farm_reserve_actions(struct hop_farm *f, size_t extra);
void hop_farm_push(struct hop_farm *f, const struct server *s, enum hop_farm_action_kind kind);
void hop_farm_push_event(struct hop_farm *f, const struct server *s, enum hop_farm_event e,
                         uint64_t wait_ms);

/* Moves `s` to `to`, emitting what that implies (see farm.c). No-op if already there. */
void hop_server_go(struct hop_farm *f, struct server *s, enum hop_state to, uint64_t now_ms);
/* Our own start: EVENT wake_requested, STATE starting, START. `wake_ms` is the first wake. */
void hop_server_start(struct hop_farm *f, struct server *s, uint64_t wake_ms, uint64_t now_ms);
/* Recomputes s->deadline_ms from its state, timers and policy. */
void hop_server_rearm(struct server *s);
/* Forgets `s` entirely (index, list, memory). */
void hop_server_forget(struct hop_farm *f, struct server *s);
void hop_server_free(struct server *s);

#endif
