/* Log lines: logfmt (default) or JSON lines, one write(2) per line so threads never interleave.
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

/* One-field convenience: a line with msg and an optional err. */
void hop_log_msg(enum hop_log_level level, const char *msg, const char *err);

#endif
