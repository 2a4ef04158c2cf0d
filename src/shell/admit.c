/* Who may in: the per-IP limits and bans applied to one session, at accept and once its intent
 * (and, behind a trusted proxy, its real address) is known; and the strikes it earns at close
 * (docs/bans.md). The table they consult is limits.c. */
#include <string.h>

#include "hop/cidr.h"
#include "hop/log.h"
#include "limits.h"
#include "shell.h"

enum hop_close hop_session_admit(struct hop_session *s, const struct hop_config *cfg)
{
  int trusted = hop_cidr_list_match(&cfg->trusted_proxies, &s->peer.sa), over_ip;
  enum hop_close refused = hop_limits_admit(&cfg->limits, trusted ? NULL : &s->peer.sa,
                                            &over_ip);

  if (refused != HOP_CLOSE_NONE) {
    hop_metrics_inc(&s->w->metrics->closes[refused]);
    s->reason = (uint8_t)refused;
    s->peer_real = (uint8_t)(over_ip && !trusted);
    hop_session_strike(s);     /* hitting the per-IP cap counts towards a ban */
    return refused;
  }
  s->admitted = 1;
  s->ip_counted = s->peer_real = (uint8_t)!trusted;
  s->over_ip = (uint8_t)over_ip;
  return HOP_CLOSE_NONE;
}

void hop_session_strike(const struct hop_session *s)
{
  const struct hop_limits *l = &s->snap->cfg->limits;
  struct hop_logline line;
  struct hop_ban b;
  char ip[64];

  if (!s->peer_real || !l->ban_strikes ||
      !hop_limits_strike(l, &s->peer.sa, s->reason, uv_now(&s->w->loop), &b))
    return;
  if (!hop_log_begin(&line, HOP_LOG_WARN, "ban"))
    return;
  hop_ip_key_format(b.key, ip, sizeof ip);
  hop_log_str(&line, "client", ip);
  hop_log_str(&line, "reason", hop_close_name((enum hop_close)b.reason));
  hop_log_int(&line, "strikes", b.strikes);
  hop_log_int(&line, "window_s", l->ban_window_s);
  hop_log_int(&line, "ban_s", l->ban_s);
  hop_log_end(&line);
}

void hop_session_adopt_proxy_source(struct hop_session *s)
{
  const struct hop_conn *c = &s->greet->conn;

  if (!c->have_proxy_src)
    return;
  if (c->proxy_src.ss_family == AF_INET)
    memcpy(&s->peer.in, &c->proxy_src, sizeof s->peer.in);
  else if (c->proxy_src.ss_family == AF_INET6)
    memcpy(&s->peer.in6, &c->proxy_src, sizeof s->peer.in6);
  else
    return;
  s->peer_real = 1;
}

int hop_session_needs_gate(const struct hop_session *s)
{
  const struct hop_limits *l = &s->snap->cfg->limits;

  return l->sessions_per_ip_max || l->status_per_s || l->login_per_s ||
         (!s->ip_counted && l->ban_strikes);   /* a proxy's client: its ban is known late */
}

void hop_session_check_limits(struct hop_session *s, struct hop_conn *c)
{
  const struct hop_limits *l = &s->snap->cfg->limits;
  enum hop_intent intent = hop_conn_intent(c);

  if (s->limits_checked || intent == HOP_INTENT_NONE || !c->ready)
    return;
  s->limits_checked = 1;
  hop_session_adopt_proxy_source(s);
  if (!s->ip_counted && s->peer_real) {   /* behind a proxy: the client's address is known now */
    if (hop_limits_banned(&s->peer.sa)) {
      hop_conn_refuse(c, HOP_CLOSE_BANNED, NULL, 1);
      return;
    }
    s->over_ip = (uint8_t)hop_limits_count_ip(l, &s->peer.sa);
    s->ip_counted = 1;
  }
  if (s->over_ip)
    hop_conn_refuse(c, HOP_CLOSE_SESSION_LIMIT, l->text, l->silent);
  else if (!hop_limits_rate(l, &s->peer.sa, intent != HOP_INTENT_STATUS &&
                                              intent != HOP_INTENT_LEGACY,
                            uv_now(&s->w->loop)))
    hop_conn_refuse(c, HOP_CLOSE_RATE_LIMITED, l->text, l->silent);
  else
    hop_conn_open_gate(c, uv_now(&s->w->loop));
}
