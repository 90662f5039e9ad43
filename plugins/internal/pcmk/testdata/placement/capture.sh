#!/bin/bash
# Placement scenarios for the static "may run" reading, made with the real
# tools from testdata/pacemaker/dlm-two-gfs2/cib.xml without a cluster:
# `pcs -f` adds the constraints, then `crm_simulate -S --node-up` lets the
# real scheduler place everything with every node online. Each directory
# holds cib.xml (configuration + the scheduler's resulting status),
# crm_mon-status.xml, cibadmin-Q-configuration.xml and build.log.
#   attr-rule:     gfs2-proj-clone banned by a rule on node attribute rack=r7
#                  (set on compute-node-30 only)
#   or-rule:       gfs2-home-clone banned by "#uname eq compute-node-3 or
#                  #uname eq compute-node-4"
#   dlm-banned:    dlm-clone avoids compute-node-4; both gfs2 clones are
#                  colocated (INFINITY) with it
#   opt-in:        symmetric-cluster=false; dlm-clone enabled on
#                  compute-node-3 and rabbit-node-1, gfs2-home-clone on
#                  compute-node-3 and compute-node-30, gfs2-proj-clone nowhere
set -eu
cd "$(dirname "$0")"
src=../../../../../testdata/pacemaker/dlm-two-gfs2/cib.xml
scenario() { # scenario NAME 'pcs args' ...
	local dir=$1; shift
	rm -rf "$dir"; mkdir -p "$dir"
	cp "$src" "$dir/input.xml"
	(
		cd "$dir"
		for args in "$@"; do
			echo "\$ pcs -f input.xml $args" >>build.log
			eval "pcs -f input.xml $args" >>build.log 2>&1
		done
		echo '$ crm_simulate -S -x input.xml --node-up compute-node-4 -O cib.xml' >>build.log
		crm_simulate -S -x input.xml --node-up compute-node-4 -O cib.xml | sed -n '/^Revised Cluster Status/,$p' >>build.log
		rm input.xml
		CIB_file=cib.xml crm_mon --one-shot --inactive --output-as=xml --include=none,nodes,resources >crm_mon-status.xml
		CIB_file=cib.xml cibadmin --query --scope=configuration >cibadmin-Q-configuration.xml
	)
}
scenario attr-rule "node attribute compute-node-30 rack=r7" \
	"constraint location gfs2-proj-clone rule score=-INFINITY rack eq r7"
scenario or-rule "constraint location gfs2-home-clone rule score=-INFINITY '#uname' eq compute-node-3 or '#uname' eq compute-node-4"
scenario dlm-banned "constraint location dlm-clone avoids compute-node-4"
scenario opt-in "property set symmetric-cluster=false" \
	"constraint location dlm-clone prefers compute-node-3 rabbit-node-1" \
	"constraint location gfs2-home-clone prefers compute-node-3 compute-node-30"
