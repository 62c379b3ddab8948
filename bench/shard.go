package bench

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is one part of a profile's jobs, for a cluster: the jobs whose
// key hashes to Index out of Count (see ShardOf). Count 0 or 1 is the
// whole profile.
type Shard struct {
	Index, Count int
	// From says where the index came from: "-shard" or the environment
	// variable that gave it, for the log line and error messages.
	From string
}

// String is "i/n", or "" for the whole profile.
func (s Shard) String() string {
	if s.Count <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// ShardOf returns the shard, out of n, that owns the job whose first run
// is named key (RunSpec.Name, e.g. "sequence/custom/ewc/seed1"): the
// 64-bit FNV-1a hash of the name modulo n. The owner of a run depends on
// its name and n only, never on where the run sits in the plan, so adding
// a method, seed or model to a profile leaves every existing run in the
// shard it was in (and its finished file where it was written).
func ShardOf(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}

// ParseShard reads "i/n" with 0 ≤ i < n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	var i, n int
	var err error
	if ok {
		i, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("-shard %q: want i/n with 0 ≤ i < n (e.g. 0/4), or auto", s)
	}
	return Shard{Index: i, Count: n, From: "-shard"}, nil
}

// shardEnv is one scheduler's convention for handing each task of an
// array its index.
type shardEnv struct {
	scheduler string
	index     string // the task's index
	count     string // the number of tasks; "" when the scheduler sets none
	// min and step, when set, make the index (index − min) / step:
	// Slurm numbers array tasks as the user wrote them (--array=1-4,
	// --array=0-6:2).
	min, step string
}

// shardEnvs are the conventions ResolveShard knows, in the order it
// reports them.
var shardEnvs = []shardEnv{
	{scheduler: "Slurm", index: "SLURM_ARRAY_TASK_ID", count: "SLURM_ARRAY_TASK_COUNT", min: "SLURM_ARRAY_TASK_MIN", step: "SLURM_ARRAY_TASK_STEP"},
	{scheduler: "Kubernetes Indexed Job", index: "JOB_COMPLETION_INDEX"},
	{scheduler: "AWS Batch", index: "AWS_BATCH_JOB_ARRAY_INDEX", count: "AWS_BATCH_JOB_ARRAY_SIZE"},
	{scheduler: "Google Cloud Batch", index: "BATCH_TASK_INDEX", count: "BATCH_TASK_COUNT"},
}

// ShardVars lists the environment variables that carry a task's index,
// for help texts.
func ShardVars() []string {
	var out []string
	for _, e := range shardEnvs {
		out = append(out, e.index)
	}
	return out
}

// ResolveShard decides which shard a command runs, from the -shard flag
// (flag: "", "auto" or "i/n"), the -shards flag (shards: the number of
// shards, 0 when not given) and the environment, read through lookup
// (os.LookupEnv in the CLI; a map in tests).
//
//   - "i/n" wins over the environment; -shards, if given, must equal n.
//   - "auto" requires one of the variables of ShardVars.
//   - "" reads the environment when one of those variables is set, and
//     otherwise runs the whole profile.
//
// The count comes from the scheduler's count variable, or from -shards
// when it sets none (Kubernetes). A known index with no count, two
// schedulers' variables at once, a count that disagrees with -shards, or
// an index outside [0, count) is an error naming the variables.
func ResolveShard(flag string, shards int, lookup func(string) (string, bool)) (Shard, error) {
	if shards < 0 {
		return Shard{}, fmt.Errorf("-shards %d: want a positive number of shards", shards)
	}
	if flag != "" && flag != "auto" {
		s, err := ParseShard(flag)
		if err != nil {
			return Shard{}, err
		}
		if shards > 0 && shards != s.Count {
			return Shard{}, fmt.Errorf("-shard %s and -shards %d disagree on the number of shards", flag, shards)
		}
		return s, nil
	}
	var found []shardEnv
	for _, e := range shardEnvs {
		if _, ok := lookup(e.index); ok {
			found = append(found, e)
		}
	}
	switch {
	case len(found) == 0 && flag == "auto":
		return Shard{}, fmt.Errorf("-shard auto: none of %s is set (run inside a job array, or give -shard i/n)", strings.Join(ShardVars(), ", "))
	case len(found) == 0 && shards > 0:
		return Shard{}, fmt.Errorf("-shards %d: no shard index (give -shard i/n, or run where one of %s is set)", shards, strings.Join(ShardVars(), ", "))
	case len(found) == 0:
		return Shard{}, nil
	case len(found) > 1:
		var vars []string
		for _, e := range found {
			vars = append(vars, e.index)
		}
		return Shard{}, fmt.Errorf("both %s are set: cannot tell which scheduler's index to use; give -shard i/n", strings.Join(vars, " and "))
	}
	return envShard(found[0], shards, lookup)
}

// envShard reads one convention's variables.
func envShard(e shardEnv, shards int, lookup func(string) (string, bool)) (Shard, error) {
	num := func(name string, min int) (int, bool, error) {
		v, ok := lookup(name)
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < min {
			return 0, true, fmt.Errorf("%s=%q: want an integer ≥ %d", name, v, min)
		}
		return n, true, nil
	}
	id, _, err := num(e.index, 0)
	if err != nil {
		return Shard{}, err
	}
	index := id
	if e.min != "" {
		lo, ok, err := num(e.min, 0)
		if err != nil {
			return Shard{}, err
		}
		step, okStep, err := num(e.step, 1)
		if err != nil {
			return Shard{}, err
		}
		if !okStep {
			step = 1
		}
		if ok {
			if id < lo || (id-lo)%step != 0 {
				return Shard{}, fmt.Errorf("%s=%d with %s=%d, %s=%d: the array's task IDs are not evenly spaced from its minimum; submit --array=0-N (N = tasks − 1)", e.index, id, e.min, lo, e.step, step)
			}
			index = (id - lo) / step
		}
	}
	count, haveCount := 0, false
	if e.count != "" {
		if count, haveCount, err = num(e.count, 1); err != nil {
			return Shard{}, err
		}
	}
	switch {
	case haveCount && shards > 0 && count != shards:
		return Shard{}, fmt.Errorf("%s=%d but -shards %d: the scheduler and the flag disagree on the number of shards", e.count, count, shards)
	case !haveCount && shards > 0:
		count = shards
	case !haveCount:
		what := "sets no count variable"
		if e.count != "" {
			what = e.count + " is not set"
		}
		return Shard{}, fmt.Errorf("%s=%d (%s) but the number of shards is unknown: %s; give it with -shards N", e.index, id, e.scheduler, what)
	}
	if index >= count {
		return Shard{}, fmt.Errorf("%s=%d gives shard %d, outside the %d shards (%s): the array has more tasks than shards", e.index, id, index, count, countSource(e, haveCount))
	}
	return Shard{Index: index, Count: count, From: e.index}, nil
}

func countSource(e shardEnv, fromEnv bool) string {
	if fromEnv {
		return e.count
	}
	return "-shards"
}
