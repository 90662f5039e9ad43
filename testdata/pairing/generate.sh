#!/bin/sh
# Regenerates the pairing-check fixtures with the real tools, no cluster
# needed: each case starts from testdata/pacemaker/dlm-two-gfs2/cib.xml
# (recorder + realfence in level 1 for every compute node), is edited with
# `pcs -f`, and is read back with `CIB_file=... cibadmin --query --scope
# configuration`, exactly what the agent runs. Outputs:
#   <case>.cib.xml  the whole CIB file (the tests point CIB_file at it)
#   <case>.xml      cibadmin's configuration output (parsed by the tests)
#   BUILD.log       every command and its exit code
# Run with `make pairing-fixtures` (~1 s per pcs call).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
base="$here/../pacemaker/dlm-two-gfs2/cib.xml"
log="$here/BUILD.log"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$log"

run() {
	echo "\$ $*" >>"$log"
	"$@" >>"$log" 2>&1 && rc=0 || rc=$?
	echo "rc=$rc" >>"$log"
	[ "$rc" -eq 0 ] || { echo "failed: $*" >&2; exit 1; }
}

# start CASE DESCRIPTION: a fresh copy of the base CIB to edit.
start() {
	case_name=$1
	f="$tmp/$case_name.cib.xml"
	cp "$base" "$f"
	echo "# case $case_name: $2" >>"$log"
}

finish() {
	cp "$f" "$here/$case_name.cib.xml"
	echo "\$ CIB_file=$case_name.cib.xml cibadmin --query --scope configuration > $case_name.xml" >>"$log"
	CIB_file="$f" cibadmin --query --scope configuration >"$here/$case_name.xml"
	echo "rc=0" >>"$log"
}

start paired "recorder and realfence together in level 1 for every compute node (pass)"
finish

start alone "compute-node-3's level 1 holds only the recorder (fail)"
run pcs -f "$f" stonith level delete 1 target compute-node-3
run pcs -f "$f" stonith level add 1 compute-node-3 recorder
finish

start no-level "levels hold only realfence; the recorder is in none (fail)"
run pcs -f "$f" stonith level clear
run pcs -f "$f" stonith level add 1 compute-node-3 realfence
run pcs -f "$f" stonith level add 1 compute-node-4 realfence
finish

start alone-then-paired "compute-node-3: recorder alone in level 1, paired in level 2 (fail: level 1 alone completes a fence)"
run pcs -f "$f" stonith level delete 1 target compute-node-3
run pcs -f "$f" stonith level add 1 compute-node-3 recorder
run pcs -f "$f" stonith level add 2 compute-node-3 recorder realfence
finish

start two-recorders "compute-node-3's level 1 holds two recorders and no real device (fail)"
run pcs -f "$f" stonith create recorder2 fence_gfs2_recorder "pcmk_host_list=compute-node-3" --force
run pcs -f "$f" stonith level delete 1 target compute-node-3
run pcs -f "$f" stonith level add 1 compute-node-3 recorder recorder2
finish

start disabled-alone "a disabled recorder (target-role=Stopped) alone in a level and in no level (pass)"
run pcs -f "$f" stonith create recorder2 fence_gfs2_recorder "pcmk_host_list=compute-node-3" --force --disabled
run pcs -f "$f" stonith level add 2 compute-node-3 recorder2
run pcs -f "$f" stonith create recorder3 fence_gfs2_recorder "pcmk_host_list=compute-node-4" --force --disabled
finish

start no-recorder "no fence_gfs2_recorder device at all (pass)"
run pcs -f "$f" stonith level clear
run pcs -f "$f" stonith delete recorder
run pcs -f "$f" stonith level add 1 compute-node-3 realfence
finish

start pattern-alone "recorder alone in a level that targets by regexp (fail)"
run pcs -f "$f" stonith level add 2 "regexp%^compute-node-[0-9]+\$" recorder
finish

start attribute-alone "recorder alone in a level that targets by node attribute (fail)"
run pcs -f "$f" stonith level add 2 "attrib%rack=r1" recorder
finish

start template "a recorder defined through a stonith template, alone in a level (fail)"
run env CIB_file="$f" cibadmin --create -o resources -X '<template id="recorder-template" class="stonith" type="fence_gfs2_recorder"/>'
run env CIB_file="$f" cibadmin --create -o resources -X '<primitive id="recorder-t" template="recorder-template"/>'
# pcs does not count a templated primitive as a stonith device.
run pcs -f "$f" stonith level add 2 compute-node-4 recorder-t --force
finish
