#!/bin/sh
# exekra-hub, exekra-runner: forget the removed unit. The exekra user, the
# settings (until purge) and the Hub's data under /opt/exekra/hub stay.
set -e
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
