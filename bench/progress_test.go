package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Off a terminal the tracker prints plain lines, at most one every five
// seconds (and when the last run ends), with the runs, the step, the loss,
// tokens/s and an ETA.
func TestTrackerThrottle(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := newTracker(&buf, func() time.Time { return now })
	tr.plan(2, 20)
	tr.begin("sequence/custom/naive/seed1", 1)
	for s := 1; s <= 10; s++ {
		now = now.Add(time.Second)
		tr.update("sequence/custom/naive/seed1", Progress{Label: "task 1 (speech)", Step: s, Steps: 10, Loss: 5, Tokens: int64(100 * s)})
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// Printed at 1 s (first), 6 s; not in between.
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), buf.String())
	}
	want := "sleepbench: 0/2 runs | sequence/custom/naive/seed1 task 1 (speech) step 6/10 loss 5.000 | 100 tok/s | ETA 14s"
	if lines[1] != want {
		t.Errorf("line %q\nwant %q", lines[1], want)
	}
	tr.end("sequence/custom/naive/seed1", 10)
	now = now.Add(time.Second)
	tr.begin("b", 1)
	tr.end("b", 10)
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "sleepbench: 2/2 runs") || strings.Contains(buf.String(), "\r") {
		t.Errorf("last line %q", last)
	}
}

// The ETA weighs each run's wake steps by its model's cost: with a run
// of cost 3 still to come, 10 done steps of cost 1 are a quarter of the
// work, so 11 s elapsed leave 33 s (unweighed, half the steps: 11 s).
func TestTrackerETAWeighsCost(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := newTracker(&buf, func() time.Time { return now })
	tr.plan(2, 10*1+10*3)
	tr.begin("small", 1)
	for s := 1; s <= 10; s++ {
		now = now.Add(time.Second)
		tr.update("small", Progress{Label: "task 1", Step: s, Steps: 10, Tokens: int64(10 * s)})
	}
	now = now.Add(time.Second)
	tr.end("small", 10)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "ETA 33s") {
		t.Errorf("last line %q, want the ETA 33s", last)
	}
}
