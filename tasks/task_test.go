package tasks

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/models"
)

// write makes dir/tok/dom-{train,validation,test}.arrow, each holding
// rows, with batchRows rows per record batch.
func write(t testing.TB, dir string, meta datasets.Meta, rows []datasets.Row, batchRows int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, meta.Tokenizer), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sp := range []string{datasets.Train, datasets.Validation, datasets.Test} {
		m := meta
		m.Split = sp
		w, err := datasets.Create(datasets.FilePath(dir, m.Tokenizer, m.Domain, sp), m)
		if err != nil {
			t.Fatal(err)
		}
		w.SetBatchRows(batchRows)
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func open(t testing.TB, spec Spec, idx int) *Task {
	t.Helper()
	task, err := Open(spec, idx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { task.Close() })
	return task
}

func lmRows(ids ...[]int32) []datasets.Row {
	var rows []datasets.Row
	for _, r := range ids {
		rows = append(rows, datasets.Row{Text: "x", InputIDs: r, Label: -1})
	}
	return rows
}

// TestWindows checks NextToken windows by hand, with and without a
// separator, on files of one row per record batch (so windows cross
// record batches).
func TestWindows(t *testing.T) {
	rows := lmRows([]int32{1, 2, 3}, []int32{4, 5}, []int32{6, 7, 8, 9})
	for _, c := range []struct {
		name    string
		extra   map[string]string
		windows [][]int32
	}{
		// 1 2 3 4 5 6 7 8 9: windows of Ctx+1 = 3.
		{"no separator", nil, [][]int32{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}},
		// 1 2 3 0 4 5 0 6 7 8 9: the last two tokens make no window.
		{"separator 0", map[string]string{datasets.ExtraSepID: "0"}, [][]int32{{1, 2, 3}, {0, 4, 5}, {0, 6, 7}}},
	} {
		dir := t.TempDir()
		write(t, dir, datasets.Meta{Domain: "lm", Tokenizer: "tok", VocabSize: 10, Extra: c.extra}, rows, 1)
		task := open(t, Spec{Dir: dir, Domain: "lm", Tokenizer: "tok", Objective: models.NextToken, Ctx: 2}, 3)
		if task.NumTrain() != len(c.windows) {
			t.Fatalf("%s: %d windows, want %d", c.name, task.NumTrain(), len(c.windows))
		}
		bs, err := task.Test(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 1 {
			t.Fatalf("%s: %d test batches, want 1", c.name, len(bs))
		}
		b := bs[0]
		var wantIn, wantTgt []int32
		for _, w := range c.windows {
			wantIn = append(wantIn, w[:2]...)
			wantTgt = append(wantTgt, w[1:]...)
		}
		want := &models.Batch{Objective: models.NextToken, B: 3, T: 2, Inputs: wantIn, Targets: wantTgt, Task: []int{3, 3, 3}}
		if diff := cmp.Diff(want, b); diff != "" {
			t.Errorf("%s: test batch (-want +got):\n%s", c.name, diff)
		}
		// One epoch of the training stream visits each window once.
		st := task.Train(rand.New(rand.NewPCG(1, 2)), 1)
		seen := map[string]int{}
		for i := 0; i < 3; i++ {
			b, err := st.Next()
			if err != nil {
				t.Fatal(err)
			}
			seen[fmtWindow(b.Inputs, b.Targets)]++
		}
		// Sample draws distinct windows when it can; Validation n rows.
		smp, err := task.Sample(rand.New(rand.NewPCG(3, 3)), 3)
		if err != nil {
			t.Fatal(err)
		}
		distinct := map[string]bool{}
		for i := 0; i < 3; i++ {
			distinct[fmtWindow(smp.Inputs[2*i:2*i+2], smp.Targets[2*i:2*i+2])] = true
		}
		if len(distinct) != 3 {
			t.Errorf("%s: Sample(3) of 3 windows drew %d distinct", c.name, len(distinct))
		}
		if v, err := task.Validation(rand.New(rand.NewPCG(3, 3)), 5); err != nil || v.B != 5 || len(v.Inputs) != 10 {
			t.Errorf("%s: Validation(5) = %+v, %v", c.name, v, err)
		}
		for _, w := range c.windows {
			if seen[fmtWindow(w[:2], w[1:])] != 1 {
				t.Errorf("%s: epoch visits window %v %d times, want once (%v)", c.name, w, seen[fmtWindow(w[:2], w[1:])], seen)
			}
		}
	}
}

func fmtWindow(in, tgt []int32) string { return fmt.Sprint(in, tgt) }

// TestWindowsLarge checks windows against the packed stream on a file of
// many record batches, with a cache far smaller than the file (so the
// epoch is shuffled in groups): every window is the right slice of the
// stream, and an epoch is a permutation.
func TestWindowsLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var rows []datasets.Row
	var stream []int32
	for i := 0; i < 500; i++ {
		ids := make([]int32, 1+rng.IntN(40))
		for k := range ids {
			ids[k] = int32(1 + rng.IntN(999))
		}
		if i > 0 {
			stream = append(stream, 0)
		}
		stream = append(stream, ids...)
		rows = append(rows, datasets.Row{InputIDs: ids, Label: -1})
	}
	dir := t.TempDir()
	write(t, dir, datasets.Meta{Domain: "big", Tokenizer: "tok", VocabSize: 1000, Extra: map[string]string{"sep_id": "0"}}, rows, 7)
	const ctx = 16
	task := open(t, Spec{Dir: dir, Domain: "big", Tokenizer: "tok", Objective: models.NextToken, Ctx: ctx}, 0)
	if want := len(stream) / (ctx + 1); task.NumTrain() != want {
		t.Fatalf("%d windows, want %d", task.NumTrain(), want)
	}
	// A limit of 200 tokens holds a few record batches of the ~7,000.
	for _, limit := range []int64{200, CacheTokens} {
		task.train.setLimit(limit)
		order := task.train.epoch(rand.New(rand.NewPCG(1, uint64(limit))))
		seen := make([]bool, task.NumTrain())
		for _, k := range order {
			if seen[k] {
				t.Fatalf("limit %d: window %d twice in an epoch", limit, k)
			}
			seen[k] = true
		}
		if len(order) != task.NumTrain() {
			t.Fatalf("limit %d: epoch of %d windows, want %d", limit, len(order), task.NumTrain())
		}
		b, err := task.batch(task.train, order[:100], nil, nil, MaskRate)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range order[:100] {
			w := stream[k*(ctx+1) : (k+1)*(ctx+1)]
			if diff := cmp.Diff(w[:ctx], b.Inputs[i*ctx:(i+1)*ctx]); diff != "" {
				t.Fatalf("limit %d: window %d inputs (-want +got):\n%s", limit, k, diff)
			}
			if diff := cmp.Diff(w[1:], b.Targets[i*ctx:(i+1)*ctx]); diff != "" {
				t.Fatalf("limit %d: window %d targets (-want +got):\n%s", limit, k, diff)
			}
		}
		if task.train.held > max(limit, 40) && task.train.lru.Len() > 1 {
			t.Errorf("limit %d: cache holds %d tokens", limit, task.train.held)
		}
	}
}

// mlmTask writes a bert-uncased file of rows of random ids in
// [1000, 30000) with every 10th id the pad id 0, and opens it.
func mlmTask(t testing.TB, ctx int, extra map[string]string) *Task {
	rng := rand.New(rand.NewPCG(3, 4))
	var rows []datasets.Row
	for i := 0; i < 2000; i++ {
		ids := make([]int32, 20+rng.IntN(100))
		for k := range ids {
			ids[k] = int32(1000 + rng.IntN(29000))
			if k%10 == 9 {
				ids[k] = DefaultPad
			}
		}
		rows = append(rows, datasets.Row{InputIDs: ids, Label: -1})
	}
	dir := t.TempDir()
	write(t, dir, datasets.Meta{Domain: "mlm", Tokenizer: "bert-uncased", VocabSize: 30522, Extra: extra}, rows, 300)
	return open(t, Spec{Dir: dir, Domain: "mlm", Tokenizer: "bert-uncased", Objective: models.Masked, Ctx: ctx, EvalRows: 50}, 1)
}

// TrainMaskRate changes the training draws only: test batches keep
// MaskRate, so scores compare across training rates.
func TestTrainMaskRate(t *testing.T) {
	share := func(bs ...*models.Batch) float64 {
		var tg, n int
		for _, b := range bs {
			for _, v := range b.Targets {
				n++
				if v >= 0 {
					tg++
				}
			}
		}
		return float64(tg) / float64(n)
	}
	base := mlmTask(t, 42, nil)
	spec := base.Spec
	spec.TrainMaskRate = 0.4
	task := open(t, spec, 1)
	b, err := task.Train(rand.New(rand.NewPCG(5, 6)), 400).Next()
	if err != nil {
		t.Fatal(err)
	}
	// 40 of 42 positions are candidates, minus about one pad in ten.
	if got := share(b); got < 0.31 || got > 0.36 {
		t.Errorf("training draws: %.3f of positions are targets, want about 0.4·40/42·0.9 = 0.34", got)
	}
	for _, tk := range []*Task{base, task} {
		test, err := tk.Test(50)
		if err != nil {
			t.Fatal(err)
		}
		if got := share(test...); got < 0.11 || got > 0.15 {
			t.Errorf("TrainMaskRate %v: test batches have %.3f targets, want MaskRate's 0.13", tk.Spec.TrainMaskRate, got)
		}
	}
	bad := spec
	bad.TrainMaskRate = 1.5
	if _, err := Open(bad, 1); err == nil || !strings.Contains(err.Error(), "TrainMaskRate") {
		t.Errorf("TrainMaskRate 1.5: error %v", err)
	}
}

// TestMasking checks the masking on 40,000 rows of 42 positions: each
// row chooses floor or ceil of 0.15 x its non-special positions, 0.15 of
// them overall within 0.002; of the chosen, [MASK] / random / kept are
// 0.8 / 0.1 / 0.1 within 0.01 (over 200,000 chosen positions the
// standard error is below 0.001); [CLS], [SEP] (also between packed
// rows) and [PAD] are never chosen.
func TestMasking(t *testing.T) {
	for _, extra := range []map[string]string{nil, {datasets.ExtraSepID: "102"}} {
		task := mlmTask(t, 42, extra)
		st := task.Train(rand.New(rand.NewPCG(5, 6)), 100)
		var cand, chosen, masked, random, kept int
		for step := 0; step < 400; step++ {
			b, err := st.Next()
			if err != nil {
				t.Fatal(err)
			}
			if b.B != 100 || b.T != 42 || len(b.Lengths) != 100 || b.Lengths[0] != 42 {
				t.Fatalf("batch shape B=%d T=%d lengths %v", b.B, b.T, b.Lengths)
			}
			for i := 0; i < b.B; i++ {
				in, tgt := b.Inputs[i*b.T:(i+1)*b.T], b.Targets[i*b.T:(i+1)*b.T]
				if in[0] != DefaultCls || in[b.T-1] != DefaultSep {
					t.Fatalf("row %d not wrapped in [CLS] ... [SEP]: %v", i, in)
				}
				rowCand, rowChosen := 0, 0
				for p := range in {
					orig := in[p]
					if tgt[p] >= 0 {
						orig = tgt[p]
					}
					special := orig == DefaultCls || orig == DefaultSep || orig == DefaultPad
					if special && tgt[p] != -1 {
						t.Fatalf("special id %d at position %d chosen", orig, p)
					}
					if special {
						continue
					}
					rowCand++
					if tgt[p] < 0 {
						continue
					}
					rowChosen++
					switch {
					case in[p] == DefaultMask:
						masked++
					case in[p] == tgt[p]:
						kept++
					default:
						random++
					}
				}
				if lo := int(0.15 * float64(rowCand)); rowChosen != max(1, lo) && rowChosen != lo+1 {
					t.Fatalf("row with %d candidates: %d chosen, want %d or %d", rowCand, rowChosen, lo, lo+1)
				}
				cand += rowCand
				chosen += rowChosen
			}
		}
		rate := float64(chosen) / float64(cand)
		fm, fr, fk := float64(masked)/float64(chosen), float64(random)/float64(chosen), float64(kept)/float64(chosen)
		t.Logf("sep %v: %d candidates, %.4f chosen; of those %.4f [MASK], %.4f random, %.4f kept", extra, cand, rate, fm, fr, fk)
		if math.Abs(rate-0.15) > 0.002 {
			t.Errorf("chosen rate %.4f, want 0.15 ± 0.002", rate)
		}
		if fm < 0.79 || fm > 0.81 || fr < 0.09 || fr > 0.11 || fk < 0.09 || fk > 0.11 {
			t.Errorf("[MASK]/random/kept = %.4f/%.4f/%.4f, want 0.8/0.1/0.1 ± 0.01", fm, fr, fk)
		}
	}
}

func TestDeterminism(t *testing.T) {
	for _, obj := range []models.Objective{models.NextToken, models.Masked} {
		task := mlmTask(t, 32, nil)
		task.Spec.Objective = obj
		spec := task.Spec
		a, b := open(t, spec, 0), open(t, spec, 0)
		sa, sb := a.Train(rand.New(rand.NewPCG(9, 9)), 16), b.Train(rand.New(rand.NewPCG(9, 9)), 16)
		sc := a.Train(rand.New(rand.NewPCG(9, 10)), 16)
		differ := false
		for i := 0; i < 50; i++ {
			x, err := sa.Next()
			if err != nil {
				t.Fatal(err)
			}
			y, _ := sb.Next()
			z, _ := sc.Next()
			if diff := cmp.Diff(x, y); diff != "" {
				t.Fatalf("%v: batch %d differs for one seed:\n%s", obj, i, diff)
			}
			differ = differ || !cmp.Equal(x, z)
		}
		if !differ {
			t.Errorf("%v: seeds 9 and 10 gave the same 50 batches", obj)
		}
		x, _ := a.Sample(rand.New(rand.NewPCG(1, 1)), 8)
		y, _ := b.Sample(rand.New(rand.NewPCG(1, 1)), 8)
		if !cmp.Equal(x, y) {
			t.Errorf("%v: Sample differs for one seed", obj)
		}
		// Test batches: same on two tasks, whatever the batch size.
		ta, err := a.Test(7)
		if err != nil {
			t.Fatal(err)
		}
		tb, _ := b.Test(50)
		if len(ta) != 8 || len(tb) != 1 || a.NumTest() != 50 {
			t.Fatalf("%v: %d and %d test batches of 50 rows (NumTest %d)", obj, len(ta), len(tb), a.NumTest())
		}
		var in, tgt []int32
		for _, bt := range ta {
			in = append(in, bt.Inputs...)
			tgt = append(tgt, bt.Targets...)
		}
		if !cmp.Equal(in, tb[0].Inputs) || !cmp.Equal(tgt, tb[0].Targets) {
			t.Errorf("%v: test batches of 7 and of 50 hold different rows or masks", obj)
		}
		if again, _ := a.Test(7); &again[0] != &ta[0] {
			t.Errorf("%v: Test not cached", obj)
		}
	}
}

func TestClassify(t *testing.T) {
	rows := []datasets.Row{
		{Text: "long", InputIDs: []int32{5, 6, 7, 8, 9, 10, 11}, Label: 2},
		{Text: "short", InputIDs: []int32{5, 6}, Label: 0},
	}
	dir := t.TempDir()
	labels := []string{"a", "b", "c"}
	write(t, dir, datasets.Meta{Domain: "cls", Tokenizer: "bert-uncased", VocabSize: 30522, Labels: labels}, rows, 1)
	write(t, dir, datasets.Meta{Domain: "cls", Tokenizer: "gpt2", VocabSize: 50257, Labels: labels}, rows, 1)
	for _, c := range []struct {
		tok  string
		want *models.Batch
	}{
		{"bert-uncased", &models.Batch{Objective: models.Classify, B: 2, T: 6,
			Inputs:  []int32{101, 5, 6, 7, 8, 102, 101, 5, 6, 102, 0, 0},
			Lengths: []int{6, 4}, Targets: []int32{2, 0}, Task: []int{4, 4}}},
		{"gpt2", &models.Batch{Objective: models.Classify, B: 2, T: 6,
			Inputs:  []int32{5, 6, 7, 8, 9, 10, 5, 6, 0, 0, 0, 0},
			Lengths: []int{6, 2}, Targets: []int32{2, 0}, Task: []int{4, 4}}},
	} {
		task := open(t, Spec{Dir: dir, Domain: "cls", Tokenizer: c.tok, Objective: models.Classify, Ctx: 6}, 4)
		if task.NumClasses != 3 {
			t.Errorf("%s: NumClasses %d, want 3", c.tok, task.NumClasses)
		}
		bs, err := task.Test(8)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(c.want, bs[0]); diff != "" {
			t.Errorf("%s: batch (-want +got):\n%s", c.tok, diff)
		}
	}
}

func TestPixels(t *testing.T) {
	rows := []datasets.Row{
		{InputIDs: []int32{0, 255, 51, 102}, Label: 1},
		{InputIDs: []int32{255, 0, 0, 0}, Label: 0},
	}
	dir := t.TempDir()
	write(t, dir, datasets.Meta{Domain: "img", Tokenizer: "pixels", VocabSize: 256, Labels: []string{"zero", "one"}}, rows, 1)
	task := open(t, Spec{Dir: dir, Domain: "img", Tokenizer: "pixels", Objective: models.Classify}, 2)
	bs, err := task.Test(2)
	if err != nil {
		t.Fatal(err)
	}
	want := &models.Batch{Objective: models.Classify, B: 2, T: 4,
		Features: []float32{0, 1, 0.2, 0.4, 1, 0, 0, 0}, Targets: []int32{1, 0}, Task: []int{2, 2}}
	if diff := cmp.Diff(want, bs[0]); diff != "" {
		t.Errorf("batch (-want +got):\n%s", diff)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, datasets.Meta{Domain: "lm", Tokenizer: "tok", VocabSize: 10}, lmRows([]int32{1, 2, 3, 4}), 1)
	only := filepath.Join(dir, "only")
	os.MkdirAll(filepath.Join(only, "tok"), 0o755)
	w, _ := datasets.Create(datasets.FilePath(only, "tok", "lm", "train"), datasets.Meta{Domain: "lm", Split: "train", Tokenizer: "tok", VocabSize: 10})
	w.Write(datasets.Row{InputIDs: []int32{1, 2}, Label: -1})
	w.Close()
	for _, c := range []struct {
		spec Spec
		want string
	}{
		{Spec{Dir: dir, Domain: "nope", Tokenizer: "tok", Objective: models.NextToken, Ctx: 2},
			filepath.Join(dir, "tok", "nope-train.arrow") + ": no such file"},
		{Spec{Dir: only, Domain: "lm", Tokenizer: "tok", Objective: models.NextToken, Ctx: 1},
			filepath.Join(only, "tok", "lm-validation.arrow") + ": no such file"},
		{Spec{Dir: dir, Domain: filepath.Join(dir, "tok", "lm"), Tokenizer: "other", Objective: models.NextToken, Ctx: 2},
			`tokenizer "tok", want "other"`},
		{Spec{Dir: dir, Domain: "lm", Tokenizer: "tok", Objective: models.NextToken, Ctx: 4},
			"lm-train.arrow: 4 tokens, fewer than one window of 5"},
		{Spec{Dir: dir, Domain: "lm", Tokenizer: "tok", Objective: models.Masked, Ctx: 3},
			`masked-token objective on tokenizer "tok"`},
		{Spec{Dir: dir, Domain: "lm", Tokenizer: "tok", Objective: models.Classify, Ctx: 3},
			"classification needs labelled files"},
	} {
		_, err := Open(c.spec, 0)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%+v) = %v; want an error with %q", c.spec, err, c.want)
		} else {
			t.Logf("%v", err)
		}
	}
	// A user's path prefix works.
	task := open(t, Spec{Dir: "ignored", Domain: filepath.Join(dir, "tok", "lm"), Tokenizer: "tok", Objective: models.NextToken, Ctx: 1}, 0)
	if task.NumTrain() != 2 {
		t.Errorf("path prefix: %d windows, want 2", task.NumTrain())
	}
}

// TestConcurrent draws batches from one task in several goroutines (run
// with -race); each goroutine's batches match a serial run's.
func TestConcurrent(t *testing.T) {
	task := mlmTask(t, 32, map[string]string{datasets.ExtraSepID: "102"})
	task.train.setLimit(2000) // force eviction and reloading
	serial := func(seed uint64) []*models.Batch {
		st := task.Train(rand.New(rand.NewPCG(seed, 0)), 8)
		var out []*models.Batch
		for i := 0; i < 20; i++ {
			b, err := st.Next()
			if err != nil {
				t.Error(err)
				return nil
			}
			out = append(out, b)
		}
		return out
	}
	want := [4][]*models.Batch{}
	for g := range want {
		want[g] = serial(uint64(g))
	}
	var got [4][]*models.Batch
	done := make(chan int)
	for g := range got {
		go func() {
			got[g] = serial(uint64(g))
			if _, err := task.Test(16); err != nil {
				t.Error(err)
			}
			done <- g
		}()
	}
	for range got {
		<-done
	}
	for g := range got {
		if !cmp.Equal(want[g], got[g]) {
			t.Errorf("goroutine %d: batches differ from the serial run", g)
		}
	}
}

func TestEvalRowsSpread(t *testing.T) {
	task := &Task{test: &split{n: 10}}
	for _, c := range []struct {
		rows int
		want []int
	}{{0, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, {4, []int{0, 2, 5, 7}}, {1, []int{0}}, {20, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}} {
		task.Spec.EvalRows = c.rows
		if got := task.testIndex(); !cmp.Equal(got, c.want) {
			t.Errorf("EvalRows %d: test examples %v, want %v", c.rows, got, c.want)
		}
	}
}
