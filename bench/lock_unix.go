//go:build unix

package bench

import (
	"errors"
	"os"
	"syscall"
)

// lockFile opens path and takes an exclusive flock(2) on it without
// waiting; errBusy when another open file holds it. A holder deletes the
// file before it unlocks, so a lock taken on a file that is no longer at
// path (its inode differs) is dropped and taken again on the new one.
func lockFile(path string) (*os.File, error) {
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, errBusy
			}
			return nil, err
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close() // deleted (and perhaps recreated) while we waited
	}
}
