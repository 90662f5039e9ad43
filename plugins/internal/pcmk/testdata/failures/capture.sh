#!/bin/bash
# Failure scenarios the cluster helper's set lacks, made with the real
# Pacemaker tools from testdata/pacemaker/dlm-two-gfs2/cib.xml (no cluster):
# crm_simulate injects an operation result into the status section
# (--op-inject; --run only prints the scheduler's response, which fences
# compute-node-3, without playing it), then crm_mon/pcs/cibadmin render it.
#   monitor-failed/: gfs2-home's 10 s monitor on compute-node-3 returned 1
#                    (on-fail=fence: the reason the node is being fenced)
#   stop-failed/:    gfs2-home's stop on compute-node-3 returned 1
#                    (a failed stop is escalated to fencing)
set -eu
cd "$(dirname "$0")"
src=../../../../../testdata/pacemaker/dlm-two-gfs2/cib.xml
capture() { # capture DIR OPSPEC
	local dir=$1 spec=$2
	mkdir -p "$dir"
	crm_simulate --run -x "$src" --op-inject "$spec" -O "$dir/cib.xml" >"$dir/crm_simulate.txt" 2>&1
	(
		cd "$dir"
		CIB_file=cib.xml crm_mon --one-shot --inactive --output-as=xml --include=none,nodes,resources >crm_mon-status.xml
		CIB_file=cib.xml cibadmin --query --scope=resources >cibadmin-Q-resources.xml
		CIB_file=cib.xml cibadmin --query --scope=configuration >cibadmin-Q-configuration.xml
		pcs -f cib.xml status resources >pcs-status-resources.txt
		sed -i 's/ at [A-Z][a-z][a-z] [A-Z][a-z][a-z] .*$//' crm_simulate.txt # timestamps
	)
}
capture monitor-failed gfs2-home_monitor_10000@compute-node-3=1
capture stop-failed gfs2-home_stop_0@compute-node-3=1
