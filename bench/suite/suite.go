package suite

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sleepbench/sleepbench/methods"
	"github.com/sleepbench/sleepbench/results"
)

// Suite names (RunSuite's name argument).
const (
	SplitMNIST    = "split-mnist"
	PermutedMNIST = "permuted-mnist"
	// BuzzegaMNIST is permuted MNIST with the MLP and training setup of
	// Buzzega et al. 2020 (dark experience replay), one scenario per
	// buffer size.
	BuzzegaMNIST = "buzzega-mnist"
)

// DefaultImageData is where `sleepbench data build` writes the full
// MNIST files (datasets/data/pixels holds only a small sample).
const DefaultImageData = "datasets/cache/data"

// SuiteOptions configure RunSuite. The zero value runs the published
// setup: 5 seeds, every method and scenario of the suite.
type SuiteOptions struct {
	// Seeds of the runs; nil means 1..5.
	Seeds []uint64
	// Methods are suite method names (SuiteMethods); nil means all.
	Methods []string
	// Scenarios restricts split MNIST to some of "task", "domain",
	// "class"; nil means all. Permuted MNIST has one scenario, "domain".
	Scenarios []string
	// Data is the folder of the MNIST Arrow files
	// (<Data>/pixels/mnist-{train,validation,test}.arrow); "" means
	// DefaultImageData.
	Data string
	// Out is the output folder; "" means out/suite/<name>. Run files go to
	// <Out>/runs/<protocol>/<method>/seed<k>.json, and a run whose file
	// exists (written with the same settings) is not run again.
	Out string
	// Jobs is the number of runs trained at once (default 1).
	Jobs int
	// Epochs per task; 0 means the published setup's (4 for split MNIST,
	// 10 for permuted MNIST). Another value is recorded in every run and
	// flagged in the printed table.
	Epochs int
	// Permutations is the number of permuted MNIST tasks (default 10).
	Permutations int
	// FisherSamples is the rows EWC draws per task for its Fisher; 0
	// means the suite's default (10,000 for split MNIST, 1,000 for
	// permuted MNIST, every training row of the task for buzzega-mnist).
	FisherSamples int
	// Set overrides settings of the published setup, each "METHOD.KEY=VALUE":
	// a setting of the method's registered Method (e.g. "ewc.lambda=400",
	// "replay.buffer=4400") or its learning rate ("naive-sgd.lr=0.02").
	// Overrides are recorded in every run's config.
	Set []string
	// MaskUnseen restricts the training loss of split MNIST's class
	// scenario to the outputs of the classes seen so far, as Hsu et al.'s
	// code does (valid_out_dim): every training batch of task i (0-based)
	// gets models.Batch.Outputs = 2(i+1), so 2 outputs during the first
	// task, 4 during the second, …, 10 during the fifth; evaluation uses
	// all 10. Off by default: the loss covers all 10 outputs from the
	// first task on. The other scenarios are unchanged. Recorded in every
	// run's config as loss_outputs.
	MaskUnseen bool
	// Init is the initialisation of the MLP: "" or "default" (PyTorch's
	// default nn.Linear: weights and biases uniform in ±1/√fan_in, the
	// published setup of every suite here) or "xavier" (weights uniform in
	// ±√(6/(fan_in + fan_out)), biases 0: Buzzega et al.'s code,
	// backbone/__init__.py, a probe of that difference). Recorded in
	// every run's config as init.
	Init string
	// Format of the printed tables: "text" (default) or "markdown".
	Format string
	// Progress receives one line per run started and finished; nil for
	// none.
	Progress io.Writer
}

// suiteScenario is one scenario of a suite with its published setup.
type suiteScenario struct {
	protocol string // results.Run.Protocol, e.g. "split-mnist-task"
	short    string // "task", "domain", "class"
	title    string
	hidden   []int
	epochs   int
	batch    int
	sgdLR    float64
	adamLR   float64
	// λ of EWC and online EWC in this harness's convention, (λ/2)·ΣF·Δθ²:
	// twice the reg_coef of Hsu et al.'s code, whose penalty is
	// reg_coef·ΣF·Δθ².
	ewcLambda, onlineLambda float64
	buffer                  int // replay rows
	fisher                  int // EWC Fisher rows per task
	multiHead               bool
	setup                   string // one line: what the tasks and heads are
	// Buzzega et al.'s suite: raw inputs (pixel/255, 784, unpadded), every
	// task permuted (the first too) or rotated, and the tuned settings of
	// each method at this buffer size (buffer 0: the methods without a
	// buffer).
	raw     bool
	rotated bool                 // rotated MNIST: each task rotates the images by a fixed angle instead of permuting them
	seq     bool                 // sequential MNIST: 5 tasks of two digits, one 10-way head labelling the digits (Class-IL)
	taskIL  bool                 // sequential MNIST scored Task-IL: the logits of other tasks' classes masked at test time
	tasks   int                  // permuted or rotated tasks (0 = SuiteOptions.Permutations or 10)
	tuned   map[string]bzSetting // suite method → settings
}

// bzSetting is one method's tuned setting in Buzzega et al.'s code
// (utils/best_args.py) for a dataset and buffer size: the learning rate,
// α and β (DER, DER++), c and ξ (SI), e_lambda and γ (online EWC, in
// their code's convention: the penalty e_lambda·Σ F·(θ − θ*)²), and for
// LwF α (the distillation's weight), the temperature and wd_reg (an L2
// penalty wd_reg·Σθ²).
type bzSetting struct{ lr, alpha, beta, c, xi, eLambda, gamma, temp, wd float64 }

// Hsu et al.'s settings, from the scripts of their code
// (scripts/split_MNIST_incremental_{task,domain,class}.sh,
// scripts/permuted_MNIST_incremental_domain.sh, agents/customization.py).
func splitScenarios() []suiteScenario {
	base := suiteScenario{hidden: []int{400, 400}, epochs: 4, batch: 128, sgdLR: 0.01, adamLR: 0.001, buffer: 1100, fisher: 10000}
	task, domain, class := base, base, base
	task.protocol, task.short, task.title = "split-mnist-task", "task", "split MNIST, incremental task learning"
	task.multiHead, task.ewcLambda, task.onlineLambda = true, 2*100, 2*400
	task.setup = "5 tasks (digits 0/1, 2/3, 4/5, 6/7, 8/9), one 2-way head per task, chosen by the task"
	domain.protocol, domain.short, domain.title = "split-mnist-domain", "domain", "split MNIST, incremental domain learning"
	domain.ewcLambda, domain.onlineLambda = 2*100, 2*700
	domain.setup = "5 tasks, one shared 2-way head: first digit of the pair → 0, second → 1 (even/odd)"
	class.protocol, class.short, class.title = "split-mnist-class", "class", "split MNIST, incremental class learning"
	class.ewcLambda, class.onlineLambda = 2*600, 2*100
	class.setup = "5 tasks, one shared 10-way head, labels the digits"
	return []suiteScenario{task, domain, class}
}

func permutedScenarios() []suiteScenario {
	return []suiteScenario{{
		protocol: "permuted-mnist", short: "domain", title: "permuted MNIST, incremental domain learning",
		hidden: []int{1000, 1000}, epochs: 10, batch: 128, sgdLR: 0.001, adamLR: 0.0001,
		ewcLambda: 2 * 150, onlineLambda: 2 * 250, buffer: 4000, fisher: 1000,
		setup: "tasks = MNIST under fixed pixel permutations (task 1 unpermuted), one shared 10-way head",
	}}
}

// Buzzega et al.'s permuted and rotated MNIST (their code,
// aimagelab/mammoth, at the commit whose README holds the paper's table:
// datasets/perm_mnist.py, datasets/rot_mnist.py, backbone/MNISTMLP.py,
// utils/best_args.py): 20 tasks, every one a fixed permutation of the 784
// pixels, or a fixed rotation of the image by an angle drawn uniformly in
// [0°, 180°), scaled to [0, 1]; an MLP 784-100-100-10 with one shared
// head; plain SGD, batch 128 (plus 128 memory rows for the methods with a
// buffer), one epoch per task; the learning rate and the methods'
// settings tuned per dataset, method and buffer size. The scenarios
// without a buffer (short names "perm" and "rot") hold the methods
// without one (SGD, online EWC, SI, joint), the others ER, A-GEM, DER and
// DER++ at one buffer size each.
func buzzegaScenarios() []suiteScenario {
	mk := func(rot bool, buf int, tuned map[string]bzSetting) suiteScenario {
		family, title := "perm", "permuted MNIST"
		setup := "20 tasks = MNIST under fixed pixel permutations (every task permuted), one shared 10-way head, 784 inputs pixel/255"
		if rot {
			family, title = "rot", "rotated MNIST"
			setup = "20 tasks = MNIST rotated by a fixed angle each, drawn uniformly in [0°, 180°) (Pillow's nearest-neighbour rotation about the centre, as torchvision's F.rotate), one shared 10-way head, 784 inputs pixel/255"
		}
		sc := suiteScenario{
			protocol: bzProtocol(family, buf), short: family,
			title:  fmt.Sprintf("%s (Buzzega et al. 2020), no buffer", title),
			hidden: []int{100, 100}, epochs: 1, batch: 128, buffer: buf, raw: true, rotated: rot, tasks: 20, tuned: tuned,
			fisher: 0, setup: setup,
		}
		if buf > 0 {
			sc.short += fmt.Sprintf("-%d", buf)
			sc.title = fmt.Sprintf("%s (Buzzega et al. 2020), buffer %d", title, buf)
		}
		return sc
	}
	// Online EWC's e_lambda and γ, SI's c and ξ, and the learning rates of
	// SGD (which joint uses too: their main.py loads best_args['sgd'] for
	// joint) are best_args' entries under the key −1 (no buffer).
	return []suiteScenario{
		mk(false, 0, map[string]bzSetting{"sgd": {lr: 0.2}, "joint": {lr: 0.2},
			"ewc-online": {lr: 0.1, eLambda: 0.7, gamma: 1}, "si": {lr: 0.1, c: 0.5, xi: 1}}),
		mk(false, 200, map[string]bzSetting{"er": {lr: 0.2}, "agem": {lr: 0.1}, "der": {lr: 0.2, alpha: 1}, "derpp": {lr: 0.1, alpha: 1, beta: 1}}),
		mk(false, 500, map[string]bzSetting{"er": {lr: 0.2}, "agem": {lr: 0.1}, "der": {lr: 0.2, alpha: 1}, "derpp": {lr: 0.2, alpha: 1, beta: 0.5}}),
		mk(false, 5120, map[string]bzSetting{"er": {lr: 0.2}, "agem": {lr: 0.1}, "der": {lr: 0.2, alpha: 0.5}, "derpp": {lr: 0.2, alpha: 0.5, beta: 1}}),
		mk(true, 0, map[string]bzSetting{"sgd": {lr: 0.2}, "joint": {lr: 0.2},
			"ewc-online": {lr: 0.1, eLambda: 0.7, gamma: 1}, "si": {lr: 0.1, c: 1, xi: 1}}),
		mk(true, 200, map[string]bzSetting{"er": {lr: 0.2}, "agem": {lr: 0.1}, "der": {lr: 0.2, alpha: 1}, "derpp": {lr: 0.1, alpha: 1, beta: 0.5}}),
		mk(true, 500, map[string]bzSetting{"er": {lr: 0.2}, "agem": {lr: 0.3}, "der": {lr: 0.2, alpha: 0.5}, "derpp": {lr: 0.2, alpha: 0.5, beta: 1}}),
		mk(true, 5120, map[string]bzSetting{"er": {lr: 0.2}, "agem": {lr: 0.3}, "der": {lr: 0.2, alpha: 0.5}, "derpp": {lr: 0.2, alpha: 0.5, beta: 0.5}}),
		seqScenario(false), seqScenario(true),
	}
}

// seqScenario is Buzzega et al.'s sequential MNIST (datasets/seq_mnist.py,
// best_args['seq-mnist']): 5 tasks of two digits (0/1, 2/3, …, 8/9), one
// 10-way head labelling the digits, 784 inputs pixel/255, MLP 100-100,
// plain SGD with batch 10, one epoch per task; the methods without a
// buffer (LwF among them). Class-IL scores the argmax of all 10 outputs,
// Task-IL (taskIL) the argmax of the two outputs of the row's own task
// (their mask_classes); the training is the same, so the two scenarios
// are the same runs scored two ways.
func seqScenario(taskIL bool) suiteScenario {
	sc := suiteScenario{
		protocol: "buzzega-seq-mnist-class", short: "seq-class",
		title:  "sequential MNIST (Buzzega et al. 2020), Class-IL",
		hidden: []int{100, 100}, epochs: 1, batch: 10, raw: true, seq: true, taskIL: taskIL, tasks: 5, fisher: 0,
		setup: "5 tasks of two digits (0/1, 2/3, 4/5, 6/7, 8/9), one shared 10-way head labelling the digits, scored with all 10 outputs (Class-IL), 784 inputs pixel/255",
		tuned: map[string]bzSetting{"sgd": {lr: 0.03}, "joint": {lr: 0.03},
			"ewc-online": {lr: 0.03, eLambda: 90, gamma: 1}, "si": {lr: 0.1, c: 1, xi: 0.9},
			"lwf": {lr: 0.03, alpha: 1, temp: 2, wd: 0.0005}},
	}
	if taskIL {
		sc.protocol, sc.short = "buzzega-seq-mnist-task", "seq-task"
		sc.title = "sequential MNIST (Buzzega et al. 2020), Task-IL"
		sc.setup = "5 tasks of two digits (0/1, 2/3, 4/5, 6/7, 8/9), one shared 10-way head labelling the digits, scored with the two outputs of the row's own task (Task-IL: the other tasks' logits masked at test time), 784 inputs pixel/255"
	}
	return sc
}

// Initialisations of the MLP (SuiteOptions.Init).
const (
	initDefault = "default"
	initXavier  = "xavier"
)

// bzProtocol is the protocol of Buzzega et al.'s scenario of family
// "perm" or "rot" with buffer buf (0: none), e.g. "buzzega-rot-mnist-b200".
func bzProtocol(family string, buf int) string {
	if buf == 0 {
		return "buzzega-" + family + "-mnist"
	}
	return fmt.Sprintf("buzzega-%s-mnist-b%d", family, buf)
}

// suiteMethod is a method of the image suites: a registered Method with
// the optimiser and settings of the published setup.
type suiteMethod struct {
	name, summary string
	registry      string // methods registry name
	optimizer     string // "sgd" or "adam"
	config        func(sc suiteScenario) methods.Config
	// buffered marks a method of Buzzega et al.'s suite that runs in the
	// scenarios with a buffer (the others run in those without one).
	buffered bool
	// joint trains as Buzzega et al.'s joint baseline: no step during the
	// first tasks, then, in the last task's period, one pass (epochs)
	// over the union of every task's training rows, shuffled (see
	// jointTask).
	joint bool
	// classIL marks a method of Buzzega et al.'s suite that runs only in
	// sequential MNIST (their LwF is Class-IL and Task-IL only).
	classIL bool
	// maskSeen trains with the loss over the outputs of the classes seen
	// so far (Batch.Outputs = 2, 4, …, 10 in sequential MNIST), as
	// Buzzega et al.'s LwF does.
	maskSeen bool
}

// bzMethods are the methods of Buzzega et al.'s suite, all with plain
// SGD at their tuned learning rate: those with a buffer take 128 memory
// rows a step; those without one run in the scenarios without a buffer.
var bzMethods = []suiteMethod{
	{name: "er", summary: "experience replay, reservoir, 128 memory rows appended to every batch", registry: "replay", optimizer: "sgd", buffered: true,
		config: func(sc suiteScenario) methods.Config { return methods.Config{"buffer": strconv.Itoa(sc.buffer)} }},
	{name: "agem", summary: "A-GEM, buffer/20 rows of each task, reference gradient on 128 memory rows", registry: "agem", optimizer: "sgd", buffered: true,
		config: func(sc suiteScenario) methods.Config {
			return methods.Config{"buffer": strconv.Itoa(sc.buffer), "per_task": strconv.Itoa(max(sc.buffer/sc.tasks, 1)), "ref_rows": "128"}
		}},
	{name: "der", summary: "DER: reservoir with logits, α·MSE on 128 memory rows", registry: "derpp", optimizer: "sgd", buffered: true,
		config: func(sc suiteScenario) methods.Config {
			return methods.Config{"buffer": strconv.Itoa(sc.buffer), "alpha": fmtFloat(sc.tuned["der"].alpha), "beta": "0", "replay_rows": "128"}
		}},
	{name: "derpp", summary: "DER++: DER plus β·cross-entropy on another 128 memory rows", registry: "derpp", optimizer: "sgd", buffered: true,
		config: func(sc suiteScenario) methods.Config {
			t := sc.tuned["derpp"]
			return methods.Config{"buffer": strconv.Itoa(sc.buffer), "alpha": fmtFloat(t.alpha), "beta": fmtFloat(t.beta), "replay_rows": "128"}
		}},
	{name: "sgd", summary: "sequential fine-tuning, plain SGD", registry: "naive", optimizer: "sgd",
		config: func(suiteScenario) methods.Config { return methods.Config{} }},
	// Their ewc_on: penalty e_lambda·Σ F·(θ − θ*)², so λ = 2·e_lambda in
	// this harness's (λ/2)·Σ F·(θ − θ*)²; F from every training row of
	// the task (fisher_samples 0, unless SuiteOptions.FisherSamples), each
	// row's squared gradient of log p(y|x) weighted by p(y|x);
	// F ← γF + F_new; θ* the latest parameters.
	{name: "ewc-online", summary: "online EWC (λ = 2·e_lambda, Fisher weighted by p(y|x) over every training row)", registry: "ewc-online", optimizer: "sgd",
		config: func(sc suiteScenario) methods.Config {
			t := sc.tuned["ewc-online"]
			return methods.Config{"lambda": fmtFloat(2 * t.eLambda), "gamma": fmtFloat(t.gamma),
				"fisher_samples": strconv.Itoa(sc.fisher), "fisher_weight": "prob"}
		}},
	// Their si: the surrogate c·Σ Ω·(θ − θ*)² (this harness's), the step's
	// gradient clipped to ±1 by value, and ω += lr·g² of that clipped
	// gradient (surrogate included), which is −g·Δθ of the gradient the
	// step applies with plain SGD.
	{name: "si", summary: "synaptic intelligence (ω from the step's clipped gradient, clip ±1)", registry: "si", optimizer: "sgd",
		config: func(sc suiteScenario) methods.Config {
			t := sc.tuned["si"]
			return methods.Config{"c": fmtFloat(t.c), "xi": fmtFloat(t.xi), "clip": "1", "omega_grad": "step"}
		}},
	{name: "joint", summary: "joint training (upper bound): one epoch over every task's rows together, in the last task's period", registry: "naive", optimizer: "sgd", joint: true,
		config: func(suiteScenario) methods.Config { return methods.Config{} }},
	// Their lwf (Class-IL): the loss over the classes seen so far, the
	// distillation α·CE(softmax(z_old/T), softmax(z/T)) over the earlier
	// tasks' classes only, a warm-up of the classifier alone on the new
	// task's two outputs before each task, and wd_reg·Σθ².
	{name: "lwf", summary: "LwF as Buzzega et al.: loss over seen classes, distillation of old classes, head warm-up, L2", registry: "lwf", optimizer: "sgd", classIL: true, maskSeen: true,
		config: func(sc suiteScenario) methods.Config {
			t := sc.tuned["lwf"]
			return methods.Config{"weight": fmtFloat(t.alpha), "temperature": fmtFloat(t.temp), "distil_outputs": "old", "warmup": "true", "l2": fmtFloat(t.wd)}
		}},
}

var suiteMethods = []suiteMethod{
	{name: "naive-sgd", summary: "sequential fine-tuning, plain SGD", registry: "naive", optimizer: "sgd",
		config: func(suiteScenario) methods.Config { return methods.Config{} }},
	{name: "naive-adam", summary: "sequential fine-tuning, Adam", registry: "naive", optimizer: "adam",
		config: func(suiteScenario) methods.Config { return methods.Config{} }},
	{name: "ewc", summary: "EWC, one Fisher and anchor per task, Adam", registry: "ewc", optimizer: "adam",
		config: func(sc suiteScenario) methods.Config {
			return methods.Config{"lambda": fmtFloat(sc.ewcLambda), "fisher_samples": strconv.Itoa(sc.fisher), "online": "false"}
		}},
	{name: "ewc-online", summary: "online EWC (summed Fisher, latest anchor, γ = 1), Adam", registry: "ewc", optimizer: "adam",
		config: func(sc suiteScenario) methods.Config {
			return methods.Config{"lambda": fmtFloat(sc.onlineLambda), "fisher_samples": strconv.Itoa(sc.fisher), "online": "true", "gamma": "1"}
		}},
	{name: "replay", summary: "experience replay, reservoir buffer mixed 1:1 into every batch, Adam", registry: "replay", optimizer: "adam",
		config: func(sc suiteScenario) methods.Config { return methods.Config{"buffer": strconv.Itoa(sc.buffer)} }},
	// SI, MAS and LwF with Adam as Hsu et al. ran them. No text copy of
	// their tuned c, λ or of their results was found, so these run with
	// the methods' documented defaults and print no published number.
	{name: "si", summary: "synaptic intelligence (c, ξ: the method's defaults), Adam", registry: "si", optimizer: "adam",
		config: func(suiteScenario) methods.Config { return methods.Config{} }},
	{name: "mas", summary: "memory aware synapses (λ: the method's default; importance from 1,000 rows), Adam", registry: "mas", optimizer: "adam",
		config: func(suiteScenario) methods.Config { return methods.Config{"samples": "1000"} }},
	{name: "lwf", summary: "learning without forgetting (T = 2, weight 1; every earlier head in the task scenario), Adam", registry: "lwf", optimizer: "adam",
		config: func(sc suiteScenario) methods.Config {
			if sc.multiHead {
				return methods.Config{"heads": "all"}
			}
			return methods.Config{}
		}},
}

// SuiteMethods lists the methods of the split and permuted MNIST suites
// (Hsu et al.'s setup), in table order.
func SuiteMethods() []string { return names(suiteMethods) }

// SuiteMethodsOf lists the methods of suite name, in table order.
func SuiteMethodsOf(name string) []string { return names(methodsOf(name)) }

func names(ms []suiteMethod) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.name
	}
	return out
}

func methodsOf(suite string) []suiteMethod {
	if suite == BuzzegaMNIST {
		return bzMethods
	}
	return suiteMethods
}

// SuiteNames lists the image suites.
func SuiteNames() []string { return []string{SplitMNIST, PermutedMNIST, BuzzegaMNIST} }

func lookupSuiteMethod(suite, name string) (suiteMethod, error) {
	for _, m := range methodsOf(suite) {
		if m.name == name {
			return m, nil
		}
	}
	return suiteMethod{}, fmt.Errorf("unknown method %q of suite %s (valid: %s)", name, suite, strings.Join(SuiteMethodsOf(suite), ", "))
}

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// suitePlan is a resolved RunSuite call.
type suitePlan struct {
	name      string
	scenarios []suiteScenario
	methods   []suiteMethod
	seeds     []uint64
	opt       SuiteOptions
	perms     int
	set       map[string]methods.Config // suite method → overridden settings
}

func planSuite(name string, opt SuiteOptions) (*suitePlan, error) {
	p := &suitePlan{name: name, opt: opt, seeds: opt.Seeds, perms: opt.Permutations}
	var all []suiteScenario
	switch name {
	case SplitMNIST:
		all = splitScenarios()
	case PermutedMNIST:
		all = permutedScenarios()
	case BuzzegaMNIST:
		all = buzzegaScenarios()
	default:
		return nil, fmt.Errorf("unknown suite %q (valid: %s)", name, strings.Join(SuiteNames(), ", "))
	}
	if len(opt.Scenarios) == 0 {
		p.scenarios = all
	}
	for _, s := range opt.Scenarios {
		found := false
		for _, sc := range all {
			if sc.short == s || sc.protocol == s {
				for _, have := range p.scenarios {
					if have.protocol == sc.protocol {
						return nil, fmt.Errorf("scenario %q given twice", s)
					}
				}
				p.scenarios = append(p.scenarios, sc)
				found = true
			}
		}
		if !found {
			var valid []string
			for _, sc := range all {
				valid = append(valid, sc.short)
			}
			return nil, fmt.Errorf("suite %s has no scenario %q (valid: %s)", name, s, strings.Join(valid, ", "))
		}
	}
	names := opt.Methods
	if len(names) == 0 {
		names = SuiteMethodsOf(name)
	}
	for _, n := range names {
		m, err := lookupSuiteMethod(name, n)
		if err != nil {
			return nil, err
		}
		p.methods = append(p.methods, m)
	}
	if len(p.seeds) == 0 {
		p.seeds = []uint64{1, 2, 3, 4, 5}
	}
	seen := map[uint64]bool{}
	for _, s := range p.seeds {
		if seen[s] {
			return nil, fmt.Errorf("seed %d given twice", s)
		}
		seen[s] = true
	}
	if opt.Epochs < 0 || opt.Permutations < 0 || opt.FisherSamples < 0 || opt.Jobs < 0 {
		return nil, fmt.Errorf("negative epochs (%d), permutations (%d), Fisher samples (%d) or jobs (%d)", opt.Epochs, opt.Permutations, opt.FisherSamples, opt.Jobs)
	}
	if p.perms == 0 {
		p.perms = 10
	}
	if p.perms < 2 && name != SplitMNIST {
		return nil, fmt.Errorf("permuted MNIST needs at least 2 tasks, got %d", p.perms)
	}
	if opt.MaskUnseen {
		if !slices.ContainsFunc(p.scenarios, p.masked) {
			return nil, fmt.Errorf("the output mask of unseen classes (MaskUnseen, -mask-unseen) applies only to split MNIST's class scenario, which %s %v does not run", name, scenarioNames(p.scenarios))
		}
	}
	for i := range p.scenarios {
		sc := &p.scenarios[i]
		if opt.Epochs > 0 {
			sc.epochs = opt.Epochs
		}
		if opt.FisherSamples > 0 {
			sc.fisher = opt.FisherSamples
		}
	}
	p.set = map[string]methods.Config{}
	for _, kv := range opt.Set {
		k, v, ok := strings.Cut(kv, "=")
		meth, key, ok2 := strings.Cut(k, ".")
		if !ok || !ok2 || key == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("setting %q: want METHOD.KEY=VALUE, e.g. ewc.lambda=400", kv)
		}
		if _, err := lookupSuiteMethod(name, meth); err != nil {
			return nil, fmt.Errorf("setting %q: %w", kv, err)
		}
		if key == "lr" {
			if lr, err := strconv.ParseFloat(v, 64); err != nil || !(lr > 0) || math.IsInf(lr, 0) {
				return nil, fmt.Errorf("setting %q: the learning rate must be a positive number", kv)
			}
		}
		if p.set[meth] == nil {
			p.set[meth] = methods.Config{}
		}
		p.set[meth][key] = strings.TrimSpace(v)
	}
	if err := p.pairUp(len(opt.Scenarios) > 0, len(opt.Methods) > 0); err != nil {
		return nil, err
	}
	for _, m := range p.methods {
		for _, sc := range p.scenarios {
			if !p.applies(sc, m) {
				continue
			}
			if _, err := methods.New(m.registry, p.methodConfig(m, sc)); err != nil {
				return nil, fmt.Errorf("suite method %s: %w", m.name, err)
			}
		}
	}
	switch p.opt.Init {
	case "", initDefault:
		p.opt.Init = initDefault
	case initXavier:
	default:
		return nil, fmt.Errorf("unknown initialisation %q (valid: %s, %s)", p.opt.Init, initDefault, initXavier)
	}
	if p.opt.Format == "" {
		p.opt.Format = results.FormatText
	}
	if err := results.CheckFormat(p.opt.Format); err != nil {
		return nil, err
	}
	if p.opt.Data == "" {
		p.opt.Data = DefaultImageData
	}
	if p.opt.Out == "" {
		p.opt.Out = filepath.Join("out", "suite", name)
	}
	if p.opt.Jobs == 0 {
		p.opt.Jobs = 1
	}
	return p, nil
}

// applies reports whether method m runs in scenario sc: in Buzzega et
// al.'s suite the methods with a buffer run in the scenarios with one,
// the others in those without; in the other suites every method runs in
// every scenario.
func (p *suitePlan) applies(sc suiteScenario, m suiteMethod) bool {
	if p.name != BuzzegaMNIST {
		return true
	}
	if m.classIL && !sc.seq {
		return false
	}
	return m.buffered == (sc.buffer > 0)
}

// pairUp checks that every method named runs in some scenario selected,
// and every scenario named runs some method selected. Methods and
// scenarios left to the default (all) that would run nothing are dropped.
func (p *suitePlan) pairUp(namedScenarios, namedMethods bool) error {
	runsIn := func(m suiteMethod, scs []suiteScenario) bool {
		return slices.ContainsFunc(scs, func(sc suiteScenario) bool { return p.applies(sc, m) })
	}
	var ms []suiteMethod
	for _, m := range p.methods {
		if runsIn(m, p.scenarios) {
			ms = append(ms, m)
			continue
		}
		if namedMethods {
			var valid []string
			for _, sc := range buzzegaScenarios() {
				if p.applies(sc, m) {
					valid = append(valid, sc.short)
				}
			}
			return fmt.Errorf("method %s runs in none of the scenarios selected (it runs in %s)", m.name, strings.Join(valid, ", "))
		}
	}
	var scs []suiteScenario
	for _, sc := range p.scenarios {
		if slices.ContainsFunc(ms, func(m suiteMethod) bool { return p.applies(sc, m) }) {
			scs = append(scs, sc)
			continue
		}
		if namedScenarios {
			var valid []string
			for _, m := range methodsOf(p.name) {
				if p.applies(sc, m) {
					valid = append(valid, m.name)
				}
			}
			return fmt.Errorf("scenario %s runs none of the methods selected (it runs %s)", sc.short, strings.Join(valid, ", "))
		}
	}
	if len(ms) == 0 || len(scs) == 0 {
		return fmt.Errorf("suite %s: no method selected runs in any scenario selected", p.name)
	}
	p.methods, p.scenarios = ms, scs
	return nil
}

func scenarioNames(scs []suiteScenario) []string {
	var out []string
	for _, sc := range scs {
		out = append(out, sc.short)
	}
	return out
}

// masked reports whether scenario sc trains with the output mask of
// unseen classes.
func (p *suitePlan) masked(sc suiteScenario) bool {
	return p.opt.MaskUnseen && p.name == SplitMNIST && sc.short == "class"
}

// methodConfig is the config of m's Method in scenario sc: the published
// setup's, with the overrides of SuiteOptions.Set (but "lr").
func (p *suitePlan) methodConfig(m suiteMethod, sc suiteScenario) methods.Config {
	cfg := m.config(sc)
	for k, v := range p.set[m.name] {
		if k != "lr" {
			cfg[k] = v
		}
	}
	return cfg
}

// lr is m's learning rate in scenario sc.
func (p *suitePlan) lr(m suiteMethod, sc suiteScenario) float64 {
	if v, ok := p.set[m.name]["lr"]; ok {
		lr, _ := strconv.ParseFloat(v, 64) // checked by planSuite
		return lr
	}
	if t, ok := sc.tuned[m.name]; ok {
		return t.lr
	}
	if m.optimizer == "sgd" {
		return sc.sgdLR
	}
	return sc.adamLR
}

// buildTasks returns the tasks of scenario sc for seed (permuted MNIST
// draws its permutations from the seed).
func (p *suitePlan) buildTasks(data *mnistData, sc suiteScenario, seed uint64) ([]*imageTask, error) {
	var ts []*imageTask
	if p.name == SplitMNIST {
		for k := 0; k < 5; k++ {
			var label [10]int32
			for d := range label {
				label[d] = -1
			}
			classes := 2
			a, b := 2*k, 2*k+1
			if sc.short == "class" {
				label[a], label[b], classes = int32(a), int32(b), 10
			} else {
				label[a], label[b] = 0, 1
			}
			t, err := newImageTask(data, k, fmt.Sprintf("mnist-%d%d", a, b), classes, label, nil, false)
			if err != nil {
				return nil, err
			}
			if p.masked(sc) {
				t.outputs = 2 * (k + 1) // digits 0 … 2k+1 seen by the end of task k
			}
			ts = append(ts, t)
		}
		return ts, nil
	}
	label := [10]int32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if sc.seq {
		for k := 0; k < 5; k++ {
			var lab [10]int32
			for d := range lab {
				lab[d] = -1
			}
			a, b := 2*k, 2*k+1
			lab[a], lab[b] = int32(a), int32(b)
			t, err := newImageTask(data, k, fmt.Sprintf("mnist-%d%d", a, b), 10, lab, nil, true)
			if err != nil {
				return nil, err
			}
			ts = append(ts, t)
		}
		return ts, nil
	}
	n, width := p.taskCount(sc), suiteInputs
	if sc.raw {
		width = mnistSide * mnistSide
	}
	for k := 0; k < n; k++ {
		if sc.rotated {
			deg := rotationAngle(seed, k)
			t, err := newImageTask(data, k, fmt.Sprintf("mnist-rot%d", k+1), 10, label, nil, sc.raw)
			if err != nil {
				return nil, err
			}
			t.rot, t.degrees = rotationMap(mnistSide, deg), deg
			ts = append(ts, t)
			continue
		}
		var perm []int
		// Task 1 is MNIST itself in Hsu et al.; Buzzega et al. permute
		// every task.
		if k > 0 || sc.raw {
			perm = rand.New(rand.NewPCG(seed, streamPerm+uint64(k))).Perm(width)
		}
		t, err := newImageTask(data, k, fmt.Sprintf("mnist-perm%d", k+1), 10, label, perm, sc.raw)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// taskCount is the number of tasks of a permuted or rotated MNIST
// scenario.
func (p *suitePlan) taskCount(sc suiteScenario) int {
	if sc.seq || sc.tasks > 0 && p.opt.Permutations == 0 {
		return sc.tasks
	}
	return p.perms
}

// streamPerm (+ task index) seeds permuted MNIST's permutations,
// streamRot (+ task index) rotated MNIST's angles.
const (
	streamPerm = 0x7065726d // "perm"
	streamRot  = 0x726f74   // "rot"
)

// rotationAngle is the angle of rotated MNIST's task k for seed: uniform
// in [0°, 180°), as Buzzega et al.'s Rotation() draws it
// (np.random.uniform(0, 180)).
func rotationAngle(seed uint64, k int) float64 {
	return 180 * rand.New(rand.NewPCG(seed, streamRot+uint64(k))).Float64()
}

// jobTasks returns the tasks of job j: those of its scenario and seed,
// with the loss over the classes seen so far for a method that trains so
// (maskSeen) in sequential MNIST.
func (p *suitePlan) jobTasks(data *mnistData, j suiteJob) ([]*imageTask, error) {
	ts, err := p.buildTasks(data, j.sc, j.seed)
	if err != nil {
		return nil, err
	}
	if j.m.maskSeen && j.sc.seq {
		for k, t := range ts {
			t.outputs = 2 * (k + 1)
		}
	}
	return ts, nil
}

// stepsPerTask is epochs × ⌈N/batch⌉ for each task; for joint (m.joint)
// 0 for every task but the last, which has epochs × ⌈ΣN/batch⌉: one
// pass over the union of the tasks' rows.
func stepsPerTask(ts []*imageTask, sc suiteScenario, m suiteMethod) []int {
	steps := make([]int, len(ts))
	if m.joint {
		total := 0
		for _, t := range ts {
			total += t.NumTrain()
		}
		steps[len(ts)-1] = sc.epochs * ((total + sc.batch - 1) / sc.batch)
		return steps
	}
	for i, t := range ts {
		steps[i] = sc.epochs * ((t.NumTrain() + sc.batch - 1) / sc.batch)
	}
	return steps
}

// suiteJob is one run of a suite.
type suiteJob struct {
	sc   suiteScenario
	m    suiteMethod
	seed uint64
	file string // relative to Out
}

func (j suiteJob) name() string { return fmt.Sprintf("%s/%s/seed%d", j.sc.protocol, j.m.name, j.seed) }
