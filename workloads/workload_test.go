package workloads

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/targets"
)

// fakeStore is a sequential register store used to produce deterministic outcomes to feed back.
type fakeStore map[string]*int64

func (s fakeStore) do(op targets.Op) targets.Outcome {
	cur := s[op.Key]
	switch op.F {
	case targets.FRead:
		return targets.Outcome{Type: history.Ok, Value: cur}
	case targets.FWrite:
		v := op.Value
		s[op.Key] = &v
		return targets.Outcome{Type: history.Ok}
	default:
		if cur == nil || *cur != op.From {
			return targets.Outcome{Type: history.Fail, Error: history.ErrCASMismatch, Value: cur}
		}
		v := op.To
		s[op.Key] = &v
		return targets.Outcome{Type: history.Ok}
	}
}

// run drives every worker of w round-robin for n rounds against one fake store and returns each worker's ops.
func run(t *testing.T, w Workload, n int) [][]targets.Op {
	t.Helper()
	store := fakeStore{}
	gens := make([]WorkerGen, w.Config().Workers)
	for i := range gens {
		gens[i] = w.Worker(i)
	}
	out := make([][]targets.Op, len(gens))
	for r := 0; r < n; r++ {
		for i, g := range gens {
			op := g.Next()
			g.Observe(op, store.do(op))
			out[i] = append(out[i], op)
		}
	}
	return out
}

func TestSameSeedSameStream(t *testing.T) {
	for _, name := range []string{NameRegister, NameKV} {
		t.Run(name, func(t *testing.T) {
			cfg := Config{Seed: 42, Workers: 7, OpsPerKey: 30, WorkersPerKey: 3}
			a, err := New(name, cfg)
			require.NoError(t, err)
			b, err := New(name, cfg)
			require.NoError(t, err)
			require.Equal(t, run(t, a, 200), run(t, b, 200))

			cfg.Seed = 43
			c, err := New(name, cfg)
			require.NoError(t, err)
			require.NotEqual(t, run(t, a, 200), run(t, c, 200))
		})
	}
}

func TestWorkersDiffer(t *testing.T) {
	w, err := New(NameRegister, Config{Seed: 1, Workers: 2})
	require.NoError(t, err)
	ops := run(t, w, 50)
	require.NotEqual(t, ops[0], ops[1])
}

func TestObserveFeedsCAS(t *testing.T) {
	// Only cas after the first write: every from must be a value the worker saw, once it has seen one.
	w, err := New(NameRegister, Config{Seed: 9, Workers: 1, WriteRatio: 0.2, CASRatio: 0.8})
	require.NoError(t, err)
	g := w.Worker(0)
	store := fakeStore{}
	var seen []int64
	cas, hits := 0, 0
	for range 500 {
		op := g.Next()
		out := store.do(op)
		if op.F == targets.FCAS && len(seen) > 0 {
			cas++
			require.Contains(t, seen, op.From, "cas from must be a value the worker saw")
			if out.Type == history.Ok {
				hits++
			}
		}
		g.Observe(op, out)
		if v := store[op.Key]; v != nil {
			seen = append(seen, *v)
		}
	}
	require.Greater(t, cas, 100)
	// A single worker that feeds back what it saw should mostly succeed its cas operations.
	require.Greater(t, hits, cas/2)
}

func TestUniqueValuesPerKey(t *testing.T) {
	w, err := New(NameKV, Config{Seed: 3, Workers: 10, OpsPerKey: 40, WriteRatio: 0.5, CASRatio: 0.5})
	require.NoError(t, err)
	written := map[string]map[int64]bool{}
	for _, ops := range run(t, w, 300) {
		for _, op := range ops {
			v := op.Value
			if op.F == targets.FCAS {
				v = op.To
			}
			if written[op.Key] == nil {
				written[op.Key] = map[int64]bool{}
			}
			require.False(t, written[op.Key][v], "value %d written twice on %s", v, op.Key)
			written[op.Key][v] = true
		}
	}
}

func TestKVKeyRotation(t *testing.T) {
	// 6 workers in groups of 3: group 0 uses k0, k2, k4, ...; group 1 uses k1, k3, ...
	w, err := New(NameKV, Config{Seed: 5, Workers: 6, WorkersPerKey: 3, OpsPerKey: 30})
	require.NoError(t, err)
	ops := run(t, w, 35) // each worker does 10 ops per key: keys 0..3 of its group
	for i, wops := range ops {
		group := i / 3
		for n, op := range wops {
			round := n / 10
			require.Equal(t, KVKey(group+2*round), op.Key, "worker %d op %d", i, n)
		}
	}
	// Per key, the ops total OpsPerKey and come from all three members of the group.
	perKey := map[string]map[int]int{}
	for i, wops := range ops {
		for _, op := range wops[:30] {
			if perKey[op.Key] == nil {
				perKey[op.Key] = map[int]int{}
			}
			perKey[op.Key][i]++
		}
	}
	require.Len(t, perKey, 6)
	for k, by := range perKey {
		require.Len(t, by, 3, "key %s", k)
		total := 0
		for _, n := range by {
			total += n
		}
		require.Equal(t, 30, total, "key %s", k)
	}
}

func TestKVUnevenGroups(t *testing.T) {
	// 7 workers in groups of 3: the last group has one member, which does all of its key's ops.
	w, err := New(NameKV, Config{Seed: 5, Workers: 7, WorkersPerKey: 3, OpsPerKey: 9})
	require.NoError(t, err)
	ops := run(t, w, 9)
	for _, op := range ops[6] {
		require.Equal(t, "k2", op.Key)
	}
	require.Equal(t, "k0", ops[0][2].Key)
	require.Equal(t, "k3", ops[0][3].Key)
}

func TestRegisterOneKey(t *testing.T) {
	w, err := New(NameRegister, Config{Seed: 5, Workers: 3, OpsPerKey: 2})
	require.NoError(t, err)
	for _, wops := range run(t, w, 20) {
		for _, op := range wops {
			require.Equal(t, RegisterKey, op.Key)
		}
	}
}

func TestMix(t *testing.T) {
	w, err := New(NameKV, Config{Seed: 11, Workers: 1, ReadRatio: 1})
	require.NoError(t, err)
	for _, op := range run(t, w, 100)[0] {
		require.Equal(t, targets.FRead, op.F)
	}
	w, err = New(NameKV, Config{Seed: 11, Workers: 1, ReadRatio: 0.2, WriteRatio: 0.2, CASRatio: 0.6})
	require.NoError(t, err)
	count := map[string]int{}
	for _, op := range run(t, w, 5000)[0] {
		count[op.F]++
	}
	require.InDelta(t, 1000, count[targets.FRead], 150)
	require.InDelta(t, 1000, count[targets.FWrite], 150)
	require.InDelta(t, 3000, count[targets.FCAS], 150)
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		cfg   Config
		field string
		want  string
	}{
		{"register", Config{Workers: 0}, "workers", "must be at least 1"},
		{"kv", Config{Workers: 1, Nodes: -1}, "nodes", "must be >= 0"},
		{"kv", Config{Workers: 1, ReadRatio: 1.5}, "read_ratio", "must be between 0 and 1"},
		{"kv", Config{Workers: 1, WriteRatio: -0.1}, "write_ratio", "must be between 0 and 1"},
		{"kv", Config{Workers: 1, CASRatio: 2}, "cas_ratio", "must be between 0 and 1"},
		{"kv", Config{Workers: 1, OpsPerKey: -1}, "ops_per_key", "must be positive"},
		{"kv", Config{Workers: 1, WorkersPerKey: -3}, "workers_per_key", "must be positive"},
		{"bank", Config{Workers: 1}, "workload", `unknown workload "bank"`},
	} {
		t.Run(fmt.Sprintf("%s %+v", c.name, c.cfg), func(t *testing.T) {
			_, err := New(c.name, c.cfg)
			fe, ok := field.As(err)
			require.True(t, ok, "want a *field.Error, got %v", err)
			assert.Equal(t, c.field, fe.Field)
			assert.Contains(t, fe.Msg, c.want)
		})
	}
}

func TestDefaults(t *testing.T) {
	w, err := New(NameKV, Config{Workers: 2})
	require.NoError(t, err)
	c := w.Config()
	require.Equal(t, DefaultOpsPerKey, c.OpsPerKey)
	require.Equal(t, 2, c.WorkersPerKey) // with no nodes given, every worker on each key
	require.Equal(t, DefaultReadRatio, c.ReadRatio)
	require.Equal(t, NameKV, w.Name())

	// 0 workers per key means one per node, as the harness's Test says; capped at the workers.
	w, err = New(NameKV, Config{Workers: 10, Nodes: 3})
	require.NoError(t, err)
	require.Equal(t, 3, w.Config().WorkersPerKey)
	w, err = New(NameKV, Config{Workers: 2, Nodes: 5})
	require.NoError(t, err)
	require.Equal(t, 2, w.Config().WorkersPerKey)
}
