package record

import (
	"bytes"
	"fmt"
	"io"
	"log/syslog"
	"os"
)

// FallbackError is what Writer.Write returns when the record missed the
// log directory: why, and whether a syslog socket took the record (it is
// on stderr either way).
type FallbackError struct {
	Cause     error
	SyslogErr error // nil: syslog accepted the record
}

func (e *FallbackError) Error() string {
	if e.SyslogErr == nil {
		return fmt.Sprintf("%v (the record was sent to stderr and syslog)", e.Cause)
	}
	return fmt.Sprintf("%v (the record was sent to stderr only: syslog did not take it: %v)", e.Cause, e.SyslogErr)
}

func (e *FallbackError) Unwrap() error { return e.Cause }

// fallback makes a record that missed the files durable elsewhere.
func (w *Writer) fallback(js []byte, cause error) error {
	line := bytes.TrimRight(js, "\n")
	stderr := w.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	// One write, so concurrent agents' stderr lines stay whole too.
	msg := fmt.Sprintf("fence_gfs2_recorder: could not write the fence record to the log directory (%v); record: %s\n", cause, line)
	_, _ = io.WriteString(stderr, msg)
	send := w.Syslog
	if send == nil {
		send = sendSyslog
	}
	return &FallbackError{Cause: cause, SyslogErr: send("fence record (log directory not writable: " + cause.Error() + "): " + string(line))}
}

// sendSyslog uses the local syslog socket (/dev/log; journald listens there
// too), as Pacemaker's own daemons do.
func sendSyslog(msg string) error { return sendSyslogTo("", "", msg) }

func sendSyslogTo(network, addr, msg string) error {
	s, err := syslog.Dial(network, addr, syslog.LOG_DAEMON|syslog.LOG_CRIT, "fence_gfs2_recorder")
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Crit(msg)
}
