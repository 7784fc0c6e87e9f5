package checker

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/histgen"
)

// withQuiet runs f with speculateQuiet set to n.
func withQuiet(n int, f func()) {
	old := speculateQuiet
	speculateQuiet = n
	defer func() { speculateQuiet = old }()
	f()
}

// comparable strips what depends on timing.
func comparable(r Result) Result {
	r.Duration = 0
	r.early = 0
	r.Keys = append([]KeyResult(nil), r.Keys...)
	for i := range r.Keys {
		r.Keys[i].Duration = 0
	}
	return r
}

// TestSpeculationSameResult: checking keys while the history is still read gives the very result of checking
// them all at the end, on generated histories (valid, and with one read changed, invalid), by Check and by
// CheckFile; and the keys were indeed decided early.
func TestSpeculationSameResult(t *testing.T) {
	events := histgen.Events(histgen.Config{Ops: 8000, OpsPerKey: 200, Seed: 3})
	bad := append([]history.Event(nil), events...)
	for i := len(bad) / 2; i < len(bad); i++ {
		if bad[i].Type == history.Ok && bad[i].F == "read" && !history.IsNull(bad[i].Value) {
			bad[i].Value = history.Int(123456789)
			break
		}
	}
	dir := t.TempDir()
	for name, evs := range map[string][]history.Event{"valid": events, "invalid": bad} {
		path := filepath.Join(dir, name+".jsonl")
		require.NoError(t, histgen.WriteFile(path, evs))
		var want, wantFile Result
		withQuiet(0, func() {
			var err error
			want, err = Check(evs, Options{Visualize: true})
			require.NoError(t, err)
			wantFile, err = CheckFile(path, Options{Visualize: true})
			require.NoError(t, err)
		})
		require.Zero(t, want.early)
		require.Equal(t, comparable(want), comparable(wantFile))
		for _, quiet := range []int{50, 1000} {
			withQuiet(quiet, func() {
				got, err := Check(evs, Options{Visualize: true})
				require.NoError(t, err)
				require.Equal(t, comparable(want), comparable(got), "quiet %d", quiet)
				require.Greater(t, got.early, 10, "keys decided while reading, quiet %d", quiet)
				got, err = CheckFile(path, Options{Visualize: true})
				require.NoError(t, err)
				require.Equal(t, comparable(want), comparable(got), "CheckFile, quiet %d", quiet)
			})
		}
		if name == "invalid" {
			require.Equal(t, Invalid, want.Verdict)
			require.Len(t, want.vis, 1)
		}
	}
}

// TestSpeculationKeyComesBack: a key that goes quiet, is checked (valid), and then sees a read no write
// explains is invalid: the early check of its first operations does not count.
func TestSpeculationKeyComesBack(t *testing.T) {
	h := new(hist).write(0, "a", 1)
	for i := range 20 {
		h.write(1, "b", int64(i+1))
	}
	for i := range 20 {
		h.write(2, "c", int64(i+1))
	}
	h.read(0, "a", history.Int(7))
	withQuiet(10, func() {
		res, err := Check(h.ev, Options{Timeout: 10 * time.Second})
		require.NoError(t, err)
		require.Equal(t, Invalid, res.Verdict)
		require.Equal(t, Invalid, res.Keys[0].Verdict)
		require.Equal(t, 2, res.Keys[0].Ops)
		require.Equal(t, 1, res.early, "b was decided early, a was not")
	})
}
