#!/bin/sh
# exekra-runner: stop the agent before its program is replaced or removed.
set -e
if [ -d /run/systemd/system ]; then
    systemctl stop exekra-runner.service || true
fi
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
    systemctl disable exekra-runner.service || true
fi
