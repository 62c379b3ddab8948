package methods

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Settings reads a method's Config against the method's documented
// defaults (its Info.Defaults): a key absent from the defaults is
// rejected, a key absent from the Config takes its default. The typed
// getters record the first bad value; Err reports every problem at once,
// each naming the key and what would have been valid.
//
//	s := methods.Parse(cfg, defaults)
//	lambda := s.Float("lambda", 0, math.Inf(1))
//	online := s.Bool("online")
//	if err := s.Err(); err != nil {
//		return nil, err
//	}
type Settings struct {
	cfg      Config
	defaults map[string]string
	errs     []error
}

// Parse checks cfg's keys against defaults and returns the Settings to
// read typed values from.
func Parse(cfg Config, defaults map[string]string) *Settings {
	s := &Settings{cfg: cfg, defaults: defaults}
	var unknown []string
	for k := range cfg {
		if _, ok := defaults[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		s.errs = append(s.errs, fmt.Errorf("unknown setting %q (valid: %s)", k, s.validKeys()))
	}
	return s
}

func (s *Settings) validKeys() string {
	if len(s.defaults) == 0 {
		return "none: this method has no settings"
	}
	keys := make([]string, 0, len(s.defaults))
	for k := range s.defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// raw returns the configured or default string for key.
func (s *Settings) raw(key string) (string, bool) {
	if v, ok := s.cfg[key]; ok {
		return strings.TrimSpace(v), true
	}
	v, ok := s.defaults[key]
	if !ok {
		// A getter for an undeclared key is a bug in the method.
		s.errs = append(s.errs, fmt.Errorf("setting %q has no documented default (valid: %s)", key, s.validKeys()))
	}
	return strings.TrimSpace(v), ok
}

func (s *Settings) bad(key, val, want string) {
	s.errs = append(s.errs, fmt.Errorf("setting %s=%q: want %s", key, val, want))
}

// Float reads key as a number in [lo, hi].
func (s *Settings) Float(key string, lo, hi float64) float64 {
	v, ok := s.raw(key)
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		s.bad(key, v, "a number in "+interval(lo, hi))
		return 0
	}
	return f
}

// Int reads key as an integer in [lo, hi].
func (s *Settings) Int(key string, lo, hi int) int {
	v, ok := s.raw(key)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		s.bad(key, v, "an integer in "+interval(float64(lo), float64(hi)))
		return 0
	}
	return n
}

// Bool reads key as true or false (also 1/0, yes/no, on/off).
func (s *Settings) Bool(key string) bool {
	v, ok := s.raw(key)
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true
	case "false", "0", "no", "off":
		return false
	}
	s.bad(key, v, "true or false")
	return false
}

// Choice reads key as one of valid.
func (s *Settings) Choice(key string, valid ...string) string {
	v, ok := s.raw(key)
	if !ok {
		return ""
	}
	for _, c := range valid {
		if v == c {
			return v
		}
	}
	s.bad(key, v, "one of "+strings.Join(valid, ", "))
	return ""
}

// Floats reads key as a comma-separated list of numbers in [lo, hi].
func (s *Settings) Floats(key string, lo, hi float64) []float64 {
	v, ok := s.raw(key)
	if !ok {
		return nil
	}
	var out []float64
	for _, part := range strings.Split(v, ",") {
		f, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
		if err != nil || math.IsNaN(f) || f < lo || f > hi {
			s.bad(key, v, "comma-separated numbers in "+interval(lo, hi))
			return nil
		}
		out = append(out, f)
	}
	return out
}

// Err returns every problem found so far, or nil.
func (s *Settings) Err() error { return errors.Join(s.errs...) }

func interval(lo, hi float64) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	l, h := "[", "]"
	if math.IsInf(lo, -1) {
		l = "("
	}
	if math.IsInf(hi, 1) {
		h = ")"
	}
	return l + f(lo) + ", " + f(hi) + h
}

// FormatDefaults renders defaults as "key=value" pairs sorted by key and
// separated by spaces, or "(no settings)".
func FormatDefaults(defaults map[string]string) string {
	if len(defaults) == 0 {
		return "(no settings)"
	}
	keys := make([]string, 0, len(defaults))
	for k := range defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + defaults[k]
	}
	return strings.Join(parts, " ")
}
