#!/bin/bash
# Regenerates the error and edge-case outputs in this directory with the real
# Pacemaker tools (pacemaker-cli-utils 2.1.5). CIB_file makes them read a file
# instead of a cluster, so no cluster is needed or touched.
# INDEX lists each file, the command and its exit status.
set -u
cd "$(dirname "$0")"
: > INDEX
run() { # run OUT CMD...: stdout to OUT, stderr to OUT.stderr, record rc
	local out=$1; shift
	"$@" >"$out" 2>"$out.stderr"
	printf '%-32s rc=%-3s $ %s\n' "$out" "$?" "$*" >>INDEX
	[ -s "$out.stderr" ] || rm -f "$out.stderr"
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cibadmin --empty >"$tmp/empty.xml"
run crm_mon-no-cib.xml env CIB_file=/nonexistent/cib.xml crm_mon --one-shot --inactive --output-as=xml --include=none,nodes,resources
run cibadmin-no-cib.xml env CIB_file=/nonexistent/cib.xml cibadmin --query --scope=resources
run crm_mon-empty-cluster.xml env CIB_file="$tmp/empty.xml" crm_mon --one-shot --inactive --output-as=xml --include=none,nodes,resources
run crm_mon-bad-option.xml env CIB_file="$tmp/empty.xml" crm_mon --one-shot --output-as=xml --include=bogus
sed -i "s#$tmp#\$TMP#g" INDEX
