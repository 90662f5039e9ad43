// Package fsync makes what is already written to a file or directory
// durable across a crash or power cut.
package fsync

import "os"

// Path fsyncs the file or directory at path: for a file its data, for a
// directory its entries (a file created or renamed into it survives a
// crash only once the directory is synced).
func Path(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
