package bench

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// tracker prints the runner's progress: runs done / total, the runs in
// flight with their period, step and loss, tokens per second and an ETA.
// On a terminal it rewrites one line in place (\r) at most ten times a
// second; otherwise it prints a plain line at most every interval.
type tracker struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	width    int // terminal columns (tty only); longer lines are cut
	every    time.Duration
	now      func() time.Time
	start    time.Time
	last     time.Time
	total    int     // runs to do in this process
	done     int     // runs finished
	planned  float64 // work of all runs to do, for the ETA: wake steps × cost
	finished float64 // work of finished runs
	tokens   int64   // tokens trained by finished runs
	live     map[string]*liveRun
	printed  bool // a \r line is on screen
}

type liveRun struct {
	p      Progress
	cost   float64 // work per wake step (the model's cost per token)
	wake   float64 // work so far: wake steps × cost
	tokens int64
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newTracker(w io.Writer, now func() time.Time) *tracker {
	t := &tracker{w: w, tty: isTerminal(w), now: now, live: map[string]*liveRun{}}
	t.every = 5 * time.Second
	if t.tty {
		t.every = 100 * time.Millisecond
		if t.width = termWidth(w.(*os.File)); t.width <= 0 {
			t.width = 120
		}
	}
	t.start = now()
	return t
}

// plan adds runs and their work (wake steps × cost) to the totals.
func (t *tracker) plan(runs int, work float64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.total += runs
	t.planned += work
	t.mu.Unlock()
}

// begin registers a run in flight whose wake steps each weigh cost.
func (t *tracker) begin(name string, cost float64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	t.live[name] = &liveRun{cost: cost}
	t.mu.Unlock()
}

// update records a step of run name and prints when due.
func (t *tracker) update(name string, p Progress) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.live[name]
	if r == nil {
		r = &liveRun{cost: 1}
		t.live[name] = r
	}
	if p.Steps > 0 {
		r.wake += r.cost
	}
	r.p = p
	r.tokens = p.Tokens
	if now := t.now(); now.Sub(t.last) >= t.every {
		t.last = now
		t.print(now)
	}
}

// end marks run name finished, crediting its planned work.
func (t *tracker) end(name string, work float64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remove(name)
	t.done++
	t.finished += work
	if now := t.now(); t.tty || t.done == t.total || now.Sub(t.last) >= t.every {
		t.last = now
		t.print(now)
	}
}

// drop removes work name from the runs in flight without counting it as
// a run (a shared first wake); the tokens it trained count.
func (t *tracker) drop(name string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.remove(name)
}

// remove takes name off the runs in flight, keeping its tokens; t.mu is
// held.
func (t *tracker) remove(name string) {
	if r := t.live[name]; r != nil {
		t.tokens += r.tokens
	}
	delete(t.live, name)
}

// close ends the in-place line with a newline.
func (t *tracker) close() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.printed {
		fmt.Fprintln(t.w)
		t.printed = false
	}
}

// log prints a message on its own line.
func (t *tracker) log(format string, args ...any) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.printed {
		fmt.Fprint(t.w, "\r\x1b[K")
		t.printed = false
	}
	fmt.Fprintf(t.w, format+"\n", args...)
}

func (t *tracker) print(now time.Time) {
	var b strings.Builder
	fmt.Fprintf(&b, "sleepbench: %d/%d runs", t.done, t.total)
	names := make([]string, 0, len(t.live))
	for n := range t.live {
		names = append(names, n)
	}
	sort.Strings(names)
	tokens := t.tokens
	wake := t.finished
	for _, n := range names {
		r := t.live[n]
		tokens += r.tokens
		wake += min(r.wake, t.planned)
		fmt.Fprintf(&b, " | %s %s", n, r.p.Label)
		if r.p.Steps > 0 {
			fmt.Fprintf(&b, " step %d/%d", r.p.Step, r.p.Steps)
		} else if r.p.Step > 0 {
			fmt.Fprintf(&b, " step %d", r.p.Step)
		}
		if r.p.Step > 0 {
			fmt.Fprintf(&b, " loss %.3f", r.p.Loss)
		}
	}
	el := now.Sub(t.start).Seconds()
	if el > 0 {
		fmt.Fprintf(&b, " | %s tok/s", human(float64(tokens)/el))
	}
	if t.planned > 0 && wake > 0 && el > 0 {
		f := wake / t.planned
		if f > 1 {
			f = 1
		}
		eta := time.Duration(el * (1 - f) / f * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(&b, " | ETA %s", eta)
	}
	if t.tty {
		line := []rune(b.String())
		if len(line) > t.width-1 {
			line = line[:t.width-1]
		}
		fmt.Fprint(t.w, "\r"+string(line)+"\x1b[K")
		t.printed = true
	} else {
		fmt.Fprintln(t.w, b.String())
	}
}

// human formats x with a k or M suffix.
func human(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.1fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}
