package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// importTuning copies the tuning files of r.TuneFrom (a folder written by
// `sleepbench run -tune-only`, or any run of the same settings) into
// r.Out/tune, leaving files already there alone, after checking that the
// folder was written with the settings of this command: every profile
// setting but the plans, seeds and thread count (settingsKey), the
// backend, and a kernel with the same numbers.
func (r *Runner) importTuning() error {
	from := r.TuneFrom
	old, err := readResolved(from)
	if err != nil {
		return fmt.Errorf("-tune-from: %w", err)
	}
	diff, err := r.otherSettings(old)
	if err != nil {
		return err
	}
	if diff != "" {
		return fmt.Errorf("-tune-from %s was tuned with other settings (%s): its choices do not hold for this command", from, diff)
	}
	src := filepath.Join(from, "tune")
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		dst := filepath.Join(r.Out, "tune", rel)
		if _, err := os.Stat(dst); err == nil {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return writeFile(dst, data)
	})
	if errors.Is(err, fs.ErrNotExist) {
		// Nothing was tuned there; tuneAll names any pair this command
		// needs.
		return nil
	}
	if err != nil {
		return fmt.Errorf("-tune-from: %w", err)
	}
	return nil
}
