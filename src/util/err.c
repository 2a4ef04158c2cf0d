#include "hop/err.h"

#include <stddef.h>

const char *hop_err_text(int err)
{
  switch (err) {
#define X(name, code, text) case HOP_##name: return text;
    HOP_ERR_MAP(X)
#undef X
  default: return NULL;
  }
}

const char *hop_err_name(int err)
{
  switch (err) {
#define X(name, code, text) case HOP_##name: return #name;
    HOP_ERR_MAP(X)
#undef X
  default: return NULL;
  }
}
