# Pairing safety check fixtures: CIB variants made by real pcs -f and read
# back by real cibadmin (no cluster needed; ~30 s, pcs is slow to start).
.PHONY: pairing-fixtures

pairing-fixtures: ## regenerate testdata/pairing/ (needs pcs and cibadmin)
	testdata/pairing/generate.sh
