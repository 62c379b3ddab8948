package models

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Checkpoints in the Hugging Face layout: the model.safetensors of GPT-2
// (gpt2, gpt2-medium) and BERT (bert-base-uncased) as the model hub
// serves them, read into a Transformer (LoadHF) and written back from one
// (ExportHF). The names and layouts follow modeling_gpt2.py and
// modeling_bert.py of the transformers library:
//
//   - GPT-2 (optionally under "transformer."): wte, wpe, h.N.{ln_1,
//     attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}, ln_f. Its
//     Conv1D weights are stored [in, out], so each is transposed into
//     sleepbench's [out, in]; c_attn packs Q, K and V side by side in its
//     output columns, which is exactly the row order of attn.qkv. The
//     buffers h.N.attn.bias (the causal mask) and h.N.attn.masked_bias
//     are not parameters and are skipped. The LM head is tied to wte: a
//     file's lm_head.weight, if any, must equal wte.
//   - BERT (optionally under "bert."): embeddings.{word, position,
//     token_type}_embeddings and embeddings.LayerNorm;
//     encoder.layer.N.{attention.self.{query,key,value},
//     attention.output.{dense,LayerNorm}, intermediate.dense,
//     output.{dense,LayerNorm}}; pooler.dense; and the MLM head
//     cls.predictions.{transform.dense, transform.LayerNorm, bias}. Linear
//     weights are [out, in] as in sleepbench; query, key and value become
//     the three row blocks of attn.qkv. LayerNorm parameters may carry the
//     old names gamma and beta. The decoder is tied to the word
//     embeddings: cls.predictions.decoder.weight and .bias, if present,
//     must equal word_embeddings and cls.predictions.bias. The buffers
//     embeddings.position_ids and embeddings.token_type_ids and the
//     next-sentence head cls.seq_relationship.* (sleepbench has no
//     next-sentence objective) are skipped. Every token has type 0, as in
//     sleepbench's encoder, which keeps the whole token-type table.
//     A file without the pooler (BertForMaskedLM) leaves the model's
//     pooler at its seeded initialisation; the pooler only feeds the
//     classification heads.
//
// Any other tensor, a missing one or one of another shape is an error
// that names it. The numbers of heads are not in the weights: they come
// from config.json beside the file when there is one (which is then
// checked against the model), else from the built-in config.

// hfTensor places one tensor of a Hugging Face checkpoint in a model's
// parameters.
type hfTensor struct {
	name  string // the Hugging Face name, prefix included
	shape []int  // its shape in the file
	dst   string // the sleepbench tensor it fills
	off   int    // the first element of dst it fills (a block of rows)
	trans bool   // stored [in, out] (GPT-2's Conv1D): transposed into dst
	opt   bool   // may be missing from a file: dst keeps its values
}

// hfLayout lists the Hugging Face tensors of a model of config c, with
// prefix before the backbone names ("transformer.", "bert." or "").
func hfLayout(c Config, prefix string) []hfTensor {
	D, F, V := c.DModel, c.DFF, c.Vocab
	var ts []hfTensor
	add := func(name, dst string, off int, trans bool, shape ...int) {
		ts = append(ts, hfTensor{name: name, shape: shape, dst: dst, off: off, trans: trans})
	}
	if c.Arch == Decoder {
		p := prefix
		add(p+"wte.weight", "wte", 0, false, V, D)
		add(p+"wpe.weight", "wpe", 0, false, c.Ctx, D)
		for l := 0; l < c.Layers; l++ {
			h, s := fmt.Sprintf("%sh.%d.", p, l), fmt.Sprintf("h.%d.", l)
			add(h+"ln_1.weight", s+"ln_1.weight", 0, false, D)
			add(h+"ln_1.bias", s+"ln_1.bias", 0, false, D)
			add(h+"attn.c_attn.weight", s+"attn.qkv.weight", 0, true, D, 3*D)
			add(h+"attn.c_attn.bias", s+"attn.qkv.bias", 0, false, 3*D)
			add(h+"attn.c_proj.weight", s+"attn.proj.weight", 0, true, D, D)
			add(h+"attn.c_proj.bias", s+"attn.proj.bias", 0, false, D)
			add(h+"ln_2.weight", s+"ln_2.weight", 0, false, D)
			add(h+"ln_2.bias", s+"ln_2.bias", 0, false, D)
			add(h+"mlp.c_fc.weight", s+"mlp.fc.weight", 0, true, D, F)
			add(h+"mlp.c_fc.bias", s+"mlp.fc.bias", 0, false, F)
			add(h+"mlp.c_proj.weight", s+"mlp.proj.weight", 0, true, F, D)
			add(h+"mlp.c_proj.bias", s+"mlp.proj.bias", 0, false, D)
		}
		add(p+"ln_f.weight", "ln_f.weight", 0, false, D)
		add(p+"ln_f.bias", "ln_f.bias", 0, false, D)
		return ts
	}
	e := prefix + "embeddings."
	add(e+"word_embeddings.weight", "wte", 0, false, V, D)
	add(e+"position_embeddings.weight", "wpe", 0, false, c.Ctx, D)
	if c.TypeVocab > 0 {
		add(e+"token_type_embeddings.weight", "wtt", 0, false, c.TypeVocab, D)
	}
	add(e+"LayerNorm.weight", "ln_e.weight", 0, false, D)
	add(e+"LayerNorm.bias", "ln_e.bias", 0, false, D)
	for l := 0; l < c.Layers; l++ {
		h, s := fmt.Sprintf("%sencoder.layer.%d.", prefix, l), fmt.Sprintf("h.%d.", l)
		for k, qkv := range []string{"query", "key", "value"} {
			add(h+"attention.self."+qkv+".weight", s+"attn.qkv.weight", k*D*D, false, D, D)
			add(h+"attention.self."+qkv+".bias", s+"attn.qkv.bias", k*D, false, D)
		}
		add(h+"attention.output.dense.weight", s+"attn.proj.weight", 0, false, D, D)
		add(h+"attention.output.dense.bias", s+"attn.proj.bias", 0, false, D)
		add(h+"attention.output.LayerNorm.weight", s+"ln_1.weight", 0, false, D)
		add(h+"attention.output.LayerNorm.bias", s+"ln_1.bias", 0, false, D)
		add(h+"intermediate.dense.weight", s+"mlp.fc.weight", 0, false, F, D)
		add(h+"intermediate.dense.bias", s+"mlp.fc.bias", 0, false, F)
		add(h+"output.dense.weight", s+"mlp.proj.weight", 0, false, D, F)
		add(h+"output.dense.bias", s+"mlp.proj.bias", 0, false, D)
		add(h+"output.LayerNorm.weight", s+"ln_2.weight", 0, false, D)
		add(h+"output.LayerNorm.bias", s+"ln_2.bias", 0, false, D)
	}
	if c.Pooler {
		add(prefix+"pooler.dense.weight", "pooler.weight", 0, false, D, D)
		add(prefix+"pooler.dense.bias", "pooler.bias", 0, false, D)
		ts[len(ts)-1].opt, ts[len(ts)-2].opt = true, true
	}
	add("cls.predictions.transform.dense.weight", "mlm.dense.weight", 0, false, D, D)
	add("cls.predictions.transform.dense.bias", "mlm.dense.bias", 0, false, D)
	add("cls.predictions.transform.LayerNorm.weight", "mlm.ln.weight", 0, false, D)
	add("cls.predictions.transform.LayerNorm.bias", "mlm.ln.bias", 0, false, D)
	add("cls.predictions.bias", "mlm.bias", 0, false, V)
	return ts
}

// hfSkipped matches the tensors of a Hugging Face file that are not
// parameters of the model (buffers) or belong to a head sleepbench does
// not have (BERT's next-sentence head).
var hfSkipped = regexp.MustCompile(`^((transformer\.)?h\.\d+\.attn\.(bias|masked_bias)|(bert\.)?embeddings\.(position_ids|token_type_ids)|cls\.seq_relationship\.(weight|bias))$`)

// hfTied lists the tied copies a file may hold: each must equal the
// tensor it is tied to, since sleepbench keeps only one.
func hfTied(arch Arch, prefix string) map[string]string {
	if arch == Decoder {
		return map[string]string{"lm_head.weight": prefix + "wte.weight"}
	}
	return map[string]string{
		"cls.predictions.decoder.weight": prefix + "embeddings.word_embeddings.weight",
		"cls.predictions.decoder.bias":   "cls.predictions.bias",
	}
}

// stFile is an open safetensors file whose header has been read.
type stFile struct {
	path    string
	f       *os.File
	entries map[string]stEntry
	meta    map[string]string
	base    int64 // offset of the data section
	dataLen int64
}

func openST(path string) (*stFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	s := &stFile{path: path, f: f}
	if err := s.readHeader(); err != nil {
		f.Close()
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return s, nil
}

func (s *stFile) Close() error { return s.f.Close() }

func (s *stFile) readHeader() error {
	st, err := s.f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	var n [8]byte
	if _, err := io.ReadFull(s.f, n[:]); err != nil {
		return fmt.Errorf("%d bytes, too short for a safetensors header (truncated or not a safetensors file)", size)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if hlen > maxHeader || int64(hlen) > size-8 {
		return fmt.Errorf("header length %d does not fit in the file's %d bytes (truncated or not a safetensors file)", hlen, size)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(s.f, hdr); err != nil {
		return fmt.Errorf("reading the header: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return fmt.Errorf("header is not a JSON object (not a safetensors file?): %w", err)
	}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &s.meta); err != nil {
			return fmt.Errorf("__metadata__ is not an object of strings: %w", err)
		}
		delete(raw, "__metadata__")
	}
	s.entries = make(map[string]stEntry, len(raw))
	for name, r := range raw {
		var e stEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		s.entries[name] = e
	}
	s.base = 8 + int64(hlen)
	s.dataLen = size - s.base
	return nil
}

// lookup returns the entry of name, or of its old LayerNorm spelling
// (gamma for weight, beta for bias).
func (s *stFile) lookup(name string) (string, stEntry, bool) {
	if e, ok := s.entries[name]; ok {
		return name, e, true
	}
	old := ""
	switch {
	case strings.HasSuffix(name, "LayerNorm.weight"):
		old = strings.TrimSuffix(name, "weight") + "gamma"
	case strings.HasSuffix(name, "LayerNorm.bias"):
		old = strings.TrimSuffix(name, "bias") + "beta"
	}
	if e, ok := s.entries[old]; ok && old != "" {
		return old, e, true
	}
	return "", stEntry{}, false
}

// check reports what is wrong with the entry of name for a tensor of the
// given shape.
func (s *stFile) check(name string, e stEntry, shape []int) error {
	if !slices.Equal(e.Shape, shape) {
		return fmt.Errorf("tensor %q: expected shape %v, found shape %v", name, shape, e.Shape)
	}
	es, ok := dtypeSize[e.Dtype]
	if !ok {
		return fmt.Errorf("tensor %q has dtype %q; readable dtypes are F32, BF16 and F16", name, e.Dtype)
	}
	n := int64(1)
	for _, d := range shape {
		n *= int64(d)
	}
	if len(e.DataOffsets) != 2 || e.DataOffsets[0] < 0 || e.DataOffsets[1]-e.DataOffsets[0] != es*n {
		return fmt.Errorf("tensor %q (%s, shape %v) has data_offsets %v, want a span of %d bytes", name, e.Dtype, shape, e.DataOffsets, es*n)
	}
	if e.DataOffsets[1] > s.dataLen {
		return fmt.Errorf("tensor %q ends at byte %d of a %d-byte data section (truncated file)", name, e.DataOffsets[1], s.dataLen)
	}
	return nil
}

// read widens the data of the checked entry e (of file name name) into
// dst, whose length is its number of elements.
func (s *stFile) read(name string, e stEntry, dst []float32) error {
	es := dtypeSize[e.Dtype]
	buf := make([]byte, min(int64(len(dst))*es, 1<<20))
	off := s.base + e.DataOffsets[0]
	for len(dst) > 0 {
		k := min(int64(len(dst)), int64(len(buf))/es)
		if _, err := s.f.ReadAt(buf[:es*k], off); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("reading tensor %q: %w", name, err)
		}
		widen(dst[:k], buf, e.Dtype)
		dst, off = dst[k:], off+es*k
	}
	return nil
}

// HFInfo is what a Hugging Face checkpoint says about its model: the
// shape read off its tensors, the numerics of its family, and what its
// config.json (beside the file, when there is one) adds.
type HFInfo struct {
	// Arch is Decoder for GPT-2, Encoder for BERT.
	Arch Arch
	// Prefix is the backbone's name prefix in the file: "transformer."
	// or "" for GPT-2, "bert." or "" for BERT.
	Prefix string
	// Layers, DModel, DFF, Ctx, Vocab and TypeVocab as in Config.
	Layers, DModel, DFF, Ctx, Vocab, TypeVocab int
	// Pooler says whether the file holds BERT's pooler.
	Pooler bool
	// Heads is the number of attention heads from config.json, 0 when
	// there is no config.json.
	Heads int
	// Act and Eps are the checkpoint's numerics: GPT-2's tanh GELU and ε
	// 1e-5, BERT's erf GELU and ε 1e-12, unless config.json says
	// otherwise.
	Act Activation
	Eps float32
}

func (h HFInfo) family() string {
	if h.Arch == Decoder {
		return "GPT-2"
	}
	return "BERT"
}

func (h HFInfo) String() string {
	s := fmt.Sprintf("%s, %d layers, width %d, MLP %d, %d positions, vocabulary %d", h.family(), h.Layers, h.DModel, h.DFF, h.Ctx, h.Vocab)
	if h.Heads > 0 {
		s += fmt.Sprintf(", %d heads", h.Heads)
	}
	return s
}

// InspectHF reads the header of the Hugging Face checkpoint at path (and
// config.json beside it, if any) and says what model it holds. It reads
// no tensor data.
func InspectHF(path string) (HFInfo, error) {
	s, err := openST(path)
	if err != nil {
		return HFInfo{}, err
	}
	defer s.Close()
	info, err := inspect(s)
	if err != nil {
		return HFInfo{}, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return info, nil
}

func inspect(s *stFile) (HFInfo, error) {
	var h HFInfo
	shape := func(name string, dims int) ([]int, error) {
		_, e, ok := s.lookup(name)
		if !ok {
			return nil, fmt.Errorf("tensor %q is missing", name)
		}
		if len(e.Shape) != dims {
			return nil, fmt.Errorf("tensor %q has shape %v, want %d dimensions", name, e.Shape, dims)
		}
		return e.Shape, nil
	}
	count := func(re *regexp.Regexp) int {
		n := 0
		for name := range s.entries {
			if m := re.FindStringSubmatch(name); m != nil {
				if k, err := strconv.Atoi(m[1]); err == nil && k+1 > n {
					n = k + 1
				}
			}
		}
		return n
	}
	pick := func(names ...string) (string, bool) {
		for _, n := range names {
			if _, ok := s.entries[n]; ok {
				return n, true
			}
		}
		return "", false
	}
	if first, ok := pick("wte.weight", "transformer.wte.weight"); ok {
		h.Arch, h.Act, h.Eps = Decoder, GELUTanh, 1e-5
		h.Prefix = strings.TrimSuffix(first, "wte.weight")
		p := h.Prefix
		wte, err := shape(p+"wte.weight", 2)
		if err != nil {
			return h, err
		}
		wpe, err := shape(p+"wpe.weight", 2)
		if err != nil {
			return h, err
		}
		h.Vocab, h.DModel, h.Ctx = wte[0], wte[1], wpe[0]
		h.Layers = count(regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `h\.(\d+)\.ln_1\.weight$`))
		if h.Layers == 0 {
			return h, fmt.Errorf("GPT-2 checkpoint without blocks: tensor %q is missing", p+"h.0.ln_1.weight")
		}
		fc, err := shape(p+"h.0.mlp.c_fc.weight", 2)
		if err != nil {
			return h, err
		}
		h.DFF = fc[1]
	} else if first, ok := pick("bert.embeddings.word_embeddings.weight", "embeddings.word_embeddings.weight"); ok {
		h.Arch, h.Act, h.Eps = Encoder, GELUErf, 1e-12
		h.Prefix = strings.TrimSuffix(first, "embeddings.word_embeddings.weight")
		p := h.Prefix
		wte, err := shape(first, 2)
		if err != nil {
			return h, err
		}
		wpe, err := shape(p+"embeddings.position_embeddings.weight", 2)
		if err != nil {
			return h, err
		}
		h.Vocab, h.DModel, h.Ctx = wte[0], wte[1], wpe[0]
		if _, e, ok := s.lookup(p + "embeddings.token_type_embeddings.weight"); ok && len(e.Shape) == 2 {
			h.TypeVocab = e.Shape[0]
		}
		h.Layers = count(regexp.MustCompile(`^` + regexp.QuoteMeta(p) + `encoder\.layer\.(\d+)\.attention\.self\.query\.weight$`))
		if h.Layers == 0 {
			return h, fmt.Errorf("BERT checkpoint without layers: tensor %q is missing", p+"encoder.layer.0.attention.self.query.weight")
		}
		fc, err := shape(p+"encoder.layer.0.intermediate.dense.weight", 2)
		if err != nil {
			return h, err
		}
		h.DFF = fc[0]
		_, h.Pooler = s.entries[p+"pooler.dense.weight"]
	} else {
		return h, errors.New("neither a GPT-2 checkpoint (no wte.weight or transformer.wte.weight) nor a BERT one (no bert.embeddings.word_embeddings.weight or embeddings.word_embeddings.weight)")
	}
	if err := h.readConfigJSON(filepath.Join(filepath.Dir(s.path), "config.json")); err != nil {
		return h, err
	}
	return h, nil
}

// hfConfigJSON holds the fields of a Hugging Face config.json that
// sleepbench checks or writes, under both families' names.
type hfConfigJSON struct {
	Architectures []string `json:"architectures,omitempty"`
	ModelType     string   `json:"model_type,omitempty"`
	// GPT-2.
	NHead     int      `json:"n_head,omitempty"`
	NLayer    int      `json:"n_layer,omitempty"`
	NEmbd     int      `json:"n_embd,omitempty"`
	NInner    *int     `json:"n_inner,omitempty"`
	NPos      int      `json:"n_positions,omitempty"`
	NCtx      int      `json:"n_ctx,omitempty"`
	LNEpsilon *float64 `json:"layer_norm_epsilon,omitempty"`
	ActFn     string   `json:"activation_function,omitempty"`
	// BERT.
	NumHeads  int      `json:"num_attention_heads,omitempty"`
	NumLayers int      `json:"num_hidden_layers,omitempty"`
	Hidden    int      `json:"hidden_size,omitempty"`
	Inter     int      `json:"intermediate_size,omitempty"`
	MaxPos    int      `json:"max_position_embeddings,omitempty"`
	TypeVocab int      `json:"type_vocab_size,omitempty"`
	LNEps     *float64 `json:"layer_norm_eps,omitempty"`
	HiddenAct string   `json:"hidden_act,omitempty"`
	// Both.
	Vocab int `json:"vocab_size,omitempty"`
}

// hfActs maps the activation names of transformers' ACT2FN that
// sleepbench implements to its forms.
var hfActs = map[string]Activation{"gelu": GELUErf, "gelu_new": GELUTanh, "gelu_pytorch_tanh": GELUTanh}

// readConfigJSON refines h from the config.json at path, if it exists:
// heads, numerics, and a check that its shape agrees with the tensors.
func (h *HFInfo) readConfigJSON(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var c hfConfigJSON
	if err := json.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	heads, layers, width, act, eps := c.NHead, c.NLayer, c.NEmbd, c.ActFn, c.LNEpsilon
	actKey, epsKey := "activation_function", "layer_norm_epsilon"
	if h.Arch == Encoder {
		heads, layers, width, act, eps = c.NumHeads, c.NumLayers, c.Hidden, c.HiddenAct, c.LNEps
		actKey, epsKey = "hidden_act", "layer_norm_eps"
	}
	if layers != 0 && layers != h.Layers || width != 0 && width != h.DModel || c.Vocab != 0 && c.Vocab != h.Vocab {
		return fmt.Errorf("%s says %d layers, width %d, vocabulary %d, but the weights have %d, %d, %d", path, layers, width, c.Vocab, h.Layers, h.DModel, h.Vocab)
	}
	if heads < 0 || heads > 0 && h.DModel%heads != 0 {
		return fmt.Errorf("%s: %d heads do not divide the width %d", path, heads, h.DModel)
	}
	h.Heads = heads
	if act != "" {
		a, ok := hfActs[act]
		if !ok {
			return fmt.Errorf("%s: %s %q is not implemented (sleepbench has gelu and gelu_new)", path, actKey, act)
		}
		h.Act = a
	}
	if eps != nil {
		if !(*eps > 0) || math.IsInf(*eps, 0) {
			return fmt.Errorf("%s: %s %g is not a positive number", path, epsKey, *eps)
		}
		h.Eps = float32(*eps)
	}
	return nil
}

// Match returns the built-in config whose shape is that of the
// checkpoint, with the checkpoint's numerics (Act, Eps).
func (h HFInfo) Match() (Config, error) {
	var names []string
	for _, c := range Configs() {
		names = append(names, c.Name)
		if h.Fits(c) == nil {
			c.Act, c.Eps = h.Act, h.Eps
			return c, nil
		}
	}
	return Config{}, fmt.Errorf("no built-in config has the shape of this checkpoint (%v); built-in: %s", h, strings.Join(names, ", "))
}

// Fits reports how c's shape differs from the checkpoint's (numerics are
// not compared).
func (h HFInfo) Fits(c Config) error {
	type dim struct {
		what      string
		got, want int
	}
	dims := []dim{{"layers", c.Layers, h.Layers}, {"width", c.DModel, h.DModel}, {"MLP width", c.DFF, h.DFF}, {"positions", c.Ctx, h.Ctx}, {"vocabulary", c.Vocab, h.Vocab}}
	if h.Arch == Encoder {
		dims = append(dims, dim{"token types", c.TypeVocab, h.TypeVocab})
	}
	if h.Heads > 0 {
		dims = append(dims, dim{"heads", c.Heads, h.Heads})
	}
	if c.Arch != h.Arch {
		return fmt.Errorf("model %s is a %s; the checkpoint is a %s (%s)", c.Name, c.Arch, h.Arch, h.family())
	}
	for _, d := range dims {
		if d.got != d.want {
			return fmt.Errorf("model %s has %d %s, the checkpoint %d (%v)", c.Name, d.got, d.what, d.want, h)
		}
	}
	if h.Pooler && !c.Pooler {
		return fmt.Errorf("model %s has no pooler, the checkpoint has one", c.Name)
	}
	return nil
}

// HFLoaded is what LoadHF did.
type HFLoaded struct {
	Info HFInfo
	// Skipped lists the file's tensors that were not read: buffers, the
	// next-sentence head, and tied copies (checked equal), sorted.
	Skipped []string
	// Kept lists the model's tensors that the file lacks and that keep
	// their values: the classification heads, and BERT's pooler when the
	// file has none.
	Kept []string
	// Dtypes counts the tensors read per storage dtype.
	Dtypes map[string]int
}

// LoadHF initialises m's parameters from the Hugging Face checkpoint at
// path (see the layouts above). m's shape must be the checkpoint's, and
// its numerics too: a GPT-2 model needs the tanh GELU and ε 1e-5, a BERT
// one the erf GELU and ε 1e-12 (Config.Act, Config.Eps; the built-in
// gpt2, gpt2-medium and bert-base configs have them). Every tensor is
// checked before any value is written, so on a mismatch m is unchanged
// (only an I/O error while reading data can leave it part-written).
func LoadHF(path string, m *Transformer) (*HFLoaded, error) {
	s, err := openST(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	bad := func(err error) error { return fmt.Errorf("checkpoint %s: %w", path, err) }
	info, err := inspect(s)
	if err != nil {
		return nil, bad(err)
	}
	c := m.cfg
	if err := info.Fits(c); err != nil {
		return nil, bad(err)
	}
	if c.Act != info.Act || c.NormEps() != info.Eps {
		return nil, bad(fmt.Errorf("model %s computes GELU as %v with LayerNorm ε %g; the checkpoint was trained with %v and ε %g (set Config.Act and Config.Eps)",
			c.Name, c.Act, c.NormEps(), info.Act, info.Eps))
	}
	if c.PreLN {
		return nil, bad(fmt.Errorf("model %s has pre-LN blocks; Hugging Face's BERT is post-LN (Config.PreLN false)", c.Name))
	}
	if c.ALiBi {
		return nil, bad(fmt.Errorf("model %s has ALiBi attention; Hugging Face's BERT and GPT-2 have none (Config.ALiBi false)", c.Name))
	}
	out := &HFLoaded{Info: info, Dtypes: map[string]int{}}
	type job struct {
		t    hfTensor
		file string
		e    stEntry
	}
	var jobs []job
	used := map[string]bool{}
	for _, t := range hfLayout(c, info.Prefix) {
		file, e, ok := s.lookup(t.name)
		if !ok {
			if t.opt {
				continue
			}
			return nil, bad(fmt.Errorf("tensor %q (expected shape %v, for %s) is missing", t.name, t.shape, t.dst))
		}
		if err := s.check(file, e, t.shape); err != nil {
			return nil, bad(err)
		}
		used[file] = true
		jobs = append(jobs, job{t, file, e})
	}
	tied := hfTied(c.Arch, info.Prefix)
	var extra []string
	for name, e := range s.entries {
		switch {
		case used[name]:
		case hfSkipped.MatchString(name):
			out.Skipped = append(out.Skipped, name)
		case tied[name] != "":
			to, te, _ := s.lookup(tied[name])
			if err := s.check(name, e, te.Shape); err != nil {
				return nil, bad(fmt.Errorf("tied copy of %q: %w", to, err))
			}
			out.Skipped = append(out.Skipped, name)
		default:
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, bad(fmt.Errorf("tensor %q (shape %v) is not part of a %s model; the file has %d such tensors", extra[0], s.entries[extra[0]].Shape, info.family(), len(extra)))
	}
	sort.Strings(out.Skipped)
	filled := map[string]bool{}
	for _, j := range jobs {
		filled[j.t.dst] = true
	}
	out.Kept = unfilled(m.params, filled)
	// Tied copies are compared with what they are tied to before any
	// parameter is written.
	for name, to := range tied {
		e, ok := s.entries[name]
		if !ok {
			continue
		}
		tf, te, _ := s.lookup(to)
		a, b := make([]float32, size(e.Shape)), make([]float32, size(te.Shape))
		if err := s.read(name, e, a); err != nil {
			return nil, bad(err)
		}
		if err := s.read(tf, te, b); err != nil {
			return nil, bad(err)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return nil, bad(fmt.Errorf("tensor %q differs from %q at element %d (%g vs %g): sleepbench ties them and cannot hold an untied head", name, tf, i, a[i], b[i]))
			}
		}
	}
	var tmp []float32
	for _, j := range jobs {
		dst := m.params.Get(j.t.dst)[j.t.off:]
		n := size(j.t.shape)
		if !j.t.trans {
			if err := s.read(j.file, j.e, dst[:n]); err != nil {
				return nil, bad(err)
			}
		} else {
			tmp = grow(tmp, n)
			if err := s.read(j.file, j.e, tmp); err != nil {
				return nil, bad(err)
			}
			transpose(dst[:n], tmp, j.t.shape[0], j.t.shape[1])
		}
		out.Dtypes[j.e.Dtype]++
	}
	return out, nil
}

// unfilled lists, in layout order, the tensors of p not in filled.
func unfilled(p *Params, filled map[string]bool) []string {
	var out []string
	for _, t := range p.Tensors {
		if !filled[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// transpose sets dst[C,R] to the transpose of src[R,C].
func transpose(dst, src []float32, R, C int) {
	for r := 0; r < R; r++ {
		for c, v := range src[r*C : (r+1)*C] {
			dst[c*R+r] = v
		}
	}
}

// ExportHF writes m's parameters to path in the Hugging Face layout, as
// F32 with the metadata {"format": "pt"} that transformers expects: a
// decoder as GPT-2 (GPT2Model names, no prefix, as the model hub's gpt2
// files), an encoder as BERT with the "bert." prefix and the MLM head
// cls.predictions.* (BertForMaskedLM or BertForPreTraining load it).
// Tied copies and buffers are not written, as save_pretrained leaves
// them out; classification heads have no place in that layout and are
// not written either. Loading the file with LoadHF gives m's parameters
// bit for bit.
func ExportHF(path string, m *Transformer) error {
	c := m.cfg
	prefix := ""
	if c.Arch == Encoder {
		prefix = "bert."
	}
	if c.Arch == Encoder && c.TypeVocab == 0 {
		return fmt.Errorf("export %s: model %s has no token-type embeddings, which BERT's layout needs", path, c.Name)
	}
	if c.PreLN {
		return fmt.Errorf("export %s: model %s has pre-LN blocks; Hugging Face's BERT layout is post-LN", path, c.Name)
	}
	if c.ALiBi {
		return fmt.Errorf("export %s: model %s has ALiBi attention, which Hugging Face's BERT and GPT-2 lack", path, c.Name)
	}
	layout := hfLayout(c, prefix)
	written := map[string]bool{}
	for _, t := range layout {
		written[t.dst] = true
	}
	for _, name := range unfilled(m.params, written) {
		if !IsClassHead(name) {
			return fmt.Errorf("export %s: tensor %s of model %s has no place in the Hugging Face %s layout", path, name, c.Name, map[Arch]string{Decoder: "GPT-2", Encoder: "BERT"}[c.Arch])
		}
	}
	ts := make([]Tensor, len(layout))
	for i, t := range layout {
		ts[i] = Tensor{Name: t.name, Shape: t.shape}
	}
	p := NewLayout(ts)
	for i, t := range layout {
		dst := p.Slice(p.Tensors[i])
		src := m.params.Get(t.dst)[t.off:]
		if t.trans {
			// HF stores [in, out] = shape; the model holds [out, in].
			transpose(dst, src[:len(dst)], t.shape[1], t.shape[0])
		} else {
			copy(dst, src[:len(dst)])
		}
	}
	return SaveCheckpoint(path, p, F32, map[string]string{"format": "pt"})
}

// HFConfigJSON returns a Hugging Face config.json for a model of config
// c, as ExportHF's file needs beside it for transformers to load it:
// GPT2LMHeadModel or BertForMaskedLM with c's shape and numerics.
func HFConfigJSON(c Config) ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	eps := float64(c.NormEps())
	eps, _ = strconv.ParseFloat(strconv.FormatFloat(eps, 'g', -1, 32), 64) // 1e-12, not 9.99…e-13
	act := "gelu_new"
	if c.Act == GELUErf {
		act = "gelu"
	}
	var j hfConfigJSON
	if c.Arch == Decoder {
		inner := c.DFF
		j = hfConfigJSON{Architectures: []string{"GPT2LMHeadModel"}, ModelType: "gpt2",
			NHead: c.Heads, NLayer: c.Layers, NEmbd: c.DModel, NInner: &inner, NPos: c.Ctx, NCtx: c.Ctx,
			LNEpsilon: &eps, ActFn: act, Vocab: c.Vocab}
	} else {
		j = hfConfigJSON{Architectures: []string{"BertForMaskedLM"}, ModelType: "bert",
			NumHeads: c.Heads, NumLayers: c.Layers, Hidden: c.DModel, Inter: c.DFF, MaxPos: c.Ctx,
			TypeVocab: max(c.TypeVocab, 1), LNEps: &eps, HiddenAct: act, Vocab: c.Vocab}
	}
	return json.MarshalIndent(j, "", "  ")
}

// Config returns a config of the checkpoint's own shape and numerics,
// called name, for checkpoints that match no built-in config (a
// distilled GPT-2 of 6 layers, a small BERT). It needs the number of
// heads from config.json.
func (h HFInfo) Config(name string) (Config, error) {
	if h.Heads == 0 {
		return Config{}, fmt.Errorf("checkpoint (%v): the number of heads is not in the weights; put the model's config.json beside the file", h)
	}
	c := Config{Name: name, Arch: h.Arch, Layers: h.Layers, DModel: h.DModel, Heads: h.Heads, DFF: h.DFF,
		Ctx: h.Ctx, Vocab: h.Vocab, TypeVocab: h.TypeVocab, Pooler: h.Pooler, Act: h.Act, Eps: h.Eps}
	return c, c.Validate()
}

// Logits returns the LM (decoder) or MLM (encoder) head's logits at every
// target position of b (Targets ≥ 0), in order, as M rows of Vocab
// values, from a clean forward pass. It is how a model is compared with
// another implementation of the same weights.
func (m *Transformer) Logits(b *Batch) ([]float32, error) {
	if err := m.check(b, ForwardOptions{}); err != nil {
		return nil, err
	}
	if b.Objective == Classify {
		return nil, fmt.Errorf("models: %s: Logits needs a token objective, not %v", m.cfg.Name, b.Objective)
	}
	m.forward(b, ForwardOptions{}, false)
	M := m.tokenLogits(b)
	return slices.Clone(m.a.logits[:M*m.cfg.Vocab]), nil
}

// CheckpointShapes returns the shape of every tensor of the safetensors
// file at path, from its header alone.
func CheckpointShapes(path string) (map[string][]int, error) {
	s, err := openST(path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	out := make(map[string][]int, len(s.entries))
	for name, e := range s.entries {
		out[name] = e.Shape
	}
	return out, nil
}
