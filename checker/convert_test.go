package checker

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/workloads"
)

func TestOperations(t *testing.T) {
	i := history.Int
	h := new(hist).
		inv(7, "write", "a", i(1)).                        // 0
		inv(3, "cas", "a", history.Pair(1, 2)).            // 1
		ok(7, "write", "a", i(1)).                         // 2
		info(3, "cas", "a", history.Pair(1, 2)).           // 3
		inv(9, "read", "a", null).                         // 4
		inv(8, "write", "b", i(5)).                        // 5
		inv(10, "cas", "a", history.Pair(4, 6)).           // 6
		fail(10, "cas", "a", i(2), history.ErrCASMismatch) // 7
	h.ev[0].Node = "n3"
	keys, st, err := Operations(h.ev)
	require.NoError(t, err)
	require.Equal(t, Stats{Events: 8, Ops: 4, Unknown: 2, Observations: 1}, st)
	require.Len(t, keys, 2)
	require.Equal(t, "a", keys[0].Key)
	a := keys[0].Ops
	require.Len(t, a, 3)

	require.Equal(t, workloads.RegisterInput{Key: "a", F: workloads.Write, Arg: 1}, a[0].Input)
	require.Equal(t, workloads.RegisterOutput{Kind: workloads.Done}, a[0].Output)
	require.Equal(t, [2]int64{0, 20}, [2]int64{a[0].Call, a[0].Return})
	require.Equal(t, 0, a[0].ClientId, "processes are renumbered per key from 0")
	require.Equal(t, Meta{Process: 7, Invoke: 0, Complete: 2, Node: "n3"}, a[0].Metadata)
	require.Equal(t, "process 7, events 0-2, node n3", a[0].Metadata.(Meta).String())

	require.Equal(t, workloads.RegisterInput{Key: "a", F: workloads.CAS, From: 1, To: 2}, a[1].Input)
	require.Equal(t, workloads.RegisterOutput{Kind: workloads.Unknown}, a[1].Output)
	require.Equal(t, Infinity, a[1].Return)
	require.Equal(t, 1, a[1].ClientId)

	require.Equal(t, workloads.RegisterOutput{Kind: workloads.Mismatch, Observed: true, Value: workloads.RegisterState{Set: true, Value: 2}}, a[2].Output)
	require.Equal(t, int64(70), a[2].Return)

	// The write on b never completed: unknown, returning at infinity. The open read on a is dropped.
	b := keys[1].Ops
	require.Len(t, b, 1)
	require.Equal(t, Infinity, b[0].Return)
	require.Equal(t, Meta{Process: 8, Invoke: 5, Complete: -1}, b[0].Metadata)
	require.Equal(t, "process 8, events 5, never completed", b[0].Metadata.(Meta).String())
}
