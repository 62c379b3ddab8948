package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sleepbench/sleepbench/models/gemm"
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
	a, err := settingsKey(old.Profile)
	if err != nil {
		return err
	}
	b, err := settingsKey(r.Profile)
	if err != nil {
		return err
	}
	kernelDiffers := old.Kernel != "" && r.Build.Kernel != "" && !gemm.SameResults(old.Kernel, r.Build.Kernel)
	if !bytes.Equal(a, b) || old.Backend != r.Build.Backend || kernelDiffers {
		return fmt.Errorf("-tune-from %s was tuned with other settings (%s): its choices do not hold for this command",
			from, diffSettings(old, resolved{Profile: r.Profile, Backend: r.Build.Backend, Kernel: r.Build.Kernel}))
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
