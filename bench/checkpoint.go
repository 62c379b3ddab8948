package bench

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/results"
)

// Mid-run checkpoints. A run saves its whole state at every task
// boundary and every Profile.CheckpointEvery wake steps, so that the same
// command, run again after the process was killed, resumes from the last
// checkpoint and ends bit-identical to a run that was never interrupted.
//
// A checkpoint is one safetensors file, OUT/checkpoints/<protocol>/
// <model>/<method>/seed<k>.ckpt (the run's result path under
// checkpoints/), written atomically (temporary file, fsync, rename,
// fsync of the folder):
//
//   - model/<tensor>: every parameter tensor, F32;
//   - optimizer/<buffer>: the optimiser's buffers (AdamW's m and v), F32;
//   - method: the method's state (methods.Checkpointer), U8;
//   - __metadata__: "format" (checkpointFormat), "run", "settings" (a
//     hash of the run's config, so that a checkpoint of other settings is
//     refused) and "state": the JSON of loopState — the protocol's
//     progress and partial matrices, the loop's step and token counts and
//     period figures, the optimiser's step count, env.RNG's PCG state,
//     and the wall time and peak memory so far.
//
// Each period's data stream is not saved: it is rebuilt from its seed
// and the batches of the steps already taken are skipped.

// checkpointFormat names the layout of a checkpoint file.
const checkpointFormat = "sleepbench-checkpoint/1"

// loopState is the part of a checkpoint that is not a tensor.
type loopState struct {
	Progress progress              `json:"progress"`
	At       int                   `json:"at"` // wake steps done in the period in progress
	Cur      *results.PeriodStats  `json:"cur,omitempty"`
	Steps    int                   `json:"steps"`
	Tokens   int64                 `json:"tokens"`
	Periods  []results.PeriodStats `json:"periods"`
	OptSteps int                   `json:"optimizer_steps"`
	RNG      []byte                `json:"rng"` // env.RNG's PCG (MarshalBinary)
	Wall     float64               `json:"wall_seconds"`
	PeakMem  uint64                `json:"peak_mem_bytes"`
}

// optimizerState is an optimiser whose state a checkpoint can hold
// (models.AdamW and models.SGD).
type optimizerState interface {
	State() models.OptimizerState
	SetState(models.OptimizerState) error
}

// checkpointable says why l cannot be checkpointed, or nil.
func checkpointable(l *Loop) error {
	if _, ok := l.Method.(methods.Checkpointer); !ok {
		return fmt.Errorf("method %T does not implement methods.Checkpointer", l.Method)
	}
	if _, ok := l.Opt.(optimizerState); !ok {
		return fmt.Errorf("optimiser %T has no State/SetState", l.Opt)
	}
	return nil
}

// settingsHash identifies the settings of a run: its config map, which
// lists every setting that changes its numbers.
func settingsHash(config map[string]string) string {
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%q=%q\n", k, config[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stTensor is one tensor of a checkpoint file.
type stTensor struct {
	name  string
	dtype string // "F32" or "U8"
	f32   []float32
	u8    []byte
}

func (t stTensor) bytes() int64 {
	if t.dtype == "U8" {
		return int64(len(t.u8))
	}
	return 4 * int64(len(t.f32))
}

// saveCheckpoint writes the state of l (run name, settings hash, wall
// seconds and peak memory so far) to path atomically.
func saveCheckpoint(path, name, settings string, l *Loop, wall float64, peak uint64) error {
	if err := checkpointable(l); err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	mstate, err := l.Method.(methods.Checkpointer).MarshalState()
	if err != nil {
		return fmt.Errorf("checkpoint %s: method state: %w", path, err)
	}
	rng, err := l.src.MarshalBinary()
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	ost := l.Opt.(optimizerState).State()
	st := loopState{
		Progress: l.prog, At: l.at, Cur: l.cur, Steps: l.Steps, Tokens: l.Tokens,
		Periods: l.Periods, OptSteps: ost.Steps, RNG: rng, Wall: wall, PeakMem: peak,
	}
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("checkpoint %s: loop state: %w", path, err)
	}
	var ts []stTensor
	p := l.Model.Params()
	for _, t := range p.Tensors {
		ts = append(ts, stTensor{name: "model/" + t.Name, dtype: "F32", f32: p.Slice(t)})
	}
	bufs := make([]string, 0, len(ost.Buffers))
	for b := range ost.Buffers {
		bufs = append(bufs, b)
	}
	sort.Strings(bufs)
	for _, b := range bufs {
		ts = append(ts, stTensor{name: "optimizer/" + b, dtype: "F32", f32: ost.Buffers[b]})
	}
	ts = append(ts, stTensor{name: "method", dtype: "U8", u8: mstate})
	meta := map[string]string{"format": checkpointFormat, "run": name, "settings": settings, "state": string(js)}
	return writeSafetensors(path, ts, meta)
}

// writeSafetensors writes ts and meta as a safetensors file atomically
// (results.WriteAtomic), so that a kill at any moment leaves the old file
// or the new.
func writeSafetensors(path string, ts []stTensor, meta map[string]string) error {
	var h strings.Builder
	h.WriteByte('{')
	mj, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	h.WriteString(`"__metadata__":`)
	h.Write(mj)
	var off int64
	for _, t := range ts {
		name, _ := json.Marshal(t.name)
		n := t.bytes()
		elems := n
		if t.dtype == "F32" {
			elems = n / 4
		}
		fmt.Fprintf(&h, `,%s:{"dtype":%q,"shape":[%d],"data_offsets":[%d,%d]}`, name, t.dtype, elems, off, off+n)
		off += n
	}
	h.WriteByte('}')
	for h.Len()%8 != 0 {
		h.WriteByte(' ')
	}
	err = results.WriteAtomic(path, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		var n8 [8]byte
		binary.LittleEndian.PutUint64(n8[:], uint64(h.Len()))
		w.Write(n8[:])
		w.WriteString(h.String())
		var buf [1 << 12]byte
		for _, t := range ts {
			if t.dtype == "U8" {
				w.Write(t.u8)
				continue
			}
			for d := t.f32; len(d) > 0; {
				k := min(len(d), len(buf)/4)
				for i, v := range d[:k] {
					binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
				}
				w.Write(buf[:4*k])
				d = d[k:]
			}
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// checkpointFile is a checkpoint read back: its metadata and tensors.
type checkpointFile struct {
	meta    map[string]string
	tensors map[string][]byte // raw little-endian data
	dtypes  map[string]string
}

// readSafetensors reads a safetensors file written by writeSafetensors,
// checking its header against the file's size.
func readSafetensors(path string) (*checkpointFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("checkpoint %s: %s (delete the file to start the run over)", path, fmt.Sprintf(format, args...))
	}
	if len(data) < 8 {
		return nil, bad("%d bytes, too short for a safetensors header", len(data))
	}
	hl := binary.LittleEndian.Uint64(data)
	if hl > uint64(len(data)-8) {
		return nil, bad("header of %d bytes in a file of %d", hl, len(data))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+hl], &header); err != nil {
		return nil, bad("header: %v", err)
	}
	body := data[8+hl:]
	cf := &checkpointFile{tensors: map[string][]byte{}, dtypes: map[string]string{}}
	for name, raw := range header {
		if name == "__metadata__" {
			if err := json.Unmarshal(raw, &cf.meta); err != nil {
				return nil, bad("__metadata__: %v", err)
			}
			continue
		}
		var e struct {
			Dtype       string  `json:"dtype"`
			Shape       []int64 `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, bad("tensor %s: %v", name, err)
		}
		size := map[string]int64{"F32": 4, "U8": 1}[e.Dtype]
		if size == 0 || len(e.Shape) != 1 || len(e.DataOffsets) != 2 {
			return nil, bad("tensor %s: dtype %s, shape %v: want a 1-D F32 or U8 tensor", name, e.Dtype, e.Shape)
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > int64(len(body)) || hi-lo != size*e.Shape[0] {
			return nil, bad("tensor %s: data offsets [%d, %d] for %d elements of %s in %d bytes of data", name, lo, hi, e.Shape[0], e.Dtype, len(body))
		}
		cf.tensors[name] = body[lo:hi]
		cf.dtypes[name] = e.Dtype
	}
	if cf.meta["format"] != checkpointFormat {
		return nil, bad("format %q, want %q", cf.meta["format"], checkpointFormat)
	}
	return cf, nil
}

// float32s copies tensor name (F32) into dst, which must have its length.
func (cf *checkpointFile) float32s(path, name string, dst []float32) error {
	raw, ok := cf.tensors[name]
	if !ok {
		return fmt.Errorf("checkpoint %s: no tensor %s", path, name)
	}
	if cf.dtypes[name] != "F32" || len(raw) != 4*len(dst) {
		return fmt.Errorf("checkpoint %s: tensor %s has %d bytes of %s, want %d F32 values", path, name, len(raw), cf.dtypes[name], len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return nil
}

// loadCheckpoint restores l (freshly opened for run name with the given
// settings hash) from the checkpoint at path and returns the wall seconds
// and peak memory it recorded. It fails, with l unusable, on a file of
// another run or other settings, or one that does not match the model.
func loadCheckpoint(path, name, settings string, l *Loop) (wall float64, peak uint64, err error) {
	if err := checkpointable(l); err != nil {
		return 0, 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	cf, err := readSafetensors(path)
	if err != nil {
		return 0, 0, err
	}
	if cf.meta["run"] != name {
		return 0, 0, fmt.Errorf("checkpoint %s belongs to run %q, not %q", path, cf.meta["run"], name)
	}
	if cf.meta["settings"] != settings {
		return 0, 0, fmt.Errorf("checkpoint %s was written with other settings than this run's (delete it to start the run over)", path)
	}
	var st loopState
	if err := json.Unmarshal([]byte(cf.meta["state"]), &st); err != nil {
		return 0, 0, fmt.Errorf("checkpoint %s: state: %w", path, err)
	}
	p := l.Model.Params()
	want := map[string]bool{"method": true}
	for _, t := range p.Tensors {
		want["model/"+t.Name] = true
		if err := cf.float32s(path, "model/"+t.Name, p.Slice(t)); err != nil {
			return 0, 0, err
		}
	}
	opt := l.Opt.(optimizerState)
	ost := opt.State()
	restored := models.OptimizerState{Steps: st.OptSteps, Buffers: map[string][]float32{}}
	for b := range ost.Buffers {
		key := "optimizer/" + b
		want[key] = true
		raw := cf.tensors[key]
		buf := make([]float32, len(raw)/4)
		if err := cf.float32s(path, key, buf); err != nil {
			return 0, 0, err
		}
		restored.Buffers[b] = buf
	}
	if err := opt.SetState(restored); err != nil {
		return 0, 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	var extra []string
	for k := range cf.tensors {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return 0, 0, fmt.Errorf("checkpoint %s: tensors this run does not have: %s", path, strings.Join(extra, ", "))
	}
	mraw, ok := cf.tensors["method"]
	if !ok {
		return 0, 0, fmt.Errorf("checkpoint %s: no tensor method", path)
	}
	if err := l.src.UnmarshalBinary(st.RNG); err != nil {
		return 0, 0, fmt.Errorf("checkpoint %s: rng: %w", path, err)
	}
	// The method's hooks may look at the tasks seen; restore runs before
	// any, with the model's layout in env, which is all UnmarshalState
	// may use.
	if err := l.Method.(methods.Checkpointer).UnmarshalState(l.env, append([]byte(nil), mraw...)); err != nil {
		return 0, 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	if (st.At > 0) != (st.Cur != nil) {
		return 0, 0, fmt.Errorf("checkpoint %s: %d steps into a period without its figures", path, st.At)
	}
	l.prog = st.Progress
	l.resumed = true
	l.resumeAt, l.resumeCur = st.At, st.Cur
	l.Steps, l.Tokens, l.Periods = st.Steps, st.Tokens, st.Periods
	return st.Wall, st.PeakMem, nil
}

// checkpointPath is where the checkpoint of the job led by s lives:
// OUT/checkpoints/ and s's result path below runs/, ending .ckpt.
func (r *Runner) checkpointPath(s RunSpec) string {
	rel := strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(s.File), "runs/"), ".json")
	return filepath.Join(r.Out, "checkpoints", filepath.FromSlash(rel)+".ckpt")
}

// removeCheckpoint deletes the checkpoint at path and the folders above
// it, up to OUT/checkpoints, that are left empty.
func (r *Runner) removeCheckpoint(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	// A process killed while writing a checkpoint leaves its temporary
	// file (see saveCheckpoint); the run that finishes removes them.
	if err := results.RemoveTemps(path); err != nil {
		return err
	}
	root := filepath.Join(r.Out, "checkpoints")
	for dir := filepath.Dir(path); strings.HasPrefix(dir, root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty (another run's files), or gone
			break
		}
		if dir == root {
			break
		}
	}
	return nil
}
