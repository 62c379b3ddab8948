// Package bench is the harness of sleepbench: the training loop, the
// three protocols (sequence, dormancy, compression), the profiles that
// fix every budget, hyperparameter tuning on validation splits, and the
// runner that expands a profile into independent, resumable runs and
// writes one result file per run.
//
// The loop owns training; a continual-learning method only sees hooks
// (methods.Method) and the methods.Env the loop builds for it. Per task
// the loop calls BeginTask, then for every step TrainBatch, the model's
// ForwardBackward, AddPenalty, gradient clipping and an optimiser step at
// the schedule's learning rate, then EndTask; after every task it
// evaluates every task of the sequence on fixed held-out batches, giving
// one row of the accuracy matrix R.
//
// Every run is deterministic from its seed: the model's initialisation,
// each task's data order and the method's random draws come from
// separate generators derived from the seed alone, so two methods with
// the same seed see the same initial model and the same wake data, and a
// resumed command finishes with the numbers an uninterrupted one gives.
//
// bench never downloads anything: it reads the Arrow files under the data
// folder (datasets/data by default) through package tasks.
package bench
