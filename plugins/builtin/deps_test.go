package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/config"
	"github.com/NearNodeFlash/fence-gfs2-recorder/plugins/internal/guestdeps"
	"github.com/NearNodeFlash/fence-gfs2-recorder/sdk/plugin"
)

// The guest's size is fence latency (~10 ms per MB on every fence), and fmt,
// encoding/json and reflect would add about 1.5 MB. Check the real guest
// build's dependency list (and the native one, where tests run).
func TestGuestDependenciesStayLean(t *testing.T) {
	for _, goos := range []string{"wasip1", ""} {
		deps := guestdeps.List(t, ".", goos)
		require.Contains(t, deps, "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/jsonlite")
		require.Contains(t, deps, "github.com/NearNodeFlash/fence-gfs2-recorder/sdk/xmlite")
		for _, banned := range []string{"fmt", "encoding/json", "reflect", "encoding/hex", "os/exec"} {
			require.NotContains(t, deps, banned, "GOOS=%s: the built-in guest must not import %s", goos, banned)
		}
	}
}

// The module serves exactly the built-in strategies, in the default order,
// under the names the configuration knows them by.
func TestRegistersTheBuiltinStrategies(t *testing.T) {
	assert.Equal(t, config.BuiltinStrategies, plugin.Strategies())
	assert.Equal(t, config.Defaults().Discovery.Order, plugin.Strategies())
}

// The module serves the built-in reporters under their configured names.
func TestRegistersTheBuiltinReporters(t *testing.T) {
	assert.Equal(t, config.BuiltinReporters, plugin.Reporters())
}
