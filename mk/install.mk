# Install like a fence agent. pacemaker-fenced only runs /usr/sbin/fence_*,
# and the agent finds its built-in strategies at <exe dir>/../lib/fence_gfs2_recorder/plugins,
# so sbin and lib always move together under PREFIX. Configuration, logs and
# the cache live where the agent's defaults expect them (config/types.go),
# whatever the PREFIX.
#
#   make install   [DESTDIR=/tmp/root] [PREFIX=/usr]
#   make uninstall [DESTDIR=/tmp/root] [PREFIX=/usr]
#   make packages  -> dist/*.deb dist/*.rpm (nfpm, pinned in tools/go.mod)
#   make man       -> $(BIN)/man/fence_gfs2_recorder.8

PREFIX        ?= /usr
DESTDIR       ?=
SBINDIR       := $(PREFIX)/sbin
PKGLIBDIR     := $(PREFIX)/lib/fence_gfs2_recorder
MANDIR        ?= $(PREFIX)/share/man
DOCDIR        := $(PREFIX)/share/doc/fence-gfs2-recorder
CONFDIR       := /etc/fence_gfs2_recorder
LOGROTATEDIR  := /etc/logrotate.d
LOGDIR        := /var/log/gfs2-fencing
CACHEDIR      := /var/cache/fence_gfs2_recorder
DIST          ?= dist

MANPAGE        := $(BIN)/man/fence_gfs2_recorder.8
CONFIG_EXAMPLE := config/config.example.yaml
LOGROTATE_FILE := packaging/logrotate/fence_gfs2_recorder

# Package version: v1.2.3 tags give 1.2.3 (1.2.3+4.gabcdef between tags);
# untagged trees give 0.1.0~dev.<commit count>.g<hash>, which sorts before
# 0.1.0 and rises with every commit on a branch.
PKG_VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && \
	echo "$$v" | sed -E 's/^v//; s/-([0-9]+)-g/+\1.g/' || \
	echo "0.1.0~dev.$$(git rev-list --count HEAD 2>/dev/null || echo 0).g$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")
# One module per built-in strategy, before plugins/builtin served all three:
# install removes them so an upgraded tree holds only what the agent loads.
FORMER_PLUGINS := kubectl-nnf pcs-status pcs-config

PKG_ARCH    ?= $(shell $(GO) env GOARCH)

.PHONY: install uninstall packages man

# The installed agent must run wherever the .rpm or .deb lands (an older
# glibc on the storage nodes, say): build it without cgo, so it is static and
# the packages need no libc dependency. Target-specific, so it reaches the
# agent build these targets trigger and nothing else.
install packages: export CGO_ENABLED = 0

man: ## generate the man page from the option table ($(BIN)/man/fence_gfs2_recorder.8)
	@mkdir -p $(BIN)/man
	$(GO) run ./internal/manpage/genman -version '$(VERSION)' -out $(MANPAGE)

$(CONFIG_EXAMPLE):
	@echo "$@ is missing: it is the commented example configuration that install and packages ship" >&2; exit 1

install: build man $(CONFIG_EXAMPLE) ## install into $(DESTDIR)$(PREFIX) (agent in sbin, strategies in lib), /etc, /var
	install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PKGLIBDIR)/plugins $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(CONFDIR) $(DESTDIR)$(CONFDIR)/plugins.d $(DESTDIR)$(LOGROTATEDIR)
	install -m 0755 $(AGENT) $(DESTDIR)$(SBINDIR)/fence_gfs2_recorder
	@# Run as fence_recorder (NNF's agent name), the agent is a storage fence
	@# (docs/NNF.md). Another agent's fence_recorder is never replaced.
	@link=$(DESTDIR)$(SBINDIR)/fence_recorder; \
	if { [ -e "$$link" ] || [ -L "$$link" ]; } && [ "$$(readlink "$$link")" != fence_gfs2_recorder ]; then \
		echo "keeping $$link: another fence_recorder is installed; remove it to use this agent as fence_recorder (docs/NNF.md)" >&2; \
	else \
		echo "ln -sfn fence_gfs2_recorder $$link"; ln -sfn fence_gfs2_recorder "$$link"; \
	fi
	install -m 0644 $(WASM) $(DESTDIR)$(PKGLIBDIR)/plugins/
	rm -f $(addprefix $(DESTDIR)$(PKGLIBDIR)/plugins/,$(FORMER_PLUGINS:=.wasm))
	install -m 0644 $(MANPAGE) $(DESTDIR)$(MANDIR)/man8/fence_gfs2_recorder.8
	install -m 0644 docs/PLUGINS.md $(DESTDIR)$(DOCDIR)/PLUGINS.md
	install -m 0644 docs/NNF.md $(DESTDIR)$(DOCDIR)/NNF.md
	install -m 0644 $(LOGROTATE_FILE) $(DESTDIR)$(LOGROTATEDIR)/fence_gfs2_recorder
	@# Never overwrite an administrator's configuration.
	@if [ -e $(DESTDIR)$(CONFDIR)/config.yaml ]; then \
		echo "keeping existing $(DESTDIR)$(CONFDIR)/config.yaml (the example is $(CONFIG_EXAMPLE))"; \
	else \
		echo "install -m 0644 $(CONFIG_EXAMPLE) $(DESTDIR)$(CONFDIR)/config.yaml"; \
		install -m 0644 $(CONFIG_EXAMPLE) $(DESTDIR)$(CONFDIR)/config.yaml; \
	fi
	install -d -m 0750 $(DESTDIR)$(LOGDIR)
	@# Native code run as root: root only (chmod also fixes a pre-existing directory).
	install -d -m 0700 $(DESTDIR)$(CACHEDIR)
	chmod 0700 $(DESTDIR)$(CACHEDIR)
	@if [ -z "$(DESTDIR)" ]; then \
		$(DESTDIR)$(SBINDIR)/fence_gfs2_recorder plugins warm || \
		echo "warning: 'fence_gfs2_recorder plugins warm' failed; the first fence will compile the strategies itself" >&2; \
	fi

# Removes what install put there and nothing else. Kept on purpose: the logs
# (an audit trail), a configuration that differs from the shipped example,
# site strategies in plugins.d (and so plugins.d and the config directory).
uninstall: ## remove what install put there (keeps logs, a changed config and site strategies)
	rm -f $(DESTDIR)$(SBINDIR)/fence_gfs2_recorder
	@link=$(DESTDIR)$(SBINDIR)/fence_recorder; \
	if [ "$$(readlink "$$link")" = fence_gfs2_recorder ]; then echo "rm -f $$link"; rm -f "$$link"; fi
	rm -f $(addprefix $(DESTDIR)$(PKGLIBDIR)/plugins/,$(PLUGINS:=.wasm) $(FORMER_PLUGINS:=.wasm))
	rm -f $(DESTDIR)$(MANDIR)/man8/fence_gfs2_recorder.8
	rm -f $(DESTDIR)$(DOCDIR)/PLUGINS.md $(DESTDIR)$(DOCDIR)/NNF.md
	rm -f $(DESTDIR)$(LOGROTATEDIR)/fence_gfs2_recorder
	@if [ -e $(DESTDIR)$(CONFDIR)/config.yaml ]; then \
		if cmp -s $(CONFIG_EXAMPLE) $(DESTDIR)$(CONFDIR)/config.yaml; then \
			echo "rm -f $(DESTDIR)$(CONFDIR)/config.yaml"; rm -f $(DESTDIR)$(CONFDIR)/config.yaml; \
		else \
			echo "keeping $(DESTDIR)$(CONFDIR)/config.yaml: it differs from $(CONFIG_EXAMPLE)"; \
		fi; \
	fi
	@# The compile cache is derived from the strategies removed above.
	rm -rf $(DESTDIR)$(CACHEDIR)
	@for d in $(DESTDIR)$(PKGLIBDIR)/plugins $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(CONFDIR)/plugins.d $(DESTDIR)$(CONFDIR); do \
		if [ -d "$$d" ]; then rmdir --ignore-fail-on-non-empty "$$d"; fi; \
		if [ -d "$$d" ]; then echo "keeping $$d: not empty"; fi; \
	done
	@echo "kept $(DESTDIR)$(LOGDIR): the fence audit trail is never removed by uninstall"

packages: build man $(CONFIG_EXAMPLE) ## build .deb and .rpm into $(DIST)/ with nfpm
	@mkdir -p $(DIST)
	@for p in deb rpm; do \
		echo "nfpm $$p $(PKG_VERSION) $(PKG_ARCH)"; \
		PKG_VERSION='$(PKG_VERSION)' PKG_ARCH='$(PKG_ARCH)' PKG_BIN='$(BIN)' \
			$(GO) tool -modfile=tools/go.mod nfpm package --config packaging/nfpm.yaml --packager $$p --target $(DIST)/ || exit 1; \
	done
