/* Log lines: logfmt (default) or JSON lines, written whole (a line or a batch of lines per
 * write(2)) so threads never interleave.
 *
 *   struct hop_logline l;
 *   if (hop_log_begin(&l, HOP_LOG_INFO, "session")) {
 *     hop_log_str(&l, "server", id);
 *     hop_log_int(&l, "duration_ms", ms);
 *     hop_log_end(&l);
 *   } */
#ifndef HOP_LOG_H
#define HOP_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "hop/config.h"

#define HOP_LOGLINE_BYTES 2048

struct hop_logline {
  char buf[HOP_LOGLINE_BYTES];
  size_t len;
};

void hop_log_setup(enum hop_log_format format, enum hop_log_level level);

/* Starts a line with ts, level and msg; returns 0 (and writes nothing later) below the level. */
int hop_log_begin(struct hop_logline *l, enum hop_log_level level, const char *msg);
/* NULL or "" is written as "-". */
void hop_log_str(struct hop_logline *l, const char *key, const char *value);
void hop_log_strn(struct hop_logline *l, const char *key, const char *value, size_t len);
void hop_log_int(struct hop_logline *l, const char *key, int64_t value);
void hop_log_end(struct hop_logline *l);

/* Batching, for a loop thread that logs a line per session: after hop_log_batch(1) this thread's
 * lines wait in a thread-local buffer (up to 4 KiB of whole lines) until hop_log_flush(), which
 * the loop calls once per turn, before it waits again. A busy worker then pays one write(2) for
 * many lines instead of one each. hop_log_batch(0) flushes and goes back to a write per line. */
void hop_log_batch(int on);
void hop_log_flush(void);

/* One-field convenience: a line with msg and an optional err. */
void hop_log_msg(enum hop_log_level level, const char *msg, const char *err);

#endif
