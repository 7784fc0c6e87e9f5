package checker

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/workloads"
)

// leaderLossHistory is what a real run gave (local runtime, --nemesis all, key k31): the leader is killed, the
// workers keep going through the followers, whose forwards to the dead leader end unknown, for n operations;
// nothing of it was applied, and the final reads see the value written before.
func leaderLossHistory(n int) *hist {
	i := history.Int
	h := new(hist).write(0, "a", 1)
	for k := range n {
		p := history.Process(10 + k)
		if k%2 == 0 {
			h.inv(p, "write", "a", i(int64(100+k))).info(p, "write", "a", i(int64(100+k)))
		} else {
			// cas from values that someone wrote (or may have): each one depends on an unknown write.
			h.inv(p, "cas", "a", history.Pair(int64(100+k-1), int64(100+k))).info(p, "cas", "a", history.Pair(int64(100+k-1), int64(100+k)))
		}
	}
	return h.read(1, "a", i(1)).read(2, "a", i(1)).read(3, "a", i(1))
}

// TestManyUnknownsOfACorrectRun is the run that ended "unknown" after a minute's check: dozens of unknown
// writes and cas that nobody saw, concurrent with the final reads.
func TestManyUnknownsOfACorrectRun(t *testing.T) {
	h := leaderLossHistory(36)
	start := time.Now()
	res, err := Check(h.ev, Options{Timeout: 5 * time.Second})
	require.NoError(t, err)
	require.Equal(t, Valid, res.Verdict, "checked in %s", time.Since(start))
	require.Less(t, time.Since(start), 2*time.Second)
	require.Equal(t, 36, res.Stats.Pruned)
	require.Equal(t, 36, res.Keys[0].Pruned)
	require.Equal(t, 4, res.Keys[0].Ops)

	// The same history with a read of one of the unknown values keeps that value's writer (and the cas it
	// hangs on) in the check, and stays valid.
	h = leaderLossHistory(36).read(4, "a", history.Int(135))
	res, err = Check(h.ev, Options{Timeout: 5 * time.Second})
	require.NoError(t, err)
	require.Equal(t, Valid, res.Verdict)
	require.Equal(t, 34, res.Stats.Pruned, "cas(134, 135) and the write of 134 it needs stay")

	// And a violation among them is still found: a read of a value after a later read saw an older one.
	h = leaderLossHistory(36).read(4, "a", history.Int(135)).read(5, "a", history.Int(1))
	res, err = Check(h.ev, Options{Timeout: 5 * time.Second})
	require.NoError(t, err)
	require.Equal(t, Invalid, res.Verdict)
}

func TestPruneRules(t *testing.T) {
	op := func(in workloads.RegisterInput, out workloads.RegisterOutput, call, ret int64) porcupine.Operation {
		in.Key = "a"
		return porcupine.Operation{Input: in, Output: out, Call: call, Return: ret}
	}
	set := func(v int64) workloads.RegisterState { return workloads.RegisterState{Set: true, Value: v} }
	w := func(v int64) workloads.RegisterInput { return workloads.RegisterInput{F: workloads.Write, Arg: v} }
	cas := func(from, to int64) workloads.RegisterInput {
		return workloads.RegisterInput{F: workloads.CAS, From: from, To: to}
	}
	rd := workloads.RegisterInput{F: workloads.Read}
	unknown := workloads.RegisterOutput{Kind: workloads.Unknown}
	done := workloads.RegisterOutput{Kind: workloads.Done}
	read := func(v workloads.RegisterState) workloads.RegisterOutput {
		return workloads.RegisterOutput{Kind: workloads.Done, Value: v}
	}
	for _, c := range []struct {
		name string
		ops  []porcupine.Operation
		want int
	}{
		{"unseen write", []porcupine.Operation{op(w(1), unknown, 0, Infinity), op(rd, read(workloads.RegisterState{}), 1, 2)}, 1},
		{"read value", []porcupine.Operation{op(w(1), unknown, 0, Infinity), op(rd, read(set(1)), 1, 2)}, 0},
		{"ok cas from it", []porcupine.Operation{op(w(1), unknown, 0, Infinity), op(cas(1, 2), done, 1, 2)}, 0},
		{"unknown cas from it", []porcupine.Operation{op(w(1), unknown, 0, Infinity), op(cas(1, 2), unknown, 1, Infinity)}, 2},
		{"mismatch that saw it", []porcupine.Operation{op(w(1), unknown, 0, Infinity),
			op(cas(5, 2), workloads.RegisterOutput{Kind: workloads.Mismatch, Observed: true, Value: set(1)}, 1, 2)}, 0},
		{"mismatch that did not record what it saw", []porcupine.Operation{op(w(1), unknown, 0, Infinity),
			op(cas(5, 2), workloads.RegisterOutput{Kind: workloads.Mismatch}, 1, 2)}, 0},
		{"ok write is never pruned", []porcupine.Operation{op(w(1), done, 0, 1)}, 0},
		{"cas to itself, from a value never stored", []porcupine.Operation{op(cas(1, 1), unknown, 0, Infinity)}, 1},
		{"cas to itself after a write of it", []porcupine.Operation{op(w(1), done, 0, 1), op(cas(1, 1), unknown, 2, Infinity),
			op(rd, read(set(1)), 3, 4)}, 0},
		{"seen cas from a value never stored", []porcupine.Operation{op(w(1), done, 0, 1), op(cas(7, 1), unknown, 2, Infinity),
			op(rd, read(set(1)), 3, 4)}, 1},
		{"cas from a value only a mismatch names", []porcupine.Operation{op(cas(3, 1), unknown, 0, Infinity),
			op(cas(1, 3), workloads.RegisterOutput{Kind: workloads.Mismatch}, 1, 2)}, 1},
		{"chain of cas from nothing", []porcupine.Operation{op(cas(5, 6), unknown, 0, Infinity), op(cas(6, 7), unknown, 0, Infinity),
			op(cas(7, 8), unknown, 0, Infinity), op(rd, read(set(8)), 1, 2)}, 3},
		{"cycle", []porcupine.Operation{op(cas(1, 2), unknown, 0, Infinity), op(cas(2, 1), unknown, 0, Infinity)}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			kept, n := pruneUnobserved(c.ops)
			require.Equal(t, c.want, n)
			require.Len(t, kept, len(c.ops)-n)
		})
	}
}

// TestPruneKeepsVerdicts checks the claim pruneUnobserved rests on, on many small random histories with few
// values (so that values collide): Porcupine's verdict is the same with and without the pruned operations.
func TestPruneKeepsVerdicts(t *testing.T) {
	model := workloads.RegisterModel().Porcupine()
	rng := rand.New(rand.NewPCG(1, 2))
	pruned, invalid := 0, 0
	for iter := range 20000 {
		ops := randomOps(rng)
		kept, n := pruneUnobserved(ops)
		pruned += n
		full := porcupine.CheckOperations(model, ops)
		if !full {
			invalid++
		}
		require.Equal(t, full, porcupine.CheckOperations(model, kept), "history %d: %s", iter, describeOps(ops))
	}
	require.Greater(t, pruned, 1000, "the test must exercise pruning")
	require.Greater(t, invalid, 1000, "and non-linearizable histories")
}

func randomOps(rng *rand.Rand) []porcupine.Operation {
	n := 2 + rng.IntN(6)
	val := func() int64 { return int64(rng.IntN(3)) }
	state := func() workloads.RegisterState {
		if rng.IntN(4) == 0 {
			return workloads.RegisterState{}
		}
		return workloads.RegisterState{Set: true, Value: val()}
	}
	ops := make([]porcupine.Operation, n)
	for i := range ops {
		call := int64(rng.IntN(20))
		ret := call + 1 + int64(rng.IntN(8))
		var in workloads.RegisterInput
		var out workloads.RegisterOutput
		switch rng.IntN(3) {
		case 0:
			in = workloads.RegisterInput{F: workloads.Read}
			out = workloads.RegisterOutput{Kind: workloads.Done, Value: state()}
		case 1:
			in = workloads.RegisterInput{F: workloads.Write, Arg: val()}
			out = workloads.RegisterOutput{Kind: workloads.Done}
		default:
			in = workloads.RegisterInput{F: workloads.CAS, From: val(), To: val()}
			switch rng.IntN(3) {
			case 0:
				out = workloads.RegisterOutput{Kind: workloads.Done}
			case 1:
				out = workloads.RegisterOutput{Kind: workloads.Mismatch, Observed: rng.IntN(5) != 0, Value: state()}
			}
		}
		if in.F != workloads.Read && rng.IntN(2) == 0 {
			out = workloads.RegisterOutput{Kind: workloads.Unknown}
		}
		if out.Kind == workloads.Unknown {
			ret = Infinity
		}
		in.Key = "a"
		ops[i] = porcupine.Operation{ClientId: i, Input: in, Output: out, Call: call, Return: ret}
	}
	return ops
}

func describeOps(ops []porcupine.Operation) string {
	s := ""
	for _, op := range ops {
		ret := "inf"
		if op.Return != Infinity {
			ret = time.Duration(op.Return).String()
		}
		s += workloads.DescribeRegisterOp(op.Input.(workloads.RegisterInput), op.Output.(workloads.RegisterOutput)) +
			" [" + time.Duration(op.Call).String() + ", " + ret + "]; "
	}
	return s
}
