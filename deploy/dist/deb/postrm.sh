#!/bin/sh
# exekra-hub, exekra-runner: forget the removed unit. The exekra user, the
# settings (until purge) and the Hub's data under /opt/exekra/hub stay.
# remove masks the unit's leftover enablement, purge removes it
# (deb-systemd-helper, as Debian's own packages do).
set -e
case "$DPKG_MAINTSCRIPT_PACKAGE" in
exekra-hub | exekra-runner) unit="$DPKG_MAINTSCRIPT_PACKAGE.service" ;;
*) unit="" ;;
esac
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
fi
if [ -n "$unit" ] && [ -x /usr/bin/deb-systemd-helper ]; then
    if [ "$1" = remove ]; then
        deb-systemd-helper mask "$unit" >/dev/null || true
    fi
    if [ "$1" = purge ]; then
        deb-systemd-helper purge "$unit" >/dev/null || true
        deb-systemd-helper unmask "$unit" >/dev/null || true
    fi
fi
