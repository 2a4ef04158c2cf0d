/* hop_proxy_detect: v1 and v2 prefixes, and every real Minecraft opening in
 * fixtures/handshakes/ (argv[1]) called "not PROXY" by its second byte. */
#include <dirent.h>

#include "proxy_fixture.h"

/* ---- detect ---------------------------------------------------------------------------------- */

static void test_detect(void)
{
  static const char v1[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";

  CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect(NULL, 0));
  for (size_t k = 0; k < 5; k++)
    CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect((const uint8_t *)v1, k));
  for (size_t k = 5; k < sizeof v1; k++)
    CHECK_EQ(HOP_PROXY_V1, hop_proxy_detect((const uint8_t *)v1, k));
  for (size_t k = 0; k < 12; k++)
    CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect(sig2, k));
  CHECK_EQ(HOP_PROXY_V2, hop_proxy_detect(sig2, 12));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"PROXz", 5));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"\r\n\r\n\x01", 5));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"\xfe", 1));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"G", 1));
  /* Frame lengths 13 and 80 start like a header; the packet id 0x00 that follows does not. */
  CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect((const uint8_t *)"\x0d", 1));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"\x0d\x00", 2));
  CHECK_EQ(HOP_PROXY_MORE, hop_proxy_detect((const uint8_t *)"P", 1));
  CHECK_EQ(HOP_PROXY_NO, hop_proxy_detect((const uint8_t *)"P\x00", 2));
}

/* Every captured and constructed Minecraft opening is "not PROXY" by its second byte at most,
 * and stays so however much more arrives. */
static void test_detect_fixtures(const char *fixtures)
{
  char dir[1024];
  DIR *d;
  struct dirent *e;
  int files = 0;

  snprintf(dir, sizeof dir, "%s/handshakes", fixtures);
  d = opendir(dir);
  CHECK(d != NULL);
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name), len = 0, k;
    uint8_t *p;
    struct hop_proxy_header h;
    int bad = 0;

    if (n < 4 || strcmp(e->d_name + n - 4, ".bin") != 0)
      continue;
    p = read_fixture(fixtures, "handshakes", e->d_name, &len);
    CHECK(p != NULL);
    if (p == NULL)
      continue;
    TEST_CTX("fixture %s", e->d_name);
    files++;
    for (k = 0; k <= len && hop_proxy_detect(p, k) == HOP_PROXY_MORE; k++)
      ;
    if (len == 0) {
      CHECK_EQ(1, k);                  /* empty.bin: nothing to judge yet */
    } else {
      CHECK(k <= 2);
      for (size_t m = k; m <= len; m++)
        bad += hop_proxy_detect(p, m) != HOP_PROXY_NO;
      CHECK_EQ(0, bad);
      CHECK_EQ(HOP_EPROXYSIG, hop_proxy_parse(p, len, CAP, &h));
    }
    free(p);
  }
  closedir(d);
  TEST_CTX("%s", "");
  CHECK(files >= 50);
}

int main(int argc, char **argv)
{
  test_detect();
  test_detect_fixtures(fixtures_dir(argc, argv));
  return TEST_DONE();
}
