#!/usr/bin/env bash
# Installs the Debian packages a purpose needs, when they are missing.
#   debian-deps.sh pilot   redis-server and PostgreSQL (for the pilot's bundled servers)
#   debian-deps.sh test    the same plus Chromium (browser test), nats-server
#                          (the enterprise test's three-node NATS cluster), and
#                          slapd and ldap-utils (the directory sign-in tests
#                          start their own slapd; the package's may stay stopped)
#   debian-deps.sh release the same as test plus wine64 (deploy/dist's TestWine runs
#                          the Windows release zip's programs under Wine)
# Installs only as root; otherwise it says what to install and fails.
set -euo pipefail
purpose=${1:?usage: debian-deps.sh pilot|test|release}

have_pg() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
have_pg || missing+=(postgresql)
case "$purpose" in
  pilot|test|release) ;;
  *) echo "debian-deps.sh: unknown purpose $purpose (pilot, test or release)" >&2; exit 2 ;;
esac
if [ "$purpose" = test ] || [ "$purpose" = release ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
  [ -x /usr/sbin/slapd ] || missing+=(slapd)
  command -v ldapmodify >/dev/null 2>&1 || missing+=(ldap-utils)
fi
if [ "$purpose" = release ]; then
  # Debian's wine64 installs the loader as /usr/lib/wine/wine64 (no /usr/bin entry).
  command -v wine64 >/dev/null 2>&1 || [ -x /usr/lib/wine/wine64 ] || missing+=(wine64)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "missing Debian packages: ${missing[*]} — run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
