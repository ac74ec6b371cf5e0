#!/bin/sh
# exekra-hub: the unprivileged system user the Hub runs as (see exekra-hub.service).
set -e
if ! getent passwd exekra >/dev/null; then
    useradd --system --user-group --no-create-home --home-dir /opt/exekra/hub \
        --shell /usr/sbin/nologin exekra
fi
