package methods_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
)

// anchor is the plugin of docs/PLUGINS.md: an L2 pull towards the
// parameters held at the end of the last task. A whole method is one
// type, its hooks and one Register call.
type anchor struct {
	methods.Base // no-op hooks for BeginTask and TrainBatch
	strength     float64
	theta        *models.Params
}

var anchorDefaults = map[string]string{"strength": "0.01"}

func init() {
	methods.Register(methods.Info{
		Name:     "l2-anchor",
		Summary:  "L2 pull towards the parameters at the end of the last task",
		Defaults: anchorDefaults,
		Rank:     15,      // after EWC in the tables
		Baseline: "naive", // its gains are paired with naive's runs
		New: func(cfg methods.Config) (methods.Method, error) {
			s := methods.Parse(cfg, anchorDefaults)
			m := &anchor{strength: s.Float("strength", 0, math.Inf(1))}
			if err := s.Err(); err != nil {
				return nil, err
			}
			return m, nil
		},
	})
}

func (m *anchor) EndTask(env *methods.Env, _ methods.TaskData) error {
	m.theta = env.Model.Params().Clone()
	return nil
}

func (m *anchor) AddPenalty(env *methods.Env) float64 {
	if m.theta == nil {
		return 0
	}
	p, g := env.Model.Params().Data, env.Model.Grads().Data
	var pen float64
	for i, v := range p {
		d := v - m.theta.Data[i]
		g[i] += float32(m.strength) * d
		pen += float64(d) * float64(d)
	}
	return m.strength / 2 * pen
}

// MarshalState saves the anchor (methods.Checkpointer, so that a run can
// resume from a checkpoint): its parameters, or nothing before the first
// task has ended.
func (m *anchor) MarshalState() ([]byte, error) {
	if m.theta == nil {
		return nil, nil
	}
	return binary.Append(nil, binary.LittleEndian, m.theta.Data)
}

// UnmarshalState restores what MarshalState saved.
func (m *anchor) UnmarshalState(env *methods.Env, data []byte) error {
	if len(data) == 0 {
		m.theta = nil
		return nil
	}
	theta := env.Model.Params().Like()
	if len(data) != 4*len(theta.Data) {
		return fmt.Errorf("l2-anchor: state of %d bytes, want %d (4 per parameter)", len(data), 4*len(theta.Data))
	}
	if _, err := binary.Decode(data, binary.LittleEndian, theta.Data); err != nil {
		return fmt.Errorf("l2-anchor: %w", err)
	}
	m.theta = theta
	return nil
}

// Example builds the plugin by name, as the harness does, and runs its
// hooks on a tiny MLP.
func Example() {
	m, err := methods.New("l2-anchor", methods.Config{"strength": "0.5"})
	if err != nil {
		fmt.Println(err)
		return
	}
	model, _ := models.NewMLP(models.MLPConfig{In: 4, Classes: []int{2}}, 1)
	env := &methods.Env{Model: model, RNG: rand.New(rand.NewPCG(1, 1)), Logf: func(string, ...any) {}}
	fmt.Printf("penalty before any task: %.4f\n", m.AddPenalty(env))
	if err := m.EndTask(env, nil); err != nil {
		fmt.Println(err)
		return
	}
	model.Params().Data[0] += 0.2 // learning the next task moves a weight
	fmt.Printf("penalty after a move of 0.2: %.4f\n", m.AddPenalty(env))
	fmt.Printf("gradient added: %.2f\n", model.Grads().Data[0])

	_, err = methods.New("l2-anchor", methods.Config{"strenght": "1"})
	fmt.Println(err)
	// Output:
	// penalty before any task: 0.0000
	// penalty after a move of 0.2: 0.0100
	// gradient added: 0.10
	// method l2-anchor: unknown setting "strenght" (valid: strength)
}
