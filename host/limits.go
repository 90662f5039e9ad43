package host

// Limits on what a guest may make the host keep, beyond the boundary sizes
// next to the ABI (abi.go). docs/ABI.md "Limits" lists them all.
const (
	// maxLogBytes bounds what one call's fgr.log lines may add to the
	// operational log and the record, together; maxLogLines bounds their
	// number. Past either, lines are counted and neither logged nor kept:
	// the operational log and the agent's stderr (Pacemaker's pipe) are
	// no place for a flood.
	maxLogBytes = 256 << 10
	// maxFilesystems bounds the names in one answer: each becomes part of
	// the record's one line. A rabbit serves at most a few hundred.
	maxFilesystems = 4096
)
