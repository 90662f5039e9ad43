#!/bin/bash
# down.sh - stop exactly what up.sh started, by the pids it recorded in
# $STATE_DIR: pacemakerd first (it stops its own children: based, fenced,
# execd, attrd, schedulerd, controld), then corosync. A process that is still
# alive after $GRACE seconds gets SIGKILL, and so do pacemakerd's direct
# children found by parent pid. Processes not started by up.sh are never
# touched.
#   STATE_DIR=/tmp/fgr-pacemaker-lab  GRACE=60
#   RESTORE_CONF=1   put back the corosync.conf that up.sh replaced
set -uo pipefail
T0=$(date +%s.%N)
STATE_DIR=${STATE_DIR:-/tmp/fgr-pacemaker-lab}
GRACE=${GRACE:-60}

elapsed() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{printf "%.1f", a - b}'; }
log() { echo "[down.sh +$(elapsed)s] $*" >&2; }

# stop FILE NAME: stop the process recorded in FILE if it is still NAME.
stop() {
    local f=$1 name=$2 pid kids
    [ -s "$f" ] || { log "$name: no pid file"; return 0; }
    pid=$(cat "$f")
    if [ ! -d "/proc/$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$name" ]; then
        log "$name: pid $pid is not running (stale pid file)"; rm -f "$f"; return 0
    fi
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -s ' \n' ' ')
    log "$name: SIGTERM to $pid (children:${kids:- none})"
    kill -TERM "$pid"
    for _ in $(seq 1 $((GRACE * 10))); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
        log "$name: alive after ${GRACE}s: SIGKILL to children${kids:- none} and $pid"
        for k in $kids; do kill -KILL "$k" 2>/dev/null; done
        kill -KILL "$pid" 2>/dev/null
        sleep 0.5
    fi
    rm -f "$f"
    log "$name: stopped"
}

stop "$STATE_DIR/pacemakerd.pid" pacemakerd
stop "$STATE_DIR/corosync.pid" corosync
if [ "${RESTORE_CONF:-0}" = 1 ] && [ -e "$STATE_DIR/corosync.conf.orig" ]; then
    cp -p "$STATE_DIR/corosync.conf.orig" /etc/corosync/corosync.conf && log "restored /etc/corosync/corosync.conf"
fi
echo "DOWN_ELAPSED_SECONDS=$(elapsed)"
