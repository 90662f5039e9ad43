# WASM strategy runtime (host/): tests, benchmarks, and the SDK's size cost.
.PHONY: runtime-test runtime-bench sdk-size

runtime-test: ## test the wasm host, execcap, plugins admin and SDK glue (builds test guests; WAT tests need wabt)
	$(GO) test -count=1 ./host/... ./internal/execcap/...
	$(GO) -C sdk test -count=1 ./plugin/... ./abi/...

runtime-bench: ## compile/cache/instantiate/call costs and the runaway-guest designs (docs/RATIONALE.md)
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 10x ./host/

sdk-size: ## bytes of an empty SDK strategy vs a bare Go reactor
	@d=$$(mktemp -d); for g in bare empty; do \
		GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $$d/$$g.wasm ./host/testdata/guests/$$g || exit 1; done; \
	b=$$(stat -c %s $$d/bare.wasm); e=$$(stat -c %s $$d/empty.wasm); \
	echo "bare reactor $$b bytes; empty SDK strategy $$e bytes; SDK adds $$((e-b)) bytes"; rm -rf $$d

.PHONY: faults
faults: ## the built agent against hostile plugins, bad cache entries, planted files, a full disk (root; ~3 min)
	$(GO) test -count=1 -v ./test/faults/
