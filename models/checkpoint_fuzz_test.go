package models

import (
	"encoding/binary"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadCheckpoint feeds arbitrary bytes to the safetensors loader as a
// checkpoint of stParams' layout (go test -fuzz FuzzLoadCheckpoint
// ./models, or make fuzz). Beyond not panicking, it checks:
//   - every error names the file;
//   - a rejected file leaves the model's values as they were (the loader
//     validates the whole header before it reads any tensor);
//   - an accepted file round-trips: saved again as F32 and reloaded, the
//     values are bit-identical (BF16 and F16 widen to F32 exactly) and
//     the metadata is the same.
//
// The seeds are F32 and BF16 checkpoints, with and without metadata,
// their truncations, and headers of hostile lengths; go test runs them
// and any committed under testdata/fuzz/FuzzLoadCheckpoint.
func FuzzLoadCheckpoint(f *testing.F) {
	fuzzMinimize(f)
	dir := f.TempDir()
	p := stParams()
	for i, c := range []struct {
		dtype string
		meta  map[string]string
	}{{F32, map[string]string{"model": "gpt2-mini", "step": "12"}}, {BF16, nil}} {
		path := filepath.Join(dir, "seed"+string(rune('0'+i))+".safetensors")
		if err := SaveCheckpoint(path, p, c.dtype, c.meta); err != nil {
			f.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
		n := binary.LittleEndian.Uint64(b)
		f.Add(b[:8+n])
	}
	for _, hlen := range []uint64{0, 2, 1 << 62, math.MaxUint64} {
		b := binary.LittleEndian.AppendUint64(nil, hlen)
		f.Add(append(b, "{}      "...))
	}
	f.Add([]byte{})
	path := filepath.Join(dir, "fuzz.safetensors")
	again := filepath.Join(dir, "again.safetensors")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		q := p.Like()
		for i := range q.Data {
			q.Data[i] = float32(i) + 0.5
		}
		l, err := LoadCheckpoint(path, q)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("error does not name the file: %v", err)
			}
			for i, v := range q.Data {
				if v != float32(i)+0.5 {
					t.Fatalf("rejected file changed element %d to %v: %v", i, v, err)
				}
			}
			return
		}
		if err := SaveCheckpoint(again, q, F32, l.Meta); err != nil {
			t.Fatalf("saving an accepted checkpoint: %v", err)
		}
		r := p.Like()
		l2, err := LoadCheckpoint(again, r)
		if err != nil {
			t.Fatalf("reloading an accepted checkpoint: %v", err)
		}
		for i := range q.Data {
			if math.Float32bits(q.Data[i]) != math.Float32bits(r.Data[i]) {
				t.Fatalf("element %d: %08x, %08x after a round trip", i, math.Float32bits(q.Data[i]), math.Float32bits(r.Data[i]))
			}
		}
		if len(l.Meta) != len(l2.Meta) {
			t.Fatalf("metadata %v, %v after a round trip", l.Meta, l2.Meta)
		}
		for k, v := range l.Meta {
			if l2.Meta[k] != v {
				t.Fatalf("metadata %v, %v after a round trip", l.Meta, l2.Meta)
			}
		}
	})
}

// fuzzMinimize bounds the fuzzing engine's minimisation of each new
// interesting input when -fuzzminimizetime is not given: Go's default,
// 60 s per input, makes a run look stalled (issue 18; datasets/main_test.go
// does the same for its package). Set before f.Fuzz, which reads it.
func fuzzMinimize(f *testing.F) {
	given := false
	flag.Visit(func(fl *flag.Flag) { given = given || fl.Name == "test.fuzzminimizetime" })
	if !given {
		if err := flag.Set("test.fuzzminimizetime", "200x"); err != nil {
			f.Fatal(err)
		}
	}
}
