/* Tiny TAP-ish assertion helpers for hopper's unit tests.
 *
 *   CHECK(cond)                    a boolean
 *   CHECK_EQ(expected, got)        integers (compared as long long)
 *   CHECK_EQ_U(expected, got)      unsigned integers (compared as unsigned long long)
 *   CHECK_MEM(exp, got, got_len)   bytes against a NUL-terminated expectation: the lengths
 *                                  must match too, so a prefix never passes
 *   CHECK_BYTES(exp, exp_len, got, got_len)  byte strings (may hold NULs), lengths included
 *   CHECK_STR(expected, got)       NUL-terminated strings (NULL never equals anything)
 *   TEST_CTX("fixture %s cut %zu", name, cut)   context printed with the next failures
 *   return TEST_DONE();            prints "N passed, N failed" last; non-zero on any failure
 *
 * A check never aborts the test, so one run shows every failure. Failures print at most
 * TEST_FAIL_PRINT_MAX lines (split-point loops can fail thousands of times); all are counted. */
#ifndef HOP_TEST_H
#define HOP_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TEST_FAIL_PRINT_MAX 200

struct test_state {
  unsigned long passed;
  unsigned long failed;
  char ctx[256];
};

static struct test_state test_st;

#if defined(__GNUC__)
#  define TEST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define TEST_PRINTF(a, b)
#endif

static inline void test_ctx(const char *fmt, ...) TEST_PRINTF(1, 2);
static inline void test_ctx(const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(test_st.ctx, sizeof test_st.ctx, fmt, ap);
  va_end(ap);
}

static inline int test_fail_head(const char *file, int line)
{
  test_st.failed++;
  if (test_st.failed > TEST_FAIL_PRINT_MAX)
    return 0;
  printf("not ok %lu %s:%d", test_st.passed + test_st.failed, file, line);
  if (test_st.ctx[0])
    printf(" [%s]", test_st.ctx);
  printf(": ");
  return 1;
}

static inline int test_check(int ok, const char *file, int line, const char *expr)
{
  if (ok) {
    test_st.passed++;
    return 1;
  }
  if (test_fail_head(file, line))
    printf("%s\n", expr);
  return 0;
}

static inline int test_check_eq(long long exp, long long got, const char *file, int line,
                                const char *exp_s, const char *got_s)
{
  if (exp == got) {
    test_st.passed++;
    return 1;
  }
  if (test_fail_head(file, line))
    printf("%s == %s: expected %lld, got %lld\n", exp_s, got_s, exp, got);
  return 0;
}

static inline int test_check_eq_u(unsigned long long exp, unsigned long long got,
                                  const char *file, int line, const char *exp_s,
                                  const char *got_s)
{
  if (exp == got) {
    test_st.passed++;
    return 1;
  }
  if (test_fail_head(file, line))
    printf("%s == %s: expected %llu, got %llu\n", exp_s, got_s, exp, got);
  return 0;
}

static inline void test_print_bytes(const void *p, size_t len)
{
  const unsigned char *b = p;

  printf("\"");
  for (size_t i = 0; i < len && i < 96; i++) {
    if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '"' && b[i] != '\\')
      printf("%c", b[i]);
    else
      printf("\\x%02x", b[i]);
  }
  printf(len > 96 ? "\"...(%zu bytes)" : "\"", len);
}

static inline int test_check_mem(const void *exp, size_t exp_len, const void *got,
                                 size_t got_len, const char *file, int line, const char *got_s)
{
  if (exp_len == got_len && (exp_len == 0 || (exp && got && memcmp(exp, got, exp_len) == 0))) {
    test_st.passed++;
    return 1;
  }
  if (test_fail_head(file, line)) {
    printf("%s: expected ", got_s);
    if (exp)
      test_print_bytes(exp, exp_len);
    else
      printf("NULL");
    printf(", got ");
    if (got)
      test_print_bytes(got, got_len);
    else
      printf("NULL");
    printf("\n");
  }
  return 0;
}

static inline int test_check_str(const char *exp, const char *got, const char *file, int line,
                                 const char *got_s)
{
  if (exp && got && strcmp(exp, got) == 0) {
    test_st.passed++;
    return 1;
  }
  if (test_fail_head(file, line))
    printf("%s: expected \"%s\", got \"%s\"\n", got_s, exp ? exp : "(null)",
           got ? got : "(null)");
  return 0;
}

static inline int test_done(void)
{
  if (test_st.failed > TEST_FAIL_PRINT_MAX)
    printf("# %lu more failures not printed\n", test_st.failed - TEST_FAIL_PRINT_MAX);
  printf("%lu passed, %lu failed\n", test_st.passed, test_st.failed);
  fflush(stdout);
  return test_st.failed ? 1 : 0;
}

#define TEST_CTX(...) test_ctx(__VA_ARGS__)
#define CHECK(cond) test_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(exp, got) \
  test_check_eq((long long)(exp), (long long)(got), __FILE__, __LINE__, #exp, #got)
#define CHECK_EQ_U(exp, got) \
  test_check_eq_u((unsigned long long)(exp), (unsigned long long)(got), __FILE__, __LINE__, \
                  #exp, #got)
#define CHECK_MEM(exp, got, got_len) \
  test_check_mem((exp), strlen(exp), (got), (got_len), __FILE__, __LINE__, #got)
#define CHECK_BYTES(exp, exp_len, got, got_len) \
  test_check_mem((exp), (exp_len), (got), (got_len), __FILE__, __LINE__, #got)
#define CHECK_STR(exp, got) test_check_str((exp), (got), __FILE__, __LINE__, #got)
#define TEST_DONE() test_done()

#endif
