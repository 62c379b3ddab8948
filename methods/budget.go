package methods

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// replayRowsPerBatchRow is the memory rows a plain experience-replay run
// mixes into its training batches per row of new data: 1 for the 1:1
// mixing of the replay method.
const replayRowsPerBatchRow = 1.0

// SleepSteps is the replay budget of one sleep (AISP) or of its
// compute-matched control (replay-matched), in optimiser steps of
// cfg.BatchSize rows:
//
//	compression × fraction × (replay steps of plain ER per task)
//
// where plain ER, mixing memory 1:1 into every one of StepsPerTask
// batches, replays StepsPerTask × 1 batches' worth of memory per task.
// The paper's "10× time compression" is this budget multiplier, never a
// learning-rate multiplier. With the defaults compression = 10 and
// sleep_fraction = 0.1, a sleep is 10 × 0.1 × StepsPerTask = StepsPerTask
// steps: as much replay as ER does while awake, done after the task. For
// the dormancy protocol's 8 h sleep per 16 h day (sleep = half the day's
// wake steps, with StepsPerTask = the day's steps) use sleep_fraction =
// 0.05.
func SleepSteps(cfg TrainConfig, compression, fraction float64) int {
	perTask := float64(cfg.StepsPerTask) * replayRowsPerBatchRow
	return int(math.Round(compression * fraction * perTask))
}

// sleepNight is the Info.Night of AISP and its compute-matched control:
// a night after a day of daySteps wake steps is SleepSteps =
// compression × sleep_fraction × daySteps steps, so sleep_fraction =
// ratio / compression gives ratio × daySteps. A sleep_fraction the
// profile set explicitly is kept.
func sleepNight(defaults map[string]string) func(Config, int, float64) (Config, error) {
	return func(cfg Config, _ int, ratio float64) (Config, error) {
		out := Config{}
		for k, v := range cfg {
			out[k] = v
		}
		if _, set := cfg["sleep_fraction"]; set {
			return out, nil
		}
		cs, ok := cfg["compression"]
		if !ok {
			cs = defaults["compression"]
		}
		c, err := strconv.ParseFloat(strings.TrimSpace(cs), 64)
		if err != nil || !(c > 0) {
			return nil, fmt.Errorf("setting compression=%q: want a positive number to size the night", cs)
		}
		out["sleep_fraction"] = strconv.FormatFloat(ratio/c, 'g', -1, 64)
		return out, nil
	}
}
