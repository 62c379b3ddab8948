package methods

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"sort"
	"strings"

	"github.com/sleepbench/sleepbench/models"
)

// aispDefaults are AISP's documented settings.
//
// Switches (for ablations): replay, shn, noise.
//
// Wake:
//   - buffer: rows of the reservoir buffer (Algorithm R over every row of
//     the training stream; the same buffer as replay).
//   - wake_replay: also mix memory 1:1 into wake batches, as replay does.
//     Off by default: in DESIGN.md's reading the sleep phase does the
//     replay, and the wake phase only fills the buffer.
//   - storage_loss: the reference loss of a buffered row. "entry": its
//     loss (clean forward) when it entered the buffer, as DESIGN.md says;
//     "task_end": re-measured at the end of the task it arrived in, just
//     before that task's sleep (so a row counts as forgotten only against
//     what the model knew once the task was learned).
//
// Sleep, part 1, active replay (when replay is on):
//   - compression, sleep_fraction: the budget, SleepSteps = compression ×
//     sleep_fraction × StepsPerTask steps of BatchSize rows (with the
//     defaults 10 × 0.1 × StepsPerTask = StepsPerTask: as much replay as
//     plain ER does while awake, done after the task). Never a learning
//     rate multiplier.
//   - sleep_lr_scale: sleep learning rate = sleep_lr_scale × the wake LR,
//     constant through the sleep.
//   - eps, beta: priority p_i = max(0, loss_now_i − loss_stored_i) + eps;
//     rows drawn with probability P(i) = p_i/Σp (with replacement); loss
//     weights (N·P(i))^−beta divided by their maximum over the buffer.
//   - refresh: re-score loss_now for the whole buffer every refresh sleep
//     steps (0: only at the start of the sleep). Each re-scoring is one
//     clean forward pass over the buffer.
//   - cycle_steps, reverse_fraction: the sleep is cut into cycles of
//     cycle_steps steps; a fraction reverse_fraction of them (spread
//     evenly, see reverseCycle) replay the buffer newest → oldest, in
//     consecutive batches, episodes in reverse order of storage with
//     their token order intact and no importance weights.
//   - reverse_tokens: ablation, also reverse each row's tokens in reverse
//     cycles; refused for next-token tasks.
//
// Sleep, part 2, SHN (when shn is on), once after the replay:
//   - shn_alpha: α of w ← β·w/(1+α·|w|) on every Kind==Matrix tensor.
//   - shn_mode: elementwise (β keeps each matrix's RMS) or scalar (the
//     paper's per-matrix norm form, a pure shrink; see SHNScalar).
//
// Sleep, part 3, noise (when noise is on), on the forward passes of the
// sleep's replay steps only (never on scoring or evaluation):
//   - noise_sigma: σ₀ of the input-embedding noise, std σ(t)·RMS(h).
//   - attn_noise_sigma: σ₀ of the attention-logit noise (absolute std).
//   - noise_schedule: linear or cosine decay from σ₀ to 0 at the last
//     sleep step.
var aispDefaults = map[string]string{
	"replay":           "true",
	"shn":              "true",
	"noise":            "true",
	"buffer":           "1000",
	"wake_replay":      "false",
	"storage_loss":     "entry",
	"compression":      "10",
	"sleep_fraction":   "0.1",
	"sleep_lr_scale":   "0.1",
	"eps":              "0.01",
	"beta":             "0.5",
	"refresh":          "50",
	"cycle_steps":      "10",
	"reverse_fraction": "0.3",
	"reverse_tokens":   "false",
	"shn_alpha":        "1",
	"shn_mode":         "elementwise",
	"noise_sigma":      "0.1",
	"attn_noise_sigma": "0.1",
	"noise_schedule":   "linear",
}

// aisp is the AI Sleep Protocol as DESIGN.md reads the paper: wake
// training fills a reservoir buffer (scoring each row as it enters);
// EndTask is a sleep of forgetting-aware prioritised replay with reverse
// cycles and decaying noise, followed by synaptic homeostatic
// normalisation of the weight matrices.
type aisp struct {
	Base
	replay, shn, noise bool
	wakeReplay         bool
	taskEnd            bool // storage_loss = task_end
	compression        float64
	fraction, lrScale  float64
	eps, beta          float64
	refresh, cycle     int
	reverseFraction    float64
	reverseTokens      bool
	shnAlpha           float64
	shnMode            SHNMode
	sigma, attnSigma   float64
	cosine             bool

	mem       *memory
	task      int
	taskStart int64 // stream position of the current task's first row
	last      sleepStats
}

func init() {
	registerAISP(Info{Name: "aisp", Label: "AISP", Rank: 30, Role: RoleSleep,
		Summary: "AI Sleep Protocol: prioritised + reverse replay, SHN and noise in a sleep after each task"}, nil)
	registerAISP(Info{Name: "aisp-replay-only", Rank: 40,
		Summary: "aisp ablation: sleep replay only (no SHN, no noise)"},
		map[string]string{"replay": "true", "shn": "false", "noise": "false"})
	registerAISP(Info{Name: "aisp-no-shn", Rank: 40,
		Summary: "aisp ablation: without synaptic homeostatic normalisation"},
		map[string]string{"replay": "true", "shn": "false", "noise": "true"})
	registerAISP(Info{Name: "aisp-no-noise", Rank: 40,
		Summary: "aisp ablation: without sleep noise"},
		map[string]string{"replay": "true", "shn": "true", "noise": "false"})
}

// registerAISP registers AISP or an ablation whose switches are fixed:
// setting a fixed switch to another value is an error, so that a run's
// name always says what ran. info gives the name, summary and table
// metadata; every variant keeps a buffer, is measured against naive and
// its compute-matched control replay-matched, and sleeps at night.
func registerAISP(info Info, fixed map[string]string) {
	defaults := maps.Clone(aispDefaults)
	maps.Copy(defaults, fixed)
	name := info.Name
	info.Defaults = defaults
	info.Buffered = true
	info.Baseline = "naive"
	info.Control = "replay-matched"
	info.Night = sleepNight(defaults)
	info.New = func(cfg Config) (Method, error) {
		var errs []error
		keys := make([]string, 0, len(fixed))
		for k := range fixed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v, ok := cfg[k]; ok && strings.TrimSpace(v) != fixed[k] {
				errs = append(errs, fmt.Errorf("setting %s=%q: %s fixes %s=%s (use aisp to vary it)", k, v, name, k, fixed[k]))
			}
		}
		m, err := newAISP(cfg, defaults)
		if err != nil {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		return m, nil
	}
	Register(info)
}

func newAISP(cfg Config, defaults map[string]string) (*aisp, error) {
	s := Parse(cfg, defaults)
	inf := math.Inf(1)
	a := &aisp{
		replay:          s.Bool("replay"),
		shn:             s.Bool("shn"),
		noise:           s.Bool("noise"),
		wakeReplay:      s.Bool("wake_replay"),
		taskEnd:         s.Choice("storage_loss", "entry", "task_end") == "task_end",
		compression:     s.Float("compression", 0, inf),
		fraction:        s.Float("sleep_fraction", 0, inf),
		lrScale:         s.Float("sleep_lr_scale", 0, inf),
		eps:             s.Float("eps", 1e-12, inf),
		beta:            s.Float("beta", 0, 1),
		refresh:         s.Int("refresh", 0, math.MaxInt32),
		cycle:           s.Int("cycle_steps", 1, math.MaxInt32),
		reverseFraction: s.Float("reverse_fraction", 0, 1),
		reverseTokens:   s.Bool("reverse_tokens"),
		shnAlpha:        s.Float("shn_alpha", 0, inf),
		sigma:           s.Float("noise_sigma", 0, inf),
		attnSigma:       s.Float("attn_noise_sigma", 0, inf),
		cosine:          s.Choice("noise_schedule", "linear", "cosine") == "cosine",
		mem:             newMemory(s.Int("buffer", 1, math.MaxInt32)),
	}
	if s.Choice("shn_mode", "elementwise", "scalar") == "scalar" {
		a.shnMode = SHNScalar
	}
	if err := s.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *aisp) BeginTask(_ *Env, t TaskData) error {
	a.task = t.Index()
	a.taskStart = a.mem.res.Seen()
	return nil
}

func (a *aisp) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	if !a.replay {
		return b, nil
	}
	if a.reverseTokens && b.Objective == models.NextToken {
		return nil, errors.New("aisp: reverse_tokens is refused for next-token tasks (it would train a decoder on reversed text)")
	}
	if a.wakeReplay {
		return a.mem.wakeMix(env, b, a.task, true)
	}
	return b, a.mem.observe(env, b, a.task, true)
}

// EndTask is the sleep.
func (a *aisp) EndTask(env *Env, t TaskData) error {
	if err := a.sleep(env); err != nil {
		return fmt.Errorf("aisp: sleep after task %d (%s): %w", t.Index(), t.Name(), err)
	}
	return nil
}

func (a *aisp) sleep(env *Env) error {
	a.last = sleepStats{}
	if a.replay {
		if a.taskEnd {
			if err := a.rebaseStored(env); err != nil {
				return err
			}
		}
		sp := sleepSpec{
			steps:           SleepSteps(env.Cfg, a.compression, a.fraction),
			lr:              a.lrScale * env.Cfg.LR,
			rows:            env.Cfg.BatchSize,
			prioritized:     true,
			eps:             a.eps,
			beta:            a.beta,
			refresh:         a.refresh,
			reverseFraction: a.reverseFraction,
			cycleSteps:      a.cycle,
			reverseTokens:   a.reverseTokens,
		}
		if a.noise {
			sp.embedNoise = NoiseSchedule{Sigma: a.sigma, Steps: sp.steps, Cosine: a.cosine}
			sp.attnNoise = NoiseSchedule{Sigma: a.attnSigma, Steps: sp.steps, Cosine: a.cosine}
		}
		st, err := runSleep(env, a.mem, sp)
		a.last = st
		if err != nil {
			return err
		}
		if st.steps > 0 {
			env.Logf("aisp: sleep: %d replay steps (%d reverse) at lr %.3g, mean loss %.4f, %d of %d buffered rows forgotten at the start",
				st.steps, st.reverse, sp.lr, st.lossSum/float64(st.steps), st.forgotten, a.mem.Len())
		}
	}
	if a.shn {
		SHN(env.Model.Params(), a.shnAlpha, a.shnMode)
	}
	return nil
}

// rebaseStored sets the stored loss of the rows that arrived during the
// current task to their loss now (storage_loss = task_end).
func (a *aisp) rebaseStored(env *Env) error {
	items := a.mem.res.Items()
	var idx []int
	for i, e := range items {
		if e.seq >= a.taskStart {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	l, err := a.mem.losses(env.Model, idx, env.Cfg.BatchSize)
	if err != nil {
		return err
	}
	for k, i := range idx {
		items[i].stored = l[k]
	}
	return nil
}
