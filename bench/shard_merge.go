package bench

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/sleepbench/sleepbench/results"
)

// Merged says what MergeShards wrote.
type Merged struct {
	Shards int // shard folders read
	Runs   int // run files written
	// Duplicates counts runs found in more than one shard (all agreeing).
	Duplicates int
	// Missing names the runs of the profile that no shard holds
	// (RunSpec.Name), sorted; only with allowPartial.
	Missing []string
}

// MergeShards joins the output folders of the shards of one command
// (sleepbench run -shard i/n, or the scheduler's index) into out, and
// writes there the config.json, tables, scores and plots that the
// unsharded command would have written: byte for byte the same files,
// except for any run missing from every shard.
//
// It checks, before writing anything, that every shard folder was made
// with the same schema version, backend and profile (the thread count
// aside, which does not change results); that every run file under
// runs/ is a run of that profile; that a run found in several shards is
// the same in each (byte for byte, or differing only in wall_seconds and
// peak_mem_bytes, which measure the process that ran it: the first
// shard's copy is kept); and that tuning files and choices agree. A run
// that no shard holds is an error listing the missing runs by name,
// unless allowPartial: then the merged tables.md ends with a section
// naming them.
//
// out must not exist yet, or be empty.
func MergeShards(out string, dirs []string, allowPartial bool) (*Merged, error) {
	if len(dirs) == 0 {
		return nil, errors.New("merge: no shard folders given")
	}
	if err := checkEmpty(out, dirs); err != nil {
		return nil, err
	}
	cfgs := make([]resolved, len(dirs))
	for i, d := range dirs {
		c, err := readResolved(d)
		if err != nil {
			return nil, err
		}
		cfgs[i] = c
	}
	ref := cfgs[0]
	// Shards may run on CPUs with other GEMM kernels (each run is
	// deterministic under its own); the merged config lists them all.
	kernels := map[string]bool{}
	for _, c := range cfgs {
		if c.Kernel != "" {
			kernels[c.Kernel] = true
		}
	}
	kernel := strings.Join(slices.Sorted(maps.Keys(kernels)), ",")
	for i, c := range cfgs[1:] {
		if why := differs(ref, c); why != "" {
			return nil, fmt.Errorf("merge: %s and %s were made with other settings (%s): they are not shards of one command", dirs[0], dirs[i+1], why)
		}
	}
	tuned := map[string]tuneChoice{}
	tunedFrom := map[string]string{}
	for i, c := range cfgs {
		for k, v := range c.Tuned {
			if old, ok := tuned[k]; ok {
				a, _ := json.Marshal(old)
				b, _ := json.Marshal(v)
				if !bytes.Equal(a, b) {
					return nil, fmt.Errorf("merge: %s and %s tuned %s differently (%s against %s)", tunedFrom[k], dirs[i], k, comboName(old.Choice), comboName(v.Choice))
				}
				continue
			}
			tuned[k], tunedFrom[k] = v, dirs[i]
		}
	}

	// Every file each shard holds under runs/ and tune/, by relative path.
	plan := map[string]RunSpec{}
	for _, s := range Expand(ref.Profile) {
		plan[filepath.ToSlash(s.File)] = s
	}
	files := map[string][]byte{}
	from := map[string]string{}
	m := &Merged{Shards: len(dirs)}
	for _, d := range dirs {
		found, err := shardFiles(d)
		if err != nil {
			return nil, err
		}
		for _, rel := range found {
			path := filepath.Join(d, filepath.FromSlash(rel))
			isRun := strings.HasPrefix(rel, "runs/") && results.IsRunFile(filepath.Base(rel))
			if isRun {
				if _, ok := plan[rel]; !ok {
					return nil, fmt.Errorf("merge: %s is not a run of profile %s (its plan has no %s)", path, ref.Profile.Name, strings.TrimSuffix(strings.TrimPrefix(rel, "runs/"), ".json"))
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("merge: %w", err)
			}
			if isRun {
				if _, err := results.LoadRun(path); err != nil {
					return nil, fmt.Errorf("merge: %w", err)
				}
			}
			old, dup := files[rel]
			if !dup {
				files[rel], from[rel] = data, path
				continue
			}
			if isRun {
				m.Duplicates++
			}
			if bytes.Equal(old, data) {
				continue
			}
			if isRun {
				if why := runsDiffer(old, data); why != "" {
					return nil, fmt.Errorf("merge: run %s differs between %s and %s (%s): rerun it, or leave one copy out", plan[rel].Name(), from[rel], path, why)
				}
				continue
			}
			return nil, fmt.Errorf("merge: %s and %s differ", from[rel], path)
		}
	}
	var missing []string
	for rel, s := range plan {
		if _, ok := files[rel]; !ok {
			missing = append(missing, s.Name())
		}
	}
	sort.Strings(missing)
	if len(missing) == len(plan) {
		return nil, fmt.Errorf("merge: no shard holds any run of profile %s (%d runs)", ref.Profile.Name, len(plan))
	}
	if len(missing) > 0 && !allowPartial {
		return nil, fmt.Errorf("merge: %d of %d runs are missing from every shard: %s (rerun their shards, or merge with -allow-partial)", len(missing), len(plan), strings.Join(missing, ", "))
	}

	// A shard resumed after all its runs had finished tunes nothing and
	// writes no choice into its config.json; its tuning files still hold
	// the choice.
	for rel, data := range files {
		parts := strings.Split(rel, "/")
		if len(parts) != 3 || parts[0] != "tune" || !strings.HasSuffix(parts[2], ".config.json") {
			continue
		}
		var c tuneChoice
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("merge: %s: %w", from[rel], err)
		}
		if _, ok := tuned[c.Model+"/"+c.Method]; !ok {
			tuned[c.Model+"/"+c.Method] = c
		}
	}

	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		if err := writeFile(filepath.Join(out, filepath.FromSlash(rel)), files[rel]); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
		if strings.HasPrefix(rel, "runs/") && results.IsRunFile(filepath.Base(rel)) {
			m.Runs++
		}
	}
	if len(tuned) == 0 {
		tuned = nil
	}
	if err := writeJSON(filepath.Join(out, "config.json"), resolved{
		SchemaVersion: ref.SchemaVersion, Backend: ref.Backend, Kernel: kernel, Profile: ref.Profile, Tuned: tuned,
	}); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if err := WriteReports(out); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	if len(missing) > 0 {
		m.Missing = missing
		if err := noteMissing(out, missing, len(plan)); err != nil {
			return nil, fmt.Errorf("merge: %w", err)
		}
	}
	return m, nil
}

// checkEmpty refuses an output folder that holds files, or that is one
// of the shard folders.
func checkEmpty(out string, dirs []string) error {
	if out == "" {
		return errors.New("merge: no output folder (-out)")
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	for _, d := range dirs {
		if a, err := filepath.Abs(d); err == nil && a == abs {
			return fmt.Errorf("merge: the output folder %s is also a shard folder", out)
		}
	}
	entries, err := os.ReadDir(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("merge: output folder: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("merge: the output folder %s is not empty: merge into a new folder", out)
	}
	return nil
}

// readResolved reads a shard folder's config.json.
func readResolved(dir string) (resolved, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return resolved{}, fmt.Errorf("merge: %s has no config.json: not an output folder of sleepbench run, or its shard has not started", dir)
	}
	if err != nil {
		return resolved{}, fmt.Errorf("merge: %w", err)
	}
	var c resolved
	if err := json.Unmarshal(data, &c); err != nil {
		return resolved{}, fmt.Errorf("merge: %s: %w", path, err)
	}
	if c.SchemaVersion != results.SchemaVersion {
		return resolved{}, fmt.Errorf("merge: %s: schema version %q, this build reads %q", path, c.SchemaVersion, results.SchemaVersion)
	}
	return c, nil
}

// differs names what makes two shards' configs incompatible: schema
// version, backend, or any profile setting but the thread count.
func differs(a, b resolved) string {
	var diffs []string
	if a.SchemaVersion != b.SchemaVersion {
		diffs = append(diffs, fmt.Sprintf("schema version %s → %s", a.SchemaVersion, b.SchemaVersion))
	}
	if a.Backend != b.Backend {
		diffs = append(diffs, fmt.Sprintf("backend %s → %s", a.Backend, b.Backend))
	}
	pa, pb := a.Profile, b.Profile
	pa.Threads, pb.Threads = 0, 0
	var ma, mb map[string]json.RawMessage
	ja, _ := json.Marshal(pa)
	jb, _ := json.Marshal(pb)
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	for k, v := range ma {
		if !bytes.Equal(v, mb[k]) {
			diffs = append(diffs, fmt.Sprintf("%s %s → %s", k, v, mb[k]))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// shardFiles lists the files under dir's runs/ and tune/ folders,
// relative to dir with forward slashes, skipping hidden files and
// folders (an interrupted atomic write leaves a hidden temporary file).
func shardFiles(dir string) ([]string, error) {
	var out []string
	for _, sub := range []string{"runs", "tune"} {
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, os.ErrNotExist) && path == root {
				return filepath.SkipDir
			}
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != root {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !d.Type().IsRegular() {
				return nil
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("merge: reading %s: %w", root, err)
		}
	}
	return out, nil
}

// runsDiffer compares two copies of a run file by value (not by bytes:
// a copy may have been re-encoded), leaving out
// wall_seconds and peak_mem_bytes (they measure the process that ran
// it, not the run), and names the first top-level field that differs.
func runsDiffer(a, b []byte) string {
	var ma, mb map[string]any
	if err := json.Unmarshal(a, &ma); err != nil {
		return err.Error()
	}
	if err := json.Unmarshal(b, &mb); err != nil {
		return err.Error()
	}
	for _, k := range []string{"wall_seconds", "peak_mem_bytes"} {
		delete(ma, k)
		delete(mb, k)
	}
	keys := map[string]bool{}
	for k := range ma {
		keys[k] = true
	}
	for k := range mb {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !reflect.DeepEqual(ma[k], mb[k]) {
			return "field " + k
		}
	}
	return ""
}

// noteMissing appends to OUT/tables.md a section naming the runs that no
// shard held, so that a partial merge cannot be read as a whole one.
func noteMissing(out string, missing []string, total int) error {
	path := filepath.Join(out, results.TablesFile)
	md, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.Write(md)
	fmt.Fprintf(&b, "\n## Missing runs\n\nThis folder was merged with -allow-partial: %d of the profile's %d runs were in no shard, and every table above is computed without them:\n\n", len(missing), total)
	for _, name := range missing {
		fmt.Fprintf(&b, "- `%s`\n", name)
	}
	return writeFile(path, b.Bytes())
}
