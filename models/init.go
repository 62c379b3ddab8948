package models

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Checkpoints in the safetensors format (safetensors.go): for starting a
// run from a base checkpoint made by `sleepbench pretrain`, or from any
// safetensors file of the same config; stored as F32 they keep a model's
// parameters bit for bit.
//
//   - SaveCheckpoint writes F32 or BF16 storage. BF16 (bfloat16: the top
//     16 bits of a float32, rounded to nearest, ties to even) halves the
//     file and keeps float32's range, so no weight can overflow the way
//     it could in F16.
//   - LoadCheckpoint reads F32, BF16 and F16 tensors and widens them to
//     float32 exactly: loading a BF16 file gives RoundBF16 of every saved
//     value, bit for bit (every bfloat16 and every float16 is a float32).
//   - A base checkpoint holds the backbone and the LM head (for an
//     encoder, the MLM head mlm.*; a decoder's LM head is tied to wte):
//     the per-task classification heads cls.K.* belong to the tasks of a
//     run, not to pretraining. LoadCheckpoint therefore leaves a model's
//     classification heads that the file lacks at their seeded
//     initialisation, and reports them in Loaded.Kept. Every other tensor
//     of the model must be in the file with the model's shape, and the
//     file may hold no tensor the model lacks.

// Storage dtypes of checkpoint tensors (safetensors names).
const (
	F32  = "F32"  // IEEE float32, read and written
	BF16 = "BF16" // bfloat16, read and written
	F16  = "F16"  // IEEE float16, read only
)

// dtypeSize is the bytes per element of each readable dtype.
var dtypeSize = map[string]int64{F32: 4, BF16: 2, F16: 2}

// IsClassHead reports whether name is a per-task classification head
// tensor (cls.K.weight or cls.K.bias), which base checkpoints do not hold.
func IsClassHead(name string) bool { return strings.HasPrefix(name, "cls.") }

// BF16Bits returns x rounded to the nearest bfloat16, ties to even, as
// its 16 bits. Values beyond the largest bfloat16 (≈ 3.3895e38) by more
// than half a unit round to infinity; a NaN stays a (quiet) NaN of the
// same sign.
func BF16Bits(x float32) uint16 {
	b := math.Float32bits(x)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// BF16ToFloat32 widens a bfloat16 to float32 (exact).
func BF16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// RoundBF16 is x rounded to bfloat16 and widened back: what a BF16
// checkpoint of x loads as.
func RoundBF16(x float32) float32 { return BF16ToFloat32(BF16Bits(x)) }

// F16ToFloat32 widens an IEEE half-precision float to float32 (exact,
// subnormals, infinities and NaNs included).
func F16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case 0:
		// Zero or subnormal: mant·2⁻²⁴, exact in float32.
		f := float32(mant) / (1 << 24)
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// SaveCheckpoint writes every tensor of p to path in the safetensors
// format, stored as dtype (F32 or BF16), in layout order, with meta as
// the header's __metadata__. It writes a temporary file in the same
// folder and renames it over path, so that a crash never leaves a partial
// checkpoint. The bytes depend only
// on p's layout and values, dtype and meta, so saving the same model
// twice gives the same file.
func SaveCheckpoint(path string, p *Params, dtype string, meta map[string]string) (err error) {
	if dtype != F32 && dtype != BF16 {
		return fmt.Errorf("checkpoint %s: cannot write dtype %q (write F32 or BF16)", path, dtype)
	}
	size := dtypeSize[dtype]
	var h strings.Builder
	h.WriteByte('{')
	if len(meta) > 0 {
		mj, err := json.Marshal(meta) // encoding/json sorts map keys
		if err != nil {
			return fmt.Errorf("checkpoint %s: metadata: %w", path, err)
		}
		h.WriteString(`"__metadata__":`)
		h.Write(mj)
	}
	var off int64
	for i, t := range p.Tensors {
		if i > 0 || len(meta) > 0 {
			h.WriteByte(',')
		}
		name, _ := json.Marshal(t.Name)
		shape, _ := json.Marshal(append([]int{}, t.Shape...))
		end := off + size*int64(t.Size())
		fmt.Fprintf(&h, `%s:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, name, dtype, shape, off, end)
		off = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(h.Len()))
	w.Write(n[:])
	w.WriteString(h.String())
	var buf [4096]byte
	for d := p.Data; len(d) > 0; {
		k := min(len(d), len(buf)/int(size))
		for i, v := range d[:k] {
			if dtype == BF16 {
				binary.LittleEndian.PutUint16(buf[2*i:], BF16Bits(v))
			} else {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
		}
		if _, err := w.Write(buf[:int(size)*k]); err != nil {
			return fmt.Errorf("checkpoint %s: %w", path, err)
		}
		d = d[k:]
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return nil
}

// Loaded is what LoadCheckpoint did.
type Loaded struct {
	// Meta is the file's __metadata__ (nil when it has none).
	Meta map[string]string
	// Dtypes counts the tensors read per storage dtype.
	Dtypes map[string]int
	// Kept lists the model's classification heads that the file lacks, in
	// layout order: they keep the values they had (their seeded
	// initialisation).
	Kept []string
}

// LoadCheckpoint initialises p (a model's Params) from the safetensors
// file at path. Every tensor of p must be in the file, with the same
// shape and dtype F32, BF16 or F16, except classification heads
// (IsClassHead), which keep their values when the file lacks them; the
// file may hold no other tensor. The whole header is checked before any
// value is written, so on a mismatch p is unchanged (only an I/O error
// while reading the data can leave it part-written). A mismatch is
// reported for the first tensor, in p's layout order, that differs: its
// name, the shape the model expects and the shape found (and the model
// the file was made for, when its metadata names one); then, if every
// tensor of p matched, the first tensor of the file (by position in the
// data) that the model does not have.
func LoadCheckpoint(path string, p *Params) (*Loaded, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	size := st.Size()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("checkpoint %s: "+format, append([]any{path}, a...)...)
	}
	if size < 8 {
		return nil, bad("%d bytes, too short for a safetensors header (truncated or not a safetensors file)", size)
	}
	var n [8]byte
	if _, err := io.ReadFull(f, n[:]); err != nil {
		return nil, bad("reading the header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if hlen > maxHeader || int64(hlen) > size-8 {
		return nil, bad("header length %d does not fit in the file's %d bytes (truncated or not a safetensors file)", hlen, size)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, bad("reading the header: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, bad("header is not a JSON object (not a safetensors file?): %w", err)
	}
	out := &Loaded{Dtypes: map[string]int{}}
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &out.Meta); err != nil {
			return nil, bad("__metadata__ is not an object of strings: %w", err)
		}
		delete(raw, "__metadata__")
	}
	made := ""
	if m := out.Meta["model"]; m != "" {
		made = fmt.Sprintf(" (the file was made for model %q)", m)
	}
	entries := map[string]stEntry{}
	for name, r := range raw {
		var e stEntry
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, bad("tensor %q: %w", name, err)
		}
		entries[name] = e
	}
	dataLen := size - 8 - int64(hlen)
	type job struct {
		t Tensor
		e stEntry
	}
	var jobs []job
	for _, t := range p.Tensors {
		e, ok := entries[t.Name]
		if !ok {
			if IsClassHead(t.Name) {
				out.Kept = append(out.Kept, t.Name)
				continue
			}
			return nil, bad("tensor %q (expected shape %v) is missing from the file%s", t.Name, t.Shape, made)
		}
		delete(entries, t.Name)
		if !slices.Equal(e.Shape, t.Shape) {
			return nil, bad("tensor %q: expected shape %v, found shape %v%s", t.Name, t.Shape, e.Shape, made)
		}
		es, ok := dtypeSize[e.Dtype]
		if !ok {
			return nil, bad("tensor %q has dtype %q; readable dtypes are F32, BF16 and F16", t.Name, e.Dtype)
		}
		if len(e.DataOffsets) != 2 || e.DataOffsets[0] < 0 || e.DataOffsets[1]-e.DataOffsets[0] != es*int64(t.Size()) {
			return nil, bad("tensor %q (%s, shape %v) has data_offsets %v, want a span of %d bytes", t.Name, e.Dtype, t.Shape, e.DataOffsets, es*int64(t.Size()))
		}
		if e.DataOffsets[1] > dataLen {
			return nil, bad("tensor %q ends at byte %d of a %d-byte data section (truncated file)", t.Name, e.DataOffsets[1], dataLen)
		}
		jobs = append(jobs, job{t, e})
	}
	if len(entries) > 0 {
		extra := make([]string, 0, len(entries))
		for name := range entries {
			extra = append(extra, name)
		}
		first := func(name string) int64 {
			if o := entries[name].DataOffsets; len(o) > 0 {
				return o[0]
			}
			return -1
		}
		sort.Slice(extra, func(i, j int) bool {
			if a, b := first(extra[i]), first(extra[j]); a != b {
				return a < b
			}
			return extra[i] < extra[j]
		})
		return nil, bad("tensor %q (shape %v) is not in the model; the file has %d tensors the model lacks%s",
			extra[0], entries[extra[0]].Shape, len(extra), made)
	}
	base := 8 + int64(hlen)
	buf := make([]byte, 1<<20)
	for _, j := range jobs {
		d := p.Slice(j.t)
		es := dtypeSize[j.e.Dtype]
		off := base + j.e.DataOffsets[0]
		for len(d) > 0 {
			k := min(int64(len(d)), int64(len(buf))/es)
			if _, err := f.ReadAt(buf[:es*k], off); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, bad("reading tensor %q: %w", j.t.Name, err)
			}
			widen(d[:k], buf, j.e.Dtype)
			d, off = d[k:], off+es*k
		}
		out.Dtypes[j.e.Dtype]++
	}
	return out, nil
}

// widen decodes len(dst) little-endian values of dtype (F32, BF16 or F16)
// from src into dst.
func widen(dst []float32, src []byte, dtype string) {
	for i := range dst {
		switch dtype {
		case F32:
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		case BF16:
			dst[i] = BF16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		case F16:
			dst[i] = F16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	}
}
