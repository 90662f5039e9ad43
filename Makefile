# fence_gfs2_recorder build. `make help` lists the targets.
# Area-specific targets (fixtures, e2e, packages, bench) live in mk/*.mk.

GO       ?= go
BIN      := bin
MODULE   := github.com/NearNodeFlash/fence-gfs2-recorder
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
LDFLAGS  := -s -w -X $(MODULE)/internal/version.Version=$(VERSION)
AGENT    := $(BIN)/fence_gfs2_recorder
# Built-in strategies: one WASI reactor (plugins/builtin serves all three),
# built by the standard toolchain, never committed.
PLUGINS  := builtin
WASM     := $(PLUGINS:%=$(BIN)/plugins/%.wasm)

.PHONY: all build agent plugins test check clean help FORCE
all: build

build: agent plugins ## build the agent and the built-in strategies into bin/

agent: FORCE
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(AGENT) ./cmd/fence_gfs2_recorder

plugins: $(WASM) ## build the built-in strategies (bin/plugins/*.wasm)

# go's build cache makes a rebuild of an unchanged plugin cheap, so always ask.
$(BIN)/plugins/%.wasm: FORCE
	@mkdir -p $(@D)
	GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags '-s -w' -o $@ ./plugins/$*

clean: ## remove build outputs
	rm -rf $(BIN)

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

FORCE:

-include mk/*.mk
