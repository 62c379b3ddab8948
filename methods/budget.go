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

// sleepNight is the Info.Night of AISP and its compute-matched control.
// A night after a day of daySteps wake steps is SleepSteps = compression
// × sleep_fraction × daySteps steps, so sleep_fraction = ratio /
// compression gives n = ratio × daySteps. A night shorter than two
// cycles would never reach a reverse cycle (the first is cycle 1), so
// cycle_steps becomes min(cycle_steps, ⌊n/2⌋) (at least 1): every night
// of two steps or more holds a reverse cycle, and its noise, which
// decays to 0 at its last step, is above 0 on its first. Settings the
// profile gave explicitly are kept.
func sleepNight(defaults map[string]string) func(Config, int, float64) (Config, error) {
	return func(cfg Config, daySteps int, ratio float64) (Config, error) {
		out := Config{}
		for k, v := range cfg {
			out[k] = v
		}
		get := func(key string) (float64, error) {
			v, ok := cfg[key]
			if !ok {
				v = defaults[key]
			}
			x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(x > 0) {
				return 0, fmt.Errorf("setting %s=%q: want a positive number to size the night", key, v)
			}
			return x, nil
		}
		c, err := get("compression")
		if err != nil {
			return nil, err
		}
		f := ratio / c
		if _, set := cfg["sleep_fraction"]; set {
			if f, err = get("sleep_fraction"); err != nil {
				return nil, err
			}
		} else {
			out["sleep_fraction"] = strconv.FormatFloat(f, 'g', -1, 64)
		}
		if _, set := cfg["cycle_steps"]; !set {
			cycle, err := get("cycle_steps")
			if err != nil {
				return nil, err
			}
			n := SleepSteps(TrainConfig{StepsPerTask: daySteps}, c, f)
			if half := max(1, n/2); float64(half) < cycle {
				out["cycle_steps"] = strconv.Itoa(half)
			}
		}
		return out, nil
	}
}
