package datasets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fbWriter writes flatbuffers front to back, so that every offset points
// forward, as flatbuffers requires; each table gets its own vtable just
// before it.
type fbWriter struct{ b []byte }

func (w *fbWriter) pad() {
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
}

// table writes a table whose slot i holds slots[i] (absent when nil;
// each present slot takes 4 bytes) and returns its position and each
// slot's position.
func (w *fbWriter) table(slots ...[]byte) (pos int, at []int) {
	w.pad()
	vt := len(w.b)
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(4+2*len(slots)))
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(4+4*len(slots)))
	off := 4
	for _, s := range slots {
		if s == nil {
			w.b = binary.LittleEndian.AppendUint16(w.b, 0)
			continue
		}
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(off))
		off += 4
	}
	w.pad()
	pos = len(w.b)
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(pos-vt))
	at = make([]int, len(slots))
	for i, s := range slots {
		if s == nil {
			continue
		}
		at[i] = len(w.b)
		w.b = append(w.b, s...)
		w.pad()
	}
	return pos, at
}

// vector writes a vector of n offsets and returns its position and the
// first element's.
func (w *fbWriter) vector(n int) (pos, first int) {
	w.pad()
	pos = len(w.b)
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(n))
	w.b = append(w.b, make([]byte, 4*n)...)
	return pos, pos + 4
}

func (w *fbWriter) str(s string) int {
	w.pad()
	pos := len(w.b)
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(len(s)))
	w.b = append(w.b, s...)
	w.b = append(w.b, 0)
	return pos
}

// ref makes the offset at position at point to target.
func (w *fbWriter) ref(at, target int) {
	binary.LittleEndian.PutUint32(w.b[at:], uint32(target-at))
}

var slot = []byte{0, 0, 0, 0}

func u8slot(v byte) []byte { return []byte{v, 0, 0, 0} }

// aliasedSchemaFile is a small Arrow file whose schema lists fields and
// metadata entries by offsets that all point to the same few tables: 64
// struct fields of 64 struct fields of 64 utf8 fields, each with the same
// 4096 metadata entries. Each vector is within the per-vector limits and
// the file is 18 KB, but walking it visits 266,304 fields and a billion
// metadata entries.
func aliasedSchemaFile(fanout, entries int) []byte {
	w := &fbWriter{b: make([]byte, 4)}
	footer, fat := w.table(nil, slot) // version, schema
	w.ref(0, footer)
	schema, sat := w.table(nil, slot) // endianness, fields
	w.ref(fat[1], schema)
	// Field slots: name, nullable, type_type, type, dictionary, children, custom_metadata.
	levels := make([][]int, 3)
	vec, first := w.vector(fanout)
	w.ref(sat[1], vec)
	parents := []int{}
	for k := 0; k < fanout; k++ {
		parents = append(parents, first+4*k)
	}
	var metaSlots, nameSlots, typeSlots []int
	for d := 0; d < 3; d++ {
		typ := byte(13) // Struct
		if d == 2 {
			typ = 5 // Utf8
		}
		children := slot
		if d == 2 {
			children = nil
		}
		fld, at := w.table(slot, nil, u8slot(typ), slot, nil, children, slot)
		for _, p := range parents {
			w.ref(p, fld)
		}
		levels[d] = at
		nameSlots = append(nameSlots, at[0])
		typeSlots = append(typeSlots, at[3])
		metaSlots = append(metaSlots, at[6])
		if d < 2 {
			vec, first := w.vector(fanout)
			w.ref(at[5], vec)
			parents = parents[:0]
			for k := 0; k < fanout; k++ {
				parents = append(parents, first+4*k)
			}
		}
	}
	typ, _ := w.table()
	for _, p := range typeSlots {
		w.ref(p, typ)
	}
	name := w.str("f")
	for _, p := range nameSlots {
		w.ref(p, name)
	}
	mvec, mfirst := w.vector(entries)
	for _, p := range metaSlots {
		w.ref(p, mvec)
	}
	kv, kat := w.table(slot, slot)
	for k := 0; k < entries; k++ {
		w.ref(mfirst+4*k, kv)
	}
	key := w.str("k")
	w.ref(kat[0], key)
	w.ref(kat[1], key)
	w.pad()
	var file bytes.Buffer
	file.WriteString("ARROW1\x00\x00")
	file.Write(w.b)
	file.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(w.b))))
	file.WriteString("ARROW1")
	return file.Bytes()
}

// TestAliasedSchemaIsRejectedQuickly: a schema whose field and metadata
// vectors point many times to the same tables is refused by its total
// size, not walked (issue 18: before, the first file below took minutes).
// The first file is also in the fuzz seed corpus (testdata/fuzz/FuzzOpen/aliased-schema).
func TestAliasedSchemaIsRejectedQuickly(t *testing.T) {
	for _, c := range []struct {
		fanout, entries int
		want            string
	}{
		{64, 4096, "at most 64 in all"},  // 266,304 fields walked before
		{3, 4096, "at most 4096 in all"}, // 39 fields, 159,744 entries walked before
	} {
		b := aliasedSchemaFile(c.fanout, c.entries)
		path := filepath.Join(t.TempDir(), "aliased.arrow")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		r, err := Open(path)
		if d := time.Since(start); d > time.Second {
			t.Errorf("fanout %d, %d entries: Open took %v", c.fanout, c.entries, d)
		}
		if err == nil {
			r.Close()
			t.Fatalf("fanout %d, %d entries: Open succeeded", c.fanout, c.entries)
		}
		if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("fanout %d, %d entries: %v, want an error naming the file and %q", c.fanout, c.entries, err, c.want)
		}
	}
	seed, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzOpen", "aliased-schema"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", aliasedSchemaFile(64, 4096)); string(seed) != want {
		t.Errorf("testdata/fuzz/FuzzOpen/aliased-schema is not aliasedSchemaFile(64, 4096)")
	}
}
