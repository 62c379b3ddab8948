package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sleepbench/sleepbench/datasets"
	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/models"
	"github.com/sleepbench/sleepbench/tasks"
)

// Real returns the builders backed by the project's packages: the
// Transformers of models (built-in configs), AdamW (models.DefaultAdamW
// with the profile's weight decay), the Arrow tasks of package tasks and
// the Default method registry.
func Real() Builders {
	a := models.DefaultAdamW
	return Builders{
		Describe: Describe,
		NewModel: func(name string, classes []int, threads int, seed uint64) (models.Model, error) {
			cfg, err := models.LookupConfig(name)
			if err != nil {
				return nil, err
			}
			cfg.Classes = classes
			cfg.Threads = threads
			return models.NewTransformer(cfg, seed)
		},
		Init: func(m models.Model, model, spec, base string) (string, error) {
			if paths, ok := strings.CutPrefix(spec, InitHF); ok {
				return initHF(m, model, paths)
			}
			path := spec
			if spec == InitBase {
				path = filepath.Join(base, model+".safetensors")
				if _, err := os.Stat(path); err != nil {
					return "", fmt.Errorf("init=base: no base checkpoint of %s (%w); rebuild it with make pretrain, or start from random weights with -set init=scratch", model, err)
				}
			}
			ld, err := models.LoadCheckpoint(path, m.Params())
			if err != nil {
				return "", fmt.Errorf("init=%s: %w", spec, err)
			}
			if t, ok := m.(*models.Transformer); ok {
				if err := models.CheckAttentionBias(t.Config(), path, ld.Meta); err != nil {
					return "", fmt.Errorf("init=%s: %w", spec, err)
				}
			}
			sum, err := fileSHA256(path)
			if err != nil {
				return "", err
			}
			return path + " sha256:" + sum, nil
		},
		NewOptimizer: func(p *models.Params, weightDecay float64) Optimizer {
			c := a
			c.WeightDecay = weightDecay
			return models.NewAdamW(p, c)
		},
		OpenTask: func(spec tasks.Spec, index int) (Task, error) {
			t, err := tasks.Open(spec, index)
			if err != nil {
				return nil, err
			}
			return t, nil
		},
		Methods:   methods.Default,
		Backend:   models.BackendName,
		Kernel:    gemmKernel(),
		Optimizer: fmt.Sprintf("adamw(beta1=%g,beta2=%g,eps=%g)", a.Beta1, a.Beta2, a.Eps),
	}
}

// Describe says what a built-in model reads: decoders predict the next
// token, encoders masked tokens; the tokenizer follows the vocabulary
// (2,048: gpt2-2k for decoders, bert-2k for encoders; 8,192: gpt2-8k;
// 50,257: gpt2; 30,522: bert-uncased).
func Describe(name string) (ModelInfo, error) {
	cfg, err := models.LookupConfig(name)
	if err != nil {
		return ModelInfo{}, err
	}
	info := ModelInfo{LM: models.NextToken, MaxCtx: cfg.Ctx, Cost: cfg.CostPerToken(cfg.Ctx, 1)}
	if cfg.Arch == models.Encoder {
		info.LM = models.Masked
		info.Cost = cfg.CostPerToken(cfg.Ctx, tasks.MaskRate)
	}
	switch {
	case cfg.Vocab == 2048 && cfg.Arch == models.Encoder:
		info.Tokenizer = datasets.BERTTiny
	case cfg.Vocab == 2048:
		info.Tokenizer = datasets.GPT2Tiny
	case cfg.Vocab == 8192:
		info.Tokenizer = datasets.GPT2Small
	case cfg.Vocab == 50257:
		info.Tokenizer = datasets.GPT2
	case cfg.Vocab == 30522:
		info.Tokenizer = datasets.BERTUncased
	default:
		return ModelInfo{}, fmt.Errorf("model %s: no tokenizer has its vocabulary of %d", name, cfg.Vocab)
	}
	return info, nil
}

// *tasks.Task is a Task.
var _ Task = (*tasks.Task)(nil)
