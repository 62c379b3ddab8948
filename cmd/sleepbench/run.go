package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/sleepbench/sleepbench/bench"
)

func init() {
	commands["run"] = command{"run a profile's protocols (sequence, dormancy, compression) and write result files", runRun}
}

// setFlags collects repeated -set key=value flags.
type setFlags []string

func (s *setFlags) String() string     { return strings.Join(*s, " ") }
func (s *setFlags) Set(v string) error { *s = append(*s, v); return nil }

// list splits a comma-separated flag value, dropping empty items.
func list(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func runRun(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	profile := fs.String("profile", "default", "profile: "+strings.Join(bench.ProfileNames(), " | "))
	protocol := fs.String("protocol", "", "comma-separated protocols to run (default: all of the profile's): "+strings.Join(bench.Protocols(), ","))
	modelsFlag := fs.String("models", "", "comma-separated models, replacing the profile's (see 'sleepbench models')")
	methodsFlag := fs.String("methods", "", "comma-separated methods, replacing the profile's (see 'sleepbench methods')")
	seeds := fs.String("seeds", "", "comma-separated seeds, replacing the profile's, e.g. 1,2,3")
	order := fs.String("order", "", "comma-separated task order: domain names or path prefixes of your own Arrow files, e.g. "+strings.Join(bench.DefaultOrder(), ","))
	data := fs.String("data", filepath.Join("datasets", "data"), "folder of the Arrow files")
	base := fs.String("base", bench.DefaultBase, "folder of the base checkpoints (-set init=base): <model>.safetensors")
	out := fs.String("out", "", "output folder (default out/PROFILE)")
	jobs := fs.Int("jobs", 1, "runs at once; each model gets cores/jobs threads")
	keep := fs.Bool("keep-checkpoints", false, "keep each run's mid-run checkpoint (OUT/checkpoints/) after the run has finished")
	shard := fs.String("shard", "", "run only shard i of n (i/n, 0-based) for a cluster, or auto: the index from the scheduler ("+strings.Join(bench.ShardVars(), ", ")+"), read also when this flag is not given; 0/1 runs everything even there")
	shards := fs.Int("shards", 0, "the number of shards, for schedulers that set no count (Kubernetes Indexed Jobs: the Job's completions)")
	tuneOnly := fs.Bool("tune-only", false, "only tune the profile's methods that have a grid (for every shard), then stop; give the folder to the shards' -tune-from")
	tuneFrom := fs.String("tune-from", "", "reuse the tuning of this folder (made by -tune-only with the same settings) instead of tuning again")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole command to this file (read it with go tool pprof)")
	var sets setFlags
	fs.Var(&sets, "set", "override a setting, key=value (repeatable): a profile key, METHOD.KEY or grid.METHOD.KEY=v1,v2")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sleepbench run [flags]\n\nRuns the protocols of a profile into an output folder, skipping runs whose\nresult file exists (so the same command resumes), then writes tables.md,\nscores.json, scores.arrow and plots/ there.\n\nflags:")
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output(), "\n-set keys: "+strings.Join(bench.SetKeys(), "; "))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (run takes flags only)", fs.Arg(0))
	}
	p, err := bench.LookupProfile(*profile)
	if err != nil {
		return fmt.Errorf("-profile: %w", err)
	}
	o := bench.Overrides{Protocols: list(*protocol), Models: list(*modelsFlag), Methods: list(*methodsFlag), Order: list(*order), Set: sets}
	for _, s := range list(*seeds) {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("-seeds: %q is not a non-negative integer", s)
		}
		o.Seeds = append(o.Seeds, n)
	}
	if err := p.Apply(o); err != nil {
		return err
	}
	if *jobs < 1 {
		return fmt.Errorf("-jobs %d: want at least 1", *jobs)
	}
	r := &bench.Runner{
		Profile: p, Build: bench.Real(), Data: *data, Base: *base, Out: *out, Jobs: *jobs,
		Progress: os.Stderr, Finish: bench.WriteReports, KeepCheckpoints: *keep,
		TuneOnly: *tuneOnly, TuneFrom: *tuneFrom,
	}
	if r.Out == "" {
		r.Out = filepath.Join("out", p.Name)
	}
	sh, err := bench.ResolveShard(*shard, *shards, os.LookupEnv)
	if err != nil {
		return err
	}
	r.Shard, r.Shards = sh.Index, sh.Count
	fmt.Fprintf(os.Stderr, "sleepbench run: profile %s, backend %s, %d jobs, CPU %s\n", p.Name, bench.BackendLabel(), r.Jobs, cpuName())
	if sh.Count > 1 {
		fmt.Fprintf(os.Stderr, "sleepbench run: shard %s (from %s); merge the shards' folders with sleepbench merge\n", sh, sh.From)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("-cpuprofile %s: %w", *cpuProfile, err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "sleepbench run: -cpuprofile %s: %v\n", *cpuProfile, err)
			}
		}()
	}
	start := time.Now()
	if err := r.Run(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sleepbench run: finished in %s\n", time.Since(start).Round(time.Second))
	if r.TuneOnly {
		fmt.Fprintf(os.Stderr, "sleepbench run: tuning in %s (give it to the shards: -tune-from %s)\n", filepath.Join(r.Out, "tune"), r.Out)
		return nil
	}
	fmt.Fprintf(os.Stderr, "sleepbench run: results in %s (tables: sleepbench tables %s)\n", r.Out, r.Out)
	return nil
}
