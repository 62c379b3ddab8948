package methods

// matchedName is the name of AISP's compute-matched control.
const matchedName = "replay-matched"

// replay-matched is AISP's compute-matched control: the same reservoir
// buffer filled the same way while awake, and after each task the same
// number of extra replay steps as AISP's sleep (SleepSteps) at the same
// sleep learning rate, but with uniform sampling (without replacement
// within a batch), no importance weights, no reverse order, no SHN and
// no noise. It is AISP itself with those four settings fixed off, so
// that it differs from aisp-priority, the first rung of the ladder (see
// aisp.go), by exactly one setting, and a gain of AISP over it cannot
// come from extra optimiser steps or a gentler rate. What is matched is
// optimiser steps and rows per step: AISP's prioritisation also spends
// forward-only passes scoring rows (each row entering the buffer, the
// whole buffer at the start of a sleep and every refresh steps), which
// the control does not.
func init() {
	registerAISP(Info{Name: matchedName, Label: "replay-matched (AISP's compute, uniform replay)", Rank: 50,
		Summary: "compute-matched control for aisp: same buffer and sleep budget, uniform replay, no noise/SHN/reverse"},
		map[string]string{"replay": "true", "priority": "false", "reverse_fraction": "0", "shn": "false", "noise": "false"})
}
