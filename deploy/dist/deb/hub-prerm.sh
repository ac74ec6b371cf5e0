#!/bin/sh
# exekra-hub: stop the Hub before its programs are replaced or removed.
set -e
if [ -d /run/systemd/system ]; then
    systemctl stop exekra-hub.service || true
fi
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable exekra-hub.service || true
fi
