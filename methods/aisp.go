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
// Switches (for ablations and the ladder): replay, priority, shn, noise,
// and reverse_fraction = 0 for no reverse cycles.
//
// Wake:
//   - buffer: rows of the reservoir buffer (Algorithm R over every row of
//     the training stream; the same buffer as replay).
//   - wake_replay: also mix memory 1:1 into wake batches, as replay does.
//     Off by default: in DESIGN.md's reading the sleep phase does the
//     replay, and the wake phase only fills the buffer.
//   - storage_loss: the reference loss of a buffered row. "entry": its
//     loss (clean forward) when it entered the buffer, as DESIGN.md says;
//     "task_end" (the default): re-measured at the end of the task it
//     arrived in, just before that task's sleep (so a row counts as
//     forgotten only against what the model knew once the task was
//     learned). With "entry" a row's loss at entry is from before the
//     model trained on it, so almost no row looks forgotten (0–1 of 100
//     at the start of each sleep of the default profile) and priority is
//     close to uniform. Chosen on the validation splits (default profile,
//     custom, sequence, seeds 1000 and 1001, eval_split=validation):
//     loss forgetting F 0.179 and 0.176 nats with task_end against 0.219
//     and 0.224 with entry, and the mean validation loss right after each
//     task 4.469 and 4.462 against 4.486 and 4.466.
//
// Sleep, part 1, active replay (when replay is on; with priority off it
// draws rows uniformly, as the compute-matched control replay-matched
// does):
//   - compression, sleep_fraction: the budget, SleepSteps = compression ×
//     sleep_fraction × StepsPerTask steps of BatchSize rows (with the
//     defaults 10 × 0.1 × StepsPerTask = StepsPerTask: as much replay as
//     plain ER does while awake, done after the task). Never a learning
//     rate multiplier.
//   - sleep_lr_scale: sleep learning rate = sleep_lr_scale × the wake LR,
//     constant through the sleep.
//   - priority, eps, beta: with priority on, p_i = max(0, loss_now_i −
//     loss_stored_i) + eps; rows drawn with probability P(i) = p_i/Σp
//     (with replacement); loss weights (N·P(i))^−beta, divided by their
//     mean within each batch so that a prioritised step is as large as a
//     uniform one: priority changes which rows are replayed, never the
//     step size. With priority off: uniform draws, no weights, no scoring.
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
	"priority":         "true",
	"shn":              "true",
	"noise":            "true",
	"buffer":           "1000",
	"wake_replay":      "false",
	"storage_loss":     "task_end",
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
	replay, priority  bool
	shn, noise        bool
	wakeReplay        bool
	taskEnd           bool // storage_loss = task_end
	compression       float64
	fraction, lrScale float64
	eps, beta         float64
	refresh, cycle    int
	reverseFraction   float64
	reverseTokens     bool
	shnAlpha          float64
	shnMode           SHNMode
	sigma, attnSigma  float64
	cosine            bool

	mem       *memory
	task      int
	taskStart int64 // stream position of the current task's first row
	last      sleepStats
}

// The ladder from the compute-matched control to AISP adds one component
// at a time, each rung one setting away from its Parent, so that each
// component's effect is a paired difference between neighbours:
//
//	replay-matched    uniform replay, AISP's sleep budget and rate (matched.go)
//	aisp-priority     + forgetting-aware priority (with importance weights)
//	aisp-replay-only  + reverse cycles
//	aisp-no-noise     + SHN
//	aisp              + noise
//
// aisp-no-shn is AISP minus SHN, an ablation beside the ladder.
func init() {
	registerAISP(Info{Name: "aisp", Label: "AISP", Rank: 30, Role: RoleSleep, Parent: "aisp-no-noise",
		Summary: "AI Sleep Protocol: prioritised + reverse replay, SHN and noise in a sleep after each task"}, nil)
	registerAISP(Info{Name: "aisp-priority", Rank: 41, Parent: "replay-matched",
		Summary: "aisp ladder: replay-matched + forgetting-aware priority (no reverse, SHN or noise)"},
		map[string]string{"replay": "true", "priority": "true", "reverse_fraction": "0", "shn": "false", "noise": "false"})
	registerAISP(Info{Name: "aisp-replay-only", Rank: 42, Parent: "aisp-priority",
		Summary: "aisp ladder and ablation: prioritised + reverse sleep replay only (no SHN, no noise)"},
		map[string]string{"replay": "true", "priority": "true", "shn": "false", "noise": "false"})
	registerAISP(Info{Name: "aisp-no-noise", Rank: 43, Parent: "aisp-replay-only",
		Summary: "aisp ladder and ablation: without sleep noise"},
		map[string]string{"replay": "true", "priority": "true", "shn": "true", "noise": "false"})
	registerAISP(Info{Name: "aisp-no-shn", Rank: 44,
		Summary: "aisp ablation: without synaptic homeostatic normalisation"},
		map[string]string{"replay": "true", "priority": "true", "shn": "false", "noise": "true"})
}

// registerAISP registers AISP or a variant whose switches are fixed:
// setting a fixed switch to another value is an error, so that a run's
// name always says what ran. info gives the name, summary and table
// metadata; every variant keeps a buffer, is measured against naive and
// sleeps at night, and all but the control itself are paired with the
// compute-matched control replay-matched.
func registerAISP(info Info, fixed map[string]string) {
	defaults := maps.Clone(aispDefaults)
	maps.Copy(defaults, fixed)
	name := info.Name
	info.Defaults = defaults
	info.Buffered = true
	info.Baseline = "naive"
	// The first task's wake only fills the buffer, unless it is mixed
	// into the wake batches.
	info.PlainFirstWake = func(cfg Config) bool { return !Parse(cfg, defaults).Bool("wake_replay") }
	if name != matchedName {
		info.Control = matchedName
	}
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
		priority:        s.Bool("priority"),
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
		return a.mem.wakeMix(env, b, a.task, a.priority)
	}
	return b, a.mem.observe(env, b, a.task, a.priority)
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
	var rms []float64 // each matrix's RMS before the sleep, which SHN restores
	if a.shn {
		rms = MatrixRMS(env.Model.Params())
	}
	if a.replay {
		if a.priority && a.taskEnd {
			if err := a.rebaseStored(env); err != nil {
				return err
			}
		}
		sp := sleepSpec{
			steps:           SleepSteps(env.Cfg, a.compression, a.fraction),
			lr:              a.lrScale * env.Cfg.LR,
			rows:            env.Cfg.BatchSize,
			prioritized:     a.priority,
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
			env.Logf("sleep: %d replay steps (%d reverse, %d noisy) at lr %.3g, mean loss %.4f, mean raw importance weight %.3g, %d of %d buffered rows forgotten at the start",
				st.steps, st.reverse, st.noisy(), sp.lr, st.lossSum/float64(st.steps), st.meanRawWeight(), st.forgotten, a.mem.Len())
		}
	}
	if a.shn {
		SHNToRMS(env.Model.Params(), a.shnAlpha, a.shnMode, rms)
	}
	return nil
}

// Report gives the run record what the last sleep did: its replay steps,
// reverse steps, steps with noise above zero, the mean importance weight
// before the per-batch normalisation (1 when uniform), and the buffered
// rows whose loss had risen since storage.
func (a *aisp) Report() map[string]float64 {
	st := a.last
	return map[string]float64{
		"sleep_steps":     float64(st.steps),
		"reverse_steps":   float64(st.reverse),
		"noisy_steps":     float64(st.noisy()),
		"mean_raw_weight": st.meanRawWeight(),
		"forgotten_rows":  float64(st.forgotten),
	}
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

// MarshalState saves the buffer (rows, storage losses, stream
// positions, the reservoir's count), the current task and where its rows
// start, and the figures of the last sleep (for Report).
func (a *aisp) MarshalState() ([]byte, error) {
	w := newStateWriter("aisp/1")
	w.memory(a.mem)
	w.Int(a.task)
	w.Uint64(uint64(a.taskStart))
	st := a.last
	w.Int(st.steps)
	w.Int(st.reverse)
	w.Float64s(st.embed)
	w.Float64s(st.attn)
	w.Float64(st.lossSum)
	w.Int(st.forgotten)
	w.Float64(st.rawWeightSum)
	w.Int(st.rawWeights)
	return w.Bytes(), nil
}

// UnmarshalState restores what MarshalState saved.
func (a *aisp) UnmarshalState(_ *Env, data []byte) error {
	r := newStateReader(data, "aisp/1")
	r.memory(a.mem)
	task, start := r.Int(), int64(r.Uint64())
	var st sleepStats
	st.steps, st.reverse = r.Int(), r.Int()
	st.embed, st.attn = r.Float64s(), r.Float64s()
	st.lossSum, st.forgotten = r.Float64(), r.Int()
	st.rawWeightSum, st.rawWeights = r.Float64(), r.Int()
	if err := r.Err(); err != nil {
		return stateErr("aisp", err)
	}
	a.task, a.taskStart, a.last = task, start, st
	return nil
}
