#!/bin/sh
# exekra-hub: the secrets file, then enable and (re)start the Hub.
#
# deb-systemd-helper (init-system-helpers, essential) enables the unit on a
# first install, also where systemd is not running (an image or a container
# that boots systemd later), and remembers the operator's choice: a Hub
# disabled with systemctl disable (the enterprise layout) stays disabled and
# stopped across upgrades.
set -e
if [ "$1" = configure ]; then
    if [ ! -e /opt/exekra/hub/.env ]; then
        install -m 0640 -o root -g exekra /dev/null /opt/exekra/hub/.env
    fi
    deb-systemd-helper unmask exekra-hub.service >/dev/null || true
    if deb-systemd-helper --quiet was-enabled exekra-hub.service; then
        deb-systemd-helper enable exekra-hub.service >/dev/null || true
    else
        deb-systemd-helper update-state exekra-hub.service >/dev/null || true
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        if systemctl --quiet is-enabled exekra-hub.service; then
            systemctl restart exekra-hub.service || echo "exekra-hub did not start: see journalctl -u exekra-hub" >&2
        fi
    fi
fi
