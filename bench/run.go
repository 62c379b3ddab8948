package bench

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/results"
)

// runJob runs the runs of one job that have no result file yet, under
// the job's lock (lock.go). A job another process holds is skipped and
// noted in r.busy. Once every run of the job has its file, the job's
// checkpoint is deleted (unless KeepCheckpoints).
func (r *Runner) runJob(job []RunSpec) error {
	first := job[0]
	lock, err := r.lockRun(first)
	if errors.Is(err, errBusy) {
		r.mu.Lock()
		r.busy = append(r.busy, first.Name())
		r.mu.Unlock()
		r.track.log("%v; skipped", err)
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.release(r)
	// A process killed while writing a result file leaves its temporary
	// file; the job's lock holder removes it.
	for _, s := range job {
		if err := results.RemoveTemps(filepath.Join(r.Out, s.File)); err != nil {
			return err
		}
	}
	if first.Protocol == Dormancy {
		if !r.exists(first) {
			err = r.runDormancy(first)
		}
	} else {
		err = r.runSequence(job)
	}
	if err != nil || r.KeepCheckpoints {
		return err
	}
	return r.removeCheckpoint(r.checkpointPath(first))
}

// resumed is what a job's earlier processes left in its checkpoint.
type resumed struct {
	wall float64 // wall seconds the earlier processes trained the run
	peak uint64  // their peak memory
}

// checkpoints arms o's loop to save its state at every task boundary and
// every Profile.CheckpointEvery wake steps into the checkpoint of the job
// led by s (checkpoint.go), after restoring that checkpoint when there is
// one. A method or optimiser that cannot be checkpointed runs without
// (its run starts over after a kill), said once in the progress log.
func (r *Runner) checkpoints(s RunSpec, o *opened, start time.Time) (resumed, error) {
	var res resumed
	l := o.loop
	if err := checkpointable(l); err != nil {
		r.track.log("%s: no checkpoints: %v", s.Name(), err)
		return res, nil
	}
	path, name, settings := r.checkpointPath(s), s.Name(), settingsHash(o.config)
	if _, err := os.Stat(path); err == nil {
		wall, peak, err := loadCheckpoint(path, name, settings, l)
		if err != nil {
			return res, err
		}
		res = resumed{wall, peak}
		r.track.log("%s: resuming from %s (%d periods done, %d optimiser steps)", name, path, l.prog.Done, l.Steps)
	}
	l.Every = r.Profile.CheckpointEvery
	l.Checkpoint = func() error {
		wall := res.wall + r.now().Sub(start).Seconds()
		if err := saveCheckpoint(path, name, settings, l, wall, max(res.peak, r.peak())); err != nil {
			return err
		}
		if r.afterCheckpoint != nil {
			return r.afterCheckpoint(name)
		}
		return nil
	}
	return res, nil
}

// openRun resolves the method's config for s's protocol and opens s.
func (r *Runner) openRun(s RunSpec) (*opened, methods.Config, error) {
	cfg, err := r.methodConfig(s.Model, s.Method, s.Protocol)
	if err != nil {
		return nil, nil, err
	}
	o, err := r.open(s, s.Seed, cfg, false)
	return o, cfg, err
}

func (r *Runner) runDormancy(s RunSpec) error {
	start := r.now()
	o, _, err := r.openRun(s)
	if err != nil {
		return err
	}
	defer o.close()
	prior, err := r.checkpoints(s, o, start)
	if err != nil {
		return err
	}
	r.track.begin(s.Name(), r.cost(s.Model))
	others := append([]Task(nil), o.order[1:]...)
	if o.next != nil {
		others = append(others, o.next)
	}
	p := r.Profile
	res, err := RunDormancy(o.loop, o.order[0], others, p.Steps, p.Days, p.DaySteps, p.EvalEvery)
	if err != nil {
		return err
	}
	rec := record(s, p.Name, o)
	rec.Tasks = rec.Tasks[:1]
	rec.Days, rec.DaysLoss = res.Acc, res.Loss
	if len(res.Days) != p.Days+1 {
		rec.DayNumbers = res.Days
	}
	rec.Config["interfering"] = strings.Join(names(others), ",")
	r.finish(rec, o.loop, start, prior)
	if err := r.save(s, rec); err != nil {
		return err
	}
	r.track.end(s.Name(), r.work(s))
	return nil
}

func names(ts []Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name()
	}
	return out
}

// runSequence runs a sequence run and the compression run sharing its
// model. When the sequence's file exists but the compression's does not
// (an interrupted command), the sequence is trained again — bit for bit
// the same model — without rewriting its file.
func (r *Runner) runSequence(job []RunSpec) error {
	start := r.now()
	s := job[0]
	o, cfg, err := r.openRun(s)
	if err != nil {
		return err
	}
	defer o.close()
	p := r.Profile
	var seqSpec, compSpec *RunSpec
	for i := range job {
		if r.exists(job[i]) {
			continue
		}
		switch job[i].Protocol {
		case Sequence:
			seqSpec = &job[i]
		case Compression:
			compSpec = &job[i]
		}
	}
	if seqSpec == nil && compSpec == nil {
		return nil
	}
	live := s.Name()
	if seqSpec == nil {
		live = compSpec.Name()
	}
	prior, err := r.checkpoints(s, o, start)
	if err != nil {
		return err
	}
	r.track.begin(live, r.cost(s.Model))
	res, err := RunSequence(o.loop, o.order, o.next, p.Steps)
	if err != nil {
		return err
	}
	if seqSpec != nil {
		rec := record(*seqSpec, p.Name, o)
		rec.R, rec.Loss, rec.NextDay = res.R, res.Loss, res.NextDay
		r.finish(rec, o.loop, start, prior)
		if err := r.save(*seqSpec, rec); err != nil {
			return err
		}
		r.track.end(live, r.work(*seqSpec))
	}
	if compSpec != nil {
		cstart := r.now()
		if seqSpec != nil {
			r.track.begin(compSpec.Name(), r.cost(compSpec.Model))
		}
		comp, share, err := RunCompression(o.loop, o.order, p.PruneFrac)
		if err != nil {
			return err
		}
		rec := record(*compSpec, p.Name, o)
		rec.Config = r.runConfig(*compSpec, mustDescribe(r, s.Model), cfg)
		rec.Compression, rec.CompressionShare = comp, share
		// Steps and tokens are those that trained the compressed model;
		// the wall time is the compression's own unless the model had
		// to be trained again for it.
		if seqSpec != nil {
			start, prior = cstart, resumed{}
		}
		r.finish(rec, o.loop, start, prior)
		if err := r.save(*compSpec, rec); err != nil {
			return err
		}
		r.track.end(compSpec.Name(), 0)
	}
	return nil
}

func mustDescribe(r *Runner, model string) ModelInfo {
	info, _ := r.Build.Describe(model) // validated before any run
	return info
}

// finish fills the cost fields of rec: the wall time and peak memory
// add those of the processes that trained the run before a checkpoint.
func (r *Runner) finish(rec *results.Run, l *Loop, start time.Time, prior resumed) {
	rec.Steps = l.Steps
	rec.Tokens = l.Tokens
	rec.Periods = l.Periods
	rec.WallSeconds = prior.wall + r.now().Sub(start).Seconds()
	rec.PeakMemBytes = max(prior.peak, r.peak())
}

// save validates a run's record and writes its file atomically.
func (r *Runner) save(s RunSpec, rec *results.Run) error {
	return results.SaveRun(filepath.Join(r.Out, s.File), rec)
}
