package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// merge's flag errors name what is missing; a folder that is not an
// output folder, or a non-empty -out, is refused before anything is
// written.
func TestMergeFlags(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{dir}, "no output folder: give -out DIR"},
		{[]string{"-out", filepath.Join(dir, "m")}, "no shard folders given"},
		{[]string{"-out", filepath.Join(dir, "m"), full}, full + " has no config.json"},
		{[]string{full, "-out", full + "2", "-allow-partial"}, "has no config.json"},
		{[]string{"-out", full, dir}, "the output folder " + full + " is not empty"},
	} {
		err := runMerge(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("merge %q: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "m")); !os.IsNotExist(err) {
		t.Errorf("a refused merge created its output folder: %v", err)
	}
}
