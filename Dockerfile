# hopper: a two-stage image. The build stage compiles a release binary on Debian 12; the runtime
# stage is debian:12-slim with only the shared libraries that binary links, running as uid 10001.
#
#   docker build -t hopper .
#   docker run --rm -p 25565:25565 -v "$PWD/my.json:/etc/hopper/hopper.json:ro" hopper
#   docker run --rm -v "$PWD/my.json:/c.json:ro" hopper check-config /c.json
#
# See docs/deploy.md. tests/deploy/t_deploy.py checks this file: the runtime packages must cover
# every library the binary needs (readelf/ldd), the user must be numeric and not root, and every
# COPY source must be in the build context that .dockerignore leaves.

# ---- build ------------------------------------------------------------------------------------
FROM debian:12 AS build

# scripts/lib/deps.sh BUILD_PACKAGES, plus libmicrohttpd-dev for the admin listener and python3,
# which meson itself and tests/ (find_program) need at configure time.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      meson ninja-build pkg-config gcc libc6-dev python3 \
      libuv1-dev libcjson-dev libsqlite3-dev libcurl4-openssl-dev libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
# Only the hopper target is built; the interop tests (node) are not configured.
RUN meson setup /build --buildtype=release -Dinterop=disabled \
 && ninja -C /build hopper \
 && install -D -m 0755 -s /build/hopper /out/hopper \
 && /out/hopper --version

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:12-slim

# The runtime halves of the -dev packages above; their own dependencies (OpenSSL, nghttp2, ...)
# come with them. ca-certificates: the control-plane API may be https.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libuv1 libcjson1 libsqlite3-0 libcurl4 libmicrohttpd12 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 hopper \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/hopper --no-create-home \
      --shell /usr/sbin/nologin hopper \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/hopper /var/lib/hopper/var

COPY --from=build /out/hopper /usr/local/bin/hopper
# A default config for `docker run`: players on 0.0.0.0:25565, the admin listener on 0.0.0.0:9565
# (inside the container, so that `-p` and Kubernetes probes can reach it). Mount your own over it.
COPY deploy/docker/hopper.json /etc/hopper/hopper.json

# store.path is relative ("var/hopper.db" by default): the SQLite file lands in the volume, and a
# read-only root filesystem only needs this one directory writable.
WORKDIR /var/lib/hopper
VOLUME ["/var/lib/hopper/var"]
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# 25565: players. 9565: admin (/healthz, /readyz, /metrics); publish it only to your monitoring.
EXPOSE 25565/tcp 9565/tcp
# SIGTERM drains: stop accepting, finish sessions for up to drain_s, exit 0. Give `docker stop`
# a timeout above drain_s (docker stop -t 40, or stop_grace_period in compose).
STOPSIGNAL SIGTERM
# hopper is PID 1 and handles SIGTERM, SIGINT and SIGHUP itself. The arguments are CMD so that
# `docker run IMAGE check-config FILE` and `docker run IMAGE servers ...` work too.
ENTRYPOINT ["/usr/local/bin/hopper"]
CMD ["--config", "/etc/hopper/hopper.json"]
