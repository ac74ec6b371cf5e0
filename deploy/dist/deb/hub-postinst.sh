#!/bin/sh
# exekra-hub: the secrets file, then enable and (re)start the Hub.
set -e
if [ "$1" = configure ]; then
    if [ ! -e /opt/exekra/hub/.env ]; then
        install -m 0640 -o root -g exekra /dev/null /opt/exekra/hub/.env
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        systemctl enable exekra-hub.service
        systemctl restart exekra-hub.service || echo "exekra-hub did not start: see journalctl -u exekra-hub" >&2
    fi
fi
