//go:build race

package host

// raceBuild: the race detector's shadow memory is private writable memory,
// so the compile child's RLIMIT_DATA ceiling cannot apply to a race build.
const raceBuild = true
