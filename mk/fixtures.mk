# Pacemaker fixtures: real pcs/crm_mon/cibadmin output per scenario in
# testdata/pacemaker/ (see its README.md). Needs root: it installs the
# pacemaker stack if missing and runs a one-node lab cluster while capturing.
.PHONY: fixtures lab-up lab-down

fixtures: ## regenerate testdata/pacemaker/ from a real one-node cluster (root)
	scripts/pacemaker-lab/capture-fixtures.sh

lab-up: ## start the one-node Pacemaker lab cluster (root; scripts/pacemaker-lab/up.sh)
	scripts/pacemaker-lab/up.sh

lab-down: ## stop the lab cluster started by lab-up, by pid
	scripts/pacemaker-lab/down.sh
