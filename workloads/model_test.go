package workloads

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
)

func set(v int64) RegisterState { return RegisterState{Set: true, Value: v} }

func TestRegisterStep(t *testing.T) {
	m := RegisterModel()
	none := RegisterState{}
	for _, c := range []struct {
		name  string
		s     RegisterState
		in    RegisterInput
		out   RegisterOutput
		ok    bool
		after RegisterState
	}{
		{"read nil of nil", none, RegisterInput{F: Read}, RegisterOutput{}, true, none},
		{"read 1 of nil", none, RegisterInput{F: Read}, RegisterOutput{Value: set(1)}, false, none},
		{"read nil of 1", set(1), RegisterInput{F: Read}, RegisterOutput{}, false, set(1)},
		{"read 1 of 1", set(1), RegisterInput{F: Read}, RegisterOutput{Value: set(1)}, true, set(1)},
		{"write", none, RegisterInput{F: Write, Arg: 4}, RegisterOutput{}, true, set(4)},
		{"unknown write", set(1), RegisterInput{F: Write, Arg: 4}, RegisterOutput{Kind: Unknown}, true, set(4)},
		{"cas ok", set(1), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{}, true, set(2)},
		{"cas ok wrong from", set(3), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{}, false, set(3)},
		{"cas ok on nil", none, RegisterInput{F: CAS, From: 0, To: 2}, RegisterOutput{}, false, none},
		{"cas unknown applies", set(1), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{Kind: Unknown}, true, set(2)},
		{"cas unknown no-op", set(3), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{Kind: Unknown}, true, set(3)},
		{"mismatch", set(3), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{Kind: Mismatch}, true, set(3)},
		{"mismatch on nil", none, RegisterInput{F: CAS, From: 0, To: 2}, RegisterOutput{Kind: Mismatch}, true, none},
		{"mismatch but was from", set(1), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{Kind: Mismatch}, false, set(1)},
		{"mismatch saw it", set(3), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{Kind: Mismatch, Observed: true, Value: set(3)}, true, set(3)},
		{"mismatch saw other", set(3), RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{Kind: Mismatch, Observed: true, Value: set(4)}, false, set(3)},
		{"mismatch saw nil", none, RegisterInput{F: CAS, From: 1, To: 2}, RegisterOutput{Kind: Mismatch, Observed: true}, true, none},
	} {
		t.Run(c.name, func(t *testing.T) {
			ok, after := m.Step(c.s, c.in, c.out)
			require.Equal(t, c.ok, ok)
			if ok {
				require.Equal(t, c.after, after)
			}
		})
	}
}

func TestRegisterHash(t *testing.T) {
	m := RegisterModel()
	seen := map[uint64]RegisterState{}
	for _, s := range []RegisterState{{}, set(0), set(1), set(-1), set(math.MaxInt64), set(1 << 40)} {
		h := m.Hash(s)
		_, dup := seen[h]
		require.False(t, dup, "hash collision for %v", s)
		seen[h] = s
		require.Equal(t, h, m.Hash(s))
	}
}

// op builds a Porcupine operation on key k.
func op(client int, k string, in RegisterInput, call int64, out RegisterOutput, ret int64) porcupine.Operation {
	in.Key = k
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

func TestPorcupineModel(t *testing.T) {
	m := RegisterModel().Porcupine()
	// Two keys, each fine alone; checked together through Partition.
	ok := []porcupine.Operation{
		op(0, "a", RegisterInput{F: Write, Arg: 1}, 0, RegisterOutput{}, 10),
		op(1, "b", RegisterInput{F: Write, Arg: 2}, 0, RegisterOutput{}, 10),
		op(0, "a", RegisterInput{F: Read}, 11, RegisterOutput{Value: set(1)}, 12),
		op(1, "b", RegisterInput{F: Read}, 11, RegisterOutput{Value: set(2)}, 12),
	}
	require.Equal(t, porcupine.Ok, porcupine.CheckOperationsTimeout(m, ok, 0))
	require.Len(t, m.Partition(ok), 2)

	// b's value read on a: illegal.
	bad := append([]porcupine.Operation(nil), ok...)
	bad[2] = op(0, "a", RegisterInput{F: Read}, 11, RegisterOutput{Value: set(2)}, 12)
	require.Equal(t, porcupine.Illegal, porcupine.CheckOperationsTimeout(m, bad, 0))

	// An unknown cas that never applied: the later read of the old value is fine.
	unknown := []porcupine.Operation{
		op(0, "a", RegisterInput{F: Write, Arg: 1}, 0, RegisterOutput{}, 10),
		op(1, "a", RegisterInput{F: CAS, From: 1, To: 5}, 11, RegisterOutput{Kind: Unknown}, math.MaxInt64),
		op(0, "a", RegisterInput{F: Read}, 20, RegisterOutput{Value: set(1)}, 21),
	}
	require.Equal(t, porcupine.Ok, porcupine.CheckOperationsTimeout(m, unknown, 0))
	unknown[2].Output = RegisterOutput{Value: set(5)} // or it did
	require.Equal(t, porcupine.Ok, porcupine.CheckOperationsTimeout(m, unknown, 0))
	unknown[2].Output = RegisterOutput{Value: set(7)} // but nothing wrote 7
	require.Equal(t, porcupine.Illegal, porcupine.CheckOperationsTimeout(m, unknown, 0))

	require.Equal(t, "cas(1, 5) -> mismatch (saw 3)", DescribeRegisterOp(RegisterInput{F: CAS, From: 1, To: 5}, RegisterOutput{Kind: Mismatch, Observed: true, Value: set(3)}))
	require.Equal(t, "read() -> null", DescribeRegisterOp(RegisterInput{F: Read}, RegisterOutput{}))
}

func TestPorcupineModelPanicsOnWrongType(t *testing.T) {
	m := RegisterModel().Porcupine()
	require.PanicsWithValue(t, "workloads: model got a string where it expects a workloads.RegisterInput", func() {
		m.Step(RegisterState{}, "read", RegisterOutput{})
	})
}
