// Package version holds the agent version, set at link time by the Makefile
// (-X .../internal/version.Version=...).
package version

// Version is the agent version written into every record as agent_version.
var Version = "0.1.0-dev"
