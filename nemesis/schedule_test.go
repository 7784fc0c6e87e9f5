package nemesis_test

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

var five = []string{"n1", "n2", "n3", "n4", "n5"}

func mustOptions(t *testing.T, f nemesis.Flags) nemesis.Options {
	t.Helper()
	o, err := nemesis.ParseOptions(f)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestGenerateIsAPureFunctionOfTheSeed(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "all", Interval: 5 * time.Second})
	a, err := nemesis.Generate(42, five, 5*time.Minute, o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := nemesis.Generate(42, five, 5*time.Minute, o)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("one seed gave two schedules:\n%s\n%s", ja, jb)
	}
	c, _ := nemesis.Generate(43, five, 5*time.Minute, o)
	if jc, _ := json.Marshal(c); string(jc) == string(ja) {
		t.Error("seeds 42 and 43 gave the same schedule")
	}
	// The order of the flags' lists does not matter.
	o2 := mustOptions(t, nemesis.Flags{Nemesis: "loss,clock,pause,kill,partition", Interval: 5 * time.Second})
	d, _ := nemesis.Generate(42, []string{"n5", "n4", "n3", "n2", "n1"}, 5*time.Minute, o2)
	if jd, _ := json.Marshal(d); string(jd) != string(ja) {
		t.Error("reordering --nemesis or the nodes changed the schedule")
	}
	// The schedule written to config.json reads back as itself.
	back, err := nemesis.ParseSchedule(ja, five)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Error("schedule does not survive a JSON round trip")
	}
}

func TestGenerateAlternatesQuietAndFaultyPeriods(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "all", Interval: 10 * time.Second})
	s, err := nemesis.Generate(7, five, 100*time.Second, o)
	if err != nil {
		t.Fatal(err)
	}
	stopOf := map[string]string{
		nemesis.FStartPartition: nemesis.FStopPartition, nemesis.FKill: nemesis.FStart,
		nemesis.FPause: nemesis.FResume, nemesis.FClockBump: nemesis.FClockReset,
		nemesis.FClockStrobe: nemesis.FClockReset, nemesis.FClockSkew: nemesis.FClockReset,
		nemesis.FStartLoss: nemesis.FStopLoss,
	}
	seen := map[string]bool{}
	i, want := 0, 10*time.Second
	for i < len(s) {
		if s[i].At.D() != want {
			t.Fatalf("op %d at %s, want a fault to start at %s: %v", i, s[i].At.D(), want, s)
		}
		seen[s[i].F] = true
		// A period of kills is cycles of kill and restart, each KillCycle long, each restarting halfway; a period
		// of partitions, cycles of PartitionCycle, each healed halfway.
		if cycle := map[string]time.Duration{nemesis.FKill: nemesis.KillCycle, nemesis.FStartPartition: nemesis.PartitionCycle}[s[i].F]; cycle > 0 {
			f, stop := s[i].F, stopOf[s[i].F]
			n := 0
			for c := want; c+cycle <= want+10*time.Second; c += cycle {
				if i+1 >= len(s) || s[i].F != f || s[i].At.D() != c || s[i+1].F != stop || s[i+1].At.D() != c+cycle/2 {
					t.Fatalf("ops %d.. are not a %s at %s undone at %s: %v", i, f, c, c+cycle/2, s[i:])
				}
				i += 2
				n++
			}
			assert.Equal(t, int(10*time.Second/cycle), n, "cycles of %s in a 10s period", f)
			want += 20 * time.Second
			continue
		}
		if stop, ok := stopOf[s[i].F]; ok {
			if i+1 >= len(s) || s[i+1].F != stop || s[i+1].At.D() != want+10*time.Second {
				t.Fatalf("op %d (%s at %s) is not undone by %s 10s later", i, s[i].F, want, stop)
			}
			i += 2
		} else {
			i++ // clock-reset as a fault of its own has nothing to undo
		}
		want += 20 * time.Second
	}
	if want != 110*time.Second {
		t.Errorf("5 faulty periods expected in 100s with a 10s interval, the last started at %s", want-20*time.Second)
	}
	// Over many seeds, every enabled kind shows up.
	for seed := range int64(50) {
		s, _ := nemesis.Generate(seed, five, 100*time.Second, o)
		for _, op := range s {
			seen[op.F] = true
		}
	}
	for _, f := range []string{nemesis.FStartPartition, nemesis.FKill, nemesis.FPause, nemesis.FClockBump,
		nemesis.FClockStrobe, nemesis.FClockSkew, nemesis.FStartLoss} {
		if !seen[f] {
			t.Errorf("no %s in 50 schedules", f)
		}
	}
	if seen[nemesis.FStartDelay] {
		t.Error("all enabled delay, which must be asked for by name")
	}
	none, _ := nemesis.Generate(1, five, time.Minute, mustOptions(t, nemesis.Flags{Nemesis: "none"}))
	if len(none) != 0 {
		t.Errorf("--nemesis none scheduled %v", none)
	}
}

func TestGeneratedValues(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "kill,pause,clock", Kill: "minority,majority,leader",
		Pause: "one", Clock: "bump,skew-rate,strobe", Interval: time.Second})
	for seed := range int64(30) {
		s, err := nemesis.Generate(seed, five, time.Minute, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range s {
			switch op.F {
			case nemesis.FKill:
				var v nemesis.NodesValue
				_ = json.Unmarshal(op.Value, &v)
				switch v.Strategy {
				case "minority":
					if len(v.Nodes) < 1 || len(v.Nodes) > 2 {
						t.Errorf("minority of 5 killed %v", v.Nodes)
					}
				case "majority":
					if len(v.Nodes) < 3 {
						t.Errorf("majority of 5 killed %v", v.Nodes)
					}
				case "leader":
					if len(v.Nodes) != 0 {
						t.Errorf("leader kill chose nodes up front: %v", v.Nodes)
					}
				}
			case nemesis.FPause:
				var v nemesis.NodesValue
				_ = json.Unmarshal(op.Value, &v)
				if len(v.Nodes) != 1 {
					t.Errorf("pause one paused %v", v.Nodes)
				}
			case nemesis.FClockBump:
				var v nemesis.ClockValue
				_ = json.Unmarshal(op.Value, &v)
				for n, d := range v.Deltas {
					if a := d.D().Abs(); a < 10*time.Millisecond || a > 60*time.Second {
						t.Errorf("bump of %s by %s, want ±(10ms..60s)", n, d.D())
					}
				}
			case nemesis.FClockSkew:
				var v nemesis.ClockValue
				_ = json.Unmarshal(op.Value, &v)
				for n, r := range v.Rates {
					if r < 0.5 || r > 2 || (r > 0.95 && r < 1.05) {
						t.Errorf("rate of %s is %v", n, r)
					}
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
	if !reflect.DeepEqual(g["n3"], []string{"n1", "n2", "n4", "n5"}) || !slices.Equal(g["n1"], []string{"n3"}) || !symmetric(g) {
		t.Errorf("isolate n3: %v", g)
	}
	g = nemesis.OneWay(five, "n2")
	if len(g) != 1 || len(g["n2"]) != 4 {
		t.Errorf("one-way n2: %v", g)
	}
	for range 20 {
		g := nemesis.Majority(five, r)
		minority := 0
		for _, n := range five {
			switch len(hears(g, five, n)) {
			case 2:
				minority++
			case 3:
			default:
				t.Fatalf("majority: %s hears %v", n, hears(g, five, n))
			}
		}
		if minority != 2 || !symmetric(g) {
			t.Fatalf("majority split: %v", g)
		}

		for _, nodes := range [][]string{five[:3], five, append(slices.Clone(five), "n6", "n7")} {
			g := nemesis.MajoritiesRing(nodes, r)
			seen := map[string]bool{}
			for _, n := range nodes {
				h := hears(g, nodes, n)
				if len(h) < len(nodes)/2+1 || !slices.Contains(h, n) {
					t.Fatalf("majorities-ring of %d: %s hears only %v (%v)", len(nodes), n, h, g)
				}
				key := strings.Join(h, ",")
				if seen[key] {
					t.Fatalf("majorities-ring of %d: two nodes hear the same majority %v (%v)", len(nodes), h, g)
				}
				seen[key] = true
			}
		}

		g = nemesis.Bridge(five, r)
		bridges := 0
		for _, n := range five {
			if len(g[n]) == 0 {
				bridges++
				for _, m := range five {
					if slices.Contains(g[m], n) {
						t.Fatalf("bridge %s is dropped by %s: %v", n, m, g)
					}
				}
			} else if len(g[n]) != 2 {
				t.Fatalf("bridge: %s drops %v", n, g[n])
			}
		}
		if bridges != 1 || !symmetric(g) {
			t.Fatalf("bridge: %v", g)
		}
	}
}

func TestOptionErrorsNameTheFlag(t *testing.T) {
	cases := []struct {
		f    nemesis.Flags
		want string
	}{
		{nemesis.Flags{Nemesis: "partition", Partition: "foo"},
			`--partition: unknown strategy "foo" (want one, majority, majorities-ring, bridge, leader, one-way)`},
		{nemesis.Flags{Nemesis: "meteor"}, `--nemesis: unknown fault "meteor"`},
		{nemesis.Flags{Nemesis: "kill", Kill: "everyone"}, `--kill: unknown strategy "everyone"`},
		{nemesis.Flags{Nemesis: "pause", Pause: "majority"}, `--pause: unknown strategy "majority"`},
		{nemesis.Flags{Nemesis: "clock", Clock: "warp"}, `--clock: unknown strategy "warp"`},
		{nemesis.Flags{Nemesis: "kill", Interval: -time.Second}, `--nemesis-interval: must be > 0`},
		{nemesis.Flags{Nemesis: "loss", Loss: 150}, `--loss: must be a percentage`},
	}
	for _, c := range cases {
		_, err := nemesis.ParseOptions(c.f)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %s", c.f, err, c.want)
		}
	}
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition", Partition: "bridge"})
	if _, err := nemesis.Generate(1, []string{"n1", "n2"}, time.Minute, o); err == nil ||
		!strings.Contains(err.Error(), "--partition: bridge needs at least 3 nodes") {
		t.Errorf("bridge on 2 nodes: %v", err)
	}
	o = mustOptions(t, nemesis.Flags{Nemesis: "kill", Kill: "minority"})
	if _, err := nemesis.Generate(1, []string{"n1"}, time.Minute, o); err == nil ||
		!strings.Contains(err.Error(), "--kill: minority needs at least 3 nodes") {
		t.Errorf("minority of 1: %v", err)
	}
}

func TestNeeds(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition,kill", Kill: "leader"})
	if got := o.Needs(); !reflect.DeepEqual(got, map[targets.Capability]string{targets.CapStatus: "--kill leader"}) {
		t.Errorf("kill leader needs %v", got)
	}
	o = mustOptions(t, nemesis.Flags{Nemesis: "all"})
	if got := o.Needs(); got[targets.CapClock] != "--nemesis clock" || len(got) != 1 {
		t.Errorf("all (default strategies) needs %v", got)
	}
	s, err := nemesis.ParseSchedule([]byte(`[{"at":"1s","f":"start-partition","value":{"strategy":"leader"}},
		{"at":"2s","f":"clock-reset"}]`), five)
	if err != nil {
		t.Fatal(err)
	}
	need := s.Needs()
	if !strings.Contains(need[targets.CapStatus], "op 0") || !strings.Contains(need[targets.CapClock], "op 1") {
		t.Errorf("schedule needs %v", need)
	}
}

func TestParseScheduleErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{}`, "no schedule at .nemesis.schedule"},
		{`[{"at":"1s","f":"explode"}]`, `op 0 (at 1s, explode): f: unknown function "explode"`},
		{`[{"at":"1s","f":"kill","value":{"nodes":["n9"]}}]`, `nodes: unknown node "n9"`},
		{`[{"at":"1s","f":"kill","value":{}}]`, `nodes: must name at least one node`},
		{`[{"at":"1s","f":"start-partition","value":{"grudge":{"n1":["n7"]}}}]`, `grudge[n1]: unknown node "n7"`},
		{`[{"at":"1s","f":"start-loss","value":{"links":[{"from":"n1","to":"n2"}],"percent":0}}]`, `percent: must be in (0, 100]`},
		{`[{"at":"1s","f":"stop-loss","value":{"links":[]}}]`, `value: must be null`},
		{`[{"at":"soon","f":"stop-loss"}]`, `duration "soon"`},
		{`[{"at":"1s","f":"kill","value":{"nodes":["n1"],"why":1}}]`, `unknown field "why"`},
	}
	for _, c := range cases {
		_, err := nemesis.ParseSchedule([]byte(c.in), five)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.in, err, c.want)
		}
	}
	s, err := nemesis.ParseSchedule([]byte(`[{"at":"5s","f":"start"},{"at":"2s","f":"kill","value":{"nodes":["n1"]}}]`), five)
	if err != nil || s[0].F != nemesis.FKill {
		t.Errorf("schedule not sorted by time: %v %v", s, err)
	}
}

func TestValueFlagsAreCheckedAndEnableTheirFault(t *testing.T) {
	// A bad value is refused even when its fault is not enabled (before, WithDefaults dropped it silently).
	for _, c := range []struct {
		f    nemesis.Flags
		want string
	}{
		{nemesis.Flags{Loss: 150}, "--loss: must be a percentage between 0 and 100, got 150"},
		{nemesis.Flags{Nemesis: "kill", Loss: -5}, "--loss: must be a percentage"},
		{nemesis.Flags{Nemesis: "kill", Delay: -time.Millisecond}, "--delay: must be >= 0"},
		{nemesis.Flags{Nemesis: "kill", Jitter: -time.Millisecond}, "--jitter: must be >= 0"},
		{nemesis.Flags{Nemesis: "none,kill"}, "--nemesis: none cannot be combined"},
		{nemesis.Flags{Nemesis: "none", Loss: 20}, "--loss: given with --nemesis none"},
		{nemesis.Flags{Nemesis: "none", Kill: "one"}, "--kill: given with --nemesis none"},
	} {
		if _, err := nemesis.ParseOptions(c.f); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %s", c.f, err, c.want)
		}
	}
	o := mustOptions(t, nemesis.Flags{Nemesis: "kill", Loss: 20, Jitter: time.Millisecond})
	if !slices.Equal(o.Faults, []string{"kill", "loss", "delay"}) || o.LossPercent != 20 || o.Jitter.D() != time.Millisecond {
		t.Errorf("--loss 20 --jitter 1ms with --nemesis kill gave %+v, want loss and delay enabled", o)
	}
}

func TestParseScheduleErrorsNameTheLine(t *testing.T) {
	cases := []struct{ in, want string }{
		{"[\n {\"at\":\"1s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n1\"]}},\n {\"at\":\"1s\" \"f\"}]", "line 3: op 1: invalid character"},
		{"[\n {\"at\":\"1s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n1\"]}},\n\n {\"at\":\"2s\",\"f\":\"kill\",\"value\":{\"nodes\":[\"n9\"]}}\n]",
			`line 4: op 1 (at 2s, kill): nodes: unknown node "n9"`},
		{"[\n {\"at\":\"1s\",\n  \"f\":\"kill\", \"colour\": 1}]", `line 2: op 0: json: unknown field "colour"`},
		{"[\n {\"at\":5.5,\"f\":\"kill\"}]", "line 2: op 0: duration 5.5 is neither"},
		{"[\n {\"at\":\"-1s\",\"f\":\"start\"}]", "line 2: op 0 (at -1s, start): at: must be >= 0"},
		{"[\n {\"at\":\"1s\",\"f\":\"start\"},\n", "line 3: op 1: the text ends early"},
		{"not json", "line 1: not a JSON list of ops {\"at\", \"f\", \"value\"} (nor a run's config.json, with the list at .nemesis.schedule): invalid character"},
		{"[] []", "line 1: more text after the list of ops"},
	}
	for _, c := range cases {
		_, err := nemesis.ParseSchedule([]byte(c.in), five)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.in, err, c.want)
		}
	}
}

// TestWithLeader: a target that names its leader gets leader strategies beside the defaults, and only there.
func TestWithLeader(t *testing.T) {
	o := mustOptions(t, nemesis.Flags{Nemesis: "partition,kill,pause,clock"}).WithLeader()
	assert.Equal(t, append(slices.Clone(nemesis.DefaultPartition), nemesis.PartLeader), o.Partition)
	assert.Equal(t, append(slices.Clone(nemesis.DefaultKill), nemesis.NodesLeader), o.Kill)
	assert.Equal(t, append(slices.Clone(nemesis.DefaultPause), nemesis.NodesLeader), o.Pause)
	assert.Equal(t, append(slices.Clone(nemesis.DefaultClock), nemesis.ClockBumpLeader), o.Clock)
	assert.NotContains(t, nemesis.DefaultClock, nemesis.ClockBumpLeader, "bump-leader needs a target that names its leader")
	named := mustOptions(t, nemesis.Flags{Nemesis: "kill", Kill: "all"}).WithLeader()
	assert.Equal(t, []string{nemesis.NodesAll}, named.Kill, "strategies the user named stay as named")
	s, err := nemesis.Generate(3, five, time.Minute, o)
	require.NoError(t, err)
	require.NoError(t, s.Validate(five))
}

// TestPartitionCycles: a faulty period of partitions is cycles of PartitionCycle, each healed halfway, so that a
// 10s period cuts and heals twice; with the leader strategy enabled, every other cycle (the first of each period)
// isolates the leader, and the others are fresh draws.
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
		require.Equal(t, sec(10, 12.5, 15, 17.5, 30, 32.5, 35, 37.5, 50, 52.5, 55, 57.5), at, "seed %d", seed)
		for i := range 3 {
			assert.Equal(t, nemesis.PartLeader, strategies[2*i], "seed %d: the first cycle of each period isolates the leader", seed)
			if strategies[2*i+1] != nemesis.PartLeader {
				fresh = true
			}
		}
		// Without the leader strategy (a target that cannot name its leader), every cycle is a draw.
		plain, err := nemesis.Generate(seed, five, time.Minute, mustOptions(t, nemesis.Flags{Nemesis: "partition"}))
		require.NoError(t, err)
		require.Len(t, plain, 12)
		for _, op := range plain {
			assert.NotContains(t, string(op.Value), `"leader"`)
		}
	}
	assert.True(t, fresh, "the other cycles draw their strategy afresh")
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
