# End-to-end test: the built agent under the real pacemaker-fenced of a
# one-node cluster (test/e2e). Needs root; skips (loudly) only when not root
# or when apt cannot install the pacemaker stack. `go test ./...` runs it too.
.PHONY: e2e e2e-bench

e2e: ## run the agent under real pacemaker-fenced (root; ~3.5 min)
	@mkdir -p $(BIN)
	@{ $(GO) test -count=1 -v ./test/e2e/ 2>&1; echo $$? >$(BIN)/e2e.rc; } | tee $(BIN)/e2e.log
	@if grep -q 'E2E SKIPPED' $(BIN)/e2e.log; then \
		echo '!!!!!!!! E2E SKIPPED (reason above): the end-to-end test did NOT run !!!!!!!!'; fi
	@exit $$(cat $(BIN)/e2e.rc)

e2e-bench: ## time stonith_admin --reboot with and without the recorder in the level (root)
	$(GO) test -count=1 -run '^$$' -bench 'StonithReboot' -benchtime 10x ./test/e2e/
