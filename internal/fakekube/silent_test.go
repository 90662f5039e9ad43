package fakekube_test

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/NearNodeFlash/fence-gfs2-recorder/internal/fakekube"
)

func TestSilentAcceptsAndNeverAnswers(t *testing.T) {
	addr, stop, err := fakekube.Silent()
	require.NoError(t, err)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err, "a partitioned API still accepts")
	defer c.Close()
	_, err = c.Write([]byte("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, err = c.Read(make([]byte, 1))
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "no answer, only the client's own timeout: %v", err)

	stop()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err, "stop closes the connections")
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "closed, not timed out: %v", err)
}
