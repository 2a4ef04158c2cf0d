/* The client factory: what each simulated client sends, built with the real protocol encoders
 * (Handshake, Login Start, Status Request/Ping), and how it misbehaves (drips bytes, vanishes
 * mid-handshake, half-closes). Live mode (sim --live) sends the same bytes over real sockets. */
#include <stdio.h>
#include <string.h>

#include "hop/proto.h"
#include "sim.h"

static const int32_t protocols[] = { 340, 754, 765 };   /* 1.12.2, 1.16.5, 1.20.4 */

/* Appends a Login Start for `protocol`'s layout (see hop_login_parse). */
static size_t login_start(uint8_t *out, int32_t protocol, const char *name, uint64_t uuid_seed)
{
  uint8_t body[64];
  size_t n = 0, len = strlen(name), o;

  body[n++] = 0x00;
  n += (size_t)hop_varint_encode(body + n, (int32_t)len);
  memcpy(body + n, name, len);
  n += len;
  if (protocol >= 764) {       /* a UUID follows, always */
    for (int i = 0; i < 16; i++)
      body[n++] = (uint8_t)(uuid_seed >> ((i % 8) * 8)) ^ (uint8_t)i;
  }
  o = (size_t)hop_varint_encode(out, (int32_t)n);
  memcpy(out + o, body, n);
  return o + n;
}

static size_t handshake(uint8_t *out, size_t cap, int32_t protocol, const char *host,
                        enum hop_intent intent)
{
  int n = hop_handshake_encode(out, cap, protocol, host, strlen(host), 25565, intent);

  return n > 0 ? (size_t)n : 0;
}

static void junk(struct sim *s, struct sim_session *ss)
{
  ss->script_len = (size_t)sim_rng_range(&s->rng, 1, 64);
  for (size_t i = 0; i < ss->script_len; i++)
    ss->script[i] = (uint8_t)sim_rng_u64(&s->rng);
  if (ss->script[0] == 0xfe)
    ss->script[0] = 0x7f;      /* keep it a modern frame: legacy pings are not modelled */
}

static void target_host(struct sim *s, struct sim_session *ss, const struct sim_plan *p,
                        char *host, size_t cap)
{
  if (p->server == -2) {
    ss->server = -1;
    snprintf(host, cap, "scan-%u.invalid", (unsigned)sim_rng_below(&s->rng, 1000));
    return;
  }
  ss->server = p->server >= 0 ? p->server : (int)sim_rng_below(&s->rng, s->servers_len);
  snprintf(host, cap, "%s", s->servers[ss->server].spec->host);
  if (sim_rng_chance(&s->rng, 0.1))            /* as some clients send it: a trailing dot */
    snprintf(host, cap, "%s.", s->servers[ss->server].spec->host);
}

void sim_client_make(struct sim *s, struct sim_session *ss, const struct sim_plan *p)
{
  const struct sim_faults *f = &s->sc->faults;
  char host[80];

  ss->protocol = p->protocol ? p->protocol : protocols[sim_rng_below(&s->rng, 3)];
  target_host(s, ss, p, host, sizeof host);
  switch (p->pattern) {
  case PATTERN_STEADY:
  case PATTERN_STORM:
  case PATTERN_RECONNECT:
    ss->kind = CLIENT_PLAYER;
    ss->script_len = handshake(ss->script, sizeof ss->script, ss->protocol, host,
                               HOP_INTENT_LOGIN);
    ss->script_len += login_start(ss->script + ss->script_len, ss->protocol, ss->player,
                                  sim_rng_u64(&s->rng));
    break;
  case PATTERN_SCANNER:
    if (sim_rng_chance(&s->rng, 0.2)) {
      ss->kind = CLIENT_GARBAGE;
      junk(s, ss);
      break;
    }
    ss->kind = CLIENT_SCANNER;     /* most scanners ping properly */
    ss->script_len = handshake(ss->script, sizeof ss->script, ss->protocol, host,
                               HOP_INTENT_STATUS);
    ss->script[ss->script_len++] = 0x01;
    ss->script[ss->script_len++] = 0x00;
    break;
  case PATTERN_PINGER:
    ss->kind = CLIENT_PINGER;
    ss->script_len = handshake(ss->script, sizeof ss->script, ss->protocol, host,
                               HOP_INTENT_STATUS);
    ss->script[ss->script_len++] = 0x01;       /* Status Request */
    ss->script[ss->script_len++] = 0x00;
    break;
  }
  ss->drip = sim_rng_chance(&s->rng, sim_fault(s, f->client_drip));
  ss->vanish_at = sim_rng_chance(&s->rng, sim_fault(s, f->client_vanish))
                    ? (size_t)sim_rng_below(&s->rng, ss->script_len) : SIZE_MAX;
  ss->half_close = sim_rng_chance(&s->rng, sim_fault(s, f->client_half_close));
  ss->patience_ms = sim_rng_range(&s->rng, 10000, 120000);
  ss->play_ms = 1000 + sim_rng_exp_ms(&s->rng, (double)p->play_s * 1000.0);
}

void sim_client_ping(struct sim_session *ss)
{
  static const uint8_t ping[] = { 0x09, 0x01, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78 };

  if (ss->script_len + sizeof ping <= sizeof ss->script) {
    memcpy(ss->script + ss->script_len, ping, sizeof ping);
    ss->script_len += sizeof ping;
  }
}

size_t sim_client_plugin_answer(uint8_t *out, int32_t msg_id)
{
  uint8_t body[8];
  size_t n = 0, o;

  body[n++] = 0x02;            /* Login Plugin Response */
  n += (size_t)hop_varint_encode(body + n, msg_id);
  body[n++] = 0x00;            /* successful = false: "not understood", as vanilla answers */
  o = (size_t)hop_varint_encode(out, (int32_t)n);
  memcpy(out + o, body, n);
  return o + n;
}
