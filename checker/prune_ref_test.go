package checker

import (
	"math/rand/v2"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/histgen"
	"github.com/skeptic-dev/skeptic/workloads"
)

// The pruning as it was before it counted only the values it looks up (maps of every value of a key), kept as
// the reference that TestPruneSameAsReference compares the current one with.

func refPruneUnobserved(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	total := 0
	for {
		var a, b int
		ops, a = refPruneNoopCAS(ops)
		ops, b = refPruneUnseen(ops)
		total += a + b
		if a+b == 0 {
			return ops, total
		}
	}
}

func refPruneNoopCAS(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	total := 0
	for {
		stored := map[int64]int{} // value -> operations that may store it
		for _, op := range ops {
			in := op.Input.(workloads.RegisterInput)
			out := op.Output.(workloads.RegisterOutput)
			switch {
			case in.F == workloads.Write:
				stored[in.Arg]++
			case in.F == workloads.CAS && out.Kind != workloads.Mismatch:
				stored[in.To]++
			}
		}
		removed := make([]bool, len(ops))
		n := 0
		for i, op := range ops {
			in := op.Input.(workloads.RegisterInput)
			if in.F != workloads.CAS || op.Output.(workloads.RegisterOutput).Kind != workloads.Unknown {
				continue
			}
			others := stored[in.From]
			if in.To == in.From {
				others-- // a cas from v to v stores v only when the register already held it
			}
			if others == 0 {
				removed[i] = true
				n++
			}
		}
		if n == 0 {
			return ops, total
		}
		ops = keep(ops, removed, n)
		total += n
	}
}

// pruneUnseen applies the first rule, to a fixed point.
func refPruneUnseen(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	deps := map[int64]int{}      // value -> operations that depend on the register holding it
	writers := map[int64][]int{} // value -> unknown operations that store it
	for i, op := range ops {
		in := op.Input.(workloads.RegisterInput)
		out := op.Output.(workloads.RegisterOutput)
		switch {
		case in.F == workloads.Read:
			if out.Value.Set {
				deps[out.Value.Value]++
			}
		case in.F == workloads.CAS && out.Kind == workloads.Mismatch:
			if !out.Observed {
				return ops, 0
			}
			if out.Value.Set {
				deps[out.Value.Value]++
			}
		case in.F == workloads.CAS:
			// Done or Unknown: both may have needed the register to hold From.
			deps[in.From]++
		}
		if out.Kind == workloads.Unknown {
			switch in.F {
			case workloads.Write:
				writers[in.Arg] = append(writers[in.Arg], i)
			case workloads.CAS:
				writers[in.To] = append(writers[in.To], i)
			}
		}
	}
	var work []int64
	for v := range writers {
		if deps[v] == 0 {
			work = append(work, v)
		}
	}
	removed := make([]bool, len(ops))
	n := 0
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		if deps[v] != 0 {
			continue
		}
		for _, i := range writers[v] {
			if removed[i] {
				continue
			}
			removed[i] = true
			n++
			if in := ops[i].Input.(workloads.RegisterInput); in.F == workloads.CAS {
				deps[in.From]--
				if deps[in.From] == 0 && len(writers[in.From]) > 0 {
					work = append(work, in.From)
				}
			}
		}
		delete(writers, v)
	}
	if n == 0 {
		return ops, 0
	}
	return keep(ops, removed, n), n
}

// TestPruneSameAsReference: pruneUnobserved removes exactly the operations the reference removes, on generated
// histories with many unknown outcomes (up to 30%), and on small random ones whose few values collide often.
func TestPruneSameAsReference(t *testing.T) {
	compare := func(t *testing.T, ops []porcupine.Operation) {
		got, n := pruneUnobserved(ops)
		want, m := refPruneUnobserved(ops)
		require.Equal(t, m, n)
		require.Equal(t, want, got)
	}
	pruned := 0
	for seed, rate := range []float64{0.01, 0.05, 0.1, 0.3} {
		keys, _, err := Operations(histgen.Events(histgen.Config{Ops: 20_000, Seed: uint64(seed + 1), InfoRate: rate}))
		require.NoError(t, err)
		for _, k := range keys {
			compare(t, k.Ops)
			_, n := refPruneUnobserved(k.Ops)
			pruned += n
		}
	}
	rng := rand.New(rand.NewPCG(7, 9))
	for range 3000 {
		var ops []porcupine.Operation
		for range 1 + rng.IntN(12) {
			in := workloads.RegisterInput{Key: "k", F: workloads.RegisterFunc(rng.IntN(3)), Arg: rng.Int64N(4), From: rng.Int64N(4), To: rng.Int64N(4)}
			out := workloads.RegisterOutput{Kind: workloads.Done}
			switch r := rng.IntN(4); {
			case r == 0 && in.F != workloads.Read:
				out.Kind = workloads.Unknown
			case r == 1 && in.F == workloads.CAS:
				out = workloads.RegisterOutput{Kind: workloads.Mismatch, Observed: rng.IntN(5) > 0, Value: workloads.RegisterState{Set: rng.IntN(4) > 0, Value: rng.Int64N(4)}}
			case in.F == workloads.Read:
				out.Value = workloads.RegisterState{Set: rng.IntN(4) > 0, Value: rng.Int64N(4)}
			}
			ops = append(ops, porcupine.Operation{Input: in, Output: out})
		}
		compare(t, ops)
		_, n := refPruneUnobserved(ops)
		pruned += n
	}
	require.Positive(t, pruned, "the histories gave the pruning something to remove")
}
