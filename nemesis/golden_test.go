package nemesis_test

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/generate.golden.json from the current Generate")

// The golden file maps each case to the SHA-256 of its schedule's JSON: the schedules themselves would take
// megabytes, and any change of a byte changes the hash.

// goldenCases are the seeds, nodes, durations and options whose generated schedules testdata/generate.golden.json
// records: every kind alone with each of its strategies, the defaults, all kinds at once, the leader strategies
// WithLeader adds, both modes, and the value flags of loss and delay.
func goldenCases() []struct {
	name  string
	nodes []string
	dur   time.Duration
	o     nemesis.Options
} {
	type gc = struct {
		name  string
		nodes []string
		dur   time.Duration
		o     nemesis.Options
	}
	three := []string{"n1", "n2", "n3"}
	seven := []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7"}
	var cases []gc
	add := func(name string, nodes []string, dur time.Duration, o nemesis.Options) {
		cases = append(cases, gc{name, nodes, dur, o})
	}
	for _, mode := range []string{"", nemesis.ModeAlternate, nemesis.ModeOverlap} {
		for _, f := range []nemesis.Flags{
			{Nemesis: "partition"}, {Nemesis: "kill"}, {Nemesis: "pause"}, {Nemesis: "clock"}, {Nemesis: "loss"},
			{Nemesis: "delay"}, {Nemesis: "all"}, {Nemesis: "all,delay"},
			{Nemesis: "partition", Partition: "one,majority,majorities-ring,bridge,leader,one-way"},
			{Nemesis: "kill", Kill: "one,leader,minority,majority,all"}, {Nemesis: "pause", Pause: "one,leader,minority"},
			{Nemesis: "clock", Clock: "bump,bump-leader,strobe,skew-rate,reset"},
			{Nemesis: "partition,clock", Partition: "leader,bridge", Clock: "bump-leader,reset"},
			{Nemesis: "kill,pause", Kill: "majority,one", Pause: "minority"},
			{Nemesis: "loss", Loss: 12.5}, {Nemesis: "delay", Delay: 30 * time.Millisecond, Jitter: 7 * time.Millisecond},
			{Nemesis: "delay", Jitter: 9 * time.Millisecond},
			{Nemesis: "kill,clock", Interval: 3 * time.Second}, {Nemesis: "partition,pause", Interval: 1500 * time.Millisecond},
			{Nemesis: "all", Interval: 7 * time.Second, Kill: "one"},
		} {
			f.Mode = mode
			o, err := nemesis.ParseOptions(f)
			if err != nil {
				panic(fmt.Sprintf("golden options %+v: %v", f, err))
			}
			name := fmt.Sprintf("mode=%s %+v", mode, f)
			add(name, five, 2*time.Minute, o)
			add(name+" leader", five, 2*time.Minute, o.WithLeader())
			if _, err := nemesis.Generate(1, three, time.Minute, o); err == nil {
				add(name+" three", three, 47*time.Second, o)
			}
			add(name+" seven", seven, 95*time.Second, o.WithLeader())
		}
	}
	return cases
}

// TestGenerateMatchesTheGoldenSchedules: users replay seeds, so for the same seed, nodes, duration and options,
// Generate must give byte for byte the schedule it gave when the golden file was written.
func TestGenerateMatchesTheGoldenSchedules(t *testing.T) {
	path := filepath.Join("testdata", "generate.golden.json")
	got := map[string]string{}
	for _, c := range goldenCases() {
		for _, seed := range []int64{0, 1, 7, 42, 1234567, -3} {
			s, err := nemesis.Generate(seed, c.nodes, c.dur, c.o)
			require.NoError(t, err, c.name)
			b, err := json.Marshal(s)
			require.NoError(t, err)
			key := fmt.Sprintf("%s seed=%d", c.name, seed)
			require.NotContains(t, got, key)
			got[key] = fmt.Sprintf("%x", sha256.Sum256(b))
		}
	}
	if *updateGolden {
		b, err := json.MarshalIndent(got, "", " ")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var want map[string]string
	require.NoError(t, json.Unmarshal(b, &want))
	require.Len(t, got, len(want), "the golden file has another set of cases")
	for k, w := range want {
		g, ok := got[k]
		if assert.True(t, ok, "case %s is gone", k) {
			assert.Equal(t, w, g, "the schedule of %s changed", k)
		}
	}
}
