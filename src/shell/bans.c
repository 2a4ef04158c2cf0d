/* Bans on the control loop: the store's copy of src/shell/limits.c's ban table (see
 * include/hop/bans.h). Each sync stores the bans made since the last one and reads back every
 * ban in force; `known` remembers which bans this process has seen stored, so one that is gone
 * from the file was lifted by an operator and is lifted here too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "hop/bans.h"
#include "hop/log.h"
#include "hop/metrics.h"
#include "hop/store.h"
#include "limits.h"

#define BANS_SYNC_MS   2000
#define BANS_PURGE_MS  60000   /* expired rows are deleted this often */
#define SAVE_MAX       1024    /* new bans stored per sync */

struct known {
  uint8_t key[16];
  uint64_t gen;                /* the sync that stored (or read) it */
  int64_t until_ms;
  uint8_t seen;                /* in the sync being reconciled */
};

struct hop_bans {
  uv_loop_t *loop;
  struct hop_store *store;
  uv_timer_t timer;
  struct hop_store_bans job;
  struct hop_store_ban_row save[SAVE_MAX];
  size_t save_len;             /* rows of the job in flight, kept for a retry if it fails */
  uint64_t gen;                /* syncs submitted */
  int busy, stopped, loaded;
  int final_sent;              /* the sync after hop_bans_stop */
  int64_t purged_ms;
  uint64_t made;               /* bans this process made */
  struct known *known;
  size_t known_len, known_cap;
};

static void sync_now(struct hop_bans *b);

static int key_cmp(const void *a, const void *b)
{
  return memcmp(((const struct known *)a)->key, ((const struct known *)b)->key, 16);
}

/* In the first `sorted` entries. */
static struct known *known_find(struct hop_bans *b, size_t sorted, const uint8_t key[16])
{
  struct known probe;

  memcpy(probe.key, key, 16);
  return sorted ? bsearch(&probe, b->known, sorted, sizeof *b->known, key_cmp) : NULL;
}

/* Appends (the caller sorts before the next lookup). */
static int known_add(struct hop_bans *b, const uint8_t key[16], uint64_t gen, int64_t until)
{
  if (b->known_len == b->known_cap) {
    size_t cap = b->known_cap ? b->known_cap * 2 : 64;
    struct known *k = realloc(b->known, cap * sizeof *k);

    if (!k)
      return -1;
    b->known = k;
    b->known_cap = cap;
  }
  memcpy(b->known[b->known_len].key, key, 16);
  b->known[b->known_len].gen = gen;
  b->known[b->known_len].until_ms = until;
  b->known[b->known_len++].seen = 0;
  return 0;
}

/* msg=ban_lifted, or msg=ban_added for a ban another process stored (`hopper bans add`). */
static void log_change(const char *msg, const uint8_t key[16])
{
  struct hop_logline l;
  char ip[64];

  if (!hop_log_begin(&l, HOP_LOG_INFO, msg))
    return;
  hop_ip_key_format(key, ip, sizeof ip);
  hop_log_str(&l, "client", ip);
  hop_log_end(&l);
}

/* Every stored ban is in force here; a ban we saw stored and is gone was lifted. */
static void reconcile(struct hop_bans *b, uint64_t gen, int64_t now)
{
  const struct hop_store_bans *x = &b->job;
  size_t added = 0, kept = 0, sorted = b->known_len;   /* rows found new are appended */

  if (sorted)                  /* known may still be NULL */
    qsort(b->known, sorted, sizeof *b->known, key_cmp);
  for (size_t i = 0; i < b->known_len; i++)
    b->known[i].seen = 0;
  for (size_t i = 0; i < x->len; i++) {
    const struct hop_store_ban_row *r = &x->rows[i];
    struct hop_ban ban = { .until_ms = r->until_ms, .strikes = r->strikes };
    struct known *k;

    if (hop_ip_key_parse(r->ip, ban.key) < 0)
      continue;                /* a hand-made row with a bad address: `hopper bans list` shows it */
    for (int c = 1; c < HOP_CLOSE_COUNT; c++)
      if (strcmp(hop_close_name((enum hop_close)c), r->reason) == 0)
        ban.reason = (uint8_t)c;
    hop_limits_ban(&ban);
    if ((k = known_find(b, sorted, ban.key)))
      k->seen = 1;
    else if (known_add(b, ban.key, gen, ban.until_ms) == 0) {
      b->known[b->known_len - 1].seen = 1;
      added++;
      if (b->loaded)
        log_change("ban_added", ban.key);
    }
  }
  for (size_t i = 0; i < b->known_len; i++) {
    struct known *k = &b->known[i];

    if (!k->seen && k->gen <= gen) {
      hop_limits_unban(k->key);
      if (k->until_ms > now)
        log_change("ban_lifted", k->key);
      continue;
    }
    b->known[kept++] = *k;
  }
  b->known_len = kept;
  if (!b->loaded && added) {
    struct hop_logline l;

    if (hop_log_begin(&l, HOP_LOG_INFO, "bans_loaded")) {
      hop_log_int(&l, "bans", (int64_t)added);
      hop_log_end(&l);
    }
  }
  hop_metrics_bans(x->len, b->made);
}

static void sync_done(struct hop_store_job *job)
{
  struct hop_bans *b = (struct hop_bans *)(void *)((char *)job - offsetof(struct hop_bans, job));

  b->busy = 0;
  if (job->status < 0) {
    hop_log_msg(HOP_LOG_WARN, "bans_sync_failed", job->err);   /* the rows are tried again */
  } else {
    reconcile(b, b->gen, hop_wall_ms());
    b->save_len = 0;
    b->loaded = 1;
  }
  hop_store_bans_clear(&b->job);
  if (b->stopped && !b->final_sent) {
    b->final_sent = 1;
    sync_now(b);
  }
}

/* Takes the new bans into the save rows, noting them as this sync's. */
static void take_new(struct hop_bans *b)
{
  struct hop_ban fresh[64];
  size_t n;

  while (b->save_len < SAVE_MAX &&
         (n = hop_limits_take_new_bans(fresh, SAVE_MAX - b->save_len < 64
                                                ? SAVE_MAX - b->save_len : 64)) > 0) {
    for (size_t i = 0; i < n; i++) {
      struct hop_store_ban_row *r = &b->save[b->save_len++];

      hop_ip_key_format(fresh[i].key, r->ip, sizeof r->ip);
      snprintf(r->reason, sizeof r->reason, "%s", hop_close_name((enum hop_close)fresh[i].reason));
      r->until_ms = fresh[i].until_ms;
      r->strikes = fresh[i].strikes;
      known_add(b, fresh[i].key, b->gen + 1, fresh[i].until_ms);
      b->made++;
    }
  }
}

static void sync_now(struct hop_bans *b)
{
  int64_t now = hop_wall_ms();

  if (b->busy)
    return;
  take_new(b);                 /* after rows a failed sync left: they are tried again */
  hop_store_bans_prepare(&b->job, now);
  b->job.save = b->save;
  b->job.save_len = b->save_len;
  b->job.purge = now - b->purged_ms >= BANS_PURGE_MS;
  if (b->job.purge)
    b->purged_ms = now;
  b->job.job.done = sync_done;
  if (hop_store_submit(b->store, &b->job.job) == 0) {
    b->gen++;
    b->busy = 1;
  }
}

static void on_tick(uv_timer_t *t)
{
  sync_now(t->data);
}

struct hop_bans *hop_bans_start(uv_loop_t *loop, struct hop_store *store)
{
  struct hop_bans *b = calloc(1, sizeof *b);

  if (!b)
    return NULL;
  b->loop = loop;
  b->store = store;
  uv_timer_init(loop, &b->timer);
  b->timer.data = b;
  sync_now(b);
  uv_timer_start(&b->timer, on_tick, BANS_SYNC_MS, BANS_SYNC_MS);
  return b;
}

int hop_bans_loaded(const struct hop_bans *b)
{
  return b->loaded;
}

void hop_bans_stop(struct hop_bans *b)
{
  if (!b || b->stopped)
    return;
  b->stopped = 1;
  uv_close((uv_handle_t *)&b->timer, NULL);
  if (!b->busy) {              /* else the busy one's done sends it */
    b->final_sent = 1;
    sync_now(b);
  }
}

void hop_bans_free(struct hop_bans *b)
{
  if (!b)
    return;
  hop_store_bans_clear(&b->job);
  free(b->known);
  free(b);
}

/* ---- Admin view --------------------------------------------------------------------------- */

static void add_ban(cJSON *arr, const struct hop_ban *ban)
{
  cJSON *o = cJSON_CreateObject();
  char ip[64], until[32];
  time_t secs = (time_t)(ban->until_ms / 1000);
  struct tm tm;

  hop_ip_key_format(ban->key, ip, sizeof ip);
  gmtime_r(&secs, &tm);
  strftime(until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON_AddStringToObject(o, "ip", ip);
  cJSON_AddStringToObject(o, "until", until);
  cJSON_AddNumberToObject(o, "seconds_left", (double)((ban->until_ms - hop_wall_ms()) / 1000));
  cJSON_AddStringToObject(o, "reason", ban->reason ? hop_close_name((enum hop_close)ban->reason)
                                                   : "operator");
  cJSON_AddNumberToObject(o, "strikes", ban->strikes);
  cJSON_AddItemToArray(arr, o);
}

char *hop_bans_json(size_t *len)
{
  size_t n = hop_limits_list_bans(NULL, 0), got;
  struct hop_ban *bans = malloc((n + 64) * sizeof *bans);
  cJSON *root = cJSON_CreateObject(), *arr;
  char *json = NULL;

  if (bans && root && (arr = cJSON_AddArrayToObject(root, "bans"))) {
    got = hop_limits_list_bans(bans, n + 64);
    if (got > n + 64)
      got = n + 64;
    for (size_t i = 0; i < got; i++)
      add_ban(arr, &bans[i]);
    json = cJSON_Print(root);
  }
  cJSON_Delete(root);
  free(bans);
  *len = json ? strlen(json) : 0;
  return json;
}
