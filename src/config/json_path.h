/* Typed reads from a cJSON tree that name the JSON path of whatever is wrong.
 * Private to src/config. */
#ifndef HOP_CONFIG_JSON_PATH_H
#define HOP_CONFIG_JSON_PATH_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct jp {
  const char *name;            /* the file, for messages */
  char *err;
  size_t err_bytes;
};

#define JP_PATH_BYTES 256

/* Writes "name: path: message" into jp->err and returns HOP_ECONFIG. */
int jp_fail(const struct jp *jp, const char *path, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* path + "." + key, or path + "[i]". */
void jp_key(char out[JP_PATH_BYTES], const char *path, const char *key);
void jp_index(char out[JP_PATH_BYTES], const char *path, int i);

/* Fails on any member of `obj` not in the NULL-terminated `allowed`. */
int jp_only_keys(const struct jp *jp, const char *path, const cJSON *obj,
                 const char *const *allowed);

/* An object member that is absent or null leaves *out alone (the default). */
int jp_object(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
              const cJSON **out);
int jp_string(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
              size_t bytes_max, const char **out);
int jp_uint(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
            uint32_t min, uint32_t max, uint32_t *out);
int jp_bool(const struct jp *jp, const char *path, const cJSON *obj, const char *key, int *out);
/* An array of strings -> a NULL-terminated malloc'd vector (each string at most bytes_max).
 * `nonempty` requires at least one. Absent or null leaves *out NULL. */
int jp_strv(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
            size_t bytes_max, int nonempty, char ***out);

/* One of the NULL-terminated `choices`; *out is its index. */
int jp_enum(const struct jp *jp, const char *path, const cJSON *obj, const char *key,
            const char *const *choices, int *out);

#endif
