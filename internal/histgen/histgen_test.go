package histgen

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/history"
)

// TestGeneratedHistoryIsValid: a generated history reads back as written, is linearizable, has the unknown
// outcomes asked for, and overlaps operations; changing one read's value makes it invalid.
func TestGeneratedHistoryIsValid(t *testing.T) {
	events := Events(Config{Ops: 20_000, Seed: 1})
	require.Len(t, events, 40_000)
	path := filepath.Join(t.TempDir(), "history.jsonl")
	require.NoError(t, WriteFile(path, events))
	back, err := history.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, events, back)

	res, err := checker.Check(events, checker.Options{})
	require.NoError(t, err)
	require.Equal(t, checker.Valid, res.Verdict)
	require.Len(t, res.Keys, 20)
	require.InDelta(t, 200, res.Stats.Unknown+res.Stats.Dropped-countFails(events), 80, "about 1%% unknown")
	require.Greater(t, res.Stats.Observations, 100, "cas mismatches")

	open, maxOpen := map[string]int{}, 0
	for _, e := range events {
		if e.Type == history.Invoke {
			open[e.Key]++
			maxOpen = max(maxOpen, open[e.Key])
		} else {
			open[e.Key]--
		}
	}
	require.GreaterOrEqual(t, maxOpen, 5, "operations on a key overlap")

	for i := range events {
		e := &events[i]
		if e.Type == history.Ok && e.F == "read" && !history.IsNull(e.Value) {
			e.Value = history.Int(987654321)
			break
		}
	}
	res, err = checker.Check(events, checker.Options{})
	require.NoError(t, err)
	require.Equal(t, checker.Invalid, res.Verdict)
}

func countFails(events []history.Event) int {
	n := 0
	for _, e := range events {
		if e.Type == history.Fail && e.Error != history.ErrCASMismatch {
			n++
		}
	}
	return n
}
