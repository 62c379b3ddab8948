// Package methods holds the continual-learning methods and their registry.
//
// A method is a Go type registered by name with Register (the database/sql
// driver pattern); a new method is one file with one Register call in an
// init function. The training loop belongs to the harness (package bench):
// a method only implements hooks, and embeds Base for the ones it does not
// need.
package methods

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"

	"github.com/sleepbench/sleepbench/models"
)

// TaskData is a method's view of one task's data.
type TaskData interface {
	// Index is the task's position in the sequence, from 0.
	Index() int
	// Name is the task's domain name.
	Name() string
	// Sample draws n training examples at random as one batch.
	Sample(rng *rand.Rand, n int) (*models.Batch, error)
	// Validation draws n examples from the validation split (for tuning,
	// never the test split).
	Validation(rng *rand.Rand, n int) (*models.Batch, error)
}

// TrainConfig is the wake-time training setup the harness uses; methods
// read it to size their own work (a sleep budget, a replay batch).
type TrainConfig struct {
	BatchSize    int     // rows per training batch
	StepsPerTask int     // optimiser steps per task
	LR           float64 // base (peak) learning rate
}

// Env is what a method sees of the run: the model, a way to take an
// optimiser step, the data of every task seen so far, and a seeded RNG.
type Env struct {
	Model models.Model
	// Step runs forward and backward on b, lets the method's AddPenalty
	// hook run, clips, and takes an optimiser step at learning rate lr.
	// It returns the batch loss (without penalty).
	Step  func(b *models.Batch, opt models.ForwardOptions, lr float64) (float64, error)
	Cfg   TrainConfig
	RNG   *rand.Rand
	Tasks []TaskData // tasks seen so far, including the current one
	// Logf reports progress; never nil (the harness passes a no-op).
	Logf func(format string, args ...any)
}

// Method is a continual-learning method. The harness calls, per task:
// BeginTask once, then for every training step TrainBatch (to shape the
// batch), the model's forward/backward, AddPenalty, the optimiser step;
// and EndTask once after the task's last step.
type Method interface {
	// BeginTask runs before the first step of task t.
	BeginTask(env *Env, t TaskData) error
	// TrainBatch returns the batch to train on, given the task's batch b
	// (replay mixes memory in). It may return b itself.
	TrainBatch(env *Env, b *models.Batch) (*models.Batch, error)
	// AddPenalty adds a regulariser's gradient to env.Model.Grads() and
	// returns its value (EWC's quadratic penalty); 0 for none.
	AddPenalty(env *Env) float64
	// EndTask runs after the last step of task t (Fisher, buffer, sleep).
	EndTask(env *Env, t TaskData) error
}

// Reporter is implemented by a method that reports figures of its own
// after each period (EndTask), such as what its sleep did; the harness
// stores them in the run record beside the period's other figures.
type Reporter interface {
	Report() map[string]float64
}

// Base implements every hook as a no-op; embed it and override the hooks
// a method needs.
type Base struct{}

// BeginTask does nothing.
func (Base) BeginTask(*Env, TaskData) error { return nil }

// TrainBatch returns b unchanged.
func (Base) TrainBatch(_ *Env, b *models.Batch) (*models.Batch, error) { return b, nil }

// AddPenalty adds nothing.
func (Base) AddPenalty(*Env) float64 { return 0 }

// EndTask does nothing.
func (Base) EndTask(*Env, TaskData) error { return nil }

// Config holds a method's settings as name → value strings (from flags or
// a config file); each method parses the keys it knows with the helpers
// below and must reject unknown keys.
type Config map[string]string

// Factory builds a method from its config.
type Factory func(cfg Config) (Method, error)

// Info describes a registered method: its name, settings and factory,
// and the metadata the harness and the tables need, so that nothing
// outside the method's own file decides anything from its name.
type Info struct {
	Name    string
	Summary string // one line
	// Cost is the method's memory and compute per training step beside
	// naive fine-tuning's, in one line (P = the number of parameters);
	// sleepbench methods prints it, methods/bench_test.go measures it.
	Cost     string
	Defaults map[string]string // documented default settings
	New      Factory

	// Label is the method's row label in the paper-layout tables ("" =
	// Name).
	Label string
	// Rank orders the method in tables and plots, lower first, ties by
	// name. The built-in methods use 0 for the baseline, 10 for
	// regularisation, 20 for replay, 30 for AISP, 40 for its ablations
	// and ladder, 50 for controls and 60 for upper bounds.
	Rank int
	// Role is the part the method plays in the AISP paper's claims, one
	// of the Role constants, or "" for none (ablations, controls and
	// methods the paper does not name).
	Role string
	// Baseline is the method whose run of the same model, seed and task
	// order this method's gains are measured against ("" for none).
	Baseline string
	// Control is the compute-matched control that isolates what the
	// method adds beyond extra optimiser steps ("" for none).
	Control string
	// Parent is the method one setting below this one on a ladder of
	// single changes ("" for none); the tables pair each method with its
	// parent.
	Parent string
	// Buffered says the method keeps a replay buffer sized by its
	// "buffer" setting; a profile gives every buffered method one size,
	// so that they remember equally much.
	Buffered bool
	// Night, when set, is how the method sleeps in the dormancy protocol:
	// it returns cfg changed so that each night (the EndTask after a day
	// of daySteps wake steps) takes ratio × daySteps optimiser steps. A
	// setting the profile gave explicitly is left alone. Methods without
	// a Night do not sleep.
	Night func(cfg Config, daySteps int, ratio float64) (Config, error)
	// PlainFirstWake, when set, says whether the method with settings
	// cfg trains exactly as naive fine-tuning until its first EndTask: in
	// the wake steps of the first task TrainBatch returns the very batch
	// it was given, unchanged (it may keep a copy), AddPenalty returns 0
	// and leaves the gradients alone, and no hook changes the parameters
	// or calls env.Step. What the method records meanwhile, and what it
	// draws from env.RNG, is its own business. The harness then trains
	// that first wake once for all such runs of one model, seed and task
	// order, calling each run's hooks in turn on every batch, and checks
	// these rules as it goes (bench/firstwake.go); methodtest checks them
	// at the default settings. AlwaysPlain serves a method that keeps
	// them at every setting.
	PlainFirstWake func(cfg Config) bool
}

// AlwaysPlain is Info.PlainFirstWake for a method whose first wake is
// plain fine-tuning at every setting.
func AlwaysPlain(Config) bool { return true }

// IsPlainFirstWake reports whether a method of info with settings cfg
// trains as naive fine-tuning until its first EndTask (PlainFirstWake).
func (info Info) IsPlainFirstWake(cfg Config) bool {
	return info.PlainFirstWake != nil && info.PlainFirstWake(cfg)
}

// Roles a method can play in the AISP paper's claims (Info.Role).
const (
	RoleBaseline = "baseline" // plain fine-tuning
	RoleEWC      = "ewc"      // the paper's regularisation method
	RoleReplay   = "replay"   // the paper's replay method
	RoleSleep    = "sleep"    // the sleep protocol itself
)

// Registry maps method names to factories. The package-level Default
// registry is filled by init functions (like database/sql drivers); a
// harness may also build its own.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Info
}

// Default is the registry that Register fills.
var Default = &Registry{}

// Register adds a method to the Default registry. It panics on a
// duplicate or empty name, since that is a programming error caught at
// init.
func Register(info Info) { Default.Register(info) }

// Register adds info to r.
func (r *Registry) Register(info Info) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if info.Name == "" || info.New == nil {
		panic("methods: Register needs a name and a factory")
	}
	switch info.Role {
	case "", RoleBaseline, RoleEWC, RoleReplay, RoleSleep:
	default:
		panic("methods: " + info.Name + " has an unknown Role " + info.Role)
	}
	if _, ok := info.Defaults["buffer"]; info.Buffered && !ok {
		panic("methods: " + info.Name + " is Buffered but has no \"buffer\" setting")
	}
	if r.m == nil {
		r.m = map[string]Info{}
	}
	if _, dup := r.m[info.Name]; dup {
		panic("methods: Register called twice for " + info.Name)
	}
	r.m[info.Name] = info
}

// Names lists the registered method names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.m))
	for n := range r.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the Info of a registered method.
func (r *Registry) Lookup(name string) (Info, error) {
	r.mu.RLock()
	info, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		return Info{}, fmt.Errorf("unknown method %q (registered: %s)", name, strings.Join(r.Names(), ", "))
	}
	return info, nil
}

// New builds the method called name with cfg.
func (r *Registry) New(name string, cfg Config) (Method, error) {
	info, err := r.Lookup(name)
	if err != nil {
		return nil, err
	}
	m, err := info.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("method %s: %w", name, err)
	}
	return m, nil
}

// New builds the method called name from the Default registry.
func New(name string, cfg Config) (Method, error) { return Default.New(name, cfg) }
