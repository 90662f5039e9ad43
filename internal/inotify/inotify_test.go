package inotify

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Two events of one read, from the kernel: the names come without their
// NUL padding, each with its own mask and watch.
func TestDecodeSplitsOneReadIntoItsEvents(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	require.NoError(t, err)
	defer unix.Close(fd)
	wd, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a"), nil, 0o644))
	require.NoError(t, os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "request-with-a-longer-name.json")))

	buf := make([]byte, 64<<10)
	n, err := unix.Read(fd, buf)
	require.NoError(t, err)

	assert.Equal(t, []Event{
		{Wd: int32(wd), Mask: unix.IN_CREATE, Name: "a"},
		{Wd: int32(wd), Mask: unix.IN_MOVED_TO, Name: "request-with-a-longer-name.json"},
	}, Decode(buf[:n]))
}
