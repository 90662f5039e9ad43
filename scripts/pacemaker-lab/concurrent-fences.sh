#!/bin/bash
# concurrent-fences.sh AGENT - what happens when several computes are fenced
# at once and they share ONE recorder device (docs/PACEMAKER.md, "Many
# computes fenced at once"). Needs root and the built agent (make build:
# bin/fence_gfs2_recorder). ~4 minutes.
#
# Three computes, each level = recorder, fence_dummy; the recorder waits
# DELAY s (its delay parameter stands in for slow discovery) on off. Three
# reboots are started together, three times:
#   1. defaults (concurrent-fencing=false, pcmk_action_limit=1), op timeout 120 s
#   2. the same with op timeout 60 s (the default stonith-timeout)
#   3. concurrent-fencing=true and pcmk_action_limit=-1 on the devices
# and the record times and exit codes are printed.
set -euo pipefail
AGENT=${1:?usage: concurrent-fences.sh path/to/fence_gfs2_recorder}
DELAY=${DELAY:-25}
HERE=$(cd "$(dirname "$0")" && pwd)
export STATE_DIR=${STATE_DIR:-/tmp/fgr-pacemaker-lab}
LOGDIR=$(mktemp -d /tmp/fgr-concurrent.XXXXXX)

[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
exec 9>/tmp/fgr-pacemaker-lab.lock
flock -w 600 9 || { echo "the lab lock is held" >&2; exit 1; }
[ -e /usr/sbin/fence_gfs2_recorder ] && { echo "/usr/sbin/fence_gfs2_recorder exists: not replacing an installed agent" >&2; exit 1; }
pgrep -x pacemakerd >/dev/null && { echo "a cluster is running: stop it first (make lab-down)" >&2; exit 1; }

cleanup() {
    "$HERE/down.sh" >/dev/null 2>&1 || true
    rm -f /usr/sbin/fence_gfs2_recorder
    rm -rf "$LOGDIR"
}
trap cleanup EXIT
install -m 0755 "$AGENT" /usr/sbin/fence_gfs2_recorder
FRESH=1 "$HERE/up.sh" >/dev/null

nodes="compute-node-3 compute-node-4 compute-node-5"
pcs stonith create realfence fence_dummy pcmk_host_list="$nodes"
pcs stonith create recorder fence_gfs2_recorder log_dir="$LOGDIR" gfs2_discovery=0 delay="$DELAY" pcmk_host_list="$nodes"
for n in $nodes; do pcs stonith level add 1 "$n" recorder realfence --force >/dev/null 2>&1; done
crm_resource --wait --timeout=60s

# fire TIMEOUT: three reboots at once; print each rc with its end time, then the records.
fire() {
    local t0 n
    rm -f "$LOGDIR"/fence-events*
    t0=$(date +%s.%N)
    for n in $nodes; do
        (
            rc=0
            stonith_admin --reboot "$n" --timeout "$1" >/dev/null 2>&1 || rc=$?
            printf '  %s rc=%s after %.1f s\n' "$n" "$rc" "$(echo "$(date +%s.%N) - $t0" | bc)"
        ) &
    done
    wait
    echo "  records (timestamp, action, target):"
    jq -r '"    " + ([.timestamp, .action, .target_node] | join("  "))' "$LOGDIR/fence-events-detailed.jsonl"
}
echo "== 1. one recorder device, defaults ($(pcs property config --all 2>/dev/null | grep concurrent-fencing | xargs)), op timeout 120 s"
fire 120
echo "== 2. the same, op timeout 60 s"
fire 60
pcs property set concurrent-fencing=true
pcs stonith update recorder pcmk_action_limit=-1
pcs stonith update realfence pcmk_action_limit=-1
crm_resource --wait --timeout=60s
echo "== 3. concurrent-fencing=true, pcmk_action_limit=-1, op timeout 60 s"
fire 60
