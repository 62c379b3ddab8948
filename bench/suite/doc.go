// Package suite runs the image suites (sleepbench suite), which check
// the harness's methods against published numbers where published
// numbers exist: split and permuted MNIST with the MLP and training setup
// of Hsu et al. 2018 ("Re-evaluating Continual Learning Scenarios", their
// public code GT-RIPL/Continual-Learning-Benchmark). Every run goes
// through the same bench.Loop, sequence loop (bench.RunTasks), worker pool
// (bench.Pool), Method plugins and optimisers as the Transformer runs.
// A third suite, buzzega-mnist, is permuted and rotated MNIST with the
// MLP and setup of Buzzega et al. 2020 (their code aimagelab/mammoth):
// ER, A-GEM, DER and DER++ at buffers of 200, 500 and 5,120 rows, and
// SGD, online EWC, SI and joint training without a buffer;
// docs/REPRODUCIBILITY.md gives the setup with its sources and the
// measured tables.
package suite
