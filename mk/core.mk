# Agent core targets: test, demo, check.
.PHONY: test demo check

# Go modules of the tree: the agent (.), the strategy SDK (sdk, its own
# module so a site strategy depends on it alone), and the build tools
# (tools: nfpm, kept out of the agent's and the SDK's go.sum).
MODULES := . sdk tools

test: build ## build everything, then run every Go test (the README's test command)
	$(GO) test ./...
	$(GO) -C sdk test ./...

# demo: one fence event on the built-in defaults (an empty config file),
# recorded into a fresh temporary directory, with no cluster and no kubectl
# configuration needed: discovery attempts fail cleanly and the record says
# which and why. Nothing outside the temporary directory is written.
demo: build ## record a demo fence event into a temporary log dir and print it
	@d=$$(mktemp -d "$${TMPDIR:-/tmp}/fence_gfs2_recorder-demo.XXXXXX"); \
	: > "$$d/config.yaml"; \
	printf 'nodename=compute-node-3\naction=reboot\nport=compute-node-3\nlog_dir=%s/log\n' "$$d" | \
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$$d" KUBECONFIG="$$d/no-kubeconfig" \
		FENCE_GFS2_RECORDER_CONFIG="$$d/config.yaml" FENCE_GFS2_RECORDER_CACHE_DIR="$$d/cache" \
		FENCE_GFS2_RECORDER_STRATEGIES__KUBECTL_NNF__CONFIG__CACHE_DIR="$$d/cache/kube" \
		$(AGENT) 2>"$$d/stderr.txt"; \
	rc=$$?; \
	echo "== exit code: $$rc (pacemaker-fenced treats 0 as success)"; \
	echo "== $$d/log/fence-events-readable.log"; cat "$$d/log/fence-events-readable.log"; \
	echo "== $$d/log/fence-events-detailed.jsonl"; \
	if command -v jq >/dev/null; then jq . "$$d/log/fence-events-detailed.jsonl"; else cat "$$d/log/fence-events-detailed.jsonl"; fi; \
	echo "== operational log: $$d/log/fence-events.log (also on stderr: $$d/stderr.txt)"; \
	test $$rc -eq 0

check: ## gofmt -l empty, go mod tidy -diff of each module, go vet, tests; fails on a dirty git tree
	@dirty=$$(git status --porcelain); if [ -n "$$dirty" ]; then echo "check: the git tree is dirty:"; echo "$$dirty"; exit 1; fi
	@unformatted=$$(git ls-files -z '*.go' | xargs -0 gofmt -l); if [ -n "$$unformatted" ]; then echo "check: gofmt -l:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do $(GO) -C $$m mod tidy -diff || { echo "check: go mod tidy would change $$m/go.mod or go.sum (diff above)"; exit 1; }; done
	$(GO) vet ./...
	$(GO) -C sdk vet ./...
	$(MAKE) test
	@dirty=$$(git status --porcelain); if [ -n "$$dirty" ]; then echo "check: the tests left the git tree dirty:"; echo "$$dirty"; exit 1; fi
