package methods

import (
	"fmt"
	"math"
	"sort"

	"github.com/sleepbench/sleepbench/models"
)

// derppDefaults are DER++'s documented settings.
//
//   - buffer: rows held by the reservoir (Algorithm R over every row of
//     the training stream), each with the outputs it had when stored.
//   - alpha: α, the weight of the logit-matching loss on memory rows.
//   - beta: β, the weight of the cross-entropy on other memory rows at
//     their labels; beta=0 is DER.
//   - topk: a target whose head has at most topk outputs keeps all its
//     logits (every classification head here); a wider one (a language
//     model's vocabulary) keeps its topk most likely tokens' log-
//     probabilities and the log of the rest of the mass.
//   - replay_rows: memory rows of each of the two replay batches per step;
//     0 means as many as the step's batch.
var derppDefaults = map[string]string{
	"buffer":      "1000",
	"alpha":       "0.5",
	"beta":        "0.5",
	"topk":        "32",
	"replay_rows": "0",
}

// derpp is dark experience replay++ (Buzzega et al. 2020). Every row of
// the training stream is offered to a reservoir, which keeps the row and
// the model's outputs on it at that moment. From then on each step adds
// two losses on memory rows drawn uniformly (before the step's own rows
// are offered, so a row is never replayed in the step it arrives):
//
//	α · match(outputs now, outputs stored)   on one draw of replay_rows rows
//	β · cross-entropy at the stored labels   on a second, independent draw
//
// For a target whose head has at most topk outputs, match is the paper's
// mean squared error between the logits, averaged over every logit of the
// draw. Storing all the logits of a language model (a vocabulary of 8,192
// to 50,257 per position) would cost 32–200 KB per position, so for a
// wider head the stored outputs are the topk most likely tokens' log-
// probabilities plus the log of the remaining mass, and match is the
// cross-entropy of those k+1 bins: −Σ_b P_b·log Q_b, with Q the model's
// current probabilities summed the same way (its gradient on logit j is
// q_j − P_b·q_j/Q_b, b the bin of token j). A buffered row then costs, on
// top of its tokens, topk·8 + 4 bytes per target position (260 bytes at
// the default topk 32, against 32,768 for the full logits of an
// 8,192-token vocabulary); a classification row costs 4 bytes per logit.
//
// Memory: the buffer's rows and outputs, and one parameter-sized buffer
// (the extra gradient). Compute per step beside naive's: one forward and
// backward pass of each replay draw, and one forward pass of the rows
// entering the buffer (to record their outputs).
type derpp struct {
	Base
	res                *Reservoir[derRow]
	alpha, beta        float64
	topk, rows         int
	task               int
	ex                 extra
	matchSum, ceSum    float64
	replaySteps, bytes int
}

// derRow is one buffered row with its outputs, target by target.
type derRow struct {
	row   *models.Batch
	shape Shape
	outs  []derOut
}

// derOut is one target's stored outputs: all the logits (ids nil), or
// the top k tokens' log-probabilities and the log of the rest's mass.
type derOut struct {
	vals []float32
	ids  []int32
	rest float32
}

func (o derOut) bytes() int { return 4*len(o.vals) + 4*len(o.ids) + 4*btoi(o.ids != nil) }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func init() {
	Register(Info{
		Name:     "derpp",
		Summary:  "dark experience replay++: reservoir of rows with their outputs; α·logit matching + β·cross-entropy on memory rows",
		Defaults: derppDefaults,
		Label:    "DER++",
		Rank:     23,
		Baseline: "naive",
		Buffered: true,
		Cost:     "memory: the buffer's rows and outputs (4 B a logit; topk·8+4 B a position for wide heads) +1P; compute +2 forward+backward of replay_rows memory rows +1 forward of the rows entering the buffer a step",
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, derppDefaults)
			d := &derpp{
				res:   NewReservoir[derRow](s.Int("buffer", 1, math.MaxInt32)),
				alpha: s.Float("alpha", 0, math.Inf(1)),
				beta:  s.Float("beta", 0, math.Inf(1)),
				topk:  s.Int("topk", 1, 1<<20),
				rows:  s.Int("replay_rows", 0, math.MaxInt32),
			}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return d, nil
		},
	})
}

// BeginTask starts the task's tallies.
func (d *derpp) BeginTask(_ *Env, t TaskData) error {
	d.task = t.Index()
	d.matchSum, d.ceSum, d.replaySteps = 0, 0, 0
	return nil
}

// draw returns up to n distinct buffered rows of shape s, uniformly.
func (d *derpp) draw(env *Env, s Shape, n int) []int {
	var idx []int
	for i, e := range d.res.Items() {
		if e.shape == s {
			idx = append(idx, i)
		}
	}
	if len(idx) <= n {
		return idx
	}
	for i := 0; i < n; i++ {
		j := i + env.RNG.IntN(len(idx)-i)
		idx[i], idx[j] = idx[j], idx[i]
	}
	return idx[:n]
}

func (d *derpp) batch(idx []int) (*models.Batch, []*derRow, error) {
	rows := make([]*models.Batch, len(idx))
	ents := make([]*derRow, len(idx))
	for k, i := range idx {
		ents[k] = &d.res.Items()[i]
		rows[k] = ents[k].row
	}
	b, err := Concat(rows...)
	return b, ents, err
}

// TrainBatch computes the replay gradients for AddPenalty, then offers
// b's rows (with their current outputs) to the reservoir; b is trained on
// unchanged.
func (d *derpp) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	ot, err := outputTrainer(env, "derpp")
	if err != nil {
		return nil, err
	}
	g := env.Model.Grads()
	d.ex.reset(g.Len())
	n := d.rows
	if n == 0 {
		n = b.B
	}
	s := ShapeOf(b)
	if d.alpha > 0 {
		if idx := d.draw(env, s, n); len(idx) > 0 {
			mb, ents, err := d.batch(idx)
			if err != nil {
				return nil, err
			}
			loss, err := ot.ForwardOutputs(mb, models.ForwardOptions{}, true, derMatch(ents))
			if err != nil {
				return nil, fmt.Errorf("derpp: logit matching on %d memory rows: %w", mb.B, err)
			}
			d.ex.add(g.Data, d.alpha, loss)
			d.matchSum += loss
			d.replaySteps++
		}
	}
	if d.beta > 0 {
		if idx := d.draw(env, s, n); len(idx) > 0 {
			mb, _, err := d.batch(idx)
			if err != nil {
				return nil, err
			}
			loss, err := env.Model.ForwardBackward(mb, models.ForwardOptions{})
			if err != nil {
				return nil, fmt.Errorf("derpp: cross-entropy on %d memory rows: %w", mb.B, err)
			}
			d.ex.add(g.Data, d.beta, loss)
			d.ceSum += loss
		}
	}
	return b, d.store(env, ot, b)
}

// store offers b's rows to the reservoir, recording the outputs of those
// that enter with one clean forward pass.
func (d *derpp) store(env *Env, ot models.OutputTrainer, b *models.Batch) error {
	type put struct{ slot, row int }
	var puts []put
	for r := 0; r < b.B; r++ {
		if slot, ok := d.res.Offer(env.RNG); ok {
			puts = append(puts, put{slot, r})
		}
	}
	if len(puts) == 0 {
		return nil
	}
	rows := make([]*models.Batch, len(puts))
	for i, p := range puts {
		rows[i] = Row(b, p.row, d.task)
	}
	kept, err := Concat(rows...)
	if err != nil {
		return err
	}
	outs := make([][]derOut, len(puts))
	_, err = ot.ForwardOutputs(kept, models.ForwardOptions{}, false, func(o *models.Outputs, _ []float32) float64 {
		for i, r := range o.Row {
			z := o.Logits[i*o.Width : i*o.Width+o.Classes[i]]
			outs[r] = append(outs[r], d.record(z))
		}
		return 0
	})
	if err != nil {
		return fmt.Errorf("derpp: outputs of rows entering the buffer: %w", err)
	}
	for i, p := range puts {
		if old := d.res.Items(); p.slot < len(old) {
			d.bytes -= outBytes(old[p.slot].outs)
		}
		d.bytes += outBytes(outs[i])
		d.res.Put(p.slot, derRow{row: rows[i], shape: ShapeOf(b), outs: outs[i]})
	}
	return nil
}

func outBytes(os []derOut) int {
	n := 0
	for _, o := range os {
		n += o.bytes()
	}
	return n
}

// record keeps z whole when it has at most topk logits, else its top k
// log-probabilities and the log of the rest's mass.
func (d *derpp) record(z []float32) derOut {
	if len(z) <= d.topk {
		return derOut{vals: append([]float32(nil), z...)}
	}
	ids := topK(z, d.topk)
	lse := logSumExp(z, nil)
	o := derOut{ids: ids, vals: make([]float32, len(ids))}
	for k, id := range ids {
		o.vals[k] = z[id] - float32(lse)
	}
	o.rest = float32(logSumExp(z, ids) - lse)
	return o
}

// topK returns the indices of the k largest values of z, largest first
// (ties to the lower index).
func topK(z []float32, k int) []int32 {
	idx := make([]int32, len(z))
	for i := range idx {
		idx[i] = int32(i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return z[idx[a]] > z[idx[b]] })
	return append([]int32(nil), idx[:k]...)
}

// logSumExp is log Σ exp(z_j) over j not in skip (−Inf when none is left).
func logSumExp(z []float32, skip []int32) float64 {
	out := make(map[int32]bool, len(skip))
	for _, s := range skip {
		out[s] = true
	}
	mx := math.Inf(-1)
	for j, v := range z {
		if !out[int32(j)] {
			mx = math.Max(mx, float64(v))
		}
	}
	if math.IsInf(mx, -1) {
		return mx
	}
	var s float64
	for j, v := range z {
		if !out[int32(j)] {
			s += math.Exp(float64(v) - mx)
		}
	}
	return mx + math.Log(s)
}

// derMatch is the logit-matching OutputLoss against the stored outputs of
// ents (row k of the batch is ents[k]): the mean squared error over every
// stored logit, plus, for targets stored as top k, the (k+1)-bin
// cross-entropy averaged over those targets.
func derMatch(ents []*derRow) models.OutputLoss {
	return func(o *models.Outputs, dz []float32) float64 {
		var sq, ce float64
		var nel, ntop int
		next := make([]int, len(ents))
		type ref struct {
			i int
			s derOut
		}
		refs := make([]ref, 0, len(o.Row))
		for i, r := range o.Row {
			e := ents[r]
			if next[r] >= len(e.outs) {
				continue // cannot happen: the rows and their targets are those stored
			}
			s := e.outs[next[r]]
			next[r]++
			refs = append(refs, ref{i, s})
			if s.ids == nil {
				nel += len(s.vals)
			} else {
				ntop++
			}
		}
		for _, rf := range refs {
			lo := rf.i * o.Width
			z := o.Logits[lo : lo+o.Classes[rf.i]]
			s := rf.s
			if s.ids == nil {
				for k, v := range s.vals {
					diff := float64(z[k] - v)
					sq += diff * diff
					if dz != nil {
						dz[lo+k] = float32(2 * diff / float64(nel))
					}
				}
				continue
			}
			lse := logSumExp(z, nil)
			lrest := logSumExp(z, s.ids) - lse
			prest := math.Exp(float64(s.rest))
			ce -= prest * lrest
			in := make(map[int32]bool, len(s.ids))
			for k, id := range s.ids {
				in[id] = true
				ce -= math.Exp(float64(s.vals[k])) * (float64(z[id]) - lse)
			}
			if dz == nil {
				continue
			}
			// q_j − P_b·q_j/Q_b: for a kept token Q_b = q_j, so q_j − P_j.
			restScale := 1 - prest/math.Exp(lrest)
			if math.IsInf(lrest, -1) {
				restScale = 1
			}
			for j, v := range z {
				q := math.Exp(float64(v) - lse)
				if !in[int32(j)] {
					dz[lo+j] = float32(q * restScale / float64(ntop))
				}
			}
			for k, id := range s.ids {
				q := math.Exp(float64(z[id]) - lse)
				dz[lo+int(id)] = float32((q - math.Exp(float64(s.vals[k]))) / float64(ntop))
			}
		}
		var loss float64
		if nel > 0 {
			loss += sq / float64(nel)
		}
		if ntop > 0 {
			loss += ce / float64(ntop)
		}
		return loss
	}
}

// AddPenalty adds the replay gradients of this step.
func (d *derpp) AddPenalty(env *Env) float64 { return d.ex.apply(env.Model.Grads().Data) }

// EndTask logs the task's replay losses and what the buffer holds.
func (d *derpp) EndTask(env *Env, t TaskData) error {
	if d.replaySteps > 0 {
		env.Logf("derpp: task %d (%s): mean match loss %.4g, mean memory cross-entropy %.4g over %d steps",
			t.Index(), t.Name(), d.matchSum/float64(d.replaySteps), d.ceSum/float64(d.replaySteps), d.replaySteps)
	}
	env.Logf("derpp: buffer %d rows, %d bytes of stored outputs (%.0f a row)", d.res.Len(), d.bytes, float64(d.bytes)/float64(max(d.res.Len(), 1)))
	return nil
}

// OutputBytes is the size of the outputs stored with the buffered rows.
func (d *derpp) OutputBytes() int { return d.bytes }

// MarshalState saves the reservoir (its count and every row with its
// stored outputs), the current task, the task's replay tallies, and a
// replay gradient not yet applied.
func (d *derpp) MarshalState() ([]byte, error) {
	w := newStateWriter("derpp/1")
	writeReservoir(w, d.res, func(e derRow) {
		w.storedRow(e.row, e.shape)
		length(w, e.outs)
		for _, o := range e.outs {
			w.Float32s(o.vals)
			w.Int32s(o.ids)
			w.Uint64(uint64(math.Float32bits(o.rest)))
		}
	})
	w.Int(d.task)
	w.Float64(d.matchSum)
	w.Float64(d.ceSum)
	w.Int(d.replaySteps)
	w.extra(&d.ex)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved; env.Model gives the
// number of parameters. The size of the stored outputs is recounted.
func (d *derpp) UnmarshalState(env *Env, data []byte) error {
	r := newStateReader(data, "derpp/1")
	bytes := 0
	items, seen := readReservoir(r, d.res, func(i int) derRow {
		e := derRow{}
		e.row, e.shape = r.storedRow(i)
		k := r.count(1)
		if k >= 0 {
			e.outs = make([]derOut, 0, k)
		}
		for j := 0; j < k && r.err == nil; j++ {
			o := derOut{vals: r.Float32s(), ids: r.Int32s()}
			o.rest = math.Float32frombits(uint32(r.Uint64()))
			if r.err == nil && o.ids != nil && len(o.ids) != len(o.vals) {
				r.err = fmt.Errorf("saved buffer row %d, target %d: %d top-k tokens but %d log-probabilities", i, j, len(o.ids), len(o.vals))
			}
			for _, id := range o.ids {
				if r.err == nil && id < 0 {
					r.err = fmt.Errorf("saved buffer row %d, target %d: token %d", i, j, id)
				}
			}
			e.outs = append(e.outs, o)
		}
		bytes += outBytes(e.outs)
		return e
	})
	task := r.Int()
	matchSum, ceSum := r.Float64(), r.Float64()
	replaySteps := r.Int()
	ex := r.extra(env.Model.Params().Len())
	if err := r.Err(); err != nil {
		return stateErr("derpp", err)
	}
	d.res.seen, d.res.items, d.bytes = seen, items, bytes
	d.task, d.matchSum, d.ceSum, d.replaySteps, d.ex = task, matchSum, ceSum, replaySteps, ex
	return nil
}
