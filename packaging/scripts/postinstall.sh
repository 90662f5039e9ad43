#!/bin/sh
# Post-install of the fence-gfs2-recorder package (deb: "configure";
# rpm: 1 = install, 2 = upgrade). It must never fail the install: a fence
# agent that is installed but slow on its first fence is better than a
# half-configured package.
set -u
agent=/usr/sbin/fence_gfs2_recorder
cache=/var/cache/fence_gfs2_recorder

case "${1:-}" in
configure | 1 | 2) ;;
*) exit 0 ;;
esac

# The compile cache holds native code the agent runs as root: only root may
# read or write it, whatever a previous version or an administrator left.
mkdir -p "$cache" && chown root:root "$cache" && chmod 0700 "$cache" ||
	echo "fence_gfs2_recorder: warning: could not secure $cache (must be root:root 0700)" >&2

# Compile the strategies now so the first fence does not pay for it.
warm() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 300 "$agent" plugins warm
	else
		"$agent" plugins warm
	fi
}
if ! warm; then
	echo "fence_gfs2_recorder: warning: 'fence_gfs2_recorder plugins warm' failed; the first fence will compile the discovery strategies itself (slower). Run it again by hand to see why." >&2
fi
exit 0
