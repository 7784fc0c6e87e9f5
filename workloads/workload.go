package workloads

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
)

// The workload names New accepts.
const (
	// NameRegister is one register shared by every worker.
	NameRegister = "register"
	// NameKV is many independent registers with key rotation.
	NameKV = "kv"
)

// Defaults used when a Config field is zero.
const (
	// DefaultOpsPerKey is the kv workload's operations per key (Jepsen's :ops-per-key), and skeptic run's
	// default (harness.Default): short-lived keys keep each key's history small, and its check fast.
	DefaultOpsPerKey = 100
	// RegisterKey is the key of the register workload, and the key Jepsen histories are imported under.
	RegisterKey = "r"
)

// DefaultReadRatio, DefaultWriteRatio and DefaultCASRatio are the mix used when all three ratios are zero.
const (
	DefaultReadRatio  = 0.5
	DefaultWriteRatio = 0.25
	DefaultCASRatio   = 0.25
)

// Config configures a workload. The zero value of each optional field selects its default.
type Config struct {
	// Seed makes every worker's stream deterministic; worker i's stream derives from (Seed, i).
	Seed int64 `json:"seed"`
	// Workers is the number of workers (at least 1).
	Workers int `json:"workers"`
	// Nodes is the number of nodes the workers are bound to, round robin; it sets the default WorkersPerKey.
	Nodes int `json:"nodes,omitempty"`
	// OpsPerKey is, for kv, how many operations a group of workers performs on a key before moving to a fresh
	// one; 0 means DefaultOpsPerKey. The register workload has one key and ignores it.
	OpsPerKey int `json:"ops_per_key,omitempty"`
	// WorkersPerKey is, for kv, how many workers share a key at once; 0 means one per node, min(Nodes,
	// Workers), so that every key is read and written through every node (with Nodes 0 too, every worker shares
	// each key). It is capped at Workers. The register workload puts every worker on its one key.
	WorkersPerKey int `json:"workers_per_key,omitempty"`
	// ReadRatio, WriteRatio and CASRatio weigh the mix of operations. Each is between 0 and 1; they are
	// normalized by their sum. All three zero select the defaults (0.5, 0.25, 0.25).
	ReadRatio  float64 `json:"read_ratio"`
	WriteRatio float64 `json:"write_ratio"`
	CASRatio   float64 `json:"cas_ratio"`
}

// Validate returns a *field.Error naming the first bad field by its JSON name ("ops_per_key").
func (c Config) Validate() error {
	if c.Workers < 1 {
		return field.Errorf("workers", "must be at least 1, got %d", c.Workers)
	}
	if c.Nodes < 0 {
		return field.Errorf("nodes", "must be >= 0, got %d", c.Nodes)
	}
	if c.OpsPerKey < 0 {
		return field.Errorf("ops_per_key", "must be positive (or 0 for the default %d), got %d", DefaultOpsPerKey, c.OpsPerKey)
	}
	if c.WorkersPerKey < 0 {
		return field.Errorf("workers_per_key", "must be positive (or 0 for one per node), got %d", c.WorkersPerKey)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"read_ratio", c.ReadRatio}, {"write_ratio", c.WriteRatio}, {"cas_ratio", c.CASRatio}} {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return field.Errorf(r.name, "must be between 0 and 1, got %v", r.v)
		}
	}
	return nil
}

// withDefaults fills the zero optional fields.
func (c Config) withDefaults() Config {
	if c.OpsPerKey == 0 {
		c.OpsPerKey = DefaultOpsPerKey
	}
	if c.WorkersPerKey == 0 {
		c.WorkersPerKey = c.Workers
		if c.Nodes > 0 {
			c.WorkersPerKey = c.Nodes
		}
	}
	c.WorkersPerKey = min(c.WorkersPerKey, c.Workers)
	if c.ReadRatio == 0 && c.WriteRatio == 0 && c.CASRatio == 0 {
		c.ReadRatio, c.WriteRatio, c.CASRatio = DefaultReadRatio, DefaultWriteRatio, DefaultCASRatio
	}
	return c
}

// Workload is a configured generator of operations.
type Workload interface {
	// Name is the workload's name, as given to New.
	Name() string
	// Config is the configuration in use, with defaults filled in.
	Config() Config
	// Worker returns the generator of worker i (0 <= i < Config().Workers). Each call returns a fresh
	// generator at the start of the stream.
	Worker(i int) WorkerGen
	// Model is the model each key's history is checked against.
	Model() TypedModel[RegisterState, RegisterInput, RegisterOutput]
}

// WorkerGen is one worker's stream of operations. It is not safe for concurrent use: one worker owns it.
type WorkerGen interface {
	// Next returns the worker's next operation. The stream is endless: the harness decides when to stop.
	Next() targets.Op
	// Observe feeds back how an operation returned by Next ended, so later operations can use values the
	// worker saw. Calling it is optional; the stream is a function of the seed and the outcomes observed.
	Observe(op targets.Op, out targets.Outcome)
}

// New returns the named workload ("register" or "kv"), or a *field.Error naming the bad field ("workload" for
// the name).
func New(name string, cfg Config) (Workload, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	switch name {
	case NameRegister:
		return &workload{name: name, cfg: cfg, single: true}, nil
	case NameKV:
		return &workload{name: name, cfg: cfg}, nil
	}
	return nil, field.Errorf("workload", "unknown workload %q (want %q or %q)", name, NameRegister, NameKV)
}

type workload struct {
	name   string
	cfg    Config
	single bool
}

func (w *workload) Name() string   { return w.name }
func (w *workload) Config() Config { return w.cfg }
func (w *workload) Model() TypedModel[RegisterState, RegisterInput, RegisterOutput] {
	return RegisterModel()
}

// Worker builds worker i's generator. Key assignment for kv: worker i is in group g = i / WorkersPerKey, and
// there are G = ceil(Workers / WorkersPerKey) groups. Group g works through keys k(g), k(g+G), k(g+2G), ...,
// so the groups never share a key, and the members of a group, which advance at about the same pace, work on
// the same key at the same time. Each member performs ceil(OpsPerKey / groupSize) operations on a key before
// moving to the group's next one, so a key sees about OpsPerKey operations in all. The streams share no state
// (that is what keeps each one deterministic), so a member that runs faster than the rest of its group moves
// on early; with the harness's even pacing the members stay together on each key for most of its life.
func (w *workload) Worker(i int) WorkerGen {
	if i < 0 || i >= w.cfg.Workers {
		panic(fmt.Sprintf("workloads: worker %d out of range [0, %d)", i, w.cfg.Workers))
	}
	g := &gen{
		w:   w,
		idx: i,
		rng: rand.New(rand.NewPCG(uint64(w.cfg.Seed), uint64(i))),
	}
	sum := w.cfg.ReadRatio + w.cfg.WriteRatio + w.cfg.CASRatio
	g.pRead = w.cfg.ReadRatio / sum
	g.pWrite = g.pRead + w.cfg.WriteRatio/sum
	if w.single {
		g.groupSize = w.cfg.Workers
		g.key = RegisterKey
		return g
	}
	per := w.cfg.WorkersPerKey
	g.group = i / per
	g.groups = (w.cfg.Workers + per - 1) / per
	g.groupSize = min(per, w.cfg.Workers-g.group*per)
	g.quota = (w.cfg.OpsPerKey + g.groupSize - 1) / g.groupSize
	g.startKey()
	return g
}

// KVKey is the name of the kv workload's n-th key.
func KVKey(n int) string { return "k" + strconv.Itoa(n) }

// recentValues is how many values per key a worker remembers for its cas operations.
const recentValues = 4

type gen struct {
	w             *workload
	idx           int
	rng           *rand.Rand
	pRead, pWrite float64

	// kv rotation; unused by the register workload.
	group, groups, groupSize int
	round                    int // how many keys this worker has finished
	quota                    int // operations per key for this worker
	done                     int // operations issued on the current key

	key     string
	written int64   // values this worker has written (write or cas to) on the current key
	recent  []int64 // values recently seen on the current key, newest last
}

func (g *gen) startKey() {
	g.key = KVKey(g.group + g.round*g.groups)
	g.done = 0
	g.written = 0
	g.recent = g.recent[:0]
}

// nextValue returns a value no other worker writes on this key: (n*Workers + i + 1) for this worker's n-th.
func (g *gen) nextValue() int64 {
	v := g.written*int64(g.w.cfg.Workers) + int64(g.idx) + 1
	g.written++
	return v
}

// plausible returns a value some worker of the group may have written on this key by now.
func (g *gen) plausible() int64 {
	var member int
	if !g.w.single {
		member = g.group*g.w.cfg.WorkersPerKey + g.rng.IntN(g.groupSize)
	} else {
		member = g.rng.IntN(g.w.cfg.Workers)
	}
	n := g.rng.Int64N(g.written + 1)
	return n*int64(g.w.cfg.Workers) + int64(member) + 1
}

func (g *gen) Next() targets.Op {
	if !g.w.single && g.done >= g.quota {
		g.round++
		g.startKey()
	}
	g.done++
	p := g.rng.Float64()
	switch {
	case p < g.pRead:
		return targets.Op{F: targets.FRead, Key: g.key}
	case p < g.pWrite:
		return targets.Op{F: targets.FWrite, Key: g.key, Value: g.nextValue()}
	default:
		var from int64
		switch {
		case len(g.recent) > 0 && g.rng.IntN(2) == 0:
			from = g.recent[len(g.recent)-1] // the newest value seen: likely still there
		case len(g.recent) > 0:
			from = g.recent[g.rng.IntN(len(g.recent))]
		default:
			from = g.plausible()
		}
		return targets.Op{F: targets.FCAS, Key: g.key, From: from, To: g.nextValue()}
	}
}

func (g *gen) Observe(op targets.Op, out targets.Outcome) {
	if op.Key != g.key {
		return // an outcome for a key this worker has left tells nothing about the current one
	}
	switch {
	case out.Type == history.Ok && op.F == targets.FRead && out.Value != nil:
		g.see(*out.Value)
	case out.Type == history.Ok && op.F == targets.FWrite:
		g.see(op.Value)
	case out.Type == history.Ok && op.F == targets.FCAS:
		g.see(op.To)
	case out.Type == history.Fail && out.Error == history.ErrCASMismatch && out.Value != nil:
		g.see(*out.Value)
	}
}

func (g *gen) see(v int64) {
	for i, x := range g.recent {
		if x == v {
			g.recent = append(g.recent[:i], g.recent[i+1:]...)
			break
		}
	}
	g.recent = append(g.recent, v)
	if len(g.recent) > recentValues {
		g.recent = g.recent[1:]
	}
}
