package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// matchedDefaults are replay-matched's documented settings; buffer,
// compression, sleep_fraction, sleep_lr_scale and wake_replay mean what
// they mean for aisp and must be set to the same values for the control
// to match it (the defaults are the same).
var matchedDefaults = map[string]string{
	"buffer":         aispDefaults["buffer"],
	"compression":    aispDefaults["compression"],
	"sleep_fraction": aispDefaults["sleep_fraction"],
	"sleep_lr_scale": aispDefaults["sleep_lr_scale"],
	"wake_replay":    aispDefaults["wake_replay"],
}

// matched is AISP's compute-matched control: the same reservoir buffer
// filled the same way while awake, and after each task the same number of
// extra replay steps as AISP's sleep (SleepSteps) at the same sleep
// learning rate, but with uniform sampling (without replacement within a
// batch), no importance weights, no noise, no SHN and no reverse order.
// It runs AISP's own sleep loop with those parts switched off, so that a
// gain of AISP over it cannot come from extra optimiser steps or a
// gentler rate. What is matched is optimiser steps (and rows per step):
// AISP's prioritisation also spends forward-only passes scoring rows
// (each row entering the buffer, the whole buffer at the start of a sleep
// and every refresh steps), which the control does not.
type matched struct {
	Base
	mem                       *memory
	wakeReplay                bool
	compression, fraction, lr float64
	task                      int
	last                      sleepStats
}

func init() {
	Register(Info{
		Name:     "replay-matched",
		Summary:  "compute-matched control for aisp: same buffer and sleep budget, uniform replay, no noise/SHN/reverse",
		Defaults: matchedDefaults,
		Label:    "replay-matched (AISP's compute, uniform replay)",
		Rank:     50,
		Baseline: "naive",
		Buffered: true,
		Night:    sleepNight(matchedDefaults),
		New: func(cfg Config) (Method, error) {
			s := Parse(cfg, matchedDefaults)
			m := &matched{
				mem:         newMemory(s.Int("buffer", 1, math.MaxInt32)),
				compression: s.Float("compression", 0, math.Inf(1)),
				fraction:    s.Float("sleep_fraction", 0, math.Inf(1)),
				lr:          s.Float("sleep_lr_scale", 0, math.Inf(1)),
				wakeReplay:  s.Bool("wake_replay"),
			}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}

func (m *matched) BeginTask(_ *Env, t TaskData) error {
	m.task = t.Index()
	return nil
}

func (m *matched) TrainBatch(env *Env, b *models.Batch) (*models.Batch, error) {
	if m.wakeReplay {
		return m.mem.wakeMix(env, b, m.task, false)
	}
	return b, m.mem.observe(env, b, m.task, false)
}

func (m *matched) EndTask(env *Env, t TaskData) error {
	sp := sleepSpec{
		steps: SleepSteps(env.Cfg, m.compression, m.fraction),
		lr:    m.lr * env.Cfg.LR,
		rows:  env.Cfg.BatchSize,
	}
	st, err := runSleep(env, m.mem, sp)
	m.last = st
	if err != nil {
		return fmt.Errorf("replay-matched: after task %d (%s): %w", t.Index(), t.Name(), err)
	}
	if st.steps > 0 {
		env.Logf("replay-matched: task %d (%s): %d uniform replay steps at lr %.3g, mean loss %.4f", t.Index(), t.Name(), st.steps, sp.lr, st.lossSum/float64(st.steps))
	}
	return nil
}
