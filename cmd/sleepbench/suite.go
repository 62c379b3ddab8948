package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/sleepbench/sleepbench/bench/suite"
)

func init() {
	commands["suite"] = command{"check the methods against published numbers: split-mnist, permuted-mnist or buzzega-mnist", runSuite}
}

// suiteList splits a comma-separated flag value, dropping empty items.
func suiteList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// suiteSets collects repeated -set METHOD.KEY=VALUE flags.
type suiteSets []string

func (s *suiteSets) String() string     { return strings.Join(*s, " ") }
func (s *suiteSets) Set(v string) error { *s = append(*s, v); return nil }

// suiteSeeds reads -seeds: a count n (seeds 1..n) or a comma-separated
// list of seeds.
func suiteSeeds(s string) ([]uint64, error) {
	if !strings.Contains(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-seeds %q: want a count ≥ 1 (seeds 1..n) or a comma-separated list of seeds", s)
		}
		seeds := make([]uint64, n)
		for i := range seeds {
			seeds[i] = uint64(i + 1)
		}
		return seeds, nil
	}
	var seeds []uint64
	for _, x := range suiteList(s) {
		v, err := strconv.ParseUint(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-seeds %q: %q is not a seed (a non-negative integer)", s, x)
		}
		seeds = append(seeds, v)
	}
	return seeds, nil
}

// runSuite is `sleepbench suite NAME [flags]` (flags may also come
// before NAME).
func runSuite(args []string) error {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	seeds := fs.String("seeds", "5", "number of seeds (1..n), or a comma-separated list of seeds")
	methodsFlag := fs.String("methods", "", "comma-separated suite methods (default all): "+strings.Join(suite.SuiteMethods(), ",")+"; buzzega-mnist: "+strings.Join(suite.SuiteMethodsOf(suite.BuzzegaMNIST), ","))
	scenarios := fs.String("scenarios", "", "comma-separated scenarios (default all): split-mnist task,domain,class;\nbuzzega-mnist perm,perm-200,perm-500,perm-5120,rot,rot-200,rot-500,rot-5120 (perm and rot, without a buffer,\nrun sgd,ewc-online,si,joint; the others er,agem,der,derpp)")
	data := fs.String("data", suite.DefaultImageData, "folder of the full MNIST Arrow files (pixels/mnist-*.arrow), as written by 'sleepbench data build -only mnist'")
	out := fs.String("out", "", "output folder (default out/suite/NAME)")
	jobs := fs.Int("jobs", 1, "runs trained at once")
	epochs := fs.Int("epochs", 0, "epochs per task (default: the published setup's, 4 for split-mnist, 10 for permuted-mnist, 1 for buzzega-mnist)")
	perms := fs.Int("permutations", 0, "number of tasks of permuted-mnist (default 10) and of buzzega-mnist's permuted and rotated MNIST (default 20)")
	fisher := fs.Int("fisher-samples", 0, "rows per task for EWC's Fisher (default 10000 for split-mnist, 1000 for permuted-mnist, every training row of the task for buzzega-mnist)")
	format := fs.String("format", "text", "table format: text or markdown")
	initFlag := fs.String("init", "default", "MLP initialisation: default (PyTorch's nn.Linear, the published setup here) or xavier\n(weights uniform in ±√(6/(fan_in+fan_out)), biases 0, as Buzzega et al.'s code; a probe)")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	mask := fs.Bool("mask-unseen", false, "split-mnist class scenario: the training loss covers only the outputs of the classes seen so far\n(2 during task 1, 4 during task 2, …), as Hsu et al.'s code does; default off (all 10 outputs)")
	var sets suiteSets
	fs.Var(&sets, "set", "override a setting of the published setup, METHOD.KEY=VALUE (repeatable): a method setting (ewc.lambda=400, replay.buffer=4400) or METHOD.lr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: sleepbench suite split-mnist|permuted-mnist|buzzega-mnist [flags]\n\n"+
			"Trains the MLP of Hsu et al. 2018 (split-mnist, permuted-mnist) or of\n"+
			"Buzzega et al. 2020 (buzzega-mnist: permuted and rotated MNIST) with their\n"+
			"setup through the harness's loop and methods, writes one result file per\n"+
			"(scenario, method, seed) under the output folder (an existing file is\n"+
			"reused, so the same command resumes), and prints the measured accuracy\n"+
			"beside the published number.\n\nflags:")
		fs.PrintDefaults()
	}
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return err
		}
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if name == "" {
		fs.Usage()
		return fmt.Errorf("no suite named (valid: %s)", strings.Join(suite.SuiteNames(), ", "))
	}
	sd, err := suiteSeeds(*seeds)
	if err != nil {
		return err
	}
	opt := suite.SuiteOptions{
		Seeds: sd, Methods: suiteList(*methodsFlag), Scenarios: suiteList(*scenarios),
		Data: *data, Out: *out, Jobs: *jobs, Epochs: *epochs, Permutations: *perms,
		FisherSamples: *fisher, Set: sets, Format: *format, MaskUnseen: *mask, Init: *initFlag,
	}
	if !*quiet {
		opt.Progress = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return suite.RunSuite(ctx, name, opt, os.Stdout)
}
