package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// manyFaults holds six faults, of which only the kill of every node (with its restart) exposes forget-promises.
const manyFaults = `[
 {"at":"300ms","f":"start-loss","value":{"percent":20,"links":[{"from":"n1","to":"n2"},{"from":"n2","to":"n1"}]}},
 {"at":"800ms","f":"stop-loss"},
 {"at":"600ms","f":"pause","value":{"strategy":"one","nodes":["n2"]}},
 {"at":"1100ms","f":"resume"},
 {"at":"1200ms","f":"start-partition","value":{"strategy":"one","grudge":{"n3":["n1","n2"],"n1":["n3"],"n2":["n3"]}}},
 {"at":"1800ms","f":"stop-partition"},
 {"at":"2s","f":"kill","value":{"strategy":"all","nodes":["n1","n2","n3"]}},
 {"at":"2500ms","f":"start"},
 {"at":"3s","f":"clock-bump","value":{"deltas":{"n1":"2s"}}},
 {"at":"3500ms","f":"clock-reset"},
 {"at":"3600ms","f":"pause","value":{"strategy":"one","nodes":["n1"]}},
 {"at":"4s","f":"resume"}
]`

// TestShrink starts from a forget-promises run with six faults and shrinks it to the kill that exposes the flaw.
func TestShrink(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	tc.Flaw = "forget-promises"
	tc.TimeLimit = Duration(5 * time.Second)
	tc.Recovery = Duration(time.Second)
	sched := filepath.Join(t.TempDir(), "schedule.json")
	require.NoError(t, os.WriteFile(sched, []byte(manyFaults), 0o644))
	tc.Nemesis.ScheduleFile = sched
	tc.Out = &bytes.Buffer{}
	res, err := Run(context.Background(), tc)
	require.NoError(t, err)
	require.Equal(t, Invalid, res.Verdict, "the starting run must fail")

	var out bytes.Buffer
	dir := filepath.Join(t.TempDir(), "shrink")
	sr, err := Shrink(context.Background(), ShrinkConfig{RunDir: res.Dir, Repeats: 2, MaxRuns: 16, Budget: 5 * time.Minute, Dir: dir, Out: &out, Store: t.TempDir()})
	t.Logf("%s", out.String())
	require.NoError(t, err)
	assert.Len(t, faultsOf(sr.Original), 6)
	small := faultsOf(sr.Smallest)
	assert.Less(t, len(small), 3, "shrunk to at most two faults")
	kills := 0
	for _, f := range small {
		if f.start.F == nemesis.FKill {
			kills++
		}
	}
	assert.Equal(t, 1, kills, "the kill that exposes the flaw is kept: %v", sr.Smallest)
	assert.Positive(t, sr.FinalFailures, "the smallest schedule still fails")
	assert.Equal(t, 2, sr.FinalRuns)
	require.FileExists(t, filepath.Join(dir, "shrink.json"))
	// The schedule file replays as a --nemesis-schedule, and the config re-runs it.
	b, err := os.ReadFile(sr.Schedule)
	require.NoError(t, err)
	_, err = nemesis.ParseSchedule(b, []string{"n1", "n2", "n3"})
	require.NoError(t, err)
	rc, err := LoadConfig(sr.Config)
	require.NoError(t, err)
	require.NoError(t, rc.Validate())
	assert.Equal(t, sr.Smallest, rc.Nemesis.Schedule)
	assert.Equal(t, "forget-promises", rc.Flaw)
}

func TestFaultsOfPairsStartsWithEnds(t *testing.T) {
	s, err := nemesis.ParseSchedule([]byte(manyFaults), []string{"n1", "n2", "n3"})
	require.NoError(t, err)
	fs := faultsOf(s)
	require.Len(t, fs, 6)
	for _, f := range fs {
		require.NotNil(t, f.end, "%s has its end", f.start.F)
		assert.Equal(t, ends[f.start.F], f.end.F)
	}
	assert.Equal(t, s, scheduleOf(fs), "laid out again in time order")
}
