package methods

import (
	"strings"
	"testing"
)

// ewc-online is ewc with online=true fixed: its metadata, its refusal of
// online=false, and one running anchor after two tasks.
func TestEWCOnlineRegistered(t *testing.T) {
	info, err := Default.Lookup("ewc-online")
	if err != nil {
		t.Fatal(err)
	}
	if info.Label != "online EWC" || info.Rank != 11 || info.Baseline != "naive" || info.Role != "" {
		t.Errorf("metadata: label %q rank %d baseline %q role %q", info.Label, info.Rank, info.Baseline, info.Role)
	}
	if info.Defaults["online"] != "true" || ewcDefaults["online"] != "false" {
		t.Errorf("defaults: ewc-online online=%s, ewc online=%s", info.Defaults["online"], ewcDefaults["online"])
	}
	_, err = New("ewc-online", Config{"online": "false"})
	if err == nil || !strings.Contains(err.Error(), "ewc-online fixes online=true") {
		t.Errorf("online=false: error %v", err)
	}
	_, err = New("ewc-online", Config{"lambda": "-1"})
	if err == nil || !strings.Contains(err.Error(), `lambda="-1"`) {
		t.Errorf("lambda=-1: error %v", err)
	}
	m, err := New("ewc-online", Config{"online": "true", "lambda": "3", "fisher_samples": "8"})
	if err != nil {
		t.Fatal(err)
	}
	e := m.(*ewc)
	if !e.online || e.lambda != 3 || e.samples != 8 {
		t.Fatalf("parsed %+v", e)
	}
	env, task, _ := ewcEnv(t)
	for k := 0; k < 2; k++ {
		task2 := *task
		task2.idx = k
		if err := e.EndTask(env, &task2); err != nil {
			t.Fatal(err)
		}
	}
	if len(e.anchors) != 1 {
		t.Errorf("%d anchors after 2 tasks, want 1", len(e.anchors))
	}
}
