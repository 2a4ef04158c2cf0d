/* The control-plane client's decisions (include/hop/fetcher.h): routes fetch with ETag, refresh,
 * backoff; start and stop calls with their retries. Pure: no libuv, no curl, no clock; the caller
 * brings now_ms and the randomness. src/shell/provider_api.c and sim/gateway.c drive it. */
#include <string.h>

#include "hop/fetcher.h"

static struct hop_fetcher_action *emit(struct hop_fetcher_out *out, enum hop_fetcher_act kind)
{
  struct hop_fetcher_action *a;

  if (out->len == HOP_FETCHER_ACTIONS_MAX)   /* no path emits more; keep the last slot honest */
    out->len--;
  a = &out->a[out->len++];
  memset(a, 0, sizeof *a);
  a->kind = kind;
  return a;
}

void hop_fetcher_config_default(struct hop_fetcher_config *c)
{
  memset(c, 0, sizeof *c);
  c->refresh_ms = 30000;
  c->starting_refresh_ms = 1000;
  c->unsent_retry_ms = 1000;
  c->retry_base_ms = 1000;
  c->retry_max_ms = 60000;
  c->call_tries = 3;
  c->call_retry_ms = 500;
}

void hop_fetcher_init(struct hop_fetcher *f, const struct hop_fetcher_config *cfg)
{
  memset(f, 0, sizeof *f);
  f->cfg = *cfg;
  f->backoff.base_ms = cfg->retry_base_ms;
  f->backoff.max_ms = cfg->retry_max_ms;
}

static void arm(struct hop_fetcher *f, uint64_t delay_ms, struct hop_fetcher_out *out)
{
  if (!f->stopping)
    emit(out, HOP_FETCHER_ARM)->delay_ms = delay_ms;
}

/* ---- Routes ------------------------------------------------------------------------------- */

void hop_fetcher_start(struct hop_fetcher *f, uint64_t now_ms, uint64_t delay_ms,
                       struct hop_fetcher_out *out)
{
  (void)now_ms;
  arm(f, delay_ms, out);
}

void hop_fetcher_reload(struct hop_fetcher *f, uint64_t now_ms, uint64_t refresh_ms,
                        struct hop_fetcher_out *out)
{
  (void)now_ms;
  f->cfg.refresh_ms = refresh_ms;
  arm(f, 0, out);
}

void hop_fetcher_on_timer(struct hop_fetcher *f, uint64_t now_ms, int ready,
                          struct hop_fetcher_out *out)
{
  (void)now_ms;
  if (f->fetching || f->stopping)
    return;                    /* the answer in flight arms the next */
  f->fetching = 1;
  emit(out, HOP_FETCHER_GET)->conditional = ready;   /* no ETag before a document is loaded */
}

void hop_fetcher_on_unsent(struct hop_fetcher *f, uint64_t now_ms, struct hop_fetcher_out *out)
{
  (void)now_ms;
  f->fetching = 0;
  arm(f, f->cfg.unsent_retry_ms, out);
}

void hop_fetcher_on_fetched(struct hop_fetcher *f, uint64_t now_ms, int status, int valid,
                            int starting, uint64_t random_u64, struct hop_fetcher_out *out)
{
  struct hop_fetcher_action *a;
  uint64_t refresh = starting ? f->cfg.starting_refresh_ms : f->cfg.refresh_ms;

  (void)now_ms;
  f->fetching = 0;
  if (f->stopping)
    return;
  if (status == 200 || status == 304) {
    emit(out, HOP_FETCHER_COUNT)->count = status == 304 ? HOP_FETCHER_NOT_MODIFIED
                                          : valid ? HOP_FETCHER_OK : HOP_FETCHER_REJECTED;
    hop_backoff_reset(&f->backoff);   /* a rejected document is an answer: no backoff */
    arm(f, refresh, out);
    return;
  }
  emit(out, HOP_FETCHER_COUNT)->count = status < 0 ? HOP_FETCHER_UNREACHABLE
                                        : HOP_FETCHER_HTTP_ERROR;
  a = emit(out, HOP_FETCHER_LOG_FAILED);
  a->status = status;
  arm(f, hop_backoff_next(&f->backoff, random_u64), out);
}

/* ---- Start and stop ----------------------------------------------------------------------- */

void hop_fetcher_call(struct hop_fetcher *f, uint64_t now_ms, struct hop_fetcher_call *c, int stop,
                      struct hop_fetcher_out *out)
{
  (void)now_ms;
  memset(c, 0, sizeof *c);
  c->stop = stop;
  emit(out, HOP_FETCHER_CALL_SEND)->call = c;
  arm(f, f->cfg.starting_refresh_ms, out);   /* the document says when it is running */
}

void hop_fetcher_on_called(struct hop_fetcher *f, uint64_t now_ms, struct hop_fetcher_call *c,
                           int status, int unsent, struct hop_fetcher_out *out)
{
  struct hop_fetcher_action *a;
  int ok = status >= 200 && status < 300;

  (void)now_ms;
  if (f->stopping)
    return;
  if (!ok && !unsent && ++c->tries < f->cfg.call_tries && status != 404 && status != 400) {
    a = emit(out, HOP_FETCHER_CALL_LATER);
    a->call = c;
    a->delay_ms = (uint64_t)f->cfg.call_retry_ms << c->tries;
    return;
  }
  a = emit(out, HOP_FETCHER_CALL_DONE);
  a->call = c;
  a->ok = ok;
  a->status = status;
}

void hop_fetcher_stop(struct hop_fetcher *f)
{
  f->stopping = 1;
}
