package results

import (
	"fmt"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Kinds of score in the Arrow table's "kind" column.
const (
	// KindMatrix rows come from R: row is the row of R, task the task
	// evaluated.
	KindMatrix = "matrix"
	// KindDay rows come from Days: row is the day, task the base task.
	KindDay = "day"
	// KindCompression rows come from Compression: "compression:" + the
	// transform name; row is null.
	KindCompression = "compression"
)

// ScoresSchema is the schema of the long-format Arrow table written by
// WriteArrow: one row per score.
func ScoresSchema() *arrow.Schema {
	md := arrow.NewMetadata([]string{"sleepbench.schema_version", "content"},
		[]string{SchemaVersion, "long-format scores of sleepbench runs"})
	return arrow.NewSchema([]arrow.Field{
		{Name: "profile", Type: arrow.BinaryTypes.String},
		{Name: "protocol", Type: arrow.BinaryTypes.String},
		{Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "method", Type: arrow.BinaryTypes.String},
		{Name: "seed", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "kind", Type: arrow.BinaryTypes.String},
		{Name: "row", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "task", Type: arrow.BinaryTypes.String},
		{Name: "accuracy", Type: arrow.PrimitiveTypes.Float64},
		{Name: "loss", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, &md)
}

// WriteArrow writes the scores of runs as one flat Arrow IPC file (file
// format), atomically, in long format for analysis in other tools: one
// row per score, with columns profile, protocol, model, method, seed,
// kind, row, task, accuracy (a fraction) and loss (null where not
// recorded). kind is "matrix" for R (row = row of R, 0 = before
// training; task = the task evaluated), "day" for the dormancy curve
// (row = day, task = the base task, Tasks[0]) and "compression:NAME" for
// the compression transforms (row null). Each run is one record batch.
func WriteArrow(path string, runs []*Run) error {
	schema := ScoresSchema()
	mem := memory.NewGoAllocator()
	return WriteAtomic(path, func(f *os.File) error {
		w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(mem))
		if err != nil {
			return err
		}
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		for i, r := range runs {
			n := appendRun(b, r)
			if n == 0 {
				continue
			}
			rec := b.NewRecord()
			err := w.Write(rec)
			rec.Release()
			if err != nil {
				return fmt.Errorf("run %d (%s/%s seed %d): %w", i, r.Model, r.Method, r.Seed, err)
			}
		}
		return w.Close()
	})
}

// appendRun appends the scores of one run to b and returns how many.
func appendRun(b *array.RecordBuilder, r *Run) int {
	fs := b.Fields()
	n := 0
	add := func(kind string, row int, hasRow bool, task string, acc, loss float64, hasLoss bool) {
		fs[0].(*array.StringBuilder).Append(r.Profile)
		fs[1].(*array.StringBuilder).Append(r.Protocol)
		fs[2].(*array.StringBuilder).Append(r.Model)
		fs[3].(*array.StringBuilder).Append(r.Method)
		fs[4].(*array.Uint64Builder).Append(r.Seed)
		fs[5].(*array.StringBuilder).Append(kind)
		if hasRow {
			fs[6].(*array.Int32Builder).Append(int32(row))
		} else {
			fs[6].(*array.Int32Builder).AppendNull()
		}
		fs[7].(*array.StringBuilder).Append(task)
		fs[8].(*array.Float64Builder).Append(acc)
		if hasLoss {
			fs[9].(*array.Float64Builder).Append(loss)
		} else {
			fs[9].(*array.Float64Builder).AppendNull()
		}
		n++
	}
	task := func(j int) string {
		if j < len(r.Tasks) {
			return r.Tasks[j]
		}
		return fmt.Sprintf("task %d", j+1)
	}
	for i, row := range r.R {
		for j, acc := range row {
			hasLoss := i < len(r.Loss) && j < len(r.Loss[i])
			loss := 0.0
			if hasLoss {
				loss = r.Loss[i][j]
			}
			add(KindMatrix, i, true, task(j), acc, loss, hasLoss)
		}
	}
	for d, acc := range r.Days {
		add(KindDay, d, true, task(0), acc, 0, false)
	}
	for _, name := range sortedKeys(r.Compression) {
		for j, acc := range r.Compression[name] {
			add(KindCompression+":"+name, 0, false, task(j), acc, 0, false)
		}
	}
	return n
}
