package methods

import (
	"strings"
	"testing"
)

func TestSettings(t *testing.T) {
	defaults := map[string]string{"lambda": "100", "online": "false", "mode": "a", "grid": "1,2", "n": "3"}
	s := Parse(Config{"lambda": " 2.5 ", "online": "yes"}, defaults)
	if v := s.Float("lambda", 0, 10); v != 2.5 {
		t.Errorf("lambda %v", v)
	}
	if !s.Bool("online") {
		t.Error("online not true")
	}
	if v := s.Choice("mode", "a", "b"); v != "a" {
		t.Errorf("mode %q", v)
	}
	if v := s.Floats("grid", 0, 10); len(v) != 2 || v[1] != 2 {
		t.Errorf("grid %v", v)
	}
	if v := s.Int("n", 0, 5); v != 3 {
		t.Errorf("n %d", v)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		cfg  Config
		read func(*Settings)
		want []string // substrings of the error
	}{
		{Config{"lamda": "1"}, func(*Settings) {}, []string{`unknown setting "lamda"`, "valid: grid, lambda, mode, n, online"}},
		{Config{"lambda": "abc"}, func(s *Settings) { s.Float("lambda", 0, 10) }, []string{`lambda="abc"`, "a number in [0, 10]"}},
		{Config{"lambda": "-1"}, func(s *Settings) { s.Float("lambda", 0, 10) }, []string{"[0, 10]"}},
		{Config{"lambda": "NaN"}, func(s *Settings) { s.Float("lambda", 0, 10) }, []string{"a number"}},
		{Config{"n": "2.5"}, func(s *Settings) { s.Int("n", 0, 5) }, []string{"an integer in [0, 5]"}},
		{Config{"online": "maybe"}, func(s *Settings) { s.Bool("online") }, []string{"true or false"}},
		{Config{"mode": "c"}, func(s *Settings) { s.Choice("mode", "a", "b") }, []string{"one of a, b"}},
		{Config{"grid": "1,x"}, func(s *Settings) { s.Floats("grid", 0, 10) }, []string{"comma-separated"}},
	}
	for _, c := range cases {
		s := Parse(c.cfg, defaults)
		c.read(s)
		err := s.Err()
		if err == nil {
			t.Errorf("%v: no error", c.cfg)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.cfg, err, w)
			}
		}
	}
}

func TestRegistry(t *testing.T) {
	want := []string{"aisp", "aisp-no-noise", "aisp-no-shn", "aisp-replay-only", "ewc", "joint", "naive", "replay", "replay-matched"}
	names := Default.Names()
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, n := range want {
		if !have[n] {
			t.Errorf("method %s not registered (have %v)", n, names)
		}
		info, err := Default.Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		if info.Summary == "" || info.Defaults == nil {
			t.Errorf("%s: empty summary or nil defaults", n)
		}
		// The documented defaults parse, given explicitly or not at all.
		if _, err := New(n, nil); err != nil {
			t.Errorf("%s with defaults: %v", n, err)
		}
		if _, err := New(n, Config(info.Defaults)); err != nil {
			t.Errorf("%s with its Defaults given explicitly: %v", n, err)
		}
	}
	_, err := New("ewcc", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown method "ewcc"`) || !strings.Contains(err.Error(), strings.Join(names, ", ")) {
		t.Errorf("unknown method error %q should list %v", err, names)
	}
	_, err = New("ewc", Config{"lambda": "-3", "fisher": "10"})
	if err == nil {
		t.Fatal("bad ewc config accepted")
	}
	for _, w := range []string{"method ewc", `unknown setting "fisher"`, "fisher_samples, fisher_weight, gamma, lambda, lambda_grid, online", `lambda="-3"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if _, err := New("naive", Config{"lr": "1"}); err == nil || !strings.Contains(err.Error(), "no settings") {
		t.Errorf("naive with a setting: %v", err)
	}
	if _, err := New("aisp-no-shn", Config{"shn": "true"}); err == nil || !strings.Contains(err.Error(), "aisp-no-shn fixes shn=false") {
		t.Errorf("ablation with its switch overridden: %v", err)
	}
	if _, err := New("aisp-no-shn", Config{"shn": "false", "noise_sigma": "0.2"}); err != nil {
		t.Errorf("ablation with its own switch value: %v", err)
	}
	if _, err := New("aisp", Config{"shn_mode": "spectral"}); err == nil || !strings.Contains(err.Error(), "one of elementwise, scalar") {
		t.Errorf("bad shn_mode: %v", err)
	}
}

func TestFormatDefaults(t *testing.T) {
	if got := FormatDefaults(map[string]string{"b": "2", "a": "1,3"}); got != "a=1,3 b=2" {
		t.Errorf("got %q", got)
	}
	if got := FormatDefaults(nil); got != "(no settings)" {
		t.Errorf("got %q", got)
	}
}
