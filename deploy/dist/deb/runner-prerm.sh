#!/bin/sh
# exekra-runner: stop the agent before its program is replaced or removed. The
# unit's enablement is postrm's (deb-systemd-helper).
set -e
if [ -d /run/systemd/system ]; then
    systemctl stop exekra-runner.service || true
fi
