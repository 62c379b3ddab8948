package methods

import (
	"fmt"
	"maps"
	"strings"
)

// ewcOnlineDefaults are online EWC's settings: EWC's, with online fixed
// to true.
var ewcOnlineDefaults = func() map[string]string {
	d := maps.Clone(ewcDefaults)
	d["online"] = "true"
	return d
}()

// ewc-online is EWC in online mode (Schwarz et al. 2018) as a method of
// its own, so that a run's name says which EWC ran and the harness tunes
// its λ separately: one running anchor, F ← γF + F_new and θ* the latest
// parameters, instead of one anchor per past task. Its online setting is
// fixed (use ewc for per-task anchors).
func init() {
	Register(Info{
		Name:           "ewc-online",
		Summary:        "online EWC: one running Fisher anchor, F ← γF + F_new (ewc with online=true fixed)",
		Defaults:       ewcOnlineDefaults,
		Label:          "online EWC",
		Rank:           11,
		PlainFirstWake: AlwaysPlain,
		Baseline:       "naive",
		New: func(cfg Config) (Method, error) {
			if v, ok := cfg["online"]; ok && strings.TrimSpace(v) != "true" {
				return nil, fmt.Errorf("setting online=%q: ewc-online fixes online=true (use ewc for one anchor per task)", v)
			}
			return newEWC(cfg, ewcOnlineDefaults)
		},
	})
}
