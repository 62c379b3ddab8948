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

// Safetensors checkpoints: an 8-byte little-endian header length, a JSON
// header mapping each tensor name to {"dtype", "shape", "data_offsets"}
// (offsets relative to the data section) plus an optional "__metadata__"
// object of strings, padded with spaces to a multiple of 8 bytes, then
// the raw little-endian data. Only F32 tensors are written and read.

// maxHeader bounds the JSON header a reader accepts (as the reference
// implementation does), so that a stray file is not read whole.
const maxHeader = 100 << 20

// SaveSafetensors writes p to path in the safetensors format, tensors in
// layout order, with meta as the header's __metadata__. It writes a
// temporary file in the same folder and renames it over path, so that a
// crash never leaves a partial checkpoint.
func SaveSafetensors(path string, p *Params, meta map[string]string) (err error) {
	var h strings.Builder
	h.WriteByte('{')
	if len(meta) > 0 {
		mj, err := json.Marshal(meta)
		if err != nil {
			return fmt.Errorf("safetensors %s: metadata: %w", path, err)
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
		end := off + 4*int64(t.Size())
		fmt.Fprintf(&h, `%s:{"dtype":"F32","shape":%s,"data_offsets":[%d,%d]}`, name, shape, off, end)
		off = end
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}

	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
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
		k := min(len(d), len(buf)/4)
		for i, v := range d[:k] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		if _, err := w.Write(buf[:4*k]); err != nil {
			return fmt.Errorf("safetensors %s: %w", path, err)
		}
		d = d[k:]
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	return nil
}

type stEntry struct {
	Dtype       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

// LoadSafetensors reads the safetensors file at path into p, whose
// tensors must match the file's by name, dtype F32 and shape (no tensor
// missing, none extra), and returns the file's metadata. The whole header
// is checked before any data is read, so on a mismatch p is unchanged
// (only an I/O error while reading the data can leave it part-written).
func LoadSafetensors(path string, p *Params) (meta map[string]string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	size := st.Size()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("safetensors %s: "+format, append([]any{path}, a...)...)
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
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &meta); err != nil {
			return nil, bad("__metadata__ is not an object of strings: %w", err)
		}
		delete(raw, "__metadata__")
	}
	dataLen := size - 8 - int64(hlen)
	entries := make([]stEntry, len(p.Tensors))
	for i, t := range p.Tensors {
		r, ok := raw[t.Name]
		if !ok {
			return nil, bad("no tensor %q", t.Name)
		}
		e := &entries[i]
		if err := json.Unmarshal(r, e); err != nil {
			return nil, bad("tensor %q: %w", t.Name, err)
		}
		if e.Dtype != "F32" {
			return nil, bad("tensor %q has dtype %q, want F32", t.Name, e.Dtype)
		}
		if !slices.Equal(e.Shape, t.Shape) {
			return nil, bad("tensor %q has shape %v, want %v", t.Name, e.Shape, t.Shape)
		}
		if len(e.DataOffsets) != 2 || e.DataOffsets[0] < 0 || e.DataOffsets[1]-e.DataOffsets[0] != 4*int64(t.Size()) {
			return nil, bad("tensor %q has data_offsets %v, want a span of %d bytes", t.Name, e.DataOffsets, 4*t.Size())
		}
		if e.DataOffsets[1] > dataLen {
			return nil, bad("tensor %q ends at byte %d of a %d-byte data section (truncated file)", t.Name, e.DataOffsets[1], dataLen)
		}
		delete(raw, t.Name)
	}
	if len(raw) > 0 {
		var extra []string
		for k := range raw {
			extra = append(extra, fmt.Sprintf("%q", k))
		}
		sort.Strings(extra)
		return nil, bad("%d tensors the model does not have: %s", len(extra), strings.Join(extra, ", "))
	}
	base := 8 + int64(hlen)
	buf := make([]byte, 1<<20)
	for i, t := range p.Tensors {
		d := p.Slice(t)
		off := base + entries[i].DataOffsets[0]
		for len(d) > 0 {
			k := min(len(d), len(buf)/4)
			if _, err := f.ReadAt(buf[:4*k], off); err != nil {
				if errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return nil, bad("reading tensor %q: %w", t.Name, err)
			}
			for j := range d[:k] {
				d[j] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*j:]))
			}
			d, off = d[k:], off+4*int64(k)
		}
	}
	return meta, nil
}
