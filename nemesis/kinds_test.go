package nemesis_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// TestEveryFunctionHasOneFault: the registry holds every kind in documentation order, and each schedule
// function belongs to exactly one kind, which Kind and Begins report.
func TestEveryFunctionHasOneFault(t *testing.T) {
	var kinds []string
	owner := map[string]string{}
	begins := map[string]bool{}
	for _, f := range nemesis.Faults() {
		kinds = append(kinds, f.Kind())
		b, e := f.Funcs()
		require.NotEmpty(t, b, f.Kind())
		require.NotEmpty(t, e, f.Kind())
		for i, fs := range [][]string{b, e} {
			for _, fn := range fs {
				require.NotContains(t, owner, fn, "%s is a function of %s and %s", fn, owner[fn], f.Kind())
				owner[fn], begins[fn] = f.Kind(), i == 0
			}
		}
	}
	assert.Equal(t, nemesis.KnownFaults, kinds)
	assert.Equal(t, []string{"partition", "kill", "pause", "clock", "loss", "delay"}, kinds)
	assert.Equal(t, []string{"partition", "kill", "pause", "clock", "loss"}, nemesis.AllFaults)
	want := map[string]string{
		nemesis.FStartPartition: "partition", nemesis.FStopPartition: "partition", nemesis.FKill: "kill",
		nemesis.FStart: "kill", nemesis.FPause: "pause", nemesis.FResume: "pause", nemesis.FClockBump: "clock",
		nemesis.FClockStrobe: "clock", nemesis.FClockSkew: "clock", nemesis.FClockReset: "clock",
		nemesis.FStartLoss: "loss", nemesis.FStopLoss: "loss", nemesis.FStartDelay: "delay", nemesis.FStopDelay: "delay",
	}
	assert.Equal(t, want, owner)
	for fn, kind := range want {
		assert.Equal(t, kind, nemesis.Kind(fn), fn)
		assert.Equal(t, begins[fn], nemesis.Begins(fn), fn)
	}
	assert.Equal(t, nemesis.FHeal, nemesis.Kind(nemesis.FHeal))
	assert.False(t, nemesis.Begins(nemesis.FHeal))
	assert.False(t, nemesis.Begins(nemesis.FClockReset), "clock-reset ends a clock fault")
	assert.True(t, nemesis.Begins(nemesis.FClockStrobe))
}
