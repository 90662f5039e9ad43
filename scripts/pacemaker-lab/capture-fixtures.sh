#!/bin/bash
# capture-fixtures.sh - regenerate testdata/pacemaker/<scenario>/ from REAL
# pcs 0.11 / pacemaker 2.1 output (run by `make fixtures`, as root).
#
# A one-node lab cannot run gfs2, so each scenario is built like this:
#   1. the live one-node cluster (up.sh) gives a real base CIB (node
#      rabbit-node-1 online, DC, quorum, cluster properties);
#   2. pcs -f / cibadmin (CIB_file=) add fake compute nodes, fence devices,
#      the fencing topology, resources and constraints to a copy of it;
#   3. crm_simulate brings the compute nodes up and plays the transition the
#      real scheduler computes (all actions succeed), or injects a failure,
#      and saves the resulting CIB with its status section as cib.xml;
#   4. the real tools render that CIB: CIB_file=cib.xml crm_mon/cibadmin and
#      pcs -f cib.xml, run inside the scenario directory, so every command in
#      INDEX can be re-run there as written.
# The expected answers are declared with each scenario (expect_* below) and
# the "active" ones are checked against the rendered crm_mon XML, so a
# scheduler decision that differs from the scenario's intent fails here, not
# in the strategy tests. expected.json and BUILD.log record them.
#
# It starts the cluster only if it is not running and then stops exactly the
# daemons it started (by pid, also on failure).
#   OUT=testdata/pacemaker  STATE_DIR=/tmp/fgr-pacemaker-lab
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/testdata/pacemaker}
export STATE_DIR=${STATE_DIR:-/tmp/fgr-pacemaker-lab}
WORK=$(mktemp -d /tmp/fgr-fixtures.XXXXXX)
RABBIT=rabbit-node-1

log() { echo "[capture-fixtures] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it starts a cluster)"
# One lab user at a time: test/e2e takes the same lock.
exec 9>/tmp/fgr-pacemaker-lab.lock
flock -w 600 9 || die "the lab lock is held (an e2e run?)"

# --- cluster lifecycle: stop only what we started ---------------------------
started_here=0
cleanup() {
    local rc=$?
    [ "$started_here" = 1 ] && "$HERE/down.sh" >/dev/null || true
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
pid_alive() { [ -s "$1" ] && [ -d "/proc/$(cat "$1")" ] && [ "$(cat "/proc/$(cat "$1")/comm")" = "$2" ]; }
if pid_alive "$STATE_DIR/pacemakerd.pid" pacemakerd; then
    log "using the running lab cluster (pacemakerd $(cat "$STATE_DIR/pacemakerd.pid"))"
else
    started_here=1
    FRESH=1 NODE=$RABBIT "$HERE/up.sh" >/dev/null
fi
command -v jq >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends jq >/dev/null; }

# --- the base CIB ------------------------------------------------------------
cibadmin -Q >"$WORK/live.xml"
grep -q "Online: \[ $RABBIT \]" <<<"$(crm_mon -1)" || die "$RABBIT is not online"

CIB=""      # the scenario's CIB being built
SCEN=""     # the scenario's name
BUILDLOG="" # the scenario's BUILD.log

# run CMD...: run a build step, logging the command and its output.
run() {
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    { { printf '$'; printf ' %q' "$@"; echo; } | sed "s#$WORK/##g"; [ -n "$out" ] && printf '%s\n' "$out"; echo "rc=$rc"; } >>"$BUILDLOG"
    [ "$rc" = 0 ] || { cat "$BUILDLOG" >&2; die "$SCEN: build step failed: $*"; }
}
pcsf() { run pcs -f "$CIB" "$@"; }
cibf() { run env CIB_file="$CIB" "$@"; }

# scenario NAME DESCRIPTION: start a scenario from the live CIB plus the
# parts every scenario shares: three compute nodes, a real fence device and
# the recorder in ONE topology level per compute (recorder first), both kept
# on the rabbit.
scenario() {
    SCEN=$1
    CIB="$WORK/$SCEN.xml"
    BUILDLOG="$WORK/$SCEN.build.log"
    cp "$WORK/live.xml" "$CIB"
    : >"$BUILDLOG"
    printf '%s\n' "$2" >"$WORK/$SCEN.description"
    : >"$WORK/$SCEN.expect"
    echo "# scenario $SCEN: $2" >>"$BUILDLOG"
    local n
    for n in 3 30 4; do
        cibf cibadmin --create -o nodes -X "<node id=\"$n\" uname=\"compute-node-$n\"/>"
    done
    pcsf stonith create realfence fence_dummy pcmk_host_list="compute-node-3 compute-node-30 compute-node-4"
    # --force: the recorder need not be installed while fixtures are captured.
    pcsf stonith create recorder fence_gfs2_recorder pcmk_host_list="compute-node-3 compute-node-30 compute-node-4" --force
    pcsf constraint location realfence prefers $RABBIT
    pcsf constraint location recorder prefers $RABBIT
    for n in 3 30 4; do
        pcsf stonith level add 1 compute-node-$n recorder realfence
    done
}

dlm() {
    pcsf resource create dlm ocf:pacemaker:controld op monitor interval=30s on-fail=fence clone interleave=true ordered=true
}
# gfs2_clone NAME DEVICE DIR [extra pcs args]: a cloned gfs2 Filesystem
# ordered after and colocated with dlm-clone, as a site would configure it.
gfs2_clone() {
    local name=$1 dev=$2 dir=$3; shift 3
    pcsf resource create "$name" ocf:heartbeat:Filesystem device="$dev" directory="$dir" fstype=gfs2 options=noatime \
        op monitor interval=10s on-fail=fence clone interleave=true "$@"
    pcsf constraint order start dlm-clone then "$name-clone"
    pcsf constraint colocation add "$name-clone" with dlm-clone
}

# simulate ARGS...: let the real scheduler play the transition on the CIB
# (crm_simulate -S: every action succeeds unless told otherwise).
simulate() {
    run crm_simulate -x "$CIB" -S -O "$CIB.next" "$@"
    mv "$CIB.next" "$CIB"
}
# inject ARGS...: apply synthetic events (node failure, ...) without running
# the transition: the state Pacemaker is in when it has just decided to fence.
inject() {
    run crm_simulate -x "$CIB" -O "$CIB.next" "$@"
    mv "$CIB.next" "$CIB"
}
up_all() { simulate -u compute-node-3 -u compute-node-30 "$@"; }

# expect NODE KIND IDS...: the scenario's answer for NODE. KIND is
#   active      gfs2 Filesystem primitives Pacemaker reports active on NODE
#               (pcs-status); checked against crm_mon below
#   configured  gfs2 Filesystem primitives the configuration lets run on NODE
#               (pcs-config; disabled resources excluded)
#   dlm         "true" if a DLM (controld) instance is active on NODE
expect() {
    local node=$1 kind=$2; shift 2
    printf '%s\t%s\t%s\n' "$node" "$kind" "$*" >>"$WORK/$SCEN.expect"
}

# expect_idle NODE IDS...: NODE runs nothing, no dlm either, but the
# configuration lets the gfs2 Filesystems IDS run there.
expect_idle() {
    local node=$1; shift
    expect "$node" active
    expect "$node" configured "$@"
    expect "$node" dlm false
}
# expect_clones_everywhere IDS...: the gfs2 clones IDS run, with dlm, on
# compute-node-3, compute-node-30 and the rabbit; compute-node-4, never
# brought up, is idle.
expect_clones_everywhere() {
    local n
    for n in compute-node-3 compute-node-30 $RABBIT; do
        expect $n active "$@"
        expect $n configured "$@"
        expect $n dlm true
    done
    expect_idle compute-node-4 "$@"
}

# capture: render the finished scenario with the real tools.
capture() {
    local dir="$OUT/$SCEN"
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$CIB" "$dir/cib.xml"
    chmod 0644 "$dir/cib.xml"
    cp "$BUILDLOG" "$dir/BUILD.log"
    (
        cd "$dir"
        : >INDEX
        cap() {
            local name=$1 rc=0; shift
            "$@" >"$name" 2>"$name.stderr" || rc=$?
            [ -s "$name.stderr" ] || rm -f "$name.stderr"
            printf '%-32s rc=%-3s $ %s\n' "$name" "$rc" "$*" >>INDEX
        }
        cap crm_mon-xml.xml env CIB_file=cib.xml crm_mon --output-as=xml
        cap crm_mon-1-xml-inactive.xml env CIB_file=cib.xml crm_mon -1 --output-as=xml --inactive
        cap crm_mon-1.txt env CIB_file=cib.xml crm_mon -1
        cap pcs-status-xml.xml pcs -f cib.xml status xml
        cap pcs-status-resources.txt pcs -f cib.xml status resources
        cap pcs-resource-config.json pcs -f cib.xml resource config --output-format=json
        cap pcs-resource-config.txt pcs -f cib.xml resource config
        cap pcs-config-show.txt pcs -f cib.xml config show
        cap cibadmin-Q-configuration.xml env CIB_file=cib.xml cibadmin -Q --scope configuration
        cap cibadmin-Q.xml env CIB_file=cib.xml cibadmin -Q
        cap pcs-stonith-level-config.txt pcs -f cib.xml stonith level config
        cap pcs-constraint-config.txt pcs -f cib.xml constraint config
        # pcs -f must never have written to the scenario CIB.
        cmp -s cib.xml "$CIB" || { echo "a capture command modified cib.xml" >&2; exit 1; }
    )
    verify "$dir"
    log "captured $SCEN"
}

# verify DIR: the declared "active" and "dlm" answers must match what
# crm_mon reports. Filesystem ids with fstype=gfs2 come from the CIB; where
# they run comes from crm_mon (resources with active="true" on the node,
# including UNCLEAN nodes: their resources are still active).
verify() {
    local dir=$1 gfs2 dlmids node kind want got id
    gfs2=$(xmllint --xpath '//primitive[@class="ocf" and @provider="heartbeat" and @type="Filesystem"][.//nvpair[@name="fstype" and @value="gfs2"]]/@id' "$dir/cib.xml" 2>/dev/null | grep -o '"[^"]*"' | tr -d '"' | sort -u)
    dlmids=$(xmllint --xpath '//primitive[@class="ocf" and @provider="pacemaker" and @type="controld"]/@id' "$dir/cib.xml" 2>/dev/null | grep -o '"[^"]*"' | tr -d '"' | sort -u)
    while IFS=$'\t' read -r node kind want; do
        case $kind in
            active | dlm) ;;
            *) continue ;;
        esac
        got=""
        for id in $(xmllint --xpath "//resource[@active='true'][node/@name='$node']/@id" "$dir/crm_mon-1-xml-inactive.xml" 2>/dev/null | grep -o '"[^"]*"' | tr -d '"' | sort -u); do
            if [ "$kind" = active ] && grep -qx -- "$id" <<<"$gfs2"; then got="$got $id"; fi
            if [ "$kind" = dlm ] && grep -qx -- "$id" <<<"$dlmids"; then got=true; fi
        done
        got=$(echo $got)
        [ "$kind" = dlm ] && [ -z "$got" ] && got=false
        [ "$got" = "$want" ] || die "$SCEN: expected $kind on $node = [$want], crm_mon says [$got]"
    done <"$WORK/$SCEN.expect"
}

NODES="compute-node-3 compute-node-30 compute-node-4 $RABBIT"

# ============================================================================
# Scenarios. Ids are listed sorted in expect lines.

scenario dlm-two-gfs2 "compute-node-3 and compute-node-30 run dlm and two gfs2 clones; compute-node-3 also runs a non-gfs2 (xfs) Filesystem; compute-node-4 is offline and runs nothing"
dlm
gfs2_clone gfs2-home /dev/vg_home/lv_home /mnt/home
gfs2_clone gfs2-proj /dev/vg_proj/lv_proj /mnt/proj
pcsf resource create xfs-scratch ocf:heartbeat:Filesystem device=/dev/vg_local/lv_scratch directory=/mnt/scratch fstype=xfs op monitor interval=20s
pcsf constraint location xfs-scratch prefers compute-node-3
up_all
expect_clones_everywhere gfs2-home gfs2-proj
capture
cp "$CIB" "$WORK/dlm-two-gfs2.final.xml"

scenario node-lost "dlm-two-gfs2, then compute-node-3 fails (crm_simulate --node-fail, transition not run): compute-node-3 is UNCLEAN (offline) and its resources are still reported Started on it: the state when pacemaker-fenced calls the recorder"
cp "$WORK/dlm-two-gfs2.final.xml" "$CIB"
: >"$BUILDLOG"
echo "# scenario node-lost: the final CIB of dlm-two-gfs2, then:" >>"$BUILDLOG"
inject -f compute-node-3
expect_clones_everywhere gfs2-home gfs2-proj
capture

scenario standby-none "compute-node-3 is online but in standby (node attribute standby=on), so it runs nothing; compute-node-30 runs dlm and gfs2-home"
dlm
gfs2_clone gfs2-home /dev/vg_home/lv_home /mnt/home
cibf crm_attribute --node compute-node-3 --name standby --update on
up_all
expect compute-node-3 active
expect compute-node-3 dlm false
# standby is an operational state, not a placement rule: configured-wise the
# clone may still run there.
expect compute-node-3 configured gfs2-home
for n in compute-node-30 $RABBIT; do
    expect $n active gfs2-home
    expect $n configured gfs2-home
    expect $n dlm true
done
expect_idle compute-node-4 gfs2-home
capture

scenario disabled-clone "gfs2-home-clone runs everywhere; gfs2-old-clone is configured but disabled (meta target-role=Stopped) and runs nowhere"
dlm
gfs2_clone gfs2-home /dev/vg_home/lv_home /mnt/home
gfs2_clone gfs2-old /dev/vg_old/lv_old /mnt/old --disabled
up_all
expect_clones_everywhere gfs2-home
capture

scenario lvm-group "shared_vg1-clone is a clone of group shared_vg1 (LVM-activate sharedlv1 + gfs2 Filesystem sharedfs1), running everywhere; group solo_vg (LVM-activate sololv + gfs2 Filesystem solofs), not cloned, runs only on compute-node-30 (location prefers)"
dlm
pcsf resource create sharedlv1 ocf:heartbeat:LVM-activate lvname=shared_lv1 vgname=shared_vg1 activation_mode=shared vg_access_mode=lvmlockd --group shared_vg1
pcsf resource create sharedfs1 ocf:heartbeat:Filesystem device=/dev/shared_vg1/shared_lv1 directory=/mnt/gfs1 fstype=gfs2 options=noatime op monitor interval=10s on-fail=fence --group shared_vg1
pcsf resource clone shared_vg1 interleave=true
pcsf constraint order start dlm-clone then shared_vg1-clone
pcsf constraint colocation add shared_vg1-clone with dlm-clone
pcsf resource create sololv ocf:heartbeat:LVM-activate lvname=solo_lv vgname=solo_vg activation_mode=shared vg_access_mode=lvmlockd --group solo_vg
pcsf resource create solofs ocf:heartbeat:Filesystem device=/dev/solo_vg/solo_lv directory=/mnt/solo fstype=gfs2 op monitor interval=10s on-fail=fence --group solo_vg
pcsf constraint location solo_vg prefers compute-node-30
pcsf constraint order start dlm-clone then solo_vg
up_all
expect compute-node-3 active sharedfs1
expect compute-node-30 active sharedfs1 solofs
expect $RABBIT active sharedfs1
# solo_vg is a primitive group that may run on any node (it only prefers
# compute-node-30): configured-wise it may run everywhere.
for n in compute-node-3 compute-node-30 $RABBIT compute-node-4; do
    expect $n configured sharedfs1 solofs
done
for n in compute-node-3 compute-node-30 $RABBIT; do expect $n dlm true; done
expect compute-node-4 active
expect compute-node-4 dlm false
capture

scenario location-ban "gfs2-proj-clone is banned from compute-node-3 (location -INFINITY) and gfs2-home-clone from compute-node-30 (rule #uname eq compute-node-30, score -INFINITY): compute-node-3 runs only gfs2-home, compute-node-30 only gfs2-proj"
dlm
gfs2_clone gfs2-home /dev/vg_home/lv_home /mnt/home
gfs2_clone gfs2-proj /dev/vg_proj/lv_proj /mnt/proj
pcsf constraint location gfs2-proj-clone avoids compute-node-3
pcsf constraint location gfs2-home-clone rule score=-INFINITY '#uname' eq compute-node-30
up_all
expect compute-node-3 active gfs2-home
expect compute-node-3 configured gfs2-home
expect compute-node-30 active gfs2-proj
expect compute-node-30 configured gfs2-proj
expect $RABBIT active gfs2-home gfs2-proj
expect $RABBIT configured gfs2-home gfs2-proj
expect compute-node-4 active
expect compute-node-4 configured gfs2-home gfs2-proj
for n in compute-node-3 compute-node-30 $RABBIT; do expect $n dlm true; done
capture

scenario name-prefix "compute-node-3 is offline and runs nothing; compute-node-30 runs gfs2-home only (gfs2-proj-clone avoids compute-node-30): an answer for compute-node-3 that matched names by prefix or substring would be wrong both ways"
dlm
gfs2_clone gfs2-home /dev/vg_home/lv_home /mnt/home
gfs2_clone gfs2-proj /dev/vg_proj/lv_proj /mnt/proj
pcsf constraint location gfs2-proj-clone avoids compute-node-30
simulate -u compute-node-30
expect compute-node-3 active
expect compute-node-3 dlm false
expect compute-node-3 configured gfs2-home gfs2-proj
expect compute-node-30 active gfs2-home
expect compute-node-30 dlm true
expect compute-node-30 configured gfs2-home
expect compute-node-4 active
expect compute-node-4 configured gfs2-home gfs2-proj
expect $RABBIT active gfs2-home gfs2-proj
expect $RABBIT configured gfs2-home gfs2-proj
expect $RABBIT dlm true
capture

# ============================================================================
# expected.json: every scenario's declared answers, for the strategy tests.
{
    for f in "$WORK"/*.expect; do
        s=$(basename "$f" .expect)
        jq -Rn --arg s "$s" --arg d "$(cat "$WORK/$s.description")" '
            [inputs | split("\t") | {node: .[0], kind: .[1], ids: (.[2] | split(" ") | map(select(. != "")))}]
            | {($s): {description: $d,
                      active: (map(select(.kind == "active")) | map({(.node): .ids}) | add // {}),
                      configured: (map(select(.kind == "configured")) | map({(.node): .ids}) | add // {}),
                      dlm_active: (map(select(.kind == "dlm")) | map({(.node): (.ids == ["true"])}) | add // {})}}' <"$f"
    done
} | jq -s 'add' >"$OUT/expected.json"
pcs --version >"$OUT/versions.txt"
dpkg-query -W corosync pacemaker pacemaker-cli-utils pcs fence-agents resource-agents >>"$OUT/versions.txt"
log "fixtures in $OUT"

# README.md: generated from the scenario declarations, so it cannot drift.
{
    cat <<'MD'
# Pacemaker fixtures (generated by `make fixtures`; do not edit)

Real output of pcs 0.11.5 / pacemaker 2.1.5 (Debian 12, `versions.txt`), captured by
`scripts/pacemaker-lab/capture-fixtures.sh`. A one-node lab cannot run gfs2, so each scenario
starts from the live lab cluster's CIB (rabbit-node-1 online), adds fake compute nodes,
fence devices, resources and constraints with `pcs -f` / `CIB_file= cibadmin`, and lets the
real scheduler play the transition with `crm_simulate -S` (or inject a node failure with
`crm_simulate -f`). The resulting CIB (configuration + status) is `cib.xml`; the other files
are the real tools rendering it. `BUILD.log` lists every build command with its output;
`INDEX` lists every capture command with its exit code, runnable as written inside the
scenario directory. Directories not listed below (e.g. `shared-lab/`, copied from the
team's earlier lab session by the pcs strategies' tests) are not made by this script and it
leaves them alone.

Every scenario has the compute nodes compute-node-3, compute-node-30 and compute-node-4, the
fence devices `realfence` (fence_dummy) and `recorder` (fence_gfs2_recorder) kept on
rabbit-node-1, and per compute one topology level `1: recorder,realfence`. DLM is `dlm`
(ocf:pacemaker:controld) in `dlm-clone`; gfs2 file systems are ocf:heartbeat:Filesystem
primitives with `fstype=gfs2`, cloned, ordered after and colocated with `dlm-clone`.

## Files per scenario

| file | command (inside the scenario directory) |
|---|---|
| `cib.xml` | the scenario CIB (input of everything below) |
| `crm_mon-xml.xml` | `CIB_file=cib.xml crm_mon --output-as=xml` |
| `crm_mon-1-xml-inactive.xml` | `CIB_file=cib.xml crm_mon -1 --output-as=xml --inactive` |
| `crm_mon-1.txt` | `CIB_file=cib.xml crm_mon -1` |
| `pcs-status-xml.xml` | `pcs -f cib.xml status xml` |
| `pcs-status-resources.txt` | `pcs -f cib.xml status resources` |
| `pcs-resource-config.json` | `pcs -f cib.xml resource config --output-format=json` |
| `pcs-resource-config.txt` | `pcs -f cib.xml resource config` |
| `pcs-config-show.txt` | `pcs -f cib.xml config show` |
| `cibadmin-Q-configuration.xml` | `CIB_file=cib.xml cibadmin -Q --scope configuration` |
| `cibadmin-Q.xml` | `CIB_file=cib.xml cibadmin -Q` |
| `pcs-stonith-level-config.txt` | `pcs -f cib.xml stonith level config` |
| `pcs-constraint-config.txt` | `pcs -f cib.xml constraint config` |

On a live cluster the same commands without `-f`/`CIB_file` print the same formats; what
differs is only the `request=` attribute of crm_mon's XML and the timestamps.

## Expected answers

`expected.json` holds them per scenario: `active` (gfs2 Filesystem primitive ids Pacemaker
reports active on the node: the pcs-status answer), `configured` (ids the configuration lets
run on the node: the pcs-config answer; disabled resources and -INFINITY location bans
excluded, standby ignored since it is an operational state), `dlm_active`. The capture
script checks every `active` and `dlm_active` answer against crm_mon's XML and fails if the
scheduler placed anything differently. `configured` follows from the scenario definition.

MD
    for s in $(jq -r 'keys_unsorted[]' "$OUT/expected.json"); do
        printf '### `%s`\n\n%s\n\n' "$s" "$(jq -r --arg s "$s" '.[$s].description' "$OUT/expected.json")"
        echo '| node | active (pcs-status) | configured (pcs-config) | dlm active |'
        echo '|---|---|---|---|'
        jq -r --arg s "$s" '.[$s] as $v | ([$v.active, $v.configured, $v.dlm_active] | map(keys) | add | unique) as $nodes
            | $nodes[] | . as $n
            | "| \($n) | \($v.active[$n] // null | if . == null then "-" elif . == [] then "none" else join(", ") end) | \($v.configured[$n] // null | if . == null then "-" elif . == [] then "none" else join(", ") end) | \(if ($v.dlm_active | has($n)) then ($v.dlm_active[$n] | tostring) else "-" end) |"' "$OUT/expected.json"
        echo
    done
} >"$OUT/README.md"
