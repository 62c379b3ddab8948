package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sleepbench/sleepbench/models/gemm"
	"github.com/sleepbench/sleepbench/results"
)

// writeJSON writes v as indented JSON to path atomically (a temporary
// file in the same folder, synced, then renamed), creating folders.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return writeFile(path, append(data, '\n'))
}

// resolved is the content of OUT/config.json.
type resolved struct {
	SchemaVersion string                `json:"schema_version"`
	Backend       string                `json:"backend"`
	Kernel        string                `json:"kernel,omitempty"`
	Profile       Profile               `json:"profile"`
	Tuned         map[string]tuneChoice `json:"tuned,omitempty"`
}

// settingsKey is the part of a config that changes the numbers of a run
// already written: everything but the plans and seeds (which only add or
// drop runs) and the thread count (results do not depend on it).
func settingsKey(p Profile) ([]byte, error) {
	p.Plans, p.Seeds, p.Threads = nil, nil, 0
	return json.Marshal(p)
}

// checkConfig refuses an output folder written with other settings.
func (r *Runner) checkConfig() error {
	path := filepath.Join(r.Out, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var old resolved
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	diff, err := r.otherSettings(old)
	if err != nil {
		return err
	}
	if diff != "" {
		return fmt.Errorf("%s was written with other settings (%s); use another -out folder or remove it", path, diff)
	}
	return nil
}

// otherSettings names what makes a folder's config old give other numbers
// than this command: any profile setting but the plans, seeds and thread
// count (settingsKey), the backend, or a GEMM kernel whose numbers may
// differ. It is "" when the numbers are the same.
func (r *Runner) otherSettings(old resolved) (string, error) {
	a, err := settingsKey(old.Profile)
	if err != nil {
		return "", err
	}
	b, err := settingsKey(r.Profile)
	if err != nil {
		return "", err
	}
	if bytes.Equal(a, b) && old.Backend == r.Build.Backend && !kernelsDiffer(old.Kernel, r.Build.Kernel) {
		return "", nil
	}
	return diffSettings(old, resolved{Profile: r.Profile, Backend: r.Build.Backend, Kernel: r.Build.Kernel}), nil
}

// kernelsDiffer reports two recorded GEMM kernels whose numbers may
// differ (an unrecorded one, "", differs from none).
func kernelsDiffer(a, b string) bool {
	return a != "" && b != "" && !gemm.SameResults(a, b)
}

// diffSettings names the top-level settings that differ.
func diffSettings(a, b resolved) string {
	var ma, mb map[string]json.RawMessage
	ka, _ := settingsKey(a.Profile)
	kb, _ := settingsKey(b.Profile)
	json.Unmarshal(ka, &ma)
	json.Unmarshal(kb, &mb)
	var diffs []string
	for k, v := range ma {
		if !bytes.Equal(v, mb[k]) {
			diffs = append(diffs, fmt.Sprintf("%s %s → %s", k, v, mb[k]))
		}
	}
	if a.Backend != b.Backend {
		diffs = append(diffs, fmt.Sprintf("backend %s → %s", a.Backend, b.Backend))
	}
	if kernelsDiffer(a.Kernel, b.Kernel) {
		diffs = append(diffs, fmt.Sprintf("GEMM kernel %s → %s (set SLEEPBENCH_KERNEL=%s to resume)", a.Kernel, b.Kernel, a.Kernel))
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

func (r *Runner) writeConfig() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return writeJSON(filepath.Join(r.Out, "config.json"), resolved{
		SchemaVersion: results.SchemaVersion, Backend: r.Build.Backend, Kernel: r.Build.Kernel, Profile: r.Profile, Tuned: r.tuned,
	})
}
