#!/bin/sh
# Pre-remove of the fence-gfs2-recorder package. Empties the compile cache:
# it is native code built for this version of the agent and of wazero, useless
# to any other, and the package manager can then remove the empty directory.
# deb: remove, upgrade, deconfigure, failed-upgrade. rpm: 0 = erase,
# 1 = upgrade, where the new package's post-install has already warmed the
# cache, so it is left alone.
set -u
cache=/var/cache/fence_gfs2_recorder

case "${1:-}" in
1) exit 0 ;;
esac

if [ -d "$cache" ] && [ ! -L "$cache" ]; then
	find "$cache" -mindepth 1 -delete ||
		echo "fence_gfs2_recorder: warning: could not empty $cache" >&2
fi
exit 0
