/* Replays files through LLVMFuzzerTestOneInput without libFuzzer, so the seed corpora run in the
 * ordinary test suite (built with gcc). Arguments are files or directories (not recursive).
 * Exits non-zero if nothing was replayed: a missing corpus must not pass silently. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;

  if (!f) {
    perror(path);
    return -1;
  }
  for (;;) {
    size_t got;

    if (len == cap) {
      uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 4096);

      if (!nb) {
        free(buf);
        fclose(f);
        return -1;
      }
      buf = nb;
    }
    got = fread(buf + len, 1, cap - len, f);
    if (got == 0)
      break;
    len += got;
  }
  fclose(f);
  /* An exact-size copy, so a read past the input is caught by the sanitizers. */
  {
    uint8_t *exact = malloc(len ? len : 1);

    if (!exact) {
      free(buf);
      return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
  }
  return 0;
}

int main(int argc, char **argv)
{
  int files = 0, failed = 0;

  for (int i = 1; i < argc; i++) {
    struct stat st;
    DIR *d;
    struct dirent *e;

    if (stat(argv[i], &st) != 0) {
      perror(argv[i]);
      failed++;
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      failed += replay_file(argv[i]) != 0;
      files++;
      continue;
    }
    d = opendir(argv[i]);
    if (!d) {
      perror(argv[i]);
      failed++;
      continue;
    }
    while ((e = readdir(d)) != NULL) {
      char path[4096];

      if (e->d_name[0] == '.')
        continue;
      snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
      if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      failed += replay_file(path) != 0;
      files++;
    }
    closedir(d);
  }
  printf("replayed %d files, %d unreadable\n", files, failed);
  return files == 0 || failed ? 1 : 0;
}
