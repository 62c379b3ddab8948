// Package results holds result records, the continual-learning metrics,
// the paper-layout and standard tables, plots, and the comparison of a
// run's scores against a committed reference (the CI gate).
//
// results knows nothing of models, tasks or methods: it works on the
// records the harness writes.
package results

import (
	"errors"
	"fmt"
	"math"
)

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
	// MethodInfo is what the tables need to know of the method; the
	// harness copies it from the method's registration.
	MethodInfo MethodInfo `json:"method_info"`
	Seed       uint64     `json:"seed"`
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
	// Days (dormancy): accuracy on the base task at day 0..30. Day 0 is
	// measured right after the base task's wake training, before any
	// sleep, for every method alike.
	Days []float64 `json:"days,omitempty"`
	// DaysLoss mirrors Days with the held-out loss (nats per target).
	DaysLoss []float64 `json:"days_loss,omitempty"`
	// DayNumbers gives the day of each entry of Days when the base task
	// was not scored every day (0, 5, 10, …, 30); nil means 0, 1, 2, ….
	DayNumbers []int `json:"day_numbers,omitempty"`
	// Periods has one entry per training period (task, next day,
	// dormancy day), in order: what the wake steps and the method's
	// extra steps (sleep) did.
	Periods []PeriodStats `json:"periods,omitempty"`
	// Compression: accuracy on each task of the final model after each
	// transform ("none", "prune30", "int4"), in task order.
	Compression map[string][]float64 `json:"compression,omitempty"`
	// CompressionShare is, per transform, the fraction of all parameters
	// in the tensors it changes.
	CompressionShare map[string]float64 `json:"compression_share,omitempty"`
	// Config holds every setting of the run, as written beside it.
	Config map[string]string `json:"config"`
	// Cost of the run.
	Steps        int     `json:"steps"`
	Tokens       int64   `json:"tokens"`
	WallSeconds  float64 `json:"wall_seconds"`
	PeakMemBytes uint64  `json:"peak_mem_bytes"`
}

// Day returns the day of entry i of Days.
func (r *Run) Day(i int) int {
	if r.DayNumbers != nil {
		return r.DayNumbers[i]
	}
	return i
}

// PeriodStats is what one training period did, for checking that a
// method ran as documented (its penalty was not 0, its nights slept).
type PeriodStats struct {
	Label string `json:"label"`
	// WakeSteps and ExtraSteps count the period's wake steps and the
	// steps the method took in its hooks (a sleep).
	WakeSteps  int `json:"wake_steps"`
	ExtraSteps int `json:"extra_steps"`
	// WakeLoss is the mean loss of the wake steps, Penalty the mean of
	// the method's penalty over them (EWC's (λ/2)·Σ F·(θ−θ*)²).
	WakeLoss float64 `json:"wake_loss"`
	Penalty  float64 `json:"penalty"`
	// WakeUpdate and ExtraUpdate are the mean norms ‖Δθ‖ of one
	// optimiser step, wake and extra; 0 when there was none.
	WakeUpdate  float64 `json:"wake_update_norm"`
	ExtraUpdate float64 `json:"extra_update_norm"`
	// Method holds the figures the method reports of itself after the
	// period (AISP: sleep, reverse and noisy steps, the mean importance
	// weight before normalisation).
	Method map[string]float64 `json:"method,omitempty"`
}

// MethodInfo describes a run's method for the tables: its label and
// rank, the part it plays in the paper's claims, and the methods it is
// paired with. The harness copies it from methods.Info into every run
// record, so that results pairs and orders runs from the records, never
// from method names.
type MethodInfo struct {
	// Label is the row label in the paper-layout tables ("" = the name).
	Label string `json:"label,omitempty"`
	// Rank orders methods in tables, lower first, ties by name.
	Rank int `json:"rank"`
	// Role is the method's part in the paper's claims (RoleBaseline,
	// RoleEWC, RoleReplay, RoleSleep) or "".
	Role string `json:"role,omitempty"`
	// Baseline, Control and Parent name the methods whose runs of the
	// same model, seed and task order this run is compared with: the
	// baseline its gains are measured against, the compute-matched
	// control, and the method one setting below it on a ladder.
	Baseline string `json:"baseline,omitempty"`
	Control  string `json:"control,omitempty"`
	Parent   string `json:"parent,omitempty"`
}

// Roles of MethodInfo.Role, as methods.Info names them.
const (
	RoleBaseline = "baseline"
	RoleEWC      = "ewc"
	RoleReplay   = "replay"
	RoleSleep    = "sleep"
)

// Protocol names, as written in Run.Protocol.
const (
	ProtocolSequence    = "sequence"
	ProtocolDormancy    = "dormancy"
	ProtocolCompression = "compression"
)

// Transform names, the keys of Run.Compression.
const (
	TransformNone    = "none"
	TransformPrune30 = "prune30"
	TransformINT4    = "int4"
	// The same with the embedding tables (a decoder's tied LM head
	// included).
	TransformPrune30All = "prune30-all"
	TransformINT4All    = "int4-all"
)

// NumTasks is the number of tasks (columns) of R, 0 when R is empty.
func (r *Run) NumTasks() int {
	if len(r.R) == 0 {
		return 0
	}
	return len(r.R[0])
}

// Validate checks that a run record is well formed: the schema version,
// the names, the shape of R (rows 0..T, plus row T+1 exactly when
// NextDay), Loss mirroring R, and accuracies that are fractions in [0, 1].
// It says which field, row or column is at fault.
func (r *Run) Validate() error {
	if r.SchemaVersion != SchemaVersion {
		return fmt.Errorf("schema_version %q, this build reads %q", r.SchemaVersion, SchemaVersion)
	}
	for _, f := range []struct{ name, v string }{
		{"protocol", r.Protocol}, {"model", r.Model}, {"method", r.Method},
	} {
		if f.v == "" {
			return fmt.Errorf("field %s is empty", f.name)
		}
	}
	if len(r.R) > 0 {
		T := len(r.R[0])
		if T == 0 {
			return errors.New("accuracy matrix R: row 0 has no columns")
		}
		want := T + 1
		if r.NextDay {
			want++
		}
		if len(r.R) != want {
			return fmt.Errorf("accuracy matrix R has %d rows, want %d for %d tasks (next_day=%t)", len(r.R), want, T, r.NextDay)
		}
		if r.Protocol == ProtocolSequence && len(r.Tasks) != T {
			return fmt.Errorf("tasks names %d tasks but R has %d columns", len(r.Tasks), T)
		}
		if err := checkAccuracies("R", r.R, T); err != nil {
			return err
		}
		if len(r.Loss) > 0 {
			if len(r.Loss) != len(r.R) {
				return fmt.Errorf("loss has %d rows, R has %d", len(r.Loss), len(r.R))
			}
			for i, row := range r.Loss {
				if len(row) != T {
					return fmt.Errorf("loss row %d has %d columns, want %d", i, len(row), T)
				}
			}
		}
	} else {
		if r.Protocol == ProtocolSequence {
			return errors.New("sequence run has no accuracy matrix R")
		}
		if r.NextDay {
			return errors.New("next_day is set but R is empty")
		}
	}
	if r.Protocol == ProtocolDormancy && len(r.Days) < 2 {
		return fmt.Errorf("dormancy run has %d days of accuracy, want at least 2 (day 0 and a last day)", len(r.Days))
	}
	if len(r.DaysLoss) > 0 && len(r.DaysLoss) != len(r.Days) {
		return fmt.Errorf("days_loss has %d values for %d days", len(r.DaysLoss), len(r.Days))
	}
	if r.DayNumbers != nil {
		if len(r.DayNumbers) != len(r.Days) {
			return fmt.Errorf("day_numbers has %d values for %d days", len(r.DayNumbers), len(r.Days))
		}
		for i, d := range r.DayNumbers {
			if i == 0 && d != 0 || i > 0 && d <= r.DayNumbers[i-1] {
				return fmt.Errorf("day_numbers %v: want 0 first, then increasing", r.DayNumbers)
			}
		}
	}
	if err := checkAccuracies("days", [][]float64{r.Days}, len(r.Days)); err != nil {
		return err
	}
	if len(r.Compression) > 0 {
		base, ok := r.Compression[TransformNone]
		if !ok {
			return fmt.Errorf("compression has no %q entry (accuracy before any transform)", TransformNone)
		}
		for name, accs := range r.Compression {
			if len(accs) != len(base) {
				return fmt.Errorf("compression[%q] has %d tasks, compression[%q] has %d", name, len(accs), TransformNone, len(base))
			}
			if err := checkAccuracies("compression["+name+"]", [][]float64{accs}, len(accs)); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkAccuracies checks that m is rectangular with n columns and holds
// fractions in [0, 1].
func checkAccuracies(field string, m [][]float64, n int) error {
	for i, row := range m {
		if len(row) != n {
			return fmt.Errorf("%s row %d has %d columns, want %d", field, i, len(row), n)
		}
		for j, v := range row {
			if math.IsNaN(v) || v < 0 || v > 1 {
				return fmt.Errorf("%s[%d][%d] = %v: accuracy must be a fraction in [0, 1]", field, i, j, v)
			}
		}
	}
	return nil
}
