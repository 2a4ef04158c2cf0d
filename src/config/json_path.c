#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "hop/err.h"
#include "json_path.h"

int jp_fail(const struct jp *jp, const char *path, const char *fmt, ...)
{
  va_list ap;
  int n = snprintf(jp->err, jp->err_bytes, "%s: %s%s", jp->name, path, *path ? ": " : "");

  if (n >= 0 && (size_t)n < jp->err_bytes) {
    va_start(ap, fmt);
    vsnprintf(jp->err + n, jp->err_bytes - (size_t)n, fmt, ap);
    va_end(ap);
  }
  return HOP_ECONFIG;
}

void jp_key(char out[JP_PATH_BYTES], const char *path, const char *key)
{
  snprintf(out, JP_PATH_BYTES, "%s%s%s", path, *path ? "." : "", key);
}

void jp_index(char out[JP_PATH_BYTES], const char *path, int i)
{
  snprintf(out, JP_PATH_BYTES, "%s[%d]", path, i);
}

int jp_only_keys(const struct jp *jp, const char *path, const cJSON *obj,
                 const char *const *allowed)
{
  const cJSON *m;

  cJSON_ArrayForEach(m, obj) {
    const char *const *a = allowed;
    char at[JP_PATH_BYTES];

    while (*a && strcmp(*a, m->string) != 0)
      a++;
    if (!*a) {
      jp_key(at, path, m->string);
      return jp_fail(jp, at, "unknown key");
    }
  }
  return 0;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

  return cJSON_IsNull(v) ? NULL : v;
}

int jp_object(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
              const cJSON **out)
{
  const cJSON *v = member(obj, key);
  char at[JP_PATH_BYTES];

  if (!v)
    return 0;
  if (!cJSON_IsObject(v)) {
    jp_key(at, path, key);
    return jp_fail(jp, at, "expected an object");
  }
  *out = v;
  return 0;
}

int jp_string(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
              size_t bytes_max, const char **out)
{
  const cJSON *v = member(obj, key);
  char at[JP_PATH_BYTES];

  if (!v)
    return 0;
  jp_key(at, path, key);
  if (!cJSON_IsString(v))
    return jp_fail(jp, at, "expected a string");
  if (strlen(v->valuestring) > bytes_max)
    return jp_fail(jp, at, "longer than %zu bytes", bytes_max);
  *out = v->valuestring;
  return 0;
}

int jp_uint(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
            uint32_t min, uint32_t max, uint32_t *out)
{
  const cJSON *v = member(obj, key);
  char at[JP_PATH_BYTES];
  double d;

  if (!v)
    return 0;
  jp_key(at, path, key);
  if (!cJSON_IsNumber(v))
    return jp_fail(jp, at, "expected a number");
  d = v->valuedouble;
  if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d)
    return jp_fail(jp, at, "expected a whole number from %u to %u", (unsigned)min, (unsigned)max);
  *out = (uint32_t)d;
  return 0;
}

int jp_enum(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
            const char *const *choices, int *out)
{
  const char *s = NULL;
  char at[JP_PATH_BYTES], list[128] = "";
  int err = jp_string(jp, path, obj, key, 64, &s);

  if (err || !s)
    return err;
  for (int i = 0; choices[i]; i++) {
    if (strcmp(s, choices[i]) == 0) {
      *out = i;
      return 0;
    }
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%s\"", i ? ", " : "",
             choices[i]);
  }
  jp_key(at, path, key);
  return jp_fail(jp, at, "expected one of %s", list);
}

int jp_bool(const struct jp *jp, const char *path, const cJSON *obj, const char *key, int *out)
{
  const cJSON *v = member(obj, key);
  char at[JP_PATH_BYTES];

  if (!v)
    return 0;
  if (!cJSON_IsBool(v)) {
    jp_key(at, path, key);
    return jp_fail(jp, at, "expected true or false");
  }
  *out = cJSON_IsTrue(v);
  return 0;
}

int jp_strv(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
            size_t bytes_max, int nonempty, char ***out)
{
  const cJSON *v = member(obj, key), *e;
  char at[JP_PATH_BYTES], eat[JP_PATH_BYTES];
  char **vec;
  size_t n = 0;

  if (!v)
    return 0;
  jp_key(at, path, key);
  if (!cJSON_IsArray(v) || (nonempty && cJSON_GetArraySize(v) == 0))
    return jp_fail(jp, at, nonempty ? "expected a non-empty array of strings"
                                    : "expected an array of strings");
  vec = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *vec);
  if (!vec)
    return -ENOMEM;
  cJSON_ArrayForEach(e, v) {
    jp_index(eat, at, (int)n);
    if (!cJSON_IsString(e) || strlen(e->valuestring) > bytes_max) {
      for (size_t i = 0; i < n; i++)
        free(vec[i]);
      free(vec);
      return jp_fail(jp, eat, "expected a string of at most %zu bytes", bytes_max);
    }
    if (!(vec[n++] = strdup(e->valuestring))) {
      for (size_t i = 0; i < n; i++)
        free(vec[i]);
      free(vec);
      return -ENOMEM;
    }
  }
  *out = vec;
  return 0;
}
