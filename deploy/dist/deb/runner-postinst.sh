#!/bin/sh
# exekra-runner: enable the agent; start it once it has its settings and secret.
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable exekra-runner.service
    if [ -s /etc/exekra-runner/secret ]; then
        systemctl restart exekra-runner.service || echo "exekra-runner did not start: see journalctl -u exekra-runner" >&2
    else
        echo "exekra-runner: set hub, id and fingerprint in /etc/exekra-runner/runner.json, write the"
        echo "machine secret to /etc/exekra-runner/secret (mode 600), then: systemctl start exekra-runner"
    fi
fi
