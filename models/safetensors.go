package models

// Safetensors checkpoints: an 8-byte little-endian header length, a JSON
// header mapping each tensor name to {"dtype", "shape", "data_offsets"}
// (offsets relative to the data section) plus an optional "__metadata__"
// object of strings, padded with spaces to a multiple of 8 bytes, then
// the raw little-endian data. SaveCheckpoint writes F32 or BF16 tensors,
// LoadCheckpoint reads F32, BF16 and F16 (init.go).

// maxHeader bounds the JSON header a reader accepts (as the reference
// implementation does), so that a stray file is not read whole.
const maxHeader = 100 << 20

type stEntry struct {
	Dtype       string  `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}
