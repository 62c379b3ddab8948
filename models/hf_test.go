package models

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The test data under testdata/hf was written by scripts/hf_parity.py:
// a small random GPT-2 and BERT built in PyTorch with the module
// structure and names of transformers, their logits on a fixed input,
// and their config.json.

type hfExpect struct {
	IDs    [][]int32 `json:"input_ids"`
	Shape  []int     `json:"shape"`
	Logits []float64 `json:"logits"`
}

func readExpect(t *testing.T, dir string) hfExpect {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e hfExpect
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// hfModel builds a model of the shape of the checkpoint in dir and loads
// it.
func hfModel(t *testing.T, path string) (*Transformer, *HFLoaded) {
	t.Helper()
	info, err := InspectHF(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := info.Config("hf-" + filepath.Base(filepath.Dir(path)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewTransformer(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := LoadHF(path, m)
	if err != nil {
		t.Fatal(err)
	}
	return m, l
}

// logitsBatch asks for the logits at every position of the expected
// input.
func logitsBatch(m *Transformer, e hfExpect) *Batch {
	obj := NextToken
	if m.cfg.Arch == Encoder {
		obj = Masked
	}
	b := &Batch{Objective: obj, B: len(e.IDs), T: len(e.IDs[0])}
	for _, row := range e.IDs {
		b.Inputs = append(b.Inputs, row...)
	}
	b.Targets = make([]int32, len(b.Inputs)) // every position, target 0
	return b
}

// relDiff is max |a − b| / max |b|.
func relDiff(a []float32, b []float64) float64 {
	scale, worst := 0.0, 0.0
	for i := range b {
		scale = math.Max(scale, math.Abs(b[i]))
		worst = math.Max(worst, math.Abs(float64(a[i])-b[i]))
	}
	return worst / scale
}

// TestHFParity loads each checkpoint and matches PyTorch's logits to
// 1e-4 relative (to the largest logit); the same weights with the other
// GELU form must miss that tolerance, so the test can tell the numerics
// apart.
func TestHFParity(t *testing.T) {
	for _, c := range []struct {
		name  string
		arch  Arch
		act   Activation
		wrong Activation
	}{{"gpt2", Decoder, GELUTanh, GELUErf}, {"bert", Encoder, GELUErf, GELUTanh}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "hf", c.name)
			m, l := hfModel(t, filepath.Join(dir, "model.safetensors"))
			if m.cfg.Arch != c.arch || m.cfg.Act != c.act {
				t.Fatalf("inferred %v with %v, want %v with %v", m.cfg.Arch, m.cfg.Act, c.arch, c.act)
			}
			e := readExpect(t, dir)
			b := logitsBatch(m, e)
			got, err := m.Logits(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(e.Logits) || !slices.Equal(e.Shape, []int{b.B, b.T, m.cfg.Vocab}) {
				t.Fatalf("%d logits, want %d (shape %v)", len(got), len(e.Logits), e.Shape)
			}
			d := relDiff(got, e.Logits)
			t.Logf("%s: %d logits, max |Go − PyTorch| / max |PyTorch| = %.2g; skipped %v, kept %v", c.name, len(got), d, l.Skipped, l.Kept)
			if d > 1e-4 {
				t.Errorf("logits differ from PyTorch's by %.3g relative (> 1e-4)", d)
			}
			cfg := m.cfg
			cfg.Act = c.wrong
			w, err := NewTransformer(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			copy(w.params.Data, m.params.Data)
			wl, err := w.Logits(b)
			if err != nil {
				t.Fatal(err)
			}
			dw := relDiff(wl, e.Logits)
			t.Logf("with %v instead of %v: %.2g", c.wrong, c.act, dw)
			if dw <= 1e-4 {
				t.Errorf("with %v instead of %v the logits still match to %.3g: the test cannot see the GELU form", c.wrong, c.act, dw)
			}
		})
	}
}

// stTensor is one tensor of a safetensors file as raw bytes.
type stTensor struct {
	name, dtype string
	shape       []int
	data        []byte
}

// readST returns the tensors of a safetensors file in data order, and
// its metadata.
func readST(t *testing.T, path string) ([]stTensor, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		t.Fatal(err)
	}
	var meta map[string]string
	if m, ok := raw["__metadata__"]; ok {
		json.Unmarshal(m, &meta)
		delete(raw, "__metadata__")
	}
	var ts []stTensor
	var offs []int64
	for name, r := range raw {
		var e stEntry
		if err := json.Unmarshal(r, &e); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, stTensor{name, e.Dtype, e.Shape, b[8+int64(n)+e.DataOffsets[0] : 8+int64(n)+e.DataOffsets[1]]})
		offs = append(offs, e.DataOffsets[0])
	}
	idx := make([]int, len(ts))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return offs[idx[i]] < offs[idx[j]] })
	out := make([]stTensor, len(ts))
	for i, k := range idx {
		out[i] = ts[k]
	}
	return out, meta
}

// writeST writes tensors as a safetensors file.
func writeST(t *testing.T, path string, ts []stTensor) {
	t.Helper()
	var h bytes.Buffer
	h.WriteString(`{"__metadata__":{"format":"pt"}`)
	var off int
	for _, x := range ts {
		name, _ := json.Marshal(x.name)
		shape, _ := json.Marshal(append([]int{}, x.shape...))
		h.WriteString("," + string(name) + `:{"dtype":"` + x.dtype + `","shape":` + string(shape) + `,"data_offsets":[` + itoa(off) + "," + itoa(off+len(x.data)) + "]}")
		off += len(x.data)
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(h.Len()))
	out.Write(h.Bytes())
	for _, x := range ts {
		out.Write(x.data)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// variant writes a copy of the checkpoint src with every tensor passed
// through edit (which may rename it, change it, or return false to drop
// it) and extra tensors added, into a new folder without config.json.
func variant(t *testing.T, src string, edit func(x *stTensor) bool, extra ...stTensor) string {
	t.Helper()
	ts, _ := readST(t, src)
	var out []stTensor
	for _, x := range ts {
		if edit == nil || edit(&x) {
			out = append(out, x)
		}
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	writeST(t, path, append(out, extra...))
	return path
}

func find(t *testing.T, path, name string) stTensor {
	t.Helper()
	ts, _ := readST(t, path)
	for _, x := range ts {
		if x.name == name {
			return x
		}
	}
	t.Fatalf("%s: no tensor %s", path, name)
	return stTensor{}
}

// TestHFRoundTrip loads each checkpoint, exports it, and finds every
// tensor of the export byte for byte in the original; the original's
// other tensors are exactly the skipped buffers, heads and tied copies.
// Loading the export gives the same parameters bit for bit.
func TestHFRoundTrip(t *testing.T) {
	for _, name := range []string{"gpt2", "bert"} {
		t.Run(name, func(t *testing.T) {
			src := filepath.Join("testdata", "hf", name, "model.safetensors")
			m, l := hfModel(t, src)
			out := filepath.Join(t.TempDir(), "model.safetensors")
			if err := ExportHF(out, m); err != nil {
				t.Fatal(err)
			}
			orig, _ := readST(t, src)
			byName := map[string]stTensor{}
			for _, x := range orig {
				byName[x.name] = x
			}
			exp, meta := readST(t, out)
			if meta["format"] != "pt" {
				t.Errorf("export metadata %v, want format pt", meta)
			}
			for _, x := range exp {
				o, ok := byName[x.name]
				switch {
				case !ok:
					t.Errorf("exported tensor %s is not in the original", x.name)
				case o.dtype != x.dtype || !slices.Equal(o.shape, x.shape) || !bytes.Equal(o.data, x.data):
					t.Errorf("tensor %s: exported %s %v differs from the original %s %v", x.name, x.dtype, x.shape, o.dtype, o.shape)
				}
				delete(byName, x.name)
			}
			var left []string
			for n := range byName {
				left = append(left, n)
			}
			sort.Strings(left)
			if !slices.Equal(left, l.Skipped) {
				t.Errorf("original tensors not exported %v, want the skipped ones %v", left, l.Skipped)
			}
			t.Logf("%d tensors identical byte for byte; not exported: %v", len(exp), left)

			cfg := m.Config()
			m2, err := NewTransformer(cfg, 2)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := LoadHF(out, m2); err != nil {
				t.Fatal(err)
			}
			for i := range m.params.Data {
				if math.Float32bits(m.params.Data[i]) != math.Float32bits(m2.params.Data[i]) {
					t.Fatalf("reloaded export differs at element %d", i)
				}
			}
			// config.json as written for the export reads back as the
			// same shape and numerics.
			js, err := HFConfigJSON(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(filepath.Dir(out), "config.json"), js, 0o644); err != nil {
				t.Fatal(err)
			}
			info, err := InspectHF(out)
			if err != nil {
				t.Fatal(err)
			}
			back, err := info.Config(cfg.Name)
			if err != nil {
				t.Fatal(err)
			}
			back.Classes, back.Threads = cfg.Classes, cfg.Threads
			if back.Heads != cfg.Heads || back.Act != cfg.Act || back.NormEps() != cfg.NormEps() || back.Layers != cfg.Layers {
				t.Errorf("config.json reads back as %+v, want %+v", back, cfg)
			}
		})
	}
}

// TestHFVariants loads the layouts the model hub also serves: GPT-2
// under "transformer." with its tied lm_head.weight; BERT without the
// "bert." prefix, with the old LayerNorm names gamma and beta, the tied
// decoder written out, and no pooler (BertForMaskedLM). Each gives the
// parameters of the original file.
func TestHFVariants(t *testing.T) {
	gsrc := filepath.Join("testdata", "hf", "gpt2", "model.safetensors")
	bsrc := filepath.Join("testdata", "hf", "bert", "model.safetensors")
	gm, _ := hfModel(t, gsrc)
	bm, _ := hfModel(t, bsrc)
	wte := find(t, gsrc, "wte.weight")
	wte.name = "lm_head.weight"
	word := find(t, bsrc, "bert.embeddings.word_embeddings.weight")
	word.name = "cls.predictions.decoder.weight"
	dbias := find(t, bsrc, "cls.predictions.bias")
	dbias.name = "cls.predictions.decoder.bias"
	for _, c := range []struct {
		name string
		ref  *Transformer
		path string
		kept []string
	}{
		{"gpt2 transformer. prefix, lm_head", gm, variant(t, gsrc, func(x *stTensor) bool { x.name = "transformer." + x.name; return true }, wte), nil},
		{"bert no prefix, gamma/beta, decoder, no pooler", bm, variant(t, bsrc, func(x *stTensor) bool {
			x.name = strings.TrimPrefix(x.name, "bert.")
			x.name = strings.Replace(x.name, "LayerNorm.weight", "LayerNorm.gamma", 1)
			x.name = strings.Replace(x.name, "LayerNorm.bias", "LayerNorm.beta", 1)
			return !strings.HasPrefix(x.name, "pooler.")
		}, word, dbias), []string{"pooler.weight", "pooler.bias"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewTransformer(c.ref.cfg, 5)
			if err != nil {
				t.Fatal(err)
			}
			seeded := m.params.Clone()
			l, err := LoadHF(c.path, m)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(l.Kept, c.kept) {
				t.Errorf("kept %v, want %v", l.Kept, c.kept)
			}
			for _, tn := range m.params.Tensors {
				want := c.ref.params.Slice(tn)
				if slices.Contains(c.kept, tn.Name) {
					want = seeded.Slice(tn)
				}
				if !slices.Equal(m.params.Slice(tn), want) {
					t.Errorf("tensor %s differs from the original file's", tn.Name)
				}
			}
		})
	}
}

// TestHFErrors: every refusal names the tensor, shape or setting at
// fault, and leaves the model unchanged.
func TestHFErrors(t *testing.T) {
	gsrc := filepath.Join("testdata", "hf", "gpt2", "model.safetensors")
	bsrc := filepath.Join("testdata", "hf", "bert", "model.safetensors")
	gm, _ := hfModel(t, gsrc)
	bm, _ := hfModel(t, bsrc)
	untied := find(t, gsrc, "wte.weight")
	untied.name = "lm_head.weight"
	untied.data = slices.Clone(untied.data)
	untied.data[5] ^= 1
	bf16 := find(t, gsrc, "h.1.mlp.c_fc.bias")
	bf16.dtype = "I64"
	swapped := func(act Activation) Config { c := bm.cfg; c.Act = act; return c }
	shallow := gm.cfg
	shallow.Layers = 1
	alibi := gm.cfg
	alibi.ALiBi = true
	for _, c := range []struct {
		name string
		cfg  Config
		path string
		want []string
	}{
		{"missing", gm.cfg, variant(t, gsrc, func(x *stTensor) bool { return x.name != "h.1.mlp.c_fc.bias" }), []string{`"h.1.mlp.c_fc.bias"`, "missing", "[64]"}},
		{"unexpected", gm.cfg, variant(t, gsrc, nil, stTensor{"h.0.attn.rotary", "F32", []int{1}, make([]byte, 4)}), []string{`"h.0.attn.rotary"`, "not part of a GPT-2 model"}},
		{"misshapen", gm.cfg, variant(t, gsrc, func(x *stTensor) bool {
			if x.name == "h.0.attn.c_attn.weight" {
				x.shape = []int{48, 16}
			}
			return true
		}), []string{`"h.0.attn.c_attn.weight"`, "expected shape [16 48], found shape [48 16]"}},
		{"dtype", gm.cfg, variant(t, gsrc, func(x *stTensor) bool { return x.name != "h.1.mlp.c_fc.bias" }, bf16), []string{`"h.1.mlp.c_fc.bias"`, `dtype "I64"`}},
		{"untied head", gm.cfg, variant(t, gsrc, nil, untied), []string{`"lm_head.weight"`, `"wte.weight"`, "element 1"}},
		{"numerics", swapped(GELUTanh), bsrc, []string{"gelu-tanh", "gelu-erf"}},
		{"shape", shallow, gsrc, []string{"1 layers", "checkpoint 2"}},
		{"family", bm.cfg, gsrc, []string{"encoder", "GPT-2"}},
		{"alibi", alibi, gsrc, []string{"ALiBi", "Config.ALiBi false"}},
		{"not a model", gm.cfg, variant(t, gsrc, func(x *stTensor) bool { x.name = "x." + x.name; return true }), []string{"neither a GPT-2 checkpoint"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := NewTransformer(c.cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			before := m.params.Clone()
			_, err = LoadHF(c.path, m)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !slices.Equal(before.Data, m.params.Data) {
				t.Error("a refused checkpoint changed the model")
			}
		})
	}
}

// TestHFMatch: the shapes of the published checkpoints map to the
// built-in configs, with the checkpoints' numerics.
func TestHFMatch(t *testing.T) {
	for _, c := range []struct {
		info HFInfo
		want string
		act  Activation
	}{
		{HFInfo{Arch: Decoder, Layers: 12, DModel: 768, DFF: 3072, Ctx: 1024, Vocab: 50257, Act: GELUTanh, Eps: 1e-5}, "gpt2", GELUTanh},
		{HFInfo{Arch: Decoder, Layers: 24, DModel: 1024, DFF: 4096, Ctx: 1024, Vocab: 50257, Heads: 16, Act: GELUTanh, Eps: 1e-5}, "gpt2-medium", GELUTanh},
		{HFInfo{Arch: Encoder, Layers: 12, DModel: 768, DFF: 3072, Ctx: 512, Vocab: 30522, TypeVocab: 2, Pooler: true, Act: GELUErf, Eps: 1e-12}, "bert-base", GELUErf},
	} {
		cfg, err := c.info.Match()
		if err != nil {
			t.Fatal(err)
		}
		builtin, _ := LookupConfig(c.want)
		if cfg.Name != c.want || cfg.Act != c.act || cfg.Act != builtin.Act || cfg.NormEps() != builtin.NormEps() {
			t.Errorf("%v matched %s (%v, ε %g), want %s with the built-in numerics", c.info, cfg.Name, cfg.Act, cfg.NormEps(), c.want)
		}
	}
	odd := HFInfo{Arch: Decoder, Layers: 6, DModel: 768, DFF: 3072, Ctx: 1024, Vocab: 50257}
	if _, err := odd.Match(); err == nil || !strings.Contains(err.Error(), "6 layers") {
		t.Errorf("a 6-layer GPT-2 matched: %v", err)
	}
}

// Hugging Face's layouts have no ALiBi: an ALiBi model is not exported.
func TestHFExportRefusesALiBi(t *testing.T) {
	c := tinyConfig(Decoder)
	c.ALiBi = true
	m, err := NewTransformer(c, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "model.safetensors")
	if err := ExportHF(out, m); err == nil || !strings.Contains(err.Error(), "ALiBi") {
		t.Errorf("export of an ALiBi model: error %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused export wrote a file")
	}
}
