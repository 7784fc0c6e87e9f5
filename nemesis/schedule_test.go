package nemesis_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

var five = []string{"n1", "n2", "n3", "n4", "n5"}

func mustOptions(t *testing.T, f nemesis.Flags) nemesis.Options {
	t.Helper()
	o, err := nemesis.ParseOptions(f)
	require.NoError(t, err)
	return o
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestGenerateIsAPureFunctionOfTheSeed(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "all", Interval: 5 * time.Second})
	a, err := nemesis.Generate(42, five, 5*time.Minute, o)
	require.NoError(t, err)
	b, err := nemesis.Generate(42, five, 5*time.Minute, o)
	require.NoError(t, err)
	ja := mustJSON(t, a)
	require.Equal(t, ja, mustJSON(t, b), "one seed gave two schedules")
	c, err := nemesis.Generate(43, five, 5*time.Minute, o)
	require.NoError(t, err)
	assert.NotEqual(t, ja, mustJSON(t, c), "seeds 42 and 43 gave the same schedule")
	// The order of the flags' lists does not matter.
	o2 := mustOptions(t, nemesis.Flags{Nemesis: "loss,clock,pause,kill,partition", Interval: 5 * time.Second})
	d, err := nemesis.Generate(42, []string{"n5", "n4", "n3", "n2", "n1"}, 5*time.Minute, o2)
	require.NoError(t, err)
	assert.Equal(t, ja, mustJSON(t, d), "reordering --nemesis or the nodes changed the schedule")
	// The schedule written to config.json reads back as itself.
	back, err := nemesis.ParseSchedule([]byte(ja), five)
	require.NoError(t, err)
	assert.Equal(t, a, back, "schedule does not survive a JSON round trip")
}

func TestGenerateAlternatesQuietAndFaultyPeriods(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "all", Interval: 10 * time.Second})
	s, err := nemesis.Generate(7, five, 100*time.Second, o)
	require.NoError(t, err)
	stopOf := map[string]string{
		nemesis.FStartPartition: nemesis.FStopPartition, nemesis.FKill: nemesis.FStart,
		nemesis.FPause: nemesis.FResume, nemesis.FClockBump: nemesis.FClockReset,
		nemesis.FClockStrobe: nemesis.FClockReset, nemesis.FClockSkew: nemesis.FClockReset,
		nemesis.FStartLoss: nemesis.FStopLoss,
	}
	seen := map[string]bool{}
	i, want := 0, 10*time.Second
	for i < len(s) {
		require.Equal(t, want, s[i].At.D(), "op %d should start a fault: %v", i, s)
		seen[s[i].F] = true
		// A period of kills is cycles of kill and restart, each KillCycle long, each restarting halfway; a period
		// of partitions, cycles of PartitionCycle, each healed PartitionCut after its cut.
		if cycle := map[string]time.Duration{nemesis.FKill: nemesis.KillCycle, nemesis.FStartPartition: nemesis.PartitionCycle}[s[i].F]; cycle > 0 {
			f, stop := s[i].F, stopOf[s[i].F]
			// A cycle starts while its first fit fits in the period: the whole cycle for kills, the cut for
			// partitions (whose last cut is healed as the period ends).
			undo := map[string]time.Duration{nemesis.FKill: nemesis.KillCycle / 2, nemesis.FStartPartition: nemesis.PartitionCut}[f]
			fit := map[string]time.Duration{nemesis.FKill: nemesis.KillCycle, nemesis.FStartPartition: nemesis.PartitionCut}[f]
			n := 0
			for c := want; c+fit <= want+10*time.Second; c += cycle {
				require.Less(t, i+1, len(s), "ops %d.. end before the undo", i)
				require.Equal(t, [2]string{f, stop}, [2]string{s[i].F, s[i+1].F}, "ops %d..: %v", i, s[i:])
				require.Equal(t, [2]time.Duration{c, c + undo}, [2]time.Duration{s[i].At.D(), s[i+1].At.D()},
					"ops %d.. are not a %s at %s undone %s later", i, f, c, undo)
				i += 2
				n++
			}
			assert.Equal(t, map[string]int{nemesis.FKill: 4, nemesis.FStartPartition: 3}[f], n, "cycles of %s in a 10s period", f)
			want += 20 * time.Second
			continue
		}
		if stop, ok := stopOf[s[i].F]; ok {
			require.Less(t, i+1, len(s), "op %d (%s at %s) is never undone", i, s[i].F, want)
			assert.Equal(t, stop, s[i+1].F, "op %d (%s at %s) is undone by", i, s[i].F, want)
			assert.Equal(t, want+10*time.Second, s[i+1].At.D(), "op %d (%s at %s) is undone 10s later", i, s[i].F, want)
			i += 2
		} else {
			i++ // clock-reset as a fault of its own has nothing to undo
		}
		want += 20 * time.Second
	}
	assert.Equal(t, 110*time.Second, want, "5 faulty periods expected in 100s with a 10s interval")
	// Over many seeds, every enabled kind shows up.
	for seed := range int64(50) {
		s, err := nemesis.Generate(seed, five, 100*time.Second, o)
		require.NoError(t, err)
		for _, op := range s {
			seen[op.F] = true
		}
	}
	for _, f := range []string{nemesis.FStartPartition, nemesis.FKill, nemesis.FPause, nemesis.FClockBump,
		nemesis.FClockStrobe, nemesis.FClockSkew, nemesis.FStartLoss} {
		assert.True(t, seen[f], "no %s in 50 schedules", f)
	}
	assert.False(t, seen[nemesis.FStartDelay], "all enabled delay, which must be asked for by name")
	none, err := nemesis.Generate(1, five, time.Minute, mustOptions(t, nemesis.Flags{Nemesis: "none"}))
	require.NoError(t, err)
	assert.Empty(t, none, "--nemesis none scheduled faults")
}

func TestGeneratedValues(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "kill,pause,clock", Kill: "minority,majority,leader",
		Pause: "one", Clock: "bump,skew-rate,strobe", Interval: time.Second})
	for seed := range int64(30) {
		s, err := nemesis.Generate(seed, five, time.Minute, o)
		require.NoError(t, err)
		for _, op := range s {
			switch op.F {
			case nemesis.FKill:
				var v nemesis.NodesValue
				require.NoError(t, json.Unmarshal(op.Value, &v))
				switch v.Strategy {
				case "minority":
					assert.True(t, len(v.Nodes) >= 1 && len(v.Nodes) <= 2, "minority of 5 killed %v", v.Nodes)
				case "majority":
					assert.GreaterOrEqual(t, len(v.Nodes), 3, "majority of 5 killed %v", v.Nodes)
				case "leader":
					assert.Empty(t, v.Nodes, "leader kill chose nodes up front")
				}
			case nemesis.FPause:
				var v nemesis.NodesValue
				require.NoError(t, json.Unmarshal(op.Value, &v))
				assert.Len(t, v.Nodes, 1, "pause one paused %v", v.Nodes)
			case nemesis.FClockBump:
				var v nemesis.ClockValue
				require.NoError(t, json.Unmarshal(op.Value, &v))
				for n, d := range v.Deltas {
					a := d.D().Abs()
					assert.True(t, a >= 10*time.Millisecond && a <= 60*time.Second, "bump of %s by %s, want ±(10ms..60s)", n, d.D())
				}
			case nemesis.FClockSkew:
				var v nemesis.ClockValue
				require.NoError(t, json.Unmarshal(op.Value, &v))
				for n, r := range v.Rates {
					assert.False(t, r < 0.5 || r > 2 || (r > 0.95 && r < 1.05), "rate of %s is %v", n, r)
				}
			}
		}
	}
}

func TestGrudgeStrategies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	hears := func(g nemesis.Grudge, nodes []string, a string) []string {
		var out []string
		for _, b := range nodes {
			if !slices.Contains(g[a], b) {
				out = append(out, b)
			}
		}
		return out
	}
	symmetric := func(g nemesis.Grudge) bool {
		for a, bs := range g {
			for _, b := range bs {
				if !slices.Contains(g[b], a) {
					return false
				}
			}
		}
		return true
	}

	g := nemesis.Isolate(five, "n3")
	assert.Equal(t, []string{"n1", "n2", "n4", "n5"}, g["n3"], "isolate n3: %v", g)
	assert.Equal(t, []string{"n3"}, g["n1"], "isolate n3: %v", g)
	assert.True(t, symmetric(g), "isolate n3: %v", g)
	g = nemesis.OneWay(five, "n2")
	assert.Len(t, g, 1, "one-way n2: %v", g)
	assert.Len(t, g["n2"], 4, "one-way n2: %v", g)
	for range 20 {
		g := nemesis.Majority(five, r)
		minority := 0
		for _, n := range five {
			h := len(hears(g, five, n))
			require.Contains(t, []int{2, 3}, h, "majority: %s hears %v", n, hears(g, five, n))
			if h == 2 {
				minority++
			}
		}
		require.Equal(t, 2, minority, "majority split: %v", g)
		require.True(t, symmetric(g), "majority split: %v", g)

		for _, nodes := range [][]string{five[:3], five, append(slices.Clone(five), "n6", "n7")} {
			g := nemesis.MajoritiesRing(nodes, r)
			seen := map[string]bool{}
			for _, n := range nodes {
				h := hears(g, nodes, n)
				require.GreaterOrEqual(t, len(h), len(nodes)/2+1, "majorities-ring of %d: %s hears only %v (%v)", len(nodes), n, h, g)
				require.Contains(t, h, n, "majorities-ring of %d: %s does not hear itself (%v)", len(nodes), n, g)
				key := strings.Join(h, ",")
				require.False(t, seen[key], "majorities-ring of %d: two nodes hear the same majority %v (%v)", len(nodes), h, g)
				seen[key] = true
			}
		}

		g = nemesis.Bridge(five, r)
		bridges := 0
		for _, n := range five {
			if len(g[n]) == 0 {
				bridges++
				for _, m := range five {
					require.NotContains(t, g[m], n, "bridge %s is dropped by %s: %v", n, m, g)
				}
			} else {
				require.Len(t, g[n], 2, "bridge: %s drops %v", n, g[n])
			}
		}
		require.Equal(t, 1, bridges, "bridge: %v", g)
		require.True(t, symmetric(g), "bridge: %v", g)
	}
}

// requireFieldError checks that err is a *field.Error of the field want, whose message begins with msg (and
// names no flag: mapping fields to flags is cmd/skeptic's job).
func requireFieldError(t *testing.T, err error, want, msg string, args ...any) {
	t.Helper()
	fe, ok := field.As(err)
	require.True(t, ok, "want a *field.Error of %s, got %v (%T); %v", want, err, err, args)
	assert.Equal(t, want, fe.Field, args...)
	assert.True(t, strings.HasPrefix(fe.Msg, msg), "message %q does not begin with %q; %v", fe.Msg, msg, args)
	assert.False(t, strings.HasPrefix(err.Error(), "--"), "error %q names a flag", err)
}

func TestOptionErrorsNameTheField(t *testing.T) {
	cases := []struct {
		f          nemesis.Flags
		field, msg string
	}{
		{nemesis.Flags{Nemesis: "partition", Partition: "foo"}, "partition",
			`unknown strategy "foo" (want one, majority, majorities-ring, bridge, leader, one-way)`},
		{nemesis.Flags{Nemesis: "meteor"}, "faults", `unknown fault "meteor"`},
		{nemesis.Flags{Nemesis: "kill", Kill: "everyone"}, "kill", `unknown strategy "everyone"`},
		{nemesis.Flags{Nemesis: "pause", Pause: "majority"}, "pause", `unknown strategy "majority"`},
		{nemesis.Flags{Nemesis: "clock", Clock: "warp"}, "clock", `unknown strategy "warp"`},
		{nemesis.Flags{Nemesis: "kill", Interval: -time.Second}, "interval", `must be > 0`},
		{nemesis.Flags{Nemesis: "loss", Loss: 150}, "loss_percent", `must be a percentage`},
		{nemesis.Flags{Nemesis: "kill", Mode: "both"}, "mode", `unknown mode "both" (want alternate or overlap)`},
	}
	for _, c := range cases {
		_, err := nemesis.ParseOptions(c.f)
		requireFieldError(t, err, c.field, c.msg, c.f)
	}
	// The same fields from Options as config.json holds them.
	for _, c := range []struct {
		o          nemesis.Options
		field, msg string
	}{
		{nemesis.Options{Faults: []string{"kill"}, Kill: []string{"one"}}, "interval", "must be > 0, got 0s"},
		{nemesis.Options{Faults: []string{"flood"}, Interval: 1}, "faults", `unknown fault "flood"`},
		{nemesis.Options{Faults: []string{"kill"}, Interval: 1}, "kill", "no strategy for the enabled fault kill"},
		{nemesis.Options{Interval: 1, LossPercent: -1}, "loss_percent", "must be a percentage between 0 and 100, got -1"},
		{nemesis.Options{Interval: 1, Delay: -1}, "delay", "must be >= 0"},
		{nemesis.Options{Interval: 1, Jitter: -1}, "jitter", "must be >= 0"},
	} {
		requireFieldError(t, c.o.Validate(), c.field, c.msg, c.o)
	}
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition", Partition: "bridge"})
	_, err := nemesis.Generate(1, []string{"n1", "n2"}, time.Minute, o)
	requireFieldError(t, err, "partition", "bridge needs at least 3 nodes, the cluster has 2")
	o = mustOptions(t, nemesis.Flags{Nemesis: "kill", Kill: "minority"})
	_, err = nemesis.Generate(1, []string{"n1"}, time.Minute, o)
	requireFieldError(t, err, "kill", "minority needs at least 3 nodes")
	o = mustOptions(t, nemesis.Flags{Nemesis: "delay"})
	_, err = nemesis.Generate(1, []string{"n1"}, time.Minute, o)
	requireFieldError(t, err, "faults", "delay needs at least 2 nodes, the cluster has 1")
}

func TestNeeds(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition,kill", Kill: "leader"})
	assert.Equal(t, map[targets.Capability]string{targets.CapStatus: "--kill leader"}, o.Needs(), "kill leader")
	o = mustOptions(t, nemesis.Flags{Nemesis: "all"})
	assert.Equal(t, map[targets.Capability]string{targets.CapClock: "--nemesis clock"}, o.Needs(), "all (default strategies)")
	o = mustOptions(t, nemesis.Flags{Nemesis: "clock", Clock: "bump-leader"})
	assert.Equal(t, map[targets.Capability]string{targets.CapClock: "--nemesis clock", targets.CapStatus: "--clock bump-leader"}, o.Needs())
	assert.Empty(t, mustOptions(t, nemesis.Flags{Nemesis: "partition,loss,delay"}).Needs())
	s, err := nemesis.ParseSchedule([]byte(`[{"at":"1s","f":"start-partition","value":{"strategy":"leader"}},
		{"at":"2s","f":"clock-reset"}]`), five)
	require.NoError(t, err)
	assert.Equal(t, map[targets.Capability]string{
		targets.CapStatus: "the schedule's op 0 (at 1s, start-partition, strategy leader)",
		targets.CapClock:  "the schedule's op 1 (at 2s, clock-reset)",
	}, s.Needs())
	s, err = nemesis.ParseSchedule([]byte(`[{"at":"1s","f":"clock-bump","value":{"strategy":"bump-leader","delta":"1s"}}]`), five)
	require.NoError(t, err)
	assert.Equal(t, map[targets.Capability]string{
		targets.CapStatus: "the schedule's op 0 (at 1s, clock-bump, strategy bump-leader)",
		targets.CapClock:  "the schedule's op 0 (at 1s, clock-bump)",
	}, s.Needs())
}

func TestParseScheduleErrors(t *testing.T) {
	cases := []struct{ in, field, msg string }{
		{`{}`, "schedule", "a JSON object, so read as a run's config.json, but it has no schedule at .nemesis.schedule"},
		{`[{"at":"1s","f":"explode"}]`, "schedule[0].f", `line 1: op at 1s, explode: unknown function "explode"`},
		{`[{"at":"1s","f":"kill","value":{"nodes":["n9"]}}]`, "schedule[0].value.nodes", `line 1: op at 1s, kill: unknown node "n9"`},
		{`[{"at":"1s","f":"kill","value":{}}]`, "schedule[0].value.nodes", `line 1: op at 1s, kill: must name at least one node`},
		{`[{"at":"1s","f":"kill","value":{"strategy":"followers","nodes":["n1"]}}]`, "schedule[0].value.nodes", `line 1: op at 1s, kill: must be empty with the followers strategy`},
		{`[{"at":"1s","f":"start","value":{"strategy":"followers","nodes":["n1"]}}]`, "schedule[0].value.nodes", `line 1: op at 1s, start: must be empty with the followers strategy`},
		{`[{"at":"1s","f":"pause","value":{"strategy":"followers"}}]`, "schedule[0].value.strategy", `line 1: op at 1s, pause: followers is a strategy of kill and start only`},
		{`[{"at":"1s","f":"start","value":{"strategy":"minority"}}]`, "schedule[0].value.strategy", `line 1: op at 1s, start: must be empty or followers`},
		{`[{"at":"1s","f":"start-partition","value":{"grudge":{"n1":["n7"]}}}]`, "schedule[0].value.grudge[n1]", `line 1: op at 1s, start-partition: unknown node "n7"`},
		{`[{"at":"1s","f":"start-loss","value":{"links":[{"from":"n1","to":"n2"}],"percent":0}}]`, "schedule[0].value.percent", `line 1: op at 1s, start-loss: must be in (0, 100]`},
		{`[{"at":"1s","f":"start-delay","value":{"links":[{"from":"n1","to":"n1"}]}}]`, "schedule[0].value.links", `line 1: op at 1s, start-delay: n1->n1 links a node to itself`},
		{`[{"at":"1s","f":"start-delay","value":{"links":[],"jitter":"-1s"}}]`, "schedule[0].value.jitter", `line 1: op at 1s, start-delay: must be >= 0, got -1s`},
		{`[{"at":"1s","f":"stop-loss","value":{"links":[]}}]`, "schedule[0].value", `line 1: op at 1s, stop-loss: must be null`},
		{`[{"at":"1s","f":"clock-skew","value":{"rates":{"n1":0}}}]`, "schedule[0].value.rates[n1]", `line 1: op at 1s, clock-skew: must be > 0, got 0`},
		{`[{"at":"1s","f":"clock-strobe","value":{"nodes":["n1"]}}]`, "schedule[0].value.period", `line 1: op at 1s, clock-strobe: must be > 0`},
		{`[{"at":"1s","f":"clock-bump","value":{"strategy":"bump-leader"}}]`, "schedule[0].value.strategy", `line 1: op at 1s, clock-bump: bump-leader wants a delta`},
		{`[{"at":"soon","f":"stop-loss"}]`, "schedule[0]", `line 1: duration "soon"`},
		{`[{"at":"1s","f":"kill","value":{"nodes":["n1"],"why":1}}]`, "schedule[0].value", `line 1: op at 1s, kill: json: unknown field "why"`},
	}
	for _, c := range cases {
		_, err := nemesis.ParseSchedule([]byte(c.in), five)
		requireFieldError(t, err, c.field, c.msg, c.in)
	}
	s, err := nemesis.ParseSchedule([]byte(`[{"at":"5s","f":"start"},{"at":"2s","f":"kill","value":{"nodes":["n1"]}}]`), five)
	require.NoError(t, err)
	assert.Equal(t, nemesis.FKill, s[0].F, "schedule not sorted by time")
	// Validate names the same fields, without lines.
	err = nemesis.Schedule{{At: nemesis.Duration(time.Second), F: nemesis.FKill}, {At: nemesis.Duration(2 * time.Second), F: nemesis.FPause,
		Value: json.RawMessage(`{"nodes":["n8"]}`)}}.Validate(five)
	requireFieldError(t, err, "schedule[0].value.nodes", "op at 1s, kill: must name at least one node")
	// A schedule file: the field is the file, and the message says where in it.
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, os.WriteFile(path, []byte("[\n {\"at\":\"1s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n7\"]}}]"), 0o644))
	_, err = nemesis.LoadSchedule(path, five)
	requireFieldError(t, err, "schedule_file", path+`: schedule[0].value.nodes: line 2: op at 1s, kill: unknown node "n7"`)
	_, err = nemesis.LoadSchedule(path+".not", five)
	requireFieldError(t, err, "schedule_file", "open "+path+".not: no such file")
}

func TestValueFlagsAreCheckedAndEnableTheirFault(t *testing.T) {
	// A bad value is refused even when its fault is not enabled (before, WithDefaults dropped it silently).
	for _, c := range []struct {
		f          nemesis.Flags
		field, msg string
	}{
		{nemesis.Flags{Loss: 150}, "loss_percent", "must be a percentage between 0 and 100, got 150"},
		{nemesis.Flags{Nemesis: "kill", Loss: -5}, "loss_percent", "must be a percentage"},
		{nemesis.Flags{Nemesis: "kill", Delay: -time.Millisecond}, "delay", "must be >= 0"},
		{nemesis.Flags{Nemesis: "kill", Jitter: -time.Millisecond}, "jitter", "must be >= 0"},
		{nemesis.Flags{Nemesis: "none,kill"}, "faults", "none cannot be combined"},
		{nemesis.Flags{Nemesis: "none", Loss: 20}, "loss_percent", "given with --nemesis none"},
		{nemesis.Flags{Nemesis: "none", Kill: "one"}, "kill", "given with --nemesis none"},
	} {
		_, err := nemesis.ParseOptions(c.f)
		requireFieldError(t, err, c.field, c.msg, c.f)
	}
	o := mustOptions(t, nemesis.Flags{Nemesis: "kill", Loss: 20, Jitter: time.Millisecond})
	assert.Equal(t, []string{"kill", "loss", "delay"}, o.Faults, "--loss and --jitter enable loss and delay")
	assert.Equal(t, 20.0, o.LossPercent)
	assert.Equal(t, time.Millisecond, o.Jitter.D())
}

func TestParseScheduleErrorsNameTheLine(t *testing.T) {
	cases := []struct{ in, field, msg string }{
		{"[\n {\"at\":\"1s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n1\"]}},\n {\"at\":\"1s\" \"f\"}]", "schedule[1]", "line 3: invalid character"},
		{"[\n {\"at\":\"1s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n1\"]}},\n\n {\"at\":\"2s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n9\"]}}\n]",
			"schedule[1].value.nodes", `line 4: op at 2s, kill: unknown node "n9"`},
		{"[\n {\"at\":\"1s\",\n  \"f\":\"kill\", \"colour\": 1}]", "schedule[0]", `line 2: json: unknown field "colour"`},
		{"[\n {\"at\":5.5,\"f\":\"kill\"}]", "schedule[0]", "line 2: duration 5.5 is neither"},
		{"[\n {\"at\":\"-1s\",\"f\":\"start\"}]", "schedule[0].at", "line 2: op at -1s, start: must be >= 0"},
		{"[\n {\"at\":\"1s\",\"f\":\"start\"},\n", "schedule[1]", "line 3: the text ends early"},
		{"not json", "schedule", "line 1: not a JSON list of ops {\"at\", \"f\", \"value\"} (nor a run's config.json, with the list at .nemesis.schedule): invalid character"},
		{"[] []", "schedule", "line 1: more text after the list of ops"},
	}
	for _, c := range cases {
		_, err := nemesis.ParseSchedule([]byte(c.in), five)
		requireFieldError(t, err, c.field, c.msg, c.in)
	}
}

// TestWithLeader: a target that names its leader gets leader strategies beside the defaults, and only there.
func TestWithLeader(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition,kill,pause,clock"}).WithLeader()
	assert.Equal(t, append(slices.Clone(nemesis.DefaultPartition), nemesis.PartLeader), o.Partition)
	assert.Equal(t, append(slices.Clone(nemesis.DefaultKill), nemesis.NodesLeader, nemesis.NodesFollowers), o.Kill)
	assert.Equal(t, append(slices.Clone(nemesis.DefaultPause), nemesis.NodesLeader), o.Pause)
	assert.Equal(t, append(slices.Clone(nemesis.DefaultClock), nemesis.ClockBumpLeader), o.Clock)
	assert.NotContains(t, nemesis.DefaultClock, nemesis.ClockBumpLeader, "bump-leader needs a target that names its leader")
	named := mustOptions(t, nemesis.Flags{Nemesis: "kill", Kill: "all"}).WithLeader()
	assert.Equal(t, []string{nemesis.NodesAll}, named.Kill, "strategies the user named stay as named")
	s, err := nemesis.Generate(3, five, time.Minute, o)
	require.NoError(t, err)
	require.NoError(t, s.Validate(five))
}

// TestPartitionCycles: a faulty period of partitions is cycles of PartitionCycle, each healed PartitionCut after
// its cut, so that a 10s period cuts and heals three times; with the leader strategy enabled, every other cycle (the
// first and third of each period) isolates the leader, and the others are fresh draws.
func TestPartitionCycles(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition", Interval: 10 * time.Second}).WithLeader()
	var at []time.Duration
	fresh := false
	for seed := range int64(20) {
		s, err := nemesis.Generate(seed, five, time.Minute, o)
		require.NoError(t, err)
		require.NoError(t, s.Validate(five))
		at = at[:0]
		var strategies []string
		for _, op := range s {
			at = append(at, op.At.D())
			if op.F == nemesis.FStartPartition {
				var v nemesis.PartitionValue
				require.NoError(t, json.Unmarshal(op.Value, &v))
				strategies = append(strategies, v.Strategy)
			}
		}
		sec := func(x ...float64) []time.Duration {
			var d []time.Duration
			for _, v := range x {
				d = append(d, time.Duration(v*float64(time.Second)))
			}
			return d
		}
		require.Equal(t, sec(10, 12.5, 13.75, 16.25, 17.5, 20, 30, 32.5, 33.75, 36.25, 37.5, 40, 50, 52.5, 53.75, 56.25, 57.5, 60), at, "seed %d", seed)
		for i := range 3 {
			assert.Equal(t, nemesis.PartLeader, strategies[3*i], "seed %d: the first cycle of each period isolates the leader", seed)
			assert.Equal(t, nemesis.PartLeader, strategies[3*i+2], "seed %d: and the third", seed)
			if strategies[3*i+1] != nemesis.PartLeader {
				fresh = true
			}
		}
		// Without the leader strategy (a target that cannot name its leader), every cycle is a draw.
		plain, err := nemesis.Generate(seed, five, time.Minute, mustOptions(t, nemesis.Flags{Nemesis: "partition"}))
		require.NoError(t, err)
		require.Len(t, plain, 18)
		for _, op := range plain {
			assert.NotContains(t, string(op.Value), `"leader"`)
		}
	}
	assert.True(t, fresh, "the other cycles draw their strategy afresh")
}

// TestFollowersCycles: with the followers strategy (a target that names its leader), half the faulty periods of
// kills start with a followers cycle: kill followers, kill the rest, restart the followers, restart the rest, at
// the offsets the constants give, two KillCycles long; later cycles draw their strategy afresh, followers among
// them. Without the leader (a target that cannot name it) no cycle is one.
func TestFollowersCycles(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "kill", Interval: 10 * time.Second}).WithLeader()
	first, later, periods := 0, 0, 0
	for seed := range int64(40) {
		s, err := nemesis.Generate(seed, five, time.Minute, o)
		require.NoError(t, err)
		require.NoError(t, s.Validate(five))
		for i := 0; i < len(s); i++ {
			require.Equal(t, nemesis.FKill, s[i].F, "seed %d op %d: every cycle starts with a kill: %v", seed, i, s)
			c := s[i].At.D()
			periodStart := c == 10*time.Second || c == 30*time.Second || c == 50*time.Second
			if periodStart {
				periods++
			}
			v := unmarshal[nemesis.NodesValue](t, s[i].Value)
			if v.Strategy != nemesis.NodesFollowers {
				require.Equal(t, nemesis.FStart, s[i+1].F)
				assert.Equal(t, c+nemesis.KillCycle/2, s[i+1].At.D())
				i++
				continue
			}
			if periodStart {
				first++
			} else {
				later++
			}
			require.Less(t, i+3, len(s), "seed %d: a followers cycle is four ops: %v", seed, s[i:])
			assert.Empty(t, v.Nodes, "the followers are picked at run time")
			all := unmarshal[nemesis.NodesValue](t, s[i+1].Value)
			assert.Equal(t, nemesis.NodesValue{Strategy: nemesis.NodesAll, Nodes: five}, all, "then the rest are killed")
			assert.Equal(t, []string{nemesis.FKill, nemesis.FStart, nemesis.FStart}, []string{s[i+1].F, s[i+2].F, s[i+3].F})
			assert.Equal(t, nemesis.NodesValue{Strategy: nemesis.NodesFollowers}, unmarshal[nemesis.NodesValue](t, s[i+2].Value),
				"the followers come back first")
			assert.JSONEq(t, `{}`, string(s[i+3].Value), "then everything the nemesis killed")
			end := min(c-(c-10*time.Second)%(20*time.Second)+10*time.Second, time.Minute) // the period's end
			want := []time.Duration{c + nemesis.FollowersAlone, c + nemesis.FollowersRestart, c + nemesis.FollowersRejoin}
			for j, w := range want {
				assert.Equal(t, min(w, end), s[i+1+j].At.D(), "seed %d: op %d of the followers cycle at %s", seed, j+1, c)
			}
			if i+4 < len(s) && s[i+4].At.D() < end {
				assert.Equal(t, c+2*nemesis.KillCycle, s[i+4].At.D(), "the next cycle starts two KillCycles later")
			}
			i += 3
		}
		plain, err := nemesis.Generate(seed, five, time.Minute, mustOptions(t, nemesis.Flags{Nemesis: "kill"}))
		require.NoError(t, err)
		for _, op := range plain {
			assert.NotContains(t, string(op.Value), nemesis.NodesFollowers)
		}
	}
	require.Equal(t, 40*3, periods)
	assert.InDelta(t, 0.6*float64(periods), first, 0.15*float64(periods),
		"half the periods draw followers, and a fifth of the other half")
	assert.Positive(t, later, "later cycles draw followers too")
}

// TestBumpLeaderJumpsSeconds: bump-leader jumps the leader's clock ahead by 10s to 60s, so that its reset sets it
// back by as much: a lease on the wall clock then outlives its due for as long, after the clock fault ended.
func TestBumpLeaderJumpsSeconds(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "clock", Clock: "bump-leader", Interval: time.Second})
	neg, pos := 0, 0
	for seed := range int64(20) {
		s, err := nemesis.Generate(seed, five, time.Minute, o)
		require.NoError(t, err)
		for _, op := range s {
			if op.F != nemesis.FClockBump {
				continue
			}
			var v nemesis.ClockValue
			require.NoError(t, json.Unmarshal(op.Value, &v))
			d := v.Delta.D()
			if d < 0 {
				neg++
				d = -d
			} else {
				pos++
			}
			assert.True(t, d >= 10*time.Second && d <= time.Minute, "jump %s", v.Delta.D())
		}
	}
	assert.Zero(t, neg)
	assert.Positive(t, pos)
}

// TestClockFavoursBumpLeader: with bump-leader enabled (the clock defaults of a target that names its leader), a
// clock period jumps the leader's clock half the time, else draws uniformly; without it, no period does.
func TestClockFavoursBumpLeader(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "clock", Interval: time.Second}).WithLeader()
	require.Contains(t, o.Clock, nemesis.ClockBumpLeader)
	count := func(o nemesis.Options) (leader, all int) {
		for seed := range int64(40) {
			s, err := nemesis.Generate(seed, five, time.Minute, o)
			require.NoError(t, err)
			for _, op := range s {
				if op.F == nemesis.FClockReset && !strings.Contains(string(op.Value), "strategy") {
					continue // the undo of a fault
				}
				all++
				if strings.Contains(string(op.Value), `"strategy":"bump-leader"`) {
					leader++
				}
			}
		}
		return leader, all
	}
	leader, all := count(o)
	share := float64(leader) / float64(all)
	// Half the periods, plus a quarter of the other half (one of the four enabled strategies): 5/8.
	assert.InDelta(t, 0.625, share, 0.06, "%d of %d clock periods jumped the leader's clock", leader, all)
	leader, _ = count(mustOptions(t, nemesis.Flags{Nemesis: "clock", Interval: time.Second}))
	assert.Zero(t, leader)
}

// TestOverlapPartitionsHoldTheirPeriod: in overlap mode a partition holds for its whole period (at least half the
// interval), not in cycles, and with the leader strategy enabled it isolates the leader in about 7 periods of 12
// (half, plus a sixth of the other half).
func TestOverlapPartitionsHoldTheirPeriod(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition", Interval: 10 * time.Second, Mode: nemesis.ModeOverlap}).WithLeader()
	leader, all := 0, 0
	for seed := range int64(60) {
		s, err := nemesis.Generate(seed, five, 2*time.Minute, o)
		require.NoError(t, err)
		for i := 0; i+1 < len(s); i += 2 {
			require.Equal(t, nemesis.FStartPartition, s[i].F)
			require.Equal(t, nemesis.FStopPartition, s[i+1].F)
			if s[i+1].At.D() < 2*time.Minute {
				assert.GreaterOrEqual(t, s[i+1].At.D()-s[i].At.D(), 5*time.Second, "seed %d: op %d", seed, i)
			}
			all++
			if strings.Contains(string(s[i].Value), `"strategy":"leader"`) {
				leader++
			}
		}
	}
	assert.InDelta(t, 7.0/12, float64(leader)/float64(all), 0.07, "%d of %d partitions isolated the leader", leader, all)
}

// TestBumpLeaderCutsTheLeaderOff: in overlap mode with partitions enabled too, each bump-leader period ends with
// the leader cut off from the moment of its clock's reset, for LeaderCutAfterBump (or to the end of the run);
// in alternate mode, or with no partition enabled, a clock fault brings no partition.
func TestBumpLeaderCutsTheLeaderOff(t *testing.T) {
	const run = 4 * time.Minute
	coupled := 0
	// With a long interval a grudge of the partition timeline can outlast a whole jump and cut.
	for seed := range int64(60) {
		interval := []time.Duration{0, 45 * time.Second}[seed%2]
		o := mustOptions(t, nemesis.Flags{Nemesis: "clock,partition", Clock: "bump-leader", Mode: nemesis.ModeOverlap, Interval: interval})
		s, err := nemesis.Generate(seed, five, run, o)
		require.NoError(t, err)
		require.NoError(t, s.Validate(five))
		cut := false // a grudge in place
		for i, op := range s {
			switch op.F {
			case nemesis.FStartPartition:
				cut = true
			case nemesis.FStopPartition:
				cut = false
			}
			if op.F != nemesis.FClockBump {
				continue
			}
			// The reset that undoes this jump, then the cut at the same moment.
			j := slices.IndexFunc(s[i+1:], func(x nemesis.Op) bool { return x.F == nemesis.FClockReset })
			require.GreaterOrEqual(t, j, 0, "seed %d: the jump at %s is never reset", seed, op.At.D())
			reset := s[i+1+j]
			if reset.At.D() >= run {
				continue // reset at the end of the run: nothing is left to cut
			}
			assert.False(t, cut, "seed %d: a grudge is in place at the jump at %s", seed, op.At.D())
			// Nor does a grudge start or heal in the SettleBeforeCoupled before it: the node a heal returns takes
			// over about a second later, and the jump would then be aimed at a leader about to be deposed.
			for _, x := range s[:i] {
				if x.At.D() > op.At.D()-nemesis.SettleBeforeCoupled && (x.F == nemesis.FStartPartition || x.F == nemesis.FStopPartition) {
					assert.Fail(t, "unsettled", "seed %d: %s at %s, less than %s before the jump at %s", seed, x.F, x.At.D(),
						nemesis.SettleBeforeCoupled, op.At.D())
				}
			}
			k := slices.IndexFunc(s, func(x nemesis.Op) bool {
				return x.F == nemesis.FStartPartition && x.At == reset.At && strings.Contains(string(x.Value), `"strategy":"leader"`)
			})
			require.GreaterOrEqual(t, k, 0, "seed %d: no leader cut at the reset at %s: %v", seed, reset.At.D(), s)
			stop := slices.IndexFunc(s[k+1:], func(x nemesis.Op) bool { return x.F == nemesis.FStopPartition })
			require.GreaterOrEqual(t, stop, 0, "seed %d: the leader cut at %s is never healed", seed, reset.At.D())
			want := min(reset.At.D()+nemesis.LeaderCutAfterBump, run)
			require.Equal(t, want, s[k+1+stop].At.D(), "seed %d: the leader cut at %s is healed early", seed, reset.At.D())
			// Nothing of the partition kind's own timeline disturbs the jump or the cut, from the jump to the cut's
			// heal: no grudge moves the leadership or replaces the cut, no heal ends it early. A grudge in place
			// when the jump comes is healed with it.
			for m, x := range s[i+1 : k+1+stop] {
				if i+1+m == k || x.At == op.At && x.F == nemesis.FStopPartition {
					continue
				}
				assert.NotContains(t, []string{nemesis.FStartPartition, nemesis.FStopPartition}, x.F,
					"seed %d: %s at %s between the jump at %s and the cut's heal at %s", seed, x.F, x.At.D(), op.At.D(), want)
			}
			coupled++
		}
		for _, mode := range []string{nemesis.ModeAlternate, nemesis.ModeOverlap} {
			clockOnly, err := nemesis.Generate(seed, five, run, mustOptions(t, nemesis.Flags{Nemesis: "clock", Clock: "bump-leader", Mode: mode}))
			require.NoError(t, err)
			for _, op := range clockOnly {
				assert.NotEqual(t, nemesis.FStartPartition, op.F, "seed %d, %s: a clock-only schedule cuts the network", seed, mode)
			}
		}
		alt, err := nemesis.Generate(seed, five, run, mustOptions(t, nemesis.Flags{Nemesis: "clock", Clock: "bump-leader", Partition: "one"}))
		require.NoError(t, err)
		for i, op := range alt {
			if op.F == nemesis.FStartPartition {
				assert.Contains(t, string(op.Value), `"strategy":"one"`, "seed %d: alternate mode op %d", seed, i)
			}
		}
	}
	assert.Positive(t, coupled, "no cut after a bump ran its full length in 30 seeds")
}
