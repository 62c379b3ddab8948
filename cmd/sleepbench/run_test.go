package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunCPUProfile: -cpuprofile writes a (gzip-compressed) pprof profile
// of a real run, and a path that cannot be created is an error naming the
// flag, before any run starts. The run is two steps of the quick profile
// (well under a second), so it runs in make test too.
func TestRunCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	args := []string{"-profile", "quick", "-protocol", "sequence", "-methods", "naive",
		"-data", filepath.Join("..", "..", "datasets", "data"), "-base", filepath.Join("..", "..", "models", "base"),
		"-set", "steps=2", "-set", "warmup=0", "-set", "eval_rows=4", "-set", "interference=",
		"-out", filepath.Join(dir, "out")}
	if err := runRun(append(args, "-cpuprofile", prof)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("%s: %d bytes, not a gzip-compressed pprof profile", prof, len(b))
	}

	bad := filepath.Join(dir, "no-such-dir", "cpu.pprof")
	err = runRun(append(args, "-out", filepath.Join(dir, "out2"), "-cpuprofile", bad))
	if err == nil || !strings.Contains(err.Error(), "-cpuprofile") {
		t.Fatalf("unwritable -cpuprofile: got %v, want an error naming the flag", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out2", "runs")); err == nil {
		t.Fatal("a run started although its -cpuprofile could not be written")
	}
}
