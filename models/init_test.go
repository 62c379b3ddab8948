package models

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Rounding to bfloat16 by hand: a bfloat16 keeps a float32's sign, its 8
// exponent bits and the top 7 of its 23 mantissa bits; the 16 bits cut
// off decide the rounding (above 0x8000 up, below down, exactly 0x8000 to
// the even neighbour).
func TestBF16Bits(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1 exactly
		{0x3f807fff, 0x3f80}, // below half a unit: down
		{0x3f808000, 0x3f80}, // exactly half, 0x3f80 even: down
		{0x3f808001, 0x3f81}, // above half: up
		{0x3f818000, 0x3f82}, // exactly half, 0x3f81 odd: up to even
		{0xbf818000, 0xbf82}, // the same, negative
		{0x7f7fffff, 0x7f80}, // the largest float32 is past the largest bfloat16 by more than half a unit: +Inf
		{0x7f7f7fff, 0x7f7f}, // the largest bfloat16 stays
		{0x7f800000, 0x7f80}, // +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x00000001, 0x0000}, // the smallest float32 denormal: to +0
		{0x80000000, 0x8000}, // -0
		{0x7f800001, 0x7fc0}, // a signalling NaN whose payload sits in the cut bits stays a NaN (quiet)
		{0xffc12345, 0xffc1}, // a quiet NaN keeps its sign and top payload
	} {
		if got := BF16Bits(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("BF16Bits(%08x) = %04x, want %04x", c.in, got, c.want)
		}
	}
	// Rounding is to the nearest bfloat16: never further than half a
	// unit in the last place (2⁻⁸ relative to the leading bit).
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		x := float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(20)-10)))
		y := RoundBF16(x)
		ulp := math.Ldexp(1, math.Ilogb(float64(x))-7)
		if d := math.Abs(float64(y) - float64(x)); d > ulp/2 {
			t.Fatalf("RoundBF16(%g) = %g, %g away, more than half of the unit %g", x, y, d, ulp)
		}
	}
}

// IEEE half precision: sign, 5 exponent bits (bias 15), 10 mantissa bits.
func TestF16ToFloat32(t *testing.T) {
	for _, c := range []struct {
		in   uint16
		want float32
	}{
		{0x3c00, 1},
		{0xc000, -2},
		{0x3800, 0.5},
		{0x3555, 0.333251953125},        // 1.0101010101₂ × 2⁻² = 1365/4096
		{0x7bff, 65504},                 // the largest: (2 − 2⁻¹⁰) × 2¹⁵
		{0x0400, 1.0 / 16384},           // the smallest normal, 2⁻¹⁴
		{0x0001, 1.0 / (1 << 24)},       // the smallest subnormal, 2⁻²⁴
		{0x03ff, 1023.0 / (1 << 24)},    // the largest subnormal
		{0x8001, -1.0 / (1 << 24)},      // negative subnormal
		{0x7c00, float32(math.Inf(1))},  // +Inf
		{0xfc00, float32(math.Inf(-1))}, // -Inf
	} {
		if got := F16ToFloat32(c.in); got != c.want {
			t.Errorf("F16ToFloat32(%04x) = %g, want %g", c.in, got, c.want)
		}
	}
	if got := F16ToFloat32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("F16ToFloat32(8000) = %g, want -0", got)
	}
	if got := F16ToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("F16ToFloat32(7e00) = %g, want NaN", got)
	}
}

// A BF16 checkpoint loads as RoundBF16 of every saved value, bit for bit;
// an F32 one loads unchanged.
func TestCheckpointBF16Exact(t *testing.T) {
	dir := t.TempDir()
	p := stParams() // specials included: -Inf, a NaN payload, a denormal, -0
	for _, dtype := range []string{BF16, F32} {
		path := filepath.Join(dir, dtype+".safetensors")
		if err := SaveCheckpoint(path, p, dtype, map[string]string{"model": "toy"}); err != nil {
			t.Fatal(err)
		}
		q := p.Like()
		got, err := LoadCheckpoint(path, q)
		if err != nil {
			t.Fatal(err)
		}
		if got.Meta["model"] != "toy" || got.Dtypes[dtype] != len(p.Tensors) || len(got.Kept) != 0 {
			t.Errorf("%s: loaded %+v", dtype, got)
		}
		for i, v := range p.Data {
			want := v
			if dtype == BF16 {
				want = RoundBF16(v)
			}
			if math.Float32bits(q.Data[i]) != math.Float32bits(want) {
				t.Fatalf("%s element %d: loaded %08x, want %08x", dtype, i, math.Float32bits(q.Data[i]), math.Float32bits(want))
			}
		}
		// Half the bytes of F32 for the data: 5·3 + 9·3 + 3 = 45 values.
		st, _ := os.Stat(path)
		b, _ := os.ReadFile(path)
		data := st.Size() - 8 - int64(binary.LittleEndian.Uint64(b))
		if want := int64(45 * dtypeSize[dtype]); data != want {
			t.Errorf("%s: %d data bytes, want %d", dtype, data, want)
		}
	}
	// The same model saved twice gives the same bytes.
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	meta := map[string]string{"z": "1", "a": "2", "model": "toy"}
	if err := SaveCheckpoint(a, p, BF16, meta); err != nil {
		t.Fatal(err)
	}
	if err := SaveCheckpoint(b, p, BF16, meta); err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ba, bb) {
		t.Error("two saves of the same model differ")
	}
	if err := SaveCheckpoint(a, p, F16, nil); err == nil || !strings.Contains(err.Error(), a) {
		t.Errorf("writing F16: error %v, want one naming %s", err, a)
	}
}

// An F16 file (written here by hand, as another tool would) loads exactly.
func TestCheckpointF16(t *testing.T) {
	p := NewLayout([]Tensor{{Name: "w", Kind: Matrix, Shape: []int{2, 2}}, {Name: "b", Kind: Bias, Shape: []int{1}}})
	halves := []uint16{0x3c00, 0xc000, 0x0001, 0x7bff, 0x3800}
	hdr := `{"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`
	for len(hdr)%8 != 0 {
		hdr += " "
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(hdr)))
	buf.WriteString(hdr)
	binary.Write(&buf, binary.LittleEndian, halves[:4])
	binary.Write(&buf, binary.LittleEndian, math.Float32bits(0.25))
	path := filepath.Join(t.TempDir(), "h.safetensors")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCheckpoint(path, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{1, -2, 1.0 / (1 << 24), 65504, 0.25}
	for i, v := range want {
		if p.Data[i] != v {
			t.Errorf("element %d = %g, want %g", i, p.Data[i], v)
		}
	}
	if got.Dtypes[F16] != 1 || got.Dtypes[F32] != 1 {
		t.Errorf("dtypes %v", got.Dtypes)
	}
}

// A base checkpoint of a Transformer (no classification heads) loads into
// the same config with task heads: the backbone comes from the file, the
// heads keep their seeded values. Another config is refused, naming the
// first tensor that differs.
func TestCheckpointTransformer(t *testing.T) {
	cfg, err := LookupConfig("custom")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Threads = 1
	base, err := NewTransformer(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "custom.safetensors")
	if err := SaveCheckpoint(path, base.Params(), BF16, map[string]string{"model": "custom"}); err != nil {
		t.Fatal(err)
	}
	cfg.Classes = []int{2, 5}
	m, err := NewTransformer(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	fresh := m.Params().Clone()
	got, err := LoadCheckpoint(path, m.Params())
	if err != nil {
		t.Fatal(err)
	}
	if want := "[cls.0.weight cls.0.bias cls.1.weight cls.1.bias]"; fmt.Sprint(got.Kept) != want {
		t.Errorf("kept %v, want %s", got.Kept, want)
	}
	for _, tn := range m.Params().Tensors {
		have := m.Params().Slice(tn)
		for i, v := range have {
			want := fresh.Slice(tn)[i] // a head: its seed-7 value
			if !IsClassHead(tn.Name) {
				want = RoundBF16(base.Params().Get(tn.Name)[i])
			}
			if math.Float32bits(v) != math.Float32bits(want) {
				t.Fatalf("%s[%d] = %g, want %g", tn.Name, i, v, want)
			}
		}
	}

	mini, err := LookupConfig("gpt2-mini")
	if err != nil {
		t.Fatal(err)
	}
	mini.Threads = 1
	other, err := NewTransformer(mini, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadCheckpoint(path, other.Params())
	want := `tensor "wte": expected shape [2048 256], found shape [2048 128] (the file was made for model "custom")`
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), want) {
		t.Errorf("gpt2-mini from a custom checkpoint: error %v, want one naming %s and saying %s", err, path, want)
	}
}

func TestCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	p := stParams()
	path := filepath.Join(dir, "good.safetensors")
	if err := SaveCheckpoint(path, p, BF16, nil); err != nil {
		t.Fatal(err)
	}
	full, _ := os.ReadFile(path)
	write := func(name string, b []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	save := func(name string, q *Params) string {
		f := filepath.Join(dir, name)
		if err := SaveCheckpoint(f, q, F32, nil); err != nil {
			t.Fatal(err)
		}
		return f
	}
	layout := func(ts ...Tensor) *Params { return NewLayout(ts) }
	wte := Tensor{Name: "wte", Kind: Embedding, Shape: []int{5, 3}}
	qkv := Tensor{Name: "h.0.attn.qkv.weight", Kind: Matrix, Shape: []int{9, 3}}
	odd := Tensor{Name: "ln\"odd name", Kind: Norm, Shape: []int{3}}
	head := Tensor{Name: "cls.0.weight", Kind: Matrix, Shape: []int{2, 3}}
	int8 := strings.Replace(string(full), `"wte":{"dtype":"BF16"`, `"wte":{"dtype":"I8"  `, 1)
	for _, c := range []struct {
		name string
		file string
		p    *Params
		want string
	}{
		// The first tensor in layout order that differs is named, with
		// both shapes.
		{"shape", path, layout(wte, Tensor{Name: qkv.Name, Shape: []int{3, 9}}, Tensor{Name: odd.Name, Shape: []int{4}}),
			`tensor "h.0.attn.qkv.weight": expected shape [3 9], found shape [9 3]`},
		{"missing", save("fewer.safetensors", layout(wte, odd)), p.Like(), `tensor "h.0.attn.qkv.weight" (expected shape [9 3]) is missing from the file`},
		{"unexpected", path, layout(wte, odd), `tensor "h.0.attn.qkv.weight" (shape [9 3]) is not in the model; the file has 1 tensors the model lacks`},
		{"unexpected head", save("head.safetensors", layout(wte, qkv, odd, head)), p.Like(), `tensor "cls.0.weight" (shape [2 3]) is not in the model`},
		{"dtype", write("i8.safetensors", []byte(int8)), p.Like(), `tensor "wte" has dtype "I8"`},
		{"truncated data", write("cut.safetensors", full[:len(full)-5]), p.Like(), "truncated"},
		{"truncated header", write("cut2.safetensors", full[:20]), p.Like(), "truncated"},
		{"tiny", write("tiny.safetensors", full[:3]), p.Like(), "too short"},
		{"JSON-less", write("zeros.bin", append([]byte{16, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 32)...)), p.Like(), "not a JSON object"},
		{"text file", write("notes.txt", []byte("These are not the tensors you are looking for.\n")), p.Like(), "not a safetensors file"},
		{"absent", filepath.Join(dir, "nope.safetensors"), p.Like(), "no such file"},
	} {
		before := append([]float32(nil), c.p.Data...)
		_, err := LoadCheckpoint(c.file, c.p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
			t.Errorf("%s: error %v, want one naming %s and containing %q", c.name, err, c.file, c.want)
			continue
		}
		if !equal32(before, c.p.Data) {
			t.Errorf("%s: params changed by a failed load", c.name)
		}
	}
}
