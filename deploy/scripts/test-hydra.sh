#!/usr/bin/env bash
# Prints the path of Ory Hydra, the OpenID Connect provider the sign-in tests
# run against. Builds it once (a few minutes: cgo, SQLite for its in-memory
# store) from the pinned module e2e/tools/hydra into a cache directory.
set -euo pipefail
version=v2.3.0
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${EXEKRA_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exekra-test}/hydra-$version
bin=$dir/hydra
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9 # tests of several packages may ask at once: one builds, the others wait
if [ ! -x "$bin" ]; then
  echo "building Ory Hydra $version into $dir (once)" >&2
  (cd "$root/e2e/tools/hydra" && GOWORK=off CGO_ENABLED=1 \
    go build -tags sqlite,sqlite_omit_load_extension -o "$bin.tmp" github.com/ory/hydra/v2) >&2
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
