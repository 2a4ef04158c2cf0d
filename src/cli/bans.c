/* hopper bans: list, add and lift temporary IP bans in the SQLite file. A running hopper applies
 * a change at its next ban sync (every 2 s; docs/bans.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>
#include <uv.h>

#include "hop/cli.h"
#include "db.h"

static const char usage[] =
  "usage: hopper bans [--db FILE | --config FILE] list\n"
  "       hopper bans [--db FILE | --config FILE] add IP [SECONDS]   (default 3600)\n"
  "       hopper bans [--db FILE | --config FILE] lift IP\n";

static int64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The address in the canonical form the gateway stores ("::ffff:1.2.3.4" becomes "1.2.3.4"). */
static int canonical_ip(const char *text, char *out, size_t cap)
{
  unsigned char a[16];

  if (uv_inet_pton(AF_INET, text, a) == 0)
    return uv_inet_ntop(AF_INET, a, out, cap);
  if (uv_inet_pton(AF_INET6, text, a) != 0)
    return -1;
  if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
    return uv_inet_ntop(AF_INET, a + 12, out, cap);
  return uv_inet_ntop(AF_INET6, a, out, cap);
}

static int cmd_list(sqlite3 *db)
{
  sqlite3_stmt *s;
  int rc, n = 0;

  if (sqlite3_prepare_v2(db, "SELECT ip, until_ms, reason, strikes FROM bans WHERE until_ms > ?1 "
                             "ORDER BY until_ms", -1, &s, NULL) != SQLITE_OK) {
    fprintf(stderr, "hopper: list bans: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_bind_int64(s, 1, now_ms());
  printf("%-40s %-20s %-18s %s\n", "IP", "UNTIL (UTC)", "REASON", "STRIKES");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    time_t until = (time_t)(sqlite3_column_int64(s, 1) / 1000);
    struct tm tm;
    char when[32];

    gmtime_r(&until, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%-40s %-20s %-18s %lld\n", (const char *)sqlite3_column_text(s, 0), when,
           (const char *)sqlite3_column_text(s, 2), (long long)sqlite3_column_int64(s, 3));
    n++;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "hopper: list bans: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  fprintf(stderr, "%d ban%s in force\n", n, n == 1 ? "" : "s");
  return 0;
}

static int cmd_add(sqlite3 *db, const char *ip, const char *seconds)
{
  char *end = NULL;
  long long secs = seconds ? strtoll(seconds, &end, 10) : 3600;
  sqlite3_stmt *s;
  int rc;

  if (seconds && (*end || secs <= 0 || secs > 31536000)) {
    fprintf(stderr, "hopper: bans add: SECONDS must be 1..31536000, not \"%s\"\n", seconds);
    return 2;
  }
  if (sqlite3_prepare_v2(db, "INSERT INTO bans(ip, until_ms, reason, strikes, created_ms) "
                             "VALUES(?1, ?2, 'operator', 0, ?3) ON CONFLICT(ip) DO UPDATE SET "
                             "until_ms = excluded.until_ms, reason = 'operator'",
                         -1, &s, NULL) != SQLITE_OK) {
    fprintf(stderr, "hopper: bans add: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 2, now_ms() + secs * 1000);
  sqlite3_bind_int64(s, 3, now_ms());
  rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "hopper: bans add: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  printf("banned %s for %lld s (a running hopper applies it within 2 s)\n", ip, secs);
  return 0;
}

static int cmd_lift(sqlite3 *db, const char *ip)
{
  sqlite3_stmt *s;
  int rc;

  if (sqlite3_prepare_v2(db, "DELETE FROM bans WHERE ip = ?1", -1, &s, NULL) != SQLITE_OK) {
    fprintf(stderr, "hopper: bans lift: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "hopper: bans lift: %s\n", sqlite3_errmsg(db));
    return 1;
  }
  if (sqlite3_changes(db) == 0) {
    fprintf(stderr, "hopper: bans lift: %s is not banned\n", ip);
    return 1;
  }
  printf("lifted %s (a running hopper applies it within 2 s)\n", ip);
  return 0;
}

int hop_cli_bans(int argc, char **argv)
{
  char buf[4096], ip[64];
  const char *path = hop_cli_db_path(&argc, &argv, buf, sizeof buf);
  sqlite3 *db;
  int rc;

  if (!path)
    return 1;
  if (argc < 1 || (strcmp(argv[0], "list") == 0 && argc != 1) ||
      (strcmp(argv[0], "add") == 0 && (argc < 2 || argc > 3)) ||
      (strcmp(argv[0], "lift") == 0 && argc != 2))
    return fputs(usage, stderr), 2;
  if (argc >= 2 && canonical_ip(argv[1], ip, sizeof ip) < 0) {
    fprintf(stderr, "hopper: bans: \"%s\" is not an IPv4 or IPv6 address\n", argv[1]);
    return 2;
  }
  if (!(db = hop_cli_db_open(path)))
    return 1;
  if (strcmp(argv[0], "list") == 0)
    rc = cmd_list(db);
  else if (strcmp(argv[0], "add") == 0)
    rc = cmd_add(db, ip, argc == 3 ? argv[2] : NULL);
  else if (strcmp(argv[0], "lift") == 0)
    rc = cmd_lift(db, ip);
  else
    rc = (fputs(usage, stderr), 2);
  sqlite3_close(db);
  return rc;
}
