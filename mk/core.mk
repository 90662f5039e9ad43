# Agent core targets: test, demo, check.
.PHONY: test demo check

# Go modules of the tree: the agent (.), the strategy SDK (sdk, its own
# module so a site strategy depends on it alone), and the build tools
# (tools: nfpm, kept out of the agent's and the SDK's go.sum), and the
# standalone strategy template.
MODULES := . sdk tools examples/plugin-template

test: build ## build everything, then run every Go test (the README's test command)
	$(GO) test -timeout 30m ./...
	$(GO) -C sdk test ./...

# demo: two fence events recorded into a fresh temporary directory by the
# built agent, discovery answering from the project's test data (a fake NNF
# API server for the real kubectl, the real crm_mon/cibadmin on a recorded
# CIB, or stand-ins printing recorded Pacemaker outputs where those are not
# installed): no cluster, no kubeconfig, nothing written outside the
# directory (internal/demo).
demo: build ## record two demo fence events (one finding filesystems, one not) and query them
	$(GO) run ./internal/demo -agent $(AGENT)

check: ## gofmt -l empty, go mod tidy -diff of each module, go vet, tests; fails on a dirty git tree
	@dirty=$$(git status --porcelain); if [ -n "$$dirty" ]; then echo "check: the git tree is dirty:"; echo "$$dirty"; exit 1; fi
	@unformatted=$$(git ls-files -z '*.go' | xargs -0 gofmt -l); if [ -n "$$unformatted" ]; then echo "check: gofmt -l:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do $(GO) -C $$m mod tidy -diff || { echo "check: go mod tidy would change $$m/go.mod or go.sum (diff above)"; exit 1; }; done
	$(GO) vet ./...
	$(GO) -C sdk vet ./...
	$(MAKE) test
	@dirty=$$(git status --porcelain); if [ -n "$$dirty" ]; then echo "check: the tests left the git tree dirty:"; echo "$$dirty"; exit 1; fi
