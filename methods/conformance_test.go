package methods_test

import (
	"testing"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/methods/methodtest"
)

// TestConformance runs the conformance suite over every registered
// method, the built-in ones and the l2-anchor plugin of example_test.go.
func TestConformance(t *testing.T) {
	methodtest.RunAll(t, methods.Default)
}
