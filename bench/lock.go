package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errBusy marks a run that another process is writing.
var errBusy = errors.New("held by another process")

// runLock is the exclusive lock of one run (one job: a sequence run and
// the compression run of its model, or a dormancy run), so that two
// processes sharing an output folder never write the same run or its
// checkpoint. On unix it is an flock(2) on OUT/checkpoints/<run>.lock,
// which the kernel releases when the process dies, however it dies: a
// SIGKILLed run is resumable at once by the next invocation. The file
// holds the holder's PID, for the message the second process prints.
type runLock struct {
	path string
	f    *os.File
}

// lockPath is the lock file of the job led by s.
func (r *Runner) lockPath(s RunSpec) string {
	return strings.TrimSuffix(r.checkpointPath(s), ".ckpt") + ".lock"
}

// lockRun takes the lock of the job led by s, or returns an error
// wrapping errBusy that names the lock file and the holder's PID.
func (r *Runner) lockRun(s RunSpec) (*runLock, error) {
	path := r.lockPath(s)
	// Another job that finishes prunes the checkpoint folders it leaves
	// empty (removeCheckpoint), which can take this job's folder between
	// MkdirAll and the open: make it again and retry. Once the lock file
	// exists, the folder is not empty and stays.
	var f *os.File
	var err error
	for try := 0; try < 100; try++ {
		if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
			f, err = lockFile(path)
		}
		if !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, errBusy) {
		holder := "unknown"
		if b, rerr := os.ReadFile(path); rerr == nil && len(b) > 0 {
			holder = strings.TrimSpace(string(b))
		}
		return nil, fmt.Errorf("run %s: %s is %w (PID %s)", s.Name(), path, errBusy, holder)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: locking %s: %w", s.Name(), path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &runLock{path: path, f: f}, nil
}

// release deletes the lock file and then unlocks it (in this order, so
// that a process that opens the path afterwards locks a new file; see
// lockFile), and removes the folders left empty.
func (l *runLock) release(r *Runner) {
	os.Remove(l.path)
	l.f.Close()
	r.removeCheckpoint(l.path) // only prunes the empty folders now
}
