package datasets

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A minimal flatbuffers decoder for the footer checks (footer.go): every
// read is bounds-checked and returns errBounds instead of panicking.

// fbTable is a flatbuffers table: b is the whole buffer, pos the table's
// start, vt its vtable and nvt the vtable's length in bytes.
type fbTable struct {
	b           []byte
	pos, vt, nv int
}

var errBounds = errors.New("offset outside the buffer")

func u32(b []byte, p int) (int, error) {
	if p < 0 || p > len(b)-4 {
		return 0, errBounds
	}
	return int(binary.LittleEndian.Uint32(b[p:])), nil
}

// root is the table the buffer's first word points to.
func root(b []byte) (fbTable, error) {
	p, err := u32(b, 0)
	if err != nil {
		return fbTable{}, err
	}
	return tableAt(b, p)
}

func tableAt(b []byte, pos int) (fbTable, error) {
	so, err := u32(b, pos)
	if err != nil {
		return fbTable{}, err
	}
	vt := pos - int(int32(uint32(so)))
	if vt < 0 || vt > len(b)-4 {
		return fbTable{}, errBounds
	}
	nv := int(binary.LittleEndian.Uint16(b[vt:]))
	if nv < 4 || nv%2 != 0 || vt+nv > len(b) {
		return fbTable{}, errors.New("bad vtable")
	}
	tl := int(binary.LittleEndian.Uint16(b[vt+2:]))
	if pos+tl > len(b) {
		return fbTable{}, errBounds
	}
	return fbTable{b: b, pos: pos, vt: vt, nv: nv}, nil
}

// field is the absolute position of field i, or 0 when it is absent.
func (t fbTable) field(i int) (int, error) {
	o := 4 + 2*i
	if o+2 > t.nv {
		return 0, nil
	}
	v := int(binary.LittleEndian.Uint16(t.b[t.vt+o:]))
	if v == 0 {
		return 0, nil
	}
	return t.pos + v, nil
}

func (t fbTable) u8(i int) (byte, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	if p >= len(t.b) {
		return 0, errBounds
	}
	return t.b[p], nil
}

func (t fbTable) i64(i int) (int64, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	if p > len(t.b)-8 {
		return 0, errBounds
	}
	return int64(binary.LittleEndian.Uint64(t.b[p:])), nil
}

// at follows the offset stored at position p to a table.
func (t fbTable) at(p int) (fbTable, error) {
	o, err := u32(t.b, p)
	if err != nil {
		return fbTable{}, err
	}
	return tableAt(t.b, p+o)
}

// table is the sub-table in field i; ok is false when absent.
func (t fbTable) table(i int) (fbTable, bool, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return fbTable{}, false, err
	}
	s, err := t.at(p)
	return s, err == nil, err
}

// vector returns the start and length of the vector in field i, whose
// elements are elem bytes each; an absent vector is empty.
func (t fbTable) vector(i, elem int) (start, n int, err error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	o, err := u32(t.b, p)
	if err != nil {
		return 0, 0, err
	}
	n, err = u32(t.b, p+o)
	if err != nil {
		return 0, 0, err
	}
	start = p + o + 4
	if n < 0 || n > (len(t.b)-start)/elem {
		return 0, 0, fmt.Errorf("vector of %d elements overruns the buffer", n)
	}
	return start, n, nil
}

// str returns the string in field i ("" when absent).
func (t fbTable) str(i int) (string, error) {
	start, n, err := t.vector(i, 1)
	if err != nil {
		return "", err
	}
	return string(t.b[start : start+n]), nil
}
