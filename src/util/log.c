#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hop/log.h"

static _Atomic int log_format = HOP_LOG_LOGFMT;
static _Atomic int log_level = HOP_LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

/* A loop thread's batch: its lines wait here until the loop turn ends. At most PIPE_BUF bytes,
 * so one write to a pipe (a container's stderr) stays atomic, and only whole lines. */
#define BATCH_BYTES 4096
_Static_assert(HOP_LOGLINE_BYTES <= BATCH_BYTES, "a log line fits in a batch");

static _Thread_local struct {
  int on;
  size_t len;
  char buf[BATCH_BYTES];
} batch;

void hop_log_setup(enum hop_log_format format, enum hop_log_level level)
{
  atomic_store(&log_format, format);
  atomic_store(&log_level, level);
}

static void put(struct hop_logline *l, const char *s, size_t n)
{
  size_t room = sizeof l->buf - 2 - l->len;     /* keep room for "}\n" */

  if (n > room)
    n = room;
  memcpy(l->buf + l->len, s, n);
  l->len += n;
}

static void put_char(struct hop_logline *l, char c)
{
  put(l, &c, 1);
}

/* A value, quoted and escaped when it must be (always, for JSON). */
static void put_value(struct hop_logline *l, const char *v, size_t n, int is_number)
{
  int json = atomic_load(&log_format) == HOP_LOG_JSON;
  int quote = json && !is_number;

  for (size_t i = 0; !quote && i < n; i++)
    quote = (unsigned char)v[i] <= ' ' || v[i] == '"' || v[i] == '=' || v[i] == '\\';
  if (!quote) {
    put(l, v, n);
    return;
  }
  put_char(l, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    char esc[8];

    if (c == '"' || c == '\\') {
      put_char(l, '\\');
      put_char(l, (char)c);
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(l, esc, strlen(esc));
    } else {
      put_char(l, (char)c);
    }
  }
  put_char(l, '"');
}

static void put_key(struct hop_logline *l, const char *key)
{
  if (atomic_load(&log_format) == HOP_LOG_JSON) {
    put(l, l->len > 1 ? ",\"" : "\"", l->len > 1 ? 2 : 1);
    put(l, key, strlen(key));
    put(l, "\":", 2);
  } else {
    if (l->len)
      put_char(l, ' ');
    put(l, key, strlen(key));
    put_char(l, '=');
  }
}

/* "2026-11-23T15:37:45.289Z". The date and time to the second are formatted once a second per
 * thread: a busy worker logs thousands of lines in each. */
static const char *timestamp(const struct timespec *ts, char out[40])
{
  static _Thread_local time_t cached_sec = -1;
  static _Thread_local char cached[32];
  long ms = (long)(ts->tv_nsec / 1000000) % 1000;
  size_t n;

  if (ts->tv_sec != cached_sec) {
    struct tm tm;

    gmtime_r(&ts->tv_sec, &tm);
    snprintf(cached, sizeof cached, "%04u-%02u-%02uT%02u:%02u:%02u",
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
             (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u);
    cached_sec = ts->tv_sec;
  }
  n = strlen(cached);
  memcpy(out, cached, n);
  out[n++] = '.';
  out[n++] = (char)('0' + ms / 100);
  out[n++] = (char)('0' + ms / 10 % 10);
  out[n++] = (char)('0' + ms % 10);
  out[n++] = 'Z';
  out[n] = '\0';
  return out;
}

int hop_log_begin(struct hop_logline *l, enum hop_log_level level, const char *msg)
{
  struct timespec ts;
  char when[40];

  if ((int)level < atomic_load(&log_level))
    return 0;
  l->len = 0;
  if (atomic_load(&log_format) == HOP_LOG_JSON)
    put_char(l, '{');
  clock_gettime(CLOCK_REALTIME, &ts);
  hop_log_str(l, "ts", timestamp(&ts, when));
  hop_log_str(l, "level", level_names[level]);
  hop_log_str(l, "msg", msg);
  return 1;
}

void hop_log_strn(struct hop_logline *l, const char *key, const char *value, size_t len)
{
  put_key(l, key);
  if (!value || len == 0)
    put_value(l, "-", 1, 0);
  else
    put_value(l, value, len, 0);
}

void hop_log_str(struct hop_logline *l, const char *key, const char *value)
{
  hop_log_strn(l, key, value, value ? strlen(value) : 0);
}

void hop_log_int(struct hop_logline *l, const char *key, int64_t value)
{
  char num[24];

  snprintf(num, sizeof num, "%lld", (long long)value);
  put_key(l, key);
  put_value(l, num, strlen(num), 1);
}

static void write_out(const char *buf, size_t len)
{
  ssize_t n = write(STDERR_FILENO, buf, len);   /* whole lines, one write: no interleaving */

  (void)n;
}

void hop_log_flush(void)
{
  if (batch.len)
    write_out(batch.buf, batch.len);
  batch.len = 0;
}

void hop_log_batch(int on)
{
  hop_log_flush();
  batch.on = on;
}

void hop_log_end(struct hop_logline *l)
{
  if (atomic_load(&log_format) == HOP_LOG_JSON)
    l->buf[l->len++] = '}';
  l->buf[l->len++] = '\n';
  if (!batch.on) {
    write_out(l->buf, l->len);
    return;
  }
  if (batch.len + l->len > sizeof batch.buf)
    hop_log_flush();
  memcpy(batch.buf + batch.len, l->buf, l->len);
  batch.len += l->len;
}

void hop_log_msg(enum hop_log_level level, const char *msg, const char *err)
{
  struct hop_logline l;

  if (!hop_log_begin(&l, level, msg))
    return;
  if (err)
    hop_log_str(&l, "err", err);
  hop_log_end(&l);
}
