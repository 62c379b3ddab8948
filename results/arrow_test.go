package results

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

func TestWriteArrow(t *testing.T) {
	seq := seqRun("custom", "ewc", 3, threeTasks)
	seq.Loss = [][]float64{{5, 5, 5}, {2, 5, 5}, {3, 2, 5}, {3, 3, 2}, {4, 4, 4}}
	seq.Compression = map[string][]float64{TransformNone: {0.6, 0.7, 0.8}, TransformINT4: {0.5, 0.6, 0.7}}
	dorm := dormRun("custom", "aisp", 3, 0.8, 0.7)
	path := filepath.Join(t.TempDir(), "out", ArrowFile)
	if err := WriteArrow(path, []*Run{seq, dorm}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := ipc.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if v, ok := rd.Schema().Metadata().GetValue("sleepbench.schema_version"); !ok || v != SchemaVersion {
		t.Errorf("schema version metadata %q", v)
	}
	// 5×3 matrix + 2×3 compression in the first batch, 31 days in the second.
	if rd.NumRecords() != 2 {
		t.Fatalf("%d record batches, want 2", rd.NumRecords())
	}
	total := 0
	for i := range rd.NumRecords() {
		rec, err := rd.Record(i)
		if err != nil {
			t.Fatal(err)
		}
		total += int(rec.NumRows())
	}
	if total != 15+6+31 {
		t.Errorf("%d rows, want 52", total)
	}
	rec, _ := rd.Record(0)
	col := func(name string) int {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %q", name)
		}
		return idx[0]
	}
	kind := rec.Column(col("kind")).(*array.String)
	row := rec.Column(col("row")).(*array.Int32)
	task := rec.Column(col("task")).(*array.String)
	acc := rec.Column(col("accuracy")).(*array.Float64)
	loss := rec.Column(col("loss")).(*array.Float64)
	seed := rec.Column(col("seed")).(*array.Uint64)
	method := rec.Column(col("method")).(*array.String)
	// Row 7 is R[2][1]: after task 2, on scripture: 0.90, loss 2.
	if kind.Value(7) != KindMatrix || row.Value(7) != 2 || task.Value(7) != "scripture" || acc.Value(7) != 0.90 || loss.Value(7) != 2 {
		t.Errorf("row 7: %s %d %s %v %v", kind.Value(7), row.Value(7), task.Value(7), acc.Value(7), loss.Value(7))
	}
	if seed.Value(0) != 3 || method.Value(0) != "ewc" {
		t.Errorf("row 0: seed %d method %s", seed.Value(0), method.Value(0))
	}
	// Compression rows, sorted by transform: int4 then none; row and loss null.
	if kind.Value(15) != "compression:int4" || !row.IsNull(15) || !loss.IsNull(15) || acc.Value(15) != 0.5 {
		t.Errorf("row 15: %s null row %t %v", kind.Value(15), row.IsNull(15), acc.Value(15))
	}
	if kind.Value(20) != "compression:none" || acc.Value(20) != 0.8 || task.Value(20) != "email" {
		t.Errorf("row 20: %s %v %s", kind.Value(20), acc.Value(20), task.Value(20))
	}
	rec1, _ := rd.Record(1)
	days := rec1.Column(col("row")).(*array.Int32)
	if rec1.Column(col("kind")).(*array.String).Value(30) != KindDay || days.Value(30) != 30 ||
		rec1.Column(col("task")).(*array.String).Value(30) != "speech" {
		t.Errorf("day 30 row wrong")
	}
}
