package kv

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

func cmd(client string, seq uint64, op Op) core.Command {
	return core.Command{ID: core.CommandID{Client: client, Seq: seq}, Data: Encode(op)}
}

func ptr(v int64) *int64 { return &v }

func TestEncodeDecode(t *testing.T) {
	for _, op := range []Op{
		{F: FRead, Key: "a"},
		{F: FWrite, Key: "b", Value: -7},
		{F: FCas, Key: "c", From: 0, To: 3},
	} {
		got, err := Decode(Encode(op))
		require.NoError(t, err)
		require.Equal(t, op, got)
	}
	for _, tc := range []struct {
		in, err string
	}{
		{"", "empty command data"},
		{"{", "kv: decode"},
		{`{"f":"delete","k":"a"}`, `unknown operation "delete"`},
		{`{"f":"read"}`, "empty key"},
		{`[1]`, "kv: decode"},
	} {
		_, err := Decode([]byte(tc.in))
		require.ErrorContains(t, err, tc.err, "input %q", tc.in)
	}
}

func TestApply(t *testing.T) {
	s := New()
	steps := []struct {
		op   Op
		want Result
	}{
		{Op{F: FRead, Key: "x"}, Result{}},
		{Op{F: FCas, Key: "x", From: 0, To: 1}, Result{Mismatch: true}},
		{Op{F: FWrite, Key: "x", Value: 5}, Result{}},
		{Op{F: FRead, Key: "x"}, Result{Value: ptr(5), Found: true}},
		{Op{F: FCas, Key: "x", From: 4, To: 6}, Result{Value: ptr(5), Found: true, Mismatch: true}},
		{Op{F: FCas, Key: "x", From: 5, To: 6}, Result{}},
		{Op{F: FRead, Key: "x"}, Result{Value: ptr(6), Found: true}},
		{Op{F: FRead, Key: "y"}, Result{}},
	}
	for i, st := range steps {
		require.Equal(t, st.want, s.Apply(cmd("c1", uint64(i+1), st.op)), "step %d %+v", i, st.op)
	}
	v, ok := s.Get("x")
	require.True(t, ok)
	require.Equal(t, int64(6), v)
	_, ok = s.Get("y")
	require.False(t, ok)

	r := s.Apply(core.Command{ID: core.CommandID{Client: "c2", Seq: 1}, Data: []byte("junk")})
	require.NotEmpty(t, r.Err)
}

func TestApplyAtMostOnce(t *testing.T) {
	s := New()
	require.Equal(t, Result{}, s.Apply(cmd("c", 1, Op{F: FWrite, Key: "k", Value: 1})))
	require.Equal(t, Result{}, s.Apply(cmd("d", 1, Op{F: FWrite, Key: "k", Value: 2})))
	// The same command chosen again in a later slot: the remembered result, and no second write.
	require.Equal(t, Result{Cached: true}, s.Apply(cmd("c", 1, Op{F: FWrite, Key: "k", Value: 1})))
	v, _ := s.Get("k")
	require.Equal(t, int64(2), v)

	// Seqs may arrive out of order within the window.
	require.Equal(t, Result{}, s.Apply(cmd("c", 5, Op{F: FWrite, Key: "k", Value: 5})))
	require.Equal(t, Result{}, s.Apply(cmd("c", 3, Op{F: FWrite, Key: "k", Value: 3})))
	v, _ = s.Get("k")
	require.Equal(t, int64(3), v)

	// Move the window past seq 5: its result is forgotten, so a repeat is a Duplicate and changes nothing.
	require.Equal(t, Result{}, s.Apply(cmd("c", 5+Window, Op{F: FWrite, Key: "k", Value: 9})))
	require.Equal(t, Result{Duplicate: true}, s.Apply(cmd("c", 5, Op{F: FWrite, Key: "k", Value: 5})))
	require.Equal(t, Result{Duplicate: true}, s.Apply(cmd("c", 4, Op{F: FWrite, Key: "k", Value: 4})))
	v, _ = s.Get("k")
	require.Equal(t, int64(9), v)
	// Memory stays bounded: only seqs inside the window are remembered.
	require.LessOrEqual(t, len(s.sessions["c"].Results), Window)
	for seq := uint64(100); seq < 1000; seq++ {
		s.Apply(cmd("c", seq, Op{F: FRead, Key: "k"}))
	}
	require.Len(t, s.sessions["c"].Results, Window)
}

func TestSnapshotRestore(t *testing.T) {
	s := New()
	s.Apply(cmd("c", 1, Op{F: FWrite, Key: "a", Value: 1}))
	s.Apply(cmd("c", 2, Op{F: FWrite, Key: "b", Value: 2}))
	s.Apply(cmd("d", 1, Op{F: FCas, Key: "a", From: 1, To: 3}))
	b, err := s.Snapshot()
	require.NoError(t, err)

	r, err := Restore(b)
	require.NoError(t, err)
	b2, err := r.Snapshot()
	require.NoError(t, err)
	require.Equal(t, string(b), string(b2), "snapshots are deterministic")
	require.Equal(t, []string{"a", "b"}, r.Keys())
	v, _ := r.Get("a")
	require.Equal(t, int64(3), v)
	// The sessions survive: a retried command is still not applied twice.
	require.Equal(t, Result{Cached: true}, r.Apply(cmd("c", 2, Op{F: FWrite, Key: "b", Value: 2})))
	require.Equal(t, Result{}, r.Apply(cmd("d", 2, Op{F: FWrite, Key: "b", Value: 7})))
	require.Equal(t, Result{Cached: true}, r.Apply(cmd("c", 2, Op{F: FWrite, Key: "b", Value: 2})))
	v, _ = r.Get("b")
	require.Equal(t, int64(7), v)

	e, err := Restore(nil)
	require.NoError(t, err)
	require.Empty(t, e.Keys())
	_, err = Restore([]byte("{"))
	require.ErrorContains(t, err, "kv: restore")
}
