# Installs missing Debian packages (idempotent). Sourced by scripts/run and scripts/test.
need_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# Installs a package only when its command is missing (Node.js may come from elsewhere, e.g.
# NodeSource, whose nodejs already carries npm and conflicts with Debian's npm package).
need_command() {
  command -v "$1" >/dev/null 2>&1 || need_packages "$2"
}

# The packages every build needs.
BUILD_PACKAGES=(meson ninja-build pkg-config gcc libc6-dev libuv1-dev libcjson-dev libsqlite3-dev
                libcurl4-openssl-dev libmicrohttpd-dev)

# meson setup that is safe to repeat: configures once, reconfigures if options changed.
setup_build() {
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson configure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}
