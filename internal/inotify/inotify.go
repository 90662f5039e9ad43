// Package inotify decodes what a read(2) of an inotify descriptor returns.
package inotify

import (
	"bytes"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Event is one inotify event.
type Event struct {
	Wd   int32  // the watch it came from
	Mask uint32 // IN_* bits
	Name string // the entry in the watched directory ("" for the directory itself)
}

// Decode splits buf, the bytes one read of an inotify descriptor returned,
// into its events. The kernel returns whole events only.
func Decode(buf []byte) []Event {
	var out []Event
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
		name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
		out = append(out, Event{Wd: ev.Wd, Mask: ev.Mask, Name: string(bytes.TrimRight(name, "\x00"))})
		off += unix.SizeofInotifyEvent + int(ev.Len)
	}
	return out
}
