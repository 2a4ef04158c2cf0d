/* Log lines: the format of a line, and batching (src/util/log.c). stderr is a SOCK_SEQPACKET
 * socket here, which keeps message boundaries: each write(2) the logger makes is one read. */
#include <fcntl.h>
#include <regex.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hop/log.h"
#include "tutil.h"

static int passed, failed;

#define CHECK(cond)                                                                            \
  do {                                                                                         \
    if (cond) {                                                                                \
      passed++;                                                                                \
    } else {                                                                                   \
      failed++;                                                                                \
      fprintf(stdout, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                          \
    }                                                                                          \
  } while (0)

static int log_rd;

/* What one write(2) of the logger sent, or 0 bytes if nothing is waiting. */
static size_t take(char *buf, size_t cap)
{
  ssize_t n = read(log_rd, buf, cap - 1);

  buf[n > 0 ? n : 0] = '\0';
  return n > 0 ? (size_t)n : 0;
}

static void line(int i)
{
  struct hop_logline l;

  if (hop_log_begin(&l, HOP_LOG_INFO, "session")) {
    hop_log_int(&l, "n", i);
    hop_log_str(&l, "player", "Notch");
    hop_log_end(&l);
  }
}

static void test_line_format(void)
{
  char buf[8192];
  regex_t re;

  regcomp(&re,
          "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z level=info "
          "msg=session n=7 player=Notch\n$",
          REG_EXTENDED);
  line(7);
  take(buf, sizeof buf);
  CHECK(regexec(&re, buf, 0, NULL, 0) == 0);
  regfree(&re);

  hop_log_setup(HOP_LOG_JSON, HOP_LOG_INFO);
  line(8);
  take(buf, sizeof buf);
  CHECK(strncmp(buf, "{\"ts\":\"", 7) == 0);
  CHECK(strstr(buf, "\"n\":8,\"player\":\"Notch\"}\n") != NULL);
  hop_log_setup(HOP_LOG_LOGFMT, HOP_LOG_INFO);

  line(9);                     /* unbatched: written at once */
  CHECK(take(buf, sizeof buf) > 0 && strstr(buf, " n=9 ") != NULL);
}

static int count_lines(const char *s, int *first, int *last)
{
  int n = 0;

  for (const char *p = s; (p = strstr(p, " n=")) != NULL; p++) {
    int v = atoi(p + 3);

    if (n == 0)
      *first = v;
    *last = v;
    n++;
  }
  return n;
}

static void test_batch(void)
{
  char buf[16384];
  int first = -1, last = -1, next = 0, writes = 0;

  hop_log_batch(1);
  for (int i = 0; i < 3; i++)
    line(i);
  CHECK(take(buf, sizeof buf) == 0);   /* held until the flush */
  hop_log_flush();
  CHECK(take(buf, sizeof buf) > 0 && count_lines(buf, &first, &last) == 3 && first == 0 &&
        last == 2);
  hop_log_flush();
  CHECK(take(buf, sizeof buf) == 0);   /* an empty batch writes nothing */

  /* Many lines: every write is whole lines, at most 4 KiB, and none is lost or reordered. */
  for (int i = 0; i < 200; i++)
    line(i);
  hop_log_flush();
  for (size_t n; (n = take(buf, sizeof buf)) > 0; writes++) {
    int lines = count_lines(buf, &first, &last);

    CHECK(n <= 4096);
    CHECK(buf[n - 1] == '\n');
    CHECK(lines > 1 && first == next);
    next = last + 1;
  }
  CHECK(next == 200);
  CHECK(writes > 1 && writes < 200);

  line(1000);
  hop_log_batch(0);                    /* turning it off writes what waits */
  CHECK(take(buf, sizeof buf) > 0 && strstr(buf, " n=1000 ") != NULL);
  line(1001);
  CHECK(take(buf, sizeof buf) > 0 && strstr(buf, " n=1001 ") != NULL);
}

int main(void)
{
  int fds[2];

  if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fds) != 0 || dup2(fds[1], STDERR_FILENO) < 0)
    return 1;
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  log_rd = fds[0];
  hop_log_setup(HOP_LOG_LOGFMT, HOP_LOG_INFO);
  test_line_format();
  test_batch();
  printf("%d passed, %d failed\n", passed, failed);
  return failed != 0;
}
