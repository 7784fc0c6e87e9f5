package nemesis_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

func overlapOptions(kinds ...string) nemesis.Options {
	o := nemesis.Options{Faults: kinds, Mode: nemesis.ModeOverlap, Interval: nemesis.Duration(10 * time.Second)}
	return o.WithDefaults()
}

func TestOverlapFaultsOverlapAndAlwaysHeal(t *testing.T) {
	five := []string{"n1", "n2", "n3", "n4", "n5"}
	dur := 5 * time.Minute
	o := overlapOptions(nemesis.FaultPartition, nemesis.FaultClock, nemesis.FaultKill)
	require.NoError(t, o.Validate())
	s, err := nemesis.Generate(3, five, dur, o)
	require.NoError(t, err)
	again, _ := nemesis.Generate(3, five, dur, o)
	assert.Equal(t, s, again, "the same seed gives the same schedule")
	require.NoError(t, s.Validate(five))

	active := map[string]bool{}
	overlapped := false
	for i, op := range s {
		assert.LessOrEqual(t, op.At.D(), dur, "op %d", i)
		if i > 0 {
			assert.GreaterOrEqual(t, op.At, s[i-1].At, "ops in time order")
		}
		k := nemesis.Kind(op.F)
		if nemesis.Begins(op.F) {
			assert.False(t, active[k], "op %d starts a %s while one is active", i, k)
			active[k] = true
			n := 0
			for _, a := range active {
				if a {
					n++
				}
			}
			overlapped = overlapped || n >= 2
		} else {
			assert.True(t, active[k], "op %d ends a %s that is not active", i, k)
			active[k] = false
		}
	}
	for k, a := range active {
		assert.False(t, a, "a %s is never undone", k)
	}
	assert.True(t, overlapped, "no two faults overlapped in 5 minutes:\n%v", s)

	// Each kind keeps its own timeline: enabling loss does not move the partitions.
	withLoss, err := nemesis.Generate(3, five, dur, overlapOptions(nemesis.FaultPartition, nemesis.FaultClock, nemesis.FaultKill, nemesis.FaultLoss))
	require.NoError(t, err)
	parts := func(s nemesis.Schedule) (out nemesis.Schedule) {
		for _, op := range s {
			if nemesis.Kind(op.F) == nemesis.FaultPartition {
				out = append(out, op)
			}
		}
		return out
	}
	assert.Equal(t, parts(s), parts(withLoss))

	// The default mode is today's alternation: never two faults at once.
	o.Mode = ""
	alt, err := nemesis.Generate(3, five, dur, o)
	require.NoError(t, err)
	on := 0
	for _, op := range alt {
		if nemesis.Begins(op.F) {
			on++
		} else {
			on--
		}
		assert.LessOrEqual(t, on, 1)
	}
}

func TestNemesisModeFlag(t *testing.T) {
	o, err := nemesis.ParseOptions(nemesis.Flags{Nemesis: "kill", Mode: "overlap"})
	require.NoError(t, err)
	assert.Equal(t, nemesis.ModeOverlap, o.Mode)
	_, err = nemesis.ParseOptions(nemesis.Flags{Nemesis: "kill", Mode: "both"})
	requireFieldError(t, err, "mode", `unknown mode "both"`)
}

// strictProc refuses what a real runtime refuses: resuming a node that is not paused (docker unpause), pausing a
// killed one.
type strictProc struct{ *fakes }

func (p strictProc) Resume(ctx context.Context, n string) error {
	if !p.paused[n] {
		return errors.New("container is not paused")
	}
	return p.fakes.Resume(ctx, n)
}

func (p strictProc) Pause(ctx context.Context, n string) error {
	if p.down[n] {
		return errors.New("container is not running")
	}
	return p.fakes.Pause(ctx, n)
}

// Kill thaws a paused node, as both runtimes do.
func (p strictProc) Kill(ctx context.Context, n string) error {
	p.mu.Lock()
	delete(p.paused, n)
	p.mu.Unlock()
	return p.fakes.Kill(ctx, n)
}

// TestOverlappingKillAndPause: a pause and a kill of the same node, overlapping, end without errors.
func TestOverlappingKillAndPause(t *testing.T) {
	f := newFakes()
	env := f.env()
	env.Proc = strictProc{f}
	n := nemesis.New(env)
	err := n.Run(context.Background(), schedule(t, `[
		{"at":"0s","f":"pause","value":{"nodes":["n1"]}},
		{"at":"1ms","f":"kill","value":{"nodes":["n1","n2"]}},
		{"at":"2ms","f":"pause","value":{"nodes":["n2"]}},
		{"at":"3ms","f":"resume","value":{"nodes":["n1"]}},
		{"at":"4ms","f":"start","value":{"nodes":["n1"]}},
		{"at":"5ms","f":"resume","value":{"nodes":["n2"]}}
	]`))
	require.NoError(t, err)
	require.NoError(t, n.HealAll(context.Background()))
	assert.Empty(t, f.down)
	assert.Empty(t, f.paused)
	assert.False(t, slices.ContainsFunc(f.events, func(e history.Event) bool { return e.Error != "" }))
}

// TestBumpLeader: bump-leader jumps the clock of the leader found at run time, says whom, and needs the status
// capability.
func TestBumpLeader(t *testing.T) {
	f := newFakes()
	n := nemesis.New(f.env())
	s := schedule(t, `[{"at":"0s","f":"clock-bump","value":{"strategy":"bump-leader","delta":"-3s"}},
		{"at":"1ms","f":"clock-reset"}]`)
	assert.Contains(t, s.Needs(), targets.CapStatus)
	require.NoError(t, n.Run(context.Background(), s[:1]))
	assert.Equal(t, [2]float64{-3, 1}, f.clocks["n2"], "the leader's clock")
	assert.NotContains(t, f.clocks, "n1")
	last := f.events[len(f.events)-1]
	assert.Equal(t, "clock-bump (bump-leader, leader n2): n2 -3s", nemesis.Describe(last.F, last.Value))

	_, err := nemesis.ParseSchedule([]byte(`[{"at":"0s","f":"clock-bump","value":{"strategy":"bump-leader","deltas":{"n1":"1s"}}}]`), f.nodes)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bump-leader")

	o, err := nemesis.ParseOptions(nemesis.Flags{Nemesis: "clock", Clock: "bump-leader"})
	require.NoError(t, err)
	assert.Contains(t, o.Needs(), targets.CapStatus)
	g, err := nemesis.Generate(1, f.nodes, time.Minute, o)
	require.NoError(t, err)
	require.NoError(t, g.Validate(f.nodes))
	require.NotEmpty(t, g)
	assert.Equal(t, nemesis.FClockBump, g[0].F)
}
