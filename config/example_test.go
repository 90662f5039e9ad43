package config

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shipped example documents every key with its default: loading it
// must change nothing, and it must mention every leaf.
func TestExampleFileEqualsDefaults(t *testing.T) {
	l, err := Load(LoadOptions{File: "config.example.yaml"})
	require.NoError(t, err)
	assert.Equal(t, Defaults(), l.Config)
	assert.Equal(t, "config.example.yaml", l.File)
	for key, src := range l.Sources {
		assert.Equal(t, "file:config.example.yaml", src, "example file does not set %s", key)
	}
}
