# Performance: whole-process scenarios as pacemaker-fenced runs the agent
# (bench/, Go only: no hyperfine needed) and the host's in-process phases.
# Results: $(BIN)/bench.md and $(BIN)/bench-phases.txt; docs/PERFORMANCE.md
# explains them. BENCH_RUNS=30 runs per warm scenario. The storage-fence rows
# compare with upstream's fence_recorder.py when
# FGR_UPSTREAM_FENCE_RECORDER=/path/to/fence_recorder.py is set (it needs
# Debian's fence-agents); without it those rows are skipped and say so.
.PHONY: bench

BENCH_RUNS ?= 30

bench: build ## measure every scenario of docs/PERFORMANCE.md in one run (~2 min)
	@mkdir -p $(BIN)
	$(GO) run ./bench -bin $(BIN) -runs $(BENCH_RUNS) -out $(BIN)/bench.md
	$(GO) test -count=1 -run '^$$' -bench 'Phases' -benchtime 10x ./host/ | tee $(BIN)/bench-phases.txt
