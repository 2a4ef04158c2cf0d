/* The control plane's HTTP client (include/hop/http.h): one request per easy handle on the
 * multi driven by curl_uv.c, with the response body buffered up to a cap and the ETag kept.
 *
 * Every request's callback runs exactly once: from the drain loop when curl finishes it, or from
 * hop_http_free() when it is cancelled. Never from inside hop_http_send(), because curl starts
 * a transfer only when the glue's zero timer fires on a later loop iteration. */
#include "hop/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_uv.h"
#include "hop/fault.h"

#define ETAG_BYTES_MAX 1024      /* a longer ETag is ignored: it could never be sent back */
#define BODY_BYTES_FIRST 4096    /* first allocation for a response body */

struct http_req {
  struct hop_http *h;
  CURL *easy;                    /* CURLOPT_PRIVATE = this request */
  struct curl_slist *headers;
  char *body;                    /* response bytes, NUL-terminated when non-NULL */
  size_t body_len;
  size_t body_cap;
  size_t body_max;               /* response_bytes_max */
  char *etag;                    /* trimmed value of the last response's ETag, or NULL */
  int too_large;                 /* the write callback refused a byte past body_max */
  int no_memory;                 /* a callback failed to allocate */
  hop_http_cb cb;
  void *arg;
  struct http_req *prev, *next;  /* in h->reqs while in flight */
};

struct hop_http {
  struct hop_curl_uv cu;
  struct http_req *reqs;         /* in flight: added to the multi, callback not yet run */
  int freeing;                   /* hop_http_free() called: no new requests */
};

/* ---- Request list ------------------------------------------------------------------------ */

static void req_link(struct hop_http *h, struct http_req *r)
{
  r->prev = NULL;
  r->next = h->reqs;
  if (h->reqs)
    h->reqs->prev = r;
  h->reqs = r;
}

static void req_unlink(struct hop_http *h, struct http_req *r)
{
  if (r->prev)
    r->prev->next = r->next;
  else
    h->reqs = r->next;
  if (r->next)
    r->next->prev = r->prev;
  r->prev = r->next = NULL;
}

/* Frees a request that is not in the multi. */
static void req_free(struct http_req *r)
{
  if (r->easy)
    curl_easy_cleanup(r->easy);
  curl_slist_free_all(r->headers);
  free(r->body);
  free(r->etag);
  free(r);
}

/* ---- curl's data callbacks --------------------------------------------------------------- */

/* CURLOPT_WRITEFUNCTION: appends to the body; returning less than given aborts the transfer
 * (CURLE_WRITE_ERROR), which finish() reports as "response too large". */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
  struct http_req *r = userdata;
  size_t n = size * nmemb;     /* size is always 1 */

  if (n > r->body_max - r->body_len) {
    r->too_large = 1;
    return 0;
  }
  if (r->body_len + n + 1 > r->body_cap) {
    size_t cap = r->body_cap ? r->body_cap : BODY_BYTES_FIRST;
    char *p;

    while (cap < r->body_len + n + 1)
      cap *= 2;
    if (cap > r->body_max + 1)
      cap = r->body_max + 1;   /* never more than the cap, plus the NUL */
    p = realloc(r->body, cap);
    if (!p) {
      r->no_memory = 1;
      return 0;
    }
    r->body = p;
    r->body_cap = cap;
  }
  memcpy(r->body + r->body_len, data, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return n;
}

static int is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* CURLOPT_HEADERFUNCTION: one whole header line per call, CRLF included. Keeps the ETag of the
 * final response (a status line, e.g. after "100 Continue", forgets an earlier one). */
static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
  struct http_req *r = userdata;
  size_t len = size * nmemb;
  size_t start = 5, end = len;
  char *etag;

  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    free(r->etag);
    r->etag = NULL;
    return len;
  }
  if (len < 5 || strncasecmp(line, "etag:", 5) != 0)
    return len;
  while (start < end && is_blank(line[start]))
    start++;
  while (end > start && is_blank(line[end - 1]))
    end--;
  if (end == start || end - start > ETAG_BYTES_MAX)
    return len;
  etag = malloc(end - start + 1);
  if (!etag) {
    r->no_memory = 1;
    return 0;
  }
  memcpy(etag, line + start, end - start);
  etag[end - start] = '\0';
  free(r->etag);
  r->etag = etag;
  return len;
}

/* ---- Completion -------------------------------------------------------------------------- */

/* Maps a failed transfer to a negative libuv code and a short, stable reason. The reasons name
 * no URL and no header, so they are safe to log. */
static int failure(const struct http_req *r, CURLcode result, const char **why)
{
  long os_errno = 0;

  if (r->too_large || result == CURLE_FILESIZE_EXCEEDED) {
    *why = "response too large";
    return UV_E2BIG;
  }
  if (r->no_memory || result == CURLE_OUT_OF_MEMORY) {
    *why = "out of memory";
    return UV_ENOMEM;
  }
  switch (result) {
  case CURLE_OPERATION_TIMEDOUT:
    *why = "timeout";
    return UV_ETIMEDOUT;
  case CURLE_COULDNT_CONNECT:
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno == 0 || -os_errno == UV_ECONNREFUSED) {
      *why = "connection refused";
      return UV_ECONNREFUSED;
    }
    *why = "connect failed";
    return (int)-os_errno;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    *why = "could not resolve host";
    return UV_EAI_NONAME;
  case CURLE_URL_MALFORMAT:
    *why = "malformed URL";
    return UV_EINVAL;
  case CURLE_UNSUPPORTED_PROTOCOL:   /* the scheme was checked: this is an HTTP/0.9 reply */
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_HTTP3:
    *why = "invalid HTTP response";
    return UV_EPROTO;
  case CURLE_GOT_NOTHING:
    *why = "empty reply";
    return UV_EPROTO;
  case CURLE_PARTIAL_FILE:
    *why = "truncated response";
    return UV_EPROTO;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
    *why = "connection broken";
    return UV_ECONNRESET;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_ISSUER_ERROR:
    *why = "TLS certificate verification failed";
    return UV_EPROTO;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    *why = "TLS handshake failed";
    return UV_EPROTO;
  default:
    *why = curl_easy_strerror(result);   /* static text */
    return UV_EIO;
  }
}

/* Runs the callback once and frees the request; `r` is already out of the multi and the list. */
static void finish(struct http_req *r, CURLcode result)
{
  struct hop_http_response res = { .body = "" };

  if (result == CURLE_OK) {
    long code = 0;

    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code > 0 && code < 1000) {
      res.status = (int)code;
      if (r->body) {
        res.body = r->body;
        res.body_len = r->body_len;
      }
      res.etag = r->etag;
    } else {
      res.status = UV_EPROTO;
      res.error = "invalid HTTP response";
    }
  } else {
    res.status = failure(r, result, &res.error);
  }
  if (HOP_FAULT(0.01)) {       /* the answer was lost on the way: a timeout, to the caller */
    res = (struct hop_http_response){ .status = UV_ETIMEDOUT, .error = "fault injected",
                                      .body = "" };
  }
  r->cb(r->arg, &res);
  req_free(r);
}

static void on_done(void *arg, CURL *easy, CURLcode result)
{
  struct hop_http *h = arg;
  char *priv = NULL;
  struct http_req *r;

  curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
  r = (struct http_req *)(void *)priv;
  req_unlink(h, r);
  finish(r, result);
}

/* ---- Building a request ------------------------------------------------------------------ */

/* A header value must not end the line early (no CR, LF; NUL ends the C string anyway). */
static int header_value_ok(const char *v)
{
  return v && strpbrk(v, "\r\n") == NULL;
}

static int request_ok(const struct hop_http_request *req)
{
  int post;

  if (!req->method || !req->url)
    return 0;
  post = strcmp(req->method, "POST") == 0;
  if (!post && strcmp(req->method, "GET") != 0)
    return 0;
  /* Only http(s): curl would refuse other schemes too, but the check keeps the error local. */
  if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0)
    return 0;
  if (req->body_len && (!req->body || !post))
    return 0;
  if (req->timeout_ms == 0 || req->response_bytes_max == 0 ||
      req->response_bytes_max >= SIZE_MAX / 2)
    return 0;
  if (req->bearer && (!header_value_ok(req->bearer) || !req->bearer[0]))
    return 0;
  if (req->if_none_match && (!header_value_ok(req->if_none_match) || !req->if_none_match[0]))
    return 0;
  return 1;
}

static CURLcode add_header(struct http_req *r, const char *line)
{
  struct curl_slist *l = curl_slist_append(r->headers, line);

  if (!l)
    return CURLE_OUT_OF_MEMORY;
  r->headers = l;
  return CURLE_OK;
}

/* "Name: value" through a temporary buffer that is wiped (it may hold the token). */
static CURLcode add_header_value(struct http_req *r, const char *name, const char *value)
{
  size_t n = strlen(name), v = strlen(value);
  char *line = malloc(n + v + 1);
  CURLcode rc;

  if (!line)
    return CURLE_OUT_OF_MEMORY;
  memcpy(line, name, n);
  memcpy(line + n, value, v + 1);
  rc = add_header(r, line);
  memset(line, 0, n + v);
  free(line);
  return rc;
}

#define SET(opt, val)                                   \
  do {                                                  \
    if (rc == CURLE_OK)                                 \
      rc = curl_easy_setopt(r->easy, (opt), (val));     \
  } while (0)

static CURLcode configure(struct http_req *r, const struct hop_http_request *req)
{
  CURLcode rc = CURLE_OK;
  int post = strcmp(req->method, "POST") == 0;

  rc = add_header(r, "Accept: application/json");
  if (rc == CURLE_OK)
    rc = add_header(r, "Expect:");   /* no "100-continue" round trip before a POST body */
  if (rc == CURLE_OK && post)
    rc = add_header(r, "Content-Type: application/json");
  if (rc == CURLE_OK && req->bearer)
    rc = add_header_value(r, "Authorization: Bearer ", req->bearer);
  if (rc == CURLE_OK && req->if_none_match)
    rc = add_header_value(r, "If-None-Match: ", req->if_none_match);

  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_PRIVATE, (void *)r);
  SET(CURLOPT_HTTPHEADER, r->headers);
  SET(CURLOPT_USERAGENT, "hopper");
  SET(CURLOPT_NOSIGNAL, 1L);                          /* no SIGALRM: we are multi-threaded */
  SET(CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);     /* whole transfer, resolve included */
  SET(CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 0L);                    /* a 3xx is reported as it is */
  SET(CURLOPT_HTTP09_ALLOWED, 0L);                    /* a non-HTTP reply is an error */
  SET(CURLOPT_SSL_VERIFYPEER, 1L);                    /* the defaults, said out loud */
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
  /* curl 7.88 joins a still-running resolver thread when a transfer is cancelled or times out,
   * which would block the loop for the system resolver's timeout. Quick exit detaches the
   * thread instead; it frees itself when getaddrinfo() returns. */
  SET(CURLOPT_QUICK_EXIT, 1L);
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->response_bytes_max);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, (void *)r);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)r);
  if (post) {
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SET(CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");   /* copies body_len bytes */
  } else {
    SET(CURLOPT_HTTPGET, 1L);
  }
  return rc;
}

#undef SET

/* ---- Public API -------------------------------------------------------------------------- */

int hop_http_new(uv_loop_t *loop, struct hop_http **out)
{
  struct hop_http *h;
  int rc;

  *out = NULL;
  h = calloc(1, sizeof *h);
  if (!h)
    return UV_ENOMEM;
  rc = hop_curl_uv_init(&h->cu, loop, on_done, h);
  if (rc < 0) {
    free(h);
    return rc;
  }
  *out = h;
  return 0;
}

/* Returns 0; or UV_EINVAL for a request this client does not make (a method other than GET or
 * POST, a scheme other than http(s), a zero timeout or cap, a header value with CR/LF),
 * UV_ENOMEM, or UV_ECANCELED once hop_http_free() was called. The callback never runs then. */
int hop_http_send(struct hop_http *h, const struct hop_http_request *req, hop_http_cb cb,
                  void *arg)
{
  struct http_req *r;
  CURLcode crc;
  int rc;

  if (!h || !req || !cb || !request_ok(req))
    return UV_EINVAL;
  if (h->freeing)
    return UV_ECANCELED;
  r = calloc(1, sizeof *r);
  if (!r)
    return UV_ENOMEM;
  r->h = h;
  r->cb = cb;
  r->arg = arg;
  r->body_max = req->response_bytes_max;
  r->easy = curl_easy_init();
  if (!r->easy) {
    req_free(r);
    return UV_ENOMEM;
  }
  crc = configure(r, req);
  if (crc != CURLE_OK) {
    req_free(r);
    return crc == CURLE_OUT_OF_MEMORY ? UV_ENOMEM : UV_EINVAL;
  }
  rc = hop_curl_uv_add(&h->cu, r->easy);
  if (rc < 0) {
    req_free(r);
    return rc;
  }
  req_link(h, r);
  return 0;
}

static void on_closed(void *arg)
{
  free(arg);
}

/* Cancels what is in flight, each callback running here, synchronously, with UV_ECANCELED and
 * "cancelled"; then closes the glue, whose last close callback frees `h`.
 *
 * Safe to call from inside any of this client's callbacks: the request being reported is
 * already out of the list, the other ones are cancelled before this returns, and the multi is
 * cleaned up only once the drain loop has unwound. A callback running during the cancellation
 * may call hop_http_send() (it returns UV_ECANCELED) or hop_http_free() (a no-op). After this
 * returns, `h` must not be used. */
void hop_http_free(struct hop_http *h)
{
  struct http_req *r;

  if (!h || h->freeing)
    return;
  h->freeing = 1;
  while ((r = h->reqs) != NULL) {
    struct hop_http_response res = {
      .status = UV_ECANCELED, .error = "cancelled", .body = "",
    };

    req_unlink(h, r);
    hop_curl_uv_remove(&h->cu, r->easy);
    r->cb(r->arg, &res);
    req_free(r);
  }
  hop_curl_uv_close(&h->cu, on_closed);
}
