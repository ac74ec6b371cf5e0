#!/bin/sh
# exekra-runner: enable the agent (on a first install; an upgrade keeps the
# operator's choice, as in hub-postinst.sh); start it once it has its settings
# and secret.
set -e
if [ "$1" = configure ]; then
    deb-systemd-helper unmask exekra-runner.service >/dev/null || true
    if deb-systemd-helper --quiet was-enabled exekra-runner.service; then
        deb-systemd-helper enable exekra-runner.service >/dev/null || true
    else
        deb-systemd-helper update-state exekra-runner.service >/dev/null || true
    fi
fi
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    if [ -s /etc/exekra-runner/secret ]; then
        if systemctl --quiet is-enabled exekra-runner.service; then
            systemctl restart exekra-runner.service || echo "exekra-runner did not start: see journalctl -u exekra-runner" >&2
        fi
    else
        echo "exekra-runner: set hub, id and fingerprint in /etc/exekra-runner/runner.json, write the"
        echo "machine secret to /etc/exekra-runner/secret (mode 600), then: systemctl start exekra-runner"
    fi
fi
