#!/bin/bash
# up.sh - start a one-node Pacemaker/Corosync cluster on 127.0.0.1 without
# systemd, for fixture capture (make fixtures) and the end-to-end test
# (make e2e). Used on CI and developer machines, never on a real cluster.
#
# It installs the packages when missing, writes a one-node corosync.conf,
# starts corosync and pacemakerd with a clean environment (as their systemd
# units would), records their pids in $STATE_DIR, and waits until the node is
# Online. down.sh stops exactly those pids.
#
# Environment:
#   NODE=rabbit-node-1   cluster node name (a rabbit: the recorder runs there)
#   STATE_DIR=/tmp/fgr-pacemaker-lab   pid files, daemon output, backups
#   FRESH=1              start from an empty CIB seeded with dc-deadtime=2s
#                        (the old CIB is moved to $STATE_DIR/cib-backup-*);
#                        FRESH=0 keeps whatever CIB exists
#   ONLINE_TIMEOUT=120   seconds to wait for the node to be Online
#   SETTLE_TIMEOUT=60    seconds to wait for pending resource actions
set -euo pipefail

T0=$(date +%s.%N)
NODE=${NODE:-rabbit-node-1}
STATE_DIR=${STATE_DIR:-/tmp/fgr-pacemaker-lab}
FRESH=${FRESH:-1}
ONLINE_TIMEOUT=${ONLINE_TIMEOUT:-120}
SETTLE_TIMEOUT=${SETTLE_TIMEOUT:-60}
# kmod: ocf:heartbeat:Filesystem needs modprobe, else its probes say "not installed".
PKGS="corosync pacemaker pacemaker-cli-utils pcs fence-agents resource-agents libxml2-utils kmod"
CIB_DIR=/var/lib/pacemaker/cib

elapsed() { awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{printf "%.1f", a - b}'; }
log() { echo "[up.sh +$(elapsed)s] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# alive FILE NAME: FILE holds the pid of a live process whose comm is NAME.
alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(cat "$1")
    [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts cluster daemons)"
mkdir -p "$STATE_DIR"

# 1. packages
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    log "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >"$STATE_DIR/apt-update.log" 2>&1 || { tail -20 "$STATE_DIR/apt-update.log" >&2; die "apt-get update failed"; }
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $PKGS >"$STATE_DIR/apt-install.log" 2>&1 \
        || { tail -30 "$STATE_DIR/apt-install.log" >&2; die "apt-get install failed"; }
    log "packages installed"
fi

# 2. corosync.conf: one node, knet on loopback. The package's own file is kept
# once in $STATE_DIR/corosync.conf.orig; down.sh RESTORE_CONF=1 puts it back.
CONF="# written by fence-gfs2-recorder scripts/pacemaker-lab/up.sh
totem {
    version: 2
    cluster_name: fgr-lab
    transport: knet
    crypto_cipher: none
    crypto_hash: none
}
logging {
    to_stderr: no
    to_logfile: yes
    logfile: /var/log/corosync/corosync.log
    to_syslog: no
    timestamp: on
}
quorum {
    provider: corosync_votequorum
}
nodelist {
    node {
        name: $NODE
        nodeid: 1
        ring0_addr: 127.0.0.1
    }
}"
if [ "$(cat /etc/corosync/corosync.conf 2>/dev/null)" != "$CONF" ]; then
    alive "$STATE_DIR/corosync.pid" corosync && die "corosync runs with another corosync.conf; run down.sh first"
    # Never take over a machine that is a member of a real cluster: only the
    # package's placeholder (cluster_name: debian) or our own file is replaced.
    if [ -e /etc/corosync/corosync.conf ] && [ "${FORCE_LAB:-0}" != 1 ] \
        && ! grep -q 'fence-gfs2-recorder scripts/pacemaker-lab' /etc/corosync/corosync.conf \
        && ! grep -qE '^\s*cluster_name:\s*debian\s*$' /etc/corosync/corosync.conf; then
        die "/etc/corosync/corosync.conf belongs to a real cluster (not the package default); set FORCE_LAB=1 to replace it"
    fi
    if [ -e /etc/corosync/corosync.conf ] && [ ! -e "$STATE_DIR/corosync.conf.orig" ] \
        && ! grep -q 'fence-gfs2-recorder scripts/pacemaker-lab' /etc/corosync/corosync.conf; then
        cp -p /etc/corosync/corosync.conf "$STATE_DIR/corosync.conf.orig"
    fi
    mkdir -p /etc/corosync
    printf '%s\n' "$CONF" >/etc/corosync/corosync.conf
    log "wrote /etc/corosync/corosync.conf"
fi
mkdir -p /var/log/corosync /var/log/pacemaker "$CIB_DIR"
chown hacluster:haclient /var/log/pacemaker "$CIB_DIR"

# 3. a fresh CIB: dc-deadtime=2s saves the 20 s default wait for a DC on
# first start. Only when pacemaker is not running (never pull the CIB from
# under a live daemon).
if [ "$FRESH" = 1 ] && ! alive "$STATE_DIR/pacemakerd.pid" pacemakerd; then
    if [ -n "$(ls -A "$CIB_DIR" 2>/dev/null)" ]; then
        # Keep one backup: the lab's CIBs are throwaway, but the last one
        # helps when a run needs a post-mortem.
        rm -rf "$STATE_DIR"/cib-backup-*
        bak="$STATE_DIR/cib-backup-$(date +%Y%m%dT%H%M%S)"
        mkdir -p "$bak" && mv "$CIB_DIR"/* "$bak"/
        log "moved the old CIB to $bak"
    fi
    cat >"$CIB_DIR/cib.xml" <<'XML'
<cib admin_epoch="0" epoch="1" num_updates="0" validate-with="pacemaker-3.9">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="cib-bootstrap-options-dc-deadtime" name="dc-deadtime" value="2s"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
XML
    chown hacluster:haclient "$CIB_DIR/cib.xml"
    chmod 0600 "$CIB_DIR/cib.xml"
    log "seeded a fresh CIB (dc-deadtime=2s)"
fi

# start NAME PIDFILE CMD...: start CMD detached in its own session with a clean
# environment, recording its pid (the exec keeps the pid).
start() {
    local name=$1 comm=$1 pidfile=$2; shift 2
    rm -f "$pidfile"
    (cd / && setsid -f bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" \
        env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@" \
        </dev/null >"$STATE_DIR/$name.out" 2>&1)
    # The pid file is written before the exec chain (bash, env, daemon) ends:
    # wait until the recorded pid really is the daemon.
    for _ in $(seq 1 100); do alive "$pidfile" "$comm" && break; sleep 0.05; done
    alive "$pidfile" "$comm" || { cat "$STATE_DIR/$name.out" >&2; die "$name did not start"; }
    log "started $name (pid $(cat "$pidfile"))"
}

# 4. corosync
if alive "$STATE_DIR/corosync.pid" corosync; then
    log "corosync already running (pid $(cat "$STATE_DIR/corosync.pid"))"
else
    start corosync "$STATE_DIR/corosync.pid" /usr/sbin/corosync -f
fi
for _ in $(seq 1 300); do
    corosync-quorumtool -s >/dev/null 2>&1 && break
    alive "$STATE_DIR/corosync.pid" corosync || { cat "$STATE_DIR/corosync.out" >&2; tail -20 /var/log/corosync/corosync.log >&2; die "corosync died"; }
    sleep 0.1
done
corosync-quorumtool -s >/dev/null 2>&1 || die "corosync never became quorate"
log "corosync quorate"

# 5. pacemakerd spawns based, fenced, execd, attrd, schedulerd and controld.
# /etc/default/pacemaker is what the unit's EnvironmentFile= would read.
if alive "$STATE_DIR/pacemakerd.pid" pacemakerd; then
    log "pacemakerd already running (pid $(cat "$STATE_DIR/pacemakerd.pid"))"
else
    start pacemakerd "$STATE_DIR/pacemakerd.pid" bash -c \
        'set -a; [ -r /etc/default/pacemaker ] && . /etc/default/pacemaker; set +a; exec /usr/sbin/pacemakerd'
fi

# 6. wait for the node to be online with a DC elected
deadline=$(($(date +%s) + ONLINE_TIMEOUT))
# (no pipe into grep -q: with pipefail, SIGPIPE would fail the test)
until grep -q "Online: \[ $NODE \]" <<<"$(crm_mon -1 2>/dev/null)"; do
    alive "$STATE_DIR/pacemakerd.pid" pacemakerd || { cat "$STATE_DIR/pacemakerd.out" >&2; tail -30 /var/log/pacemaker/pacemaker.log >&2; die "pacemakerd died"; }
    [ "$(date +%s)" -lt "$deadline" ] || { crm_mon -1 >&2 || true; die "timed out waiting for $NODE to be Online"; }
    sleep 0.2
done
log "node $NODE online"
crm_resource --wait --timeout="${SETTLE_TIMEOUT}s" >/dev/null 2>&1 || log "warning: cluster did not settle within ${SETTLE_TIMEOUT}s"
log "up (state in $STATE_DIR)"
echo "UP_ELAPSED_SECONDS=$(elapsed)"
