package models

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func stParams() *Params {
	p := NewLayout([]Tensor{
		{Name: "wte", Kind: Embedding, Shape: []int{5, 3}},
		{Name: "h.0.attn.qkv.weight", Kind: Matrix, Shape: []int{9, 3}},
		{Name: "ln\"odd name", Kind: Norm, Shape: []int{3}},
	})
	r := rand.New(rand.NewPCG(1, 2))
	for i := range p.Data {
		p.Data[i] = float32(r.NormFloat64())
	}
	p.Data[0] = float32(math.Inf(-1))
	p.Data[1] = math.Float32frombits(0x7fc00123) // a NaN payload
	p.Data[2] = math.Float32frombits(1)          // smallest denormal
	p.Data[3] = float32(math.Copysign(0, -1))
	return p
}

func TestCheckpointF32RoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	p := stParams()
	meta := map[string]string{"config": "gpt2-mini", "step": "12"}
	if err := SaveCheckpoint(path, p, F32, meta); err != nil {
		t.Fatal(err)
	}
	q := p.Like()
	l, err := LoadCheckpoint(path, q)
	if err != nil {
		t.Fatal(err)
	}
	got := l.Meta
	for i := range p.Data {
		if math.Float32bits(p.Data[i]) != math.Float32bits(q.Data[i]) {
			t.Fatalf("element %d: %08x after the round trip, want %08x", i, math.Float32bits(q.Data[i]), math.Float32bits(p.Data[i]))
		}
	}
	if len(got) != 2 || got["config"] != "gpt2-mini" || got["step"] != "12" {
		t.Errorf("metadata %v", got)
	}
	// Saving over an existing file leaves no temporary behind.
	if err := SaveCheckpoint(path, p, F32, nil); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %d files after two saves", len(ents))
	}
	if l, err := LoadCheckpoint(path, q); err != nil || l.Meta != nil {
		t.Errorf("no-metadata load: %v, %v", l, err)
	}
}

// TestSafetensorsFormat reads the file back by the spec, without the
// loader.
func TestCheckpointFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	p := stParams()
	if err := SaveCheckpoint(path, p, F32, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	if n%8 != 0 || int(8+n+4*uint64(p.Len())) != len(b) {
		t.Fatalf("header length %d, file %d bytes, %d floats", n, len(b), p.Len())
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if err := json.Unmarshal(hdr["__metadata__"], &meta); err != nil || meta["k"] != "v" {
		t.Errorf("__metadata__ %s: %v", hdr["__metadata__"], err)
	}
	if len(hdr) != len(p.Tensors)+1 {
		t.Errorf("%d header entries", len(hdr))
	}
	for _, tn := range p.Tensors {
		var e struct {
			Dtype       string  `json:"dtype"`
			Shape       []int   `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(hdr[tn.Name], &e); err != nil {
			t.Fatalf("%s: %v", tn.Name, err)
		}
		if e.Dtype != "F32" || len(e.Shape) != len(tn.Shape) || e.DataOffsets[0] != int64(4*tn.Offset) || e.DataOffsets[1] != int64(4*(tn.Offset+tn.Size())) {
			t.Errorf("%s: %+v", tn.Name, e)
		}
		for i, v := range p.Slice(tn) {
			at := 8 + int(n) + int(e.DataOffsets[0]) + 4*i
			if binary.LittleEndian.Uint32(b[at:]) != math.Float32bits(v) {
				t.Fatalf("%s[%d] stored wrong", tn.Name, i)
			}
		}
	}
}
