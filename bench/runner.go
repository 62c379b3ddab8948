package bench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/tasks"
)

// ModelInfo says what a model reads.
type ModelInfo struct {
	Tokenizer string           // tokenizer of its Arrow files ("gpt2-8k", "gpt2", "bert-uncased")
	LM        models.Objective // its language-modelling objective: NextToken or Masked
	MaxCtx    int              // longest row it takes (0 = no limit)
	// Cost is the training FLOPs per token, so that the progress ETA
	// weighs a big model's steps more; 0 (unknown) counts as 1.
	Cost float64
}

// Builders constructs the pieces of a run. Real returns the ones backed
// by packages models, tasks and methods; tests pass fakes.
type Builders struct {
	// Describe returns what model reads, or an error listing the valid
	// model names.
	Describe func(model string) (ModelInfo, error)
	// NewModel builds model name, initialised from seed, with one
	// classification head per entry of classes (nil for LM).
	NewModel func(name string, classes []int, threads int, seed uint64) (models.Model, error)
	// Init initialises model m (built-in name model) as spec says:
	// InitScratch leaves the seeded weights; InitBase loads the base
	// checkpoint of the model from the folder base; anything else is the
	// path of a checkpoint of the same config. It returns what it loaded
	// (the file and its sha256) for the run record. Nil means scratch
	// only.
	Init func(m models.Model, model, spec, base string) (string, error)
	// NewOptimizer returns the optimiser of a run.
	NewOptimizer func(p *models.Params, weightDecay float64) Optimizer
	// OpenTask opens one task.
	OpenTask func(spec tasks.Spec, index int) (Task, error)
	// Methods is the method registry.
	Methods *methods.Registry
	// Backend names the matrix backend and Optimizer the optimiser
	// (both recorded in every run's config).
	Backend, Optimizer string
	// Kernel names package gemm's micro-kernel ("avx512", "avx2", "go";
	// empty for other backends). It is recorded in OUT/config.json, and
	// a folder is not resumed under a kernel whose numbers may differ in
	// the last bits (gemm.SameResults: avx512 and avx2 agree, go may
	// not).
	Kernel string
}

// Runner runs a profile's runs into an output folder:
//
//	OUT/config.json                                   the resolved config
//	OUT/tune/<model>/<method>.config.json             tuning choice and grid scores
//	OUT/tune/<model>/<method>/<key>=<value>.config.json one tuning run
//	OUT/runs/<protocol>/<model>/<method>/seed<k>.json one run (results.Run)
//
// A run whose file exists is skipped, so the same command after an
// interruption resumes; every run is deterministic from its seed, so the
// finished files hold the numbers of an uninterrupted command (all but
// wall_seconds and peak_mem_bytes, which measure this process).
type Runner struct {
	Profile Profile
	Build   Builders
	Data    string // folder of the Arrow files (tasks.Spec.Dir)
	Out     string // output folder
	// Jobs is the number of runs at once (default 1). Each model gets
	// Profile.Threads threads, or Cores/Jobs when that is 0.
	Jobs  int
	Cores int // 0 = runtime.NumCPU()
	// Shard and Shards select the jobs whose first run's name hashes to
	// Shard out of Shards (ShardOf; 0-based): runs are independent, so
	// machines of a cluster each run one shard into their own output
	// folder, and MergeShards checks and joins the folders. Shards 0 or 1
	// runs everything.
	Shard, Shards int
	// Base is the folder of the base checkpoints (Profile.Init "base"):
	// <Base>/<model>.safetensors. Empty means models/base.
	Base string
	// Progress receives the progress line (stderr); nil for none.
	Progress io.Writer
	// Now is the clock for wall times and progress; nil = time.Now.
	Now func() time.Time
	// PeakMem reads the peak memory recorded per run; nil = PeakRSS.
	PeakMem func() uint64
	// Finish, when set, runs after all runs (tables, scores, plots).
	Finish func(out string) error
	// KeepCheckpoints keeps each run's mid-run checkpoint
	// (OUT/checkpoints/, see checkpoint.go) after the run has finished;
	// by default it is deleted then.
	KeepCheckpoints bool
	// TuneOnly tunes every (model, method) pair of the whole profile
	// that has a grid (whatever the shard) and stops: no test runs, no
	// reports. Its folder is what TuneFrom reads.
	TuneOnly bool
	// TuneFrom, when set, is a folder whose tuning (OUT/tune) this
	// command reuses instead of tuning again, so that the shards of a
	// cluster tune once between them. It must have been written with the
	// same settings, and hold every pair this command tunes; otherwise
	// Run fails before training anything.
	TuneFrom string

	// NoSharedWake makes every run train its first wake itself instead
	// of resuming from a first wake shared with the other runs of its
	// model, seed and task order (firstwake.go). The results are the
	// same either way; sharing is faster.
	NoSharedWake bool

	// afterCheckpoint, when set (tests), runs after every checkpoint a
	// run saves; an error stops the run there, as a kill would.
	afterCheckpoint func(run string) error
	busy            []string // runs skipped: another process holds them

	track *tracker
	tuned map[string]tuneChoice // model/method → choice
	mu    sync.Mutex
}

// PeakRSS returns the process's peak resident set size (VmHWM in
// /proc/self/status); where that file is missing it falls back to the Go
// runtime's MemStats.Sys (memory obtained from the OS). Both are per
// process: with several runs at once it is the peak of them all so far.
func PeakRSS() uint64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				fields := strings.Fields(rest)
				if len(fields) >= 1 {
					if kb, err := strconv.ParseUint(fields[0], 10, 64); err == nil {
						return kb * 1024
					}
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Sys
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) peak() uint64 {
	if r.PeakMem != nil {
		return r.PeakMem()
	}
	return PeakRSS()
}

// Validate checks the profile and every protocol, model and method name
// it uses, with errors listing the valid names.
func (r *Runner) Validate() error {
	p := &r.Profile
	if err := p.Check(); err != nil {
		return err
	}
	if r.Build.Describe == nil || r.Build.NewModel == nil || r.Build.NewOptimizer == nil || r.Build.OpenTask == nil || r.Build.Methods == nil {
		return errors.New("bench: Runner.Build is incomplete")
	}
	for _, pl := range p.Plans {
		if !contains(protocolNames, pl.Protocol) {
			return fmt.Errorf("unknown protocol %q (valid: %s)", pl.Protocol, strings.Join(protocolNames, ", "))
		}
		for _, m := range pl.Models {
			info, err := r.Build.Describe(m)
			if err != nil {
				return err
			}
			if info.MaxCtx > 0 && p.Ctx > info.MaxCtx {
				return fmt.Errorf("ctx %d is longer than model %s takes (%d)", p.Ctx, m, info.MaxCtx)
			}
		}
		for _, m := range pl.Methods {
			if _, err := r.Build.Methods.Lookup(m); err != nil {
				return err
			}
		}
	}
	for m := range p.Grids {
		if _, err := r.Build.Methods.Lookup(m); err != nil {
			return fmt.Errorf("tuning grid: %w", err)
		}
	}
	// Build every method once with its settings (and each grid value),
	// so that a bad key or value fails now, not hours into the runs.
	for _, pl := range p.Plans {
		for _, m := range pl.Methods {
			info, _ := r.Build.Methods.Lookup(m) // looked up above
			grid := combos(p.Grids[m])
			if len(grid) == 0 {
				grid = []map[string]string{{}}
			}
			for _, g := range grid {
				cfg := r.baseConfig(info)
				for k, v := range g {
					cfg[k] = v
				}
				if pl.Protocol == Dormancy && info.Night != nil {
					var err error
					if cfg, err = info.Night(cfg, p.DaySteps, p.SleepRatio); err != nil {
						return fmt.Errorf("method %s: %w", m, err)
					}
				}
				if _, err := r.Build.Methods.New(m, cfg); err != nil {
					return err
				}
			}
		}
	}
	if r.Shards > 1 && (r.Shard < 0 || r.Shard >= r.Shards) {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n", r.Shard, r.Shards)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Run runs every run of the profile (of this shard) that has no result
// file yet, tuning first the methods that have a grid and training the
// first wakes that runs share (firstwake.go), then calls Finish.
func (r *Runner) Run() error {
	began := time.Now() // the real clock: it is compared with files' times
	if err := r.Validate(); err != nil {
		return err
	}
	if r.Out == "" {
		return errors.New("bench: no output folder")
	}
	if r.Jobs < 1 {
		r.Jobs = 1
	}
	if r.TuneOnly && (r.Shards > 1 || r.TuneFrom != "") {
		return errors.New("bench: -tune-only tunes for every shard; give it neither a shard nor -tune-from")
	}
	if err := r.checkConfig(); err != nil {
		return err
	}
	if r.TuneFrom != "" {
		if err := r.importTuning(); err != nil {
			return err
		}
	}
	var todo [][]RunSpec
	if r.TuneOnly {
		todo = Jobs(Expand(r.Profile)) // every shard's pairs
	} else {
		todo = r.todo()
	}
	if r.Progress != nil {
		r.track = newTracker(r.Progress, r.now)
		defer r.track.close()
	}
	if err := r.tuneAll(todo); err != nil {
		return err
	}
	if err := r.writeConfig(); err != nil {
		return err
	}
	if r.TuneOnly {
		if len(r.tuned) == 0 {
			return fmt.Errorf("bench: -tune-only: no method of profile %s has a tuning grid (grid.METHOD.KEY=v1,v2 adds one), so there is nothing to tune", r.Profile.Name)
		}
		return nil
	}
	var fns []func() error
	for _, j := range todo {
		j := j
		n, wake := 0, 0.0
		for _, s := range j {
			if !r.exists(s) {
				n++
				wake += r.work(s)
			}
		}
		r.track.plan(n, wake)
		fns = append(fns, func() error { return r.runJob(j) })
	}
	if err := r.shareFirstWakes(todo); err != nil {
		return err
	}
	if err := r.pool(fns); err != nil {
		return err
	}
	r.track.close()
	if len(r.busy) > 0 {
		sort.Strings(r.busy)
		return fmt.Errorf("%d runs were skipped because another process is writing them (lock files under %s): %s; run the command again once it has finished",
			len(r.busy), filepath.Join(r.Out, "checkpoints"), strings.Join(r.busy, ", "))
	}
	if r.Finish != nil && len(r.mine()) > 0 {
		// A shard can own no job (the hash leaves it empty): it has
		// only its config.json, which merge reads, and no tables.
		if err := removeReportTemps(r.Out, began); err != nil {
			return err
		}
		return r.Finish(r.Out)
	}
	return nil
}

// threads is the thread count of each model.
func (r *Runner) threads() int {
	if r.Profile.Threads > 0 {
		return r.Profile.Threads
	}
	c := r.Cores
	if c <= 0 {
		c = runtime.NumCPU()
	}
	return max(1, c/r.Jobs)
}
