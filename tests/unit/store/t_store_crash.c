/* The store against a real SQLite file in a temp dir and a real libuv loop.
 * kill -9 in the middle of appends: a forked child appends and reports; the parent kills it
 * and checks that everything acknowledged survived and no reserved seq is handed out again. */
#include "store_fixture.h"

/* ---- kill -9 in the middle of appends ------------------------------------------------- */

struct ack {
  uint32_t kind;               /* 'R': seq reserved; 'A': batch for seq appended */
  uint32_t pad;
  uint64_t seq;
};

struct crash_child {
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_ids ids;
  struct hop_store_outbox ob;
  int fd;
  unsigned round;
};

static void child_reserve(struct crash_child *c);

static void child_send(struct crash_child *c, uint32_t kind, uint64_t seq)
{
  struct ack a = {kind, 0, seq};

  if (write(c->fd, &a, sizeof a) != (ssize_t)sizeof a)
    _exit(3);
}

static void on_child_appended(struct hop_store_job *job)
{
  struct crash_child *c = (struct crash_child *)((char *)job - offsetof(struct crash_child, ob));

  if (job->status < 0)
    _exit(4);
  child_send(c, 'A', c->ids.first_seq);
  hop_store_outbox_clear(&c->ob);
  child_reserve(c);
}

static void on_child_reserved(struct hop_store_job *job)
{
  struct crash_child *c = (struct crash_child *)((char *)job - offsetof(struct crash_child, ids));
  struct hop_store_event ev[3];
  char id[3][80], body[3][96];

  if (job->status < 0)
    _exit(5);
  child_send(c, 'R', c->ids.first_seq);
  for (int k = 0; k < 3; k++) {
    snprintf(id[k], sizeof id[k], "%s-%llu-%d", c->ids.replica_id,
             (unsigned long long)c->ids.first_seq, k);
    snprintf(body[k], sizeof body[k], "{\"round\":%u,\"seq\":%llu,\"k\":%d}", c->round,
             (unsigned long long)c->ids.first_seq, k);
    ev[k].event_id = id[k];
    ev[k].body = body[k];
  }
  if (hop_store_outbox_prepare_append(&c->ob, ev, 3, UINT64_MAX) < 0)
    _exit(6);
  c->ob.job.done = on_child_appended;
  if (hop_store_submit(c->st, &c->ob.job) < 0)
    _exit(7);
}

static void child_reserve(struct crash_child *c)
{
  hop_store_ids_prepare(&c->ids, 1);
  c->ids.job.done = on_child_reserved;
  if (hop_store_submit(c->st, &c->ids.job) < 0)
    _exit(8);
}

static void crash_child_main(const char *path, int fd, unsigned round)
{
  static struct crash_child c;
  char err[256];

  c.fd = fd;
  c.round = round;
  uv_loop_init(&c.loop);
  if (hop_store_open(&c.loop, path, &c.st, err, sizeof err) < 0)
    _exit(2);
  child_reserve(&c);
  uv_run(&c.loop, UV_RUN_DEFAULT);   /* runs until SIGKILL */
  _exit(9);
}

static int read_full(int fd, void *buf, size_t n)
{
  size_t got = 0;

  while (got < n) {
    ssize_t r = read(fd, (char *)buf + got, n - got);
    if (r == 0)
      return 0;
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    got += (size_t)r;
  }
  return 1;
}

/* Seqs whose batch was acknowledged, over every round. */
static uint64_t crash_acked[4096];
static size_t crash_acked_len;
static uint64_t crash_max_reserved;

static int crash_round(const char *path, unsigned round, unsigned kill_after)
{
  int fds[2], status = 0;
  unsigned appended = 0;
  struct ack a;
  pid_t pid;

  if (pipe(fds) < 0)
    return -1;
  fflush(stdout);
  pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    close(fds[0]);
    crash_child_main(path, fds[1], round);
  }
  close(fds[1]);
  while (read_full(fds[0], &a, sizeof a) == 1) {
    if (a.kind == 'R' && a.seq > crash_max_reserved)
      crash_max_reserved = a.seq;
    if (a.kind == 'A' && crash_acked_len < sizeof crash_acked / sizeof crash_acked[0])
      crash_acked[crash_acked_len++] = a.seq;
    if (a.kind == 'A' && ++appended == kill_after)
      kill(pid, SIGKILL);      /* the child is already at work on the next one */
  }
  close(fds[0]);               /* EOF: the child is dead and every ack it wrote is read */
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
    printf("# child status %d\n", status);
  return 0;
}

static int cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_crash(void)
{
  static const unsigned kill_after[] = {1, 57, 211, 400};
  uv_loop_t loop;
  struct hop_store *st;
  struct hop_store_outbox x;
  struct hop_store_ids ids;
  char path[512];
  uint64_t *present;
  size_t npresent = 0;

  TEST_CTX("crash");
  path_in(path, sizeof path, "crash/hopper.db");
  for (unsigned r = 0; r < sizeof kill_after / sizeof kill_after[0]; r++)
    CHECK_EQ(0, crash_round(path, r, kill_after[r]));

  uv_loop_init(&loop);
  st = open_ok(&loop, path);
  if (!st)
    return;
  hop_store_outbox_prepare_peek(&x, SIZE_MAX);
  CHECK_EQ(0, run_job(&loop, st, &x.job));
  CHECK_EQ_U(x.events_len, x.depth);
  printf("# crash: %zu batches acknowledged, %zu rows present, %llu seqs reserved\n",
         crash_acked_len, x.events_len, (unsigned long long)crash_max_reserved);

  /* Rows come in whole batches of three, each id once, in append order. */
  present = calloc(x.events_len + 1, sizeof *present);
  CHECK_EQ_U(0, x.events_len % 3);
  for (size_t i = 0; present && i < x.events_len; i++) {
    const char *dash = strchr(x.events[i].event_id, '-');
    unsigned long long seq = 0;
    int k = -1;

    CHECK(dash != NULL && sscanf(dash + 1, "%llu-%d", &seq, &k) == 2);
    CHECK_EQ((int)(i % 3), k);
    if (i % 3 == 0) {
      if (npresent > 0)
        CHECK(seq > present[npresent - 1]);   /* strictly increasing: no seq twice */
      present[npresent++] = seq;
    } else {
      CHECK_EQ_U(present[npresent - 1], seq);
    }
  }
  /* Every acknowledged batch is there (exactly once: the seqs above are strictly increasing). */
  qsort(crash_acked, crash_acked_len, sizeof crash_acked[0], cmp_u64);
  for (size_t i = 0; present && i < crash_acked_len; i++) {
    TEST_CTX("crash acked seq %llu", (unsigned long long)crash_acked[i]);
    CHECK(bsearch(&crash_acked[i], present, npresent, sizeof *present, cmp_u64) != NULL);
  }
  TEST_CTX("crash");
  /* At most the one batch in flight per round may be there without its ack. */
  CHECK(npresent >= crash_acked_len);
  CHECK(npresent <= crash_acked_len + sizeof kill_after / sizeof kill_after[0]);
  free(present);
  hop_store_outbox_clear(&x);

  /* A reserved seq is never handed out again, kill -9 or not. */
  CHECK_EQ(0, ids_job(&loop, st, 1, &ids));
  CHECK(ids.first_seq > crash_max_reserved);
  close_store(&loop, st);
  finish_loop(&loop);
}

int main(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  if (store_fixture_begin() != 0)
    return 1;
  test_crash();                /* first: fork while this process has no other threads */
  store_fixture_end();
  return TEST_DONE();
}
