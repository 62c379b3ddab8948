// Package results holds result records, the continual-learning metrics,
// the paper-layout and standard tables, plots, and the comparison of a
// run's scores against a committed reference (the CI gate).
//
// results knows nothing of models, tasks or methods: it works on the
// records the harness writes.
package results

// SchemaVersion is written into every result file; readers reject others.
const SchemaVersion = "1"

// Run is the record of one training run: one protocol, model, method,
// seed and task order.
type Run struct {
	SchemaVersion string `json:"schema_version"`
	Profile       string `json:"profile"`
	Protocol      string `json:"protocol"` // sequence | dormancy | compression
	Model         string `json:"model"`
	Method        string `json:"method"`
	Seed          uint64 `json:"seed"`
	// Tasks names the tasks in training order.
	Tasks []string `json:"tasks"`
	// R is the accuracy matrix: R[i][j] = accuracy on task j after
	// training task i; row 0 is before any training; for the sequence
	// protocol, row T+1 (if present) is after the "next day" wake period
	// on the interference stream.
	R [][]float64 `json:"R"`
	// Loss mirrors R with mean held-out cross-entropy (nats per target).
	Loss [][]float64 `json:"loss,omitempty"`
	// NextDay is true when R has the extra row T+1.
	NextDay bool `json:"next_day"`
	// Days (dormancy): accuracy on the base task at day 0..30.
	Days []float64 `json:"days,omitempty"`
	// Compression: accuracy on each task of the final model after each
	// transform ("none", "prune30", "int4"), in task order.
	Compression map[string][]float64 `json:"compression,omitempty"`
	// Config holds every setting of the run, as written beside it.
	Config map[string]string `json:"config"`
	// Cost of the run.
	Steps        int     `json:"steps"`
	Tokens       int64   `json:"tokens"`
	WallSeconds  float64 `json:"wall_seconds"`
	PeakMemBytes uint64  `json:"peak_mem_bytes"`
}
