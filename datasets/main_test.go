package datasets

import (
	"flag"
	"os"
	"testing"
)

// fuzzMinimize is how much work the fuzzing engine spends minimizing each
// new interesting input when -fuzzminimizetime is not given. Go's
// default, 60 s, made FuzzOpen look stalled (issue 18): its inputs are
// Arrow files of a few kilobytes, the engine's byte-removal pass is
// quadratic in the input's length, so each new input found was minimized
// for the full 60 s, during which the worker ran at 100% CPU and the
// execution count shown did not move. A few hundred attempts shrink
// what can be shrunk without losing the fuzzing time; pass
// -fuzzminimizetime to choose otherwise.
const fuzzMinimize = "200x"

// minimizeGiven records whether -fuzzminimizetime was on the command line.
var minimizeGiven bool

func TestMain(m *testing.M) {
	flag.Parse()
	flag.Visit(func(f *flag.Flag) { minimizeGiven = minimizeGiven || f.Name == "test.fuzzminimizetime" })
	if !minimizeGiven {
		if err := flag.Set("test.fuzzminimizetime", fuzzMinimize); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// TestFuzzMinimizeBounded: without -fuzzminimizetime, fuzzing this package
// minimizes new inputs for fuzzMinimize, not Go's 60 s (issue 18).
func TestFuzzMinimizeBounded(t *testing.T) {
	if minimizeGiven {
		t.Skip("-fuzzminimizetime given")
	}
	if got := flag.Lookup("test.fuzzminimizetime").Value.String(); got != fuzzMinimize {
		t.Errorf("-fuzzminimizetime is %s, want %s", got, fuzzMinimize)
	}
}
