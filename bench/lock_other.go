//go:build !unix

package bench

import (
	"errors"
	"os"
)

// lockFile creates path exclusively (O_EXCL); errBusy when it exists.
// Without flock the kernel does not release it when the process dies: a
// killed run leaves its lock file, which must be deleted by hand before
// the run can resume (the error names it).
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, errBusy
	}
	return f, err
}
