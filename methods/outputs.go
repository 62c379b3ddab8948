package methods

import (
	"fmt"
	"math"

	"github.com/sleepbench/sleepbench/models"
)

// The helpers below are shared by the methods that train on a loss of
// their own over the model's outputs (lwf, derpp) or differentiate one
// (mas), and by those that add a second gradient to the step's (agem,
// derpp, lwf). The step's forward and backward belong to the harness
// (Env.Step, bench.Loop), so such a method computes its extra gradient in
// TrainBatch, at the parameters the step will use, keeps it in a
// parameter-sized buffer, and adds it to the step's gradient in
// AddPenalty.

// outputTrainer returns env's model as a models.OutputTrainer, or an
// error naming the model and the method that needs it.
func outputTrainer(env *Env, method string) (models.OutputTrainer, error) {
	m, ok := env.Model.(models.OutputTrainer)
	if !ok {
		return nil, fmt.Errorf("%s: model %s does not expose its outputs (models.OutputTrainer)", method, env.Model.Name())
	}
	return m, nil
}

// extra is a gradient a method adds to the next step's: coefficient-
// weighted gradients of the method's own losses, summed, and their value.
type extra struct {
	grad []float32
	loss float64
	set  bool
}

// reset empties e for a step of a model with n parameters.
func (e *extra) reset(n int) {
	if len(e.grad) != n {
		e.grad = make([]float32, n)
	} else {
		clear(e.grad)
	}
	e.loss, e.set = 0, false
}

// add accumulates coef × g (the model's Grads after a pass) and
// coef × loss.
func (e *extra) add(g []float32, coef, loss float64) {
	c := float32(coef)
	for i, v := range g {
		e.grad[i] += c * v
	}
	e.loss += coef * loss
	e.set = true
}

// apply adds the gradient to g and returns the loss; it then clears e,
// so that a step without a fresh TrainBatch adds nothing.
func (e *extra) apply(g []float32) float64 {
	if !e.set {
		return 0
	}
	for i, v := range e.grad {
		g[i] += v
	}
	l := e.loss
	e.set = false
	return l
}

// logSoftmax writes log softmax(z/temp) into out (len(z)).
func logSoftmax(out []float64, z []float32, temp float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v)/temp)
	}
	var s float64
	for k, v := range z {
		out[k] = float64(v)/temp - mx
		s += math.Exp(out[k])
	}
	ls := math.Log(s)
	for k := range out {
		out[k] -= ls
	}
}

// vec reads a []float32 written by stateWriter.Float32s that must be nil
// or hold n values (a parameter-sized buffer of a model of n
// parameters); what names it in the error.
func (r *stateReader) vec(n int, what string) []float32 {
	v := r.Float32s()
	if r.err == nil && v != nil && len(v) != n {
		r.err = fmt.Errorf("saved %s has %d values, the model %d parameters", what, len(v), n)
		return nil
	}
	return v
}

// extra writes e: nothing but a flag once it has been applied (between
// steps, where the harness saves), else its gradient and loss.
func (w *stateWriter) extra(e *extra) {
	w.Bool(e.set)
	if e.set {
		w.Float32s(e.grad)
		w.Float64(e.loss)
	}
}

// extra reads what stateWriter.extra wrote, for a model of n parameters.
func (r *stateReader) extra(n int) extra {
	if !r.Bool() {
		return extra{}
	}
	g := r.vec(n, "extra gradient")
	loss := r.Float64()
	if r.err == nil && g == nil {
		r.err = fmt.Errorf("saved extra gradient is missing")
	}
	return extra{grad: g, loss: loss, set: true}
}
