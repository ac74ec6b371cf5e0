#!/bin/sh
# exekra-hub: stop the Hub before its programs are replaced or removed. The
# unit's enablement is postrm's (deb-systemd-helper).
set -e
if [ -d /run/systemd/system ]; then
    systemctl stop exekra-hub.service || true
fi
