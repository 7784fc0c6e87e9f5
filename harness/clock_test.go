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

	"github.com/skeptic-dev/skeptic/history"
)

// TestOneClock: the history, the schedule and the nemesis share one time origin (the start of the load), so each
// op of config.json's schedule is recorded at its own "at", within a few milliseconds, and the load's first
// operation is at about time 0.
func TestOneClock(t *testing.T) {
	requireRuntime(t, RuntimeLocal)
	tc := e2eTest(t, RuntimeLocal)
	sched := filepath.Join(t.TempDir(), "schedule.json")
	require.NoError(t, os.WriteFile(sched, []byte(isolateN3), 0o644))
	tc.Nemesis.ScheduleFile = sched
	tc.Out = &bytes.Buffer{}
	res, err := Run(context.Background(), tc)
	require.NoError(t, err)
	cfg, err := LoadConfig(filepath.Join(res.Dir, ConfigFile))
	require.NoError(t, err)
	require.Len(t, cfg.Nemesis.Schedule, 2)
	events, err := history.ReadFile(filepath.Join(res.Dir, HistoryFile))
	require.NoError(t, err)
	var planned []history.Event
	var first *history.Event
	for i, e := range events {
		if e.Process == history.NemesisProcess && e.F != "heal" {
			planned = append(planned, e)
		}
		if e.Process != history.NemesisProcess && first == nil {
			first = &events[i]
		}
	}
	require.NotNil(t, first)
	assert.Less(t, time.Duration(first.Time), 50*time.Millisecond, "the load starts the clock")
	// The start-up before the load: the offset the schedule's times had from the history's before one clock.
	startup := res.FirstOp.D() - time.Duration(first.Time)
	require.Greater(t, startup, 100*time.Millisecond, "first_op still counts from the start of the run, start-up included")
	// Each op is recorded twice (its plan, then what was done); the plan is recorded as the op starts: never
	// before its "at", and late only by the scheduling delay of a loaded machine, far less than the start-up.
	require.Len(t, planned, 4)
	for i, op := range cfg.Nemesis.Schedule {
		got := time.Duration(planned[2*i].Time)
		assert.Equal(t, op.F, planned[2*i].F)
		late := got - op.At.D()
		assert.GreaterOrEqual(t, late, time.Duration(0), "op %s at %s in config.json was recorded early, at %s", op.F, op.At.D(), got)
		assert.Less(t, late, min(250*time.Millisecond, startup/2), "op %s at %s in config.json was recorded at %s (start-up %s)", op.F, op.At.D(), got, startup)
	}
}
