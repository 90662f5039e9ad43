// Package e2e runs the built fence_gfs2_recorder under the real
// pacemaker-fenced of a one-node Pacemaker cluster started on 127.0.0.1
// (scripts/pacemaker-lab/up.sh), with the real fence_dummy beside it in one
// fencing-topology level, and checks what lands in the audit trail.
//
// It needs root (it installs the pacemaker stack with apt when missing,
// writes /etc/corosync/corosync.conf, replaces the lab CIB and installs the
// agent as /usr/sbin/fence_gfs2_recorder). Without root, or when apt cannot
// reach its archive, it skips and says so; `make e2e` prints the reason.
// The tests live in _test.go files; this file only documents the package.
package e2e
