package tasks_test

import (
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/tasks"
)

// Task must satisfy the methods' view of a task (asserted here, in an
// external test package, so that tasks never imports methods).
var _ methods.TaskData = (*tasks.Task)(nil)
