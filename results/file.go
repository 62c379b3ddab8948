package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// File names in an output folder.
const (
	// SummaryFile is the summary written beside the run files; the CI
	// reference is a copy of one.
	SummaryFile = "scores.json"
	// TablesFile holds the Markdown tables.
	TablesFile = "tables.md"
	// ArrowFile holds the long-format scores as an Arrow IPC file.
	ArrowFile = "scores.arrow"
	// PlotsDir is the folder of the PNG plots.
	PlotsDir = "plots"
)

// IsRunFile reports whether a file name found in an output folder is a
// run record. Run records are *.json files, except these names, which
// other writers may use for settings and summaries beside the runs:
// scores.json (SummaryFile), config.json, profile.json, manifest.json,
// and any *.config.json. Names starting with "." or "_" are skipped too
// (temporary files of an interrupted write start with ".").
func IsRunFile(name string) bool {
	if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return false
	}
	switch name {
	case SummaryFile, "config.json", "profile.json", "manifest.json":
		return false
	}
	return !strings.HasSuffix(name, ".config.json")
}

// tempPattern is the os.CreateTemp pattern of WriteAtomic's temporary
// file for path: hidden, beside it, named after it.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp*" }

// RemoveTemps deletes the temporary files WriteAtomic leaves beside path
// when its process is killed mid-write. Only the process that owns path
// (a run's lock holder) may call it: it would delete another writer's
// file in progress.
func RemoveTemps(path string) error {
	stale, err := filepath.Glob(filepath.Join(filepath.Dir(path), tempPattern(path)))
	if err != nil {
		return err
	}
	return removeAll(stale)
}

// RemoveStaleTemps deletes, in folder dir, the temporary files of
// WriteAtomic last written before before: those a killed process left,
// when before is the start of the calling process (a live writer's are
// newer, or renamed away). A missing dir has none.
func RemoveStaleTemps(dir string, before time.Time) error {
	stale, err := filepath.Glob(filepath.Join(dir, tempPattern("*")))
	if err != nil {
		return err
	}
	var old []string
	for _, f := range stale {
		if info, err := os.Stat(f); err == nil && info.Mode().IsRegular() && info.ModTime().Before(before) {
			old = append(old, f)
		}
	}
	return removeAll(old)
}

// removeAll removes files, any of which may be gone already.
func removeAll(files []string) error {
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// WriteAtomic writes a file so that a reader sees either the old file or
// the whole new one: it writes a temporary file in the same folder,
// syncs it, and renames it over path. Missing folders are created.
func WriteAtomic(path string, write func(f *os.File) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating folder for %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, tempPattern(path))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("renaming %s to %s: %w", tmp, path, err)
	}
	// Sync the folder so the rename itself survives a crash.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// writeJSON writes v as indented JSON, atomically.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	b = append(b, '\n')
	return WriteAtomic(path, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// decodeJSON decodes b, the contents of the file at path, into v,
// rejecting unknown fields and trailing data.
func decodeJSON(path string, b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: malformed JSON: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("%s: malformed JSON: data after the top-level value", path)
	}
	return nil
}

// checkSchema reads only the schema_version field of a JSON file, so
// that a file of another version is reported as such rather than as a
// decoding error of some field that changed.
func checkSchema(path string, b []byte) error {
	var head struct {
		SchemaVersion *string `json:"schema_version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("%s: malformed JSON: %w", path, err)
	}
	if head.SchemaVersion == nil {
		return fmt.Errorf("%s: no schema_version field: not a sleepbench result file", path)
	}
	if *head.SchemaVersion != SchemaVersion {
		return fmt.Errorf("%s: schema_version %q, this build reads %q", path, *head.SchemaVersion, SchemaVersion)
	}
	return nil
}

// SaveRun validates r and writes it to path as JSON, atomically, creating
// missing folders. An empty SchemaVersion is filled in.
func SaveRun(path string, r *Run) error {
	if r.SchemaVersion == "" {
		c := *r
		c.SchemaVersion = SchemaVersion
		r = &c
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("saving run to %s: %w", path, err)
	}
	return writeJSON(path, r)
}

// LoadRun reads and validates the run record at path. It rejects a file
// of another schema_version, unknown fields, and malformed records, with
// an error naming the file.
func LoadRun(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading run: %w", err)
	}
	if err := checkSchema(path, b); err != nil {
		return nil, err
	}
	var r Run
	if err := decodeJSON(path, b, &r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// LoadRuns reads every run file (see IsRunFile) under dir and its
// sub-folders, in lexical path order, skipping folders whose names start
// with "." and the plots folder. Any unreadable run file is an error.
func LoadRuns(dir string) ([]*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("reading runs: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("reading runs: %s is not a folder", dir)
	}
	var runs []*Run
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(d.Name(), ".") || d.Name() == PlotsDir) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !IsRunFile(d.Name()) {
			return nil
		}
		r, err := LoadRun(path)
		if err != nil {
			return err
		}
		runs = append(runs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return runs, nil
}

// SaveSummary writes s to path as JSON, atomically, creating missing
// folders.
func SaveSummary(path string, s *Summary) error {
	if s.SchemaVersion == "" {
		c := *s
		c.SchemaVersion = SchemaVersion
		s = &c
	}
	return writeJSON(path, s)
}

// LoadSummary reads a summary (a scores.json, or a CI reference) and
// rejects another schema_version, unknown fields and malformed JSON with
// an error naming the file.
func LoadSummary(path string) (*Summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading summary: %w", err)
	}
	if err := checkSchema(path, b); err != nil {
		return nil, err
	}
	var s Summary
	if err := decodeJSON(path, b, &s); err != nil {
		return nil, err
	}
	for i, e := range s.Entries {
		if e.Model == "" || e.Method == "" {
			return nil, fmt.Errorf("%s: entry %d has no model or method", path, i)
		}
	}
	return &s, nil
}
