package bench

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sleepbench/sleepbench/models"
)

// InitHF starts Profile.Init values that name Hugging Face checkpoints:
// "hf:PATH" or "hf:PATH,PATH,..." (models.LoadHF). Each model of a run
// loads the one file whose shape fits it, so a profile of several models
// (the paper's gpt2-medium and bert-base) takes one file per model.
const InitHF = "hf:"

// initHF loads into m (built-in model name model) the first of the
// comma-separated Hugging Face checkpoints in paths whose shape fits it,
// and returns what it loaded for the run record.
func initHF(m models.Model, model, paths string) (string, error) {
	t, ok := m.(*models.Transformer)
	if !ok {
		return "", fmt.Errorf("init=hf: model %s is not a Transformer", model)
	}
	if paths == "" {
		return "", errors.New("init=hf: no checkpoint path after hf:")
	}
	var why []string
	for _, path := range strings.Split(paths, ",") {
		info, err := models.InspectHF(path)
		if err != nil {
			return "", fmt.Errorf("init=hf: %w", err)
		}
		if err := info.Fits(t.Config()); err != nil {
			why = append(why, path+": "+err.Error())
			continue
		}
		l, err := models.LoadHF(path, t)
		if err != nil {
			return "", fmt.Errorf("init=hf: %w", err)
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return "", err
		}
		rec := "hf:" + path + " sha256:" + sum
		if len(l.Kept) > 0 {
			rec += " kept:" + strings.Join(l.Kept, ",")
		}
		return rec, nil
	}
	return "", fmt.Errorf("init=hf: no checkpoint fits model %s (pick the models with -models): %s", model, strings.Join(why, "; "))
}
