//go:build race

package host

// raceEnabled: the race detector slows guest code and compilation by an
// order of magnitude, so latency assertions are not meaningful under it.
const raceEnabled = true
