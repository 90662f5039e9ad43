// Package packaging holds what installs fence_gfs2_recorder like a fence
// agent: the nfpm configuration for the .deb and .rpm (nfpm.yaml), their
// post-install and pre-remove scripts (scripts/), the logrotate file
// (logrotate/), and the tests that install, run and remove the result:
//
//	go test ./packaging/                 # make install/uninstall with DESTDIR, package contents, logrotate
//	sudo go test ./packaging/ -run Deb   # also dpkg -i / -r / -P on this machine (root only)
//
// The make targets are in mk/install.mk. There is no Go code to import here.
package packaging
