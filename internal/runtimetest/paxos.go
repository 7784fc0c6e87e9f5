package runtimetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// paxosSuite checks kill, pause, clock and partition, every strategy, on a cluster of the Paxos node.
func paxosSuite(t *testing.T, h Harness) {
	target, err := paxos.New(paxos.Options{})
	require.NoError(t, err)
	f := start(t, h, "paxos", target, testbin.Skeptic(t))
	f.agreed(t, f.ids, "", 30*time.Second)
	f.write(t, "n1", "durable", 77, 20*time.Second)
	var cases []subtest
	for _, s := range []string{nemesis.PartOne, nemesis.PartLeader} {
		cases = append(cases, subtest{"partition " + s, func(t *testing.T, f *fixture) { checkPaxosPartition(t, f, s) }})
	}
	for _, s := range []string{nemesis.NodesOne, nemesis.NodesLeader, nemesis.NodesMinority, nemesis.NodesMajority, nemesis.NodesAll} {
		cases = append(cases, subtest{"kill " + s, func(t *testing.T, f *fixture) { checkKillStrategy(t, f, s) }})
	}
	cases = append(cases, subtest{"kill followers", checkKillFollowers})
	for _, s := range []string{nemesis.NodesOne, nemesis.NodesLeader, nemesis.NodesMinority} {
		cases = append(cases, subtest{"pause " + s, func(t *testing.T, f *fixture) { checkPauseStrategy(t, f, s) }})
	}
	for _, s := range []string{nemesis.ClockBump, nemesis.ClockBumpLeader, nemesis.ClockStrobe, nemesis.ClockSkewRate, nemesis.ClockReset} {
		cases = append(cases, subtest{"clock " + s, func(t *testing.T, f *fixture) { checkClockStrategy(t, f, s) }})
	}
	cases = append(cases, subtest{"recovers", func(t *testing.T, f *fixture) {
		f.agreed(t, f.ids, "", 30*time.Second)
		for i, id := range f.ids {
			f.readIs(t, id, "durable", 77, 20*time.Second)
			f.write(t, id, "after", int64(i), 20*time.Second)
			f.readIs(t, id, "after", int64(i), 10*time.Second)
		}
	}})
	f.subtests(t, cases)
}

// status asks node id for its status within a second.
func (f *fixture) status(id string) (httpkv.StatusInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return httpkv.Status(ctx, f.urls[id])
}

// agreed waits until every node of ids answers and names the same leader, other than not, and returns it.
func (f *fixture) agreed(t *testing.T, ids []string, not string, d time.Duration) string {
	t.Helper()
	var leader string
	var last map[string]string
	ok := eventually(d, func() bool {
		seen := map[string]string{}
		last = seen
		for _, id := range ids {
			st, err := f.status(id)
			if err != nil {
				seen[id] = err.Error()
				return false
			}
			seen[id] = st.Leader
		}
		leader = seen[ids[0]]
		for _, id := range ids {
			if seen[id] != leader || leader == "" || leader == not {
				return false
			}
		}
		return true
	})
	require.True(t, ok, "%v agree on a leader other than %q within %s: last seen %v", ids, not, d, last)
	return leader
}

// eventually polls cond every 50ms until it holds (true) or d passes (false).
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// do performs one operation through node id within 2s.
func (f *fixture) do(t *testing.T, id string, o targets.Op) targets.Outcome {
	t.Helper()
	cl, err := f.target.NewClient(targets.Node{ID: id, ClientURL: f.urls[id]})
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return cl.Do(ctx, o)
}

// write writes key=v through id, retrying for up to d until it is ok.
func (f *fixture) write(t *testing.T, id, key string, v int64, d time.Duration) {
	t.Helper()
	var out targets.Outcome
	ok := eventually(d, func() bool {
		out = f.do(t, id, targets.Op{F: targets.FWrite, Key: key, Value: v})
		return out.Type == history.Ok
	})
	require.True(t, ok, "write %s=%d through %s within %s: last %+v", key, v, id, d, out)
}

// readIs waits for up to d until a read of key through id is ok and gives v.
func (f *fixture) readIs(t *testing.T, id, key string, v int64, d time.Duration) {
	t.Helper()
	var out targets.Outcome
	ok := eventually(d, func() bool {
		out = f.do(t, id, targets.Op{F: targets.FRead, Key: key})
		return out.Type == history.Ok && out.Value != nil && *out.Value == v
	})
	require.True(t, ok, "read %s through %s gives %d within %s: last %+v", key, id, v, d, out)
}

// checkPaxosPartition cuts one node off, as the strategy picks it (one: at random; leader: the leader the nodes
// name when the op runs), and requires the nodes to live it: the others elect a leader without it and commit
// writes, a write through the cut-off node does not commit (it can reach no majority, and no leader to forward
// to), and, when it led, it never hears of its successor. After HealAll all agree again and it serves writes.
func checkPaxosPartition(t *testing.T, f *fixture, strategy string) {
	leader := f.agreed(t, f.ids, "", 30*time.Second)
	startOp, stopOp := f.generate(t, 3, nemesis.Flags{Nemesis: nemesis.FaultPartition, Partition: strategy})
	require.Equal(t, nemesis.FStopPartition, stopOp.F)
	n := nemesis.New(f.env())
	v := decode[nemesis.PartitionValue](t, f.apply(t, n, startOp))
	var x string
	for _, id := range f.ids {
		if len(v.Grudge[id]) == len(f.ids)-1 {
			x = id
		}
	}
	require.NotEmpty(t, x, "%s: the grudge %v cuts no node off", strategy, v.Grudge)
	require.Equal(t, nemesis.Isolate(f.ids, x), v.Grudge, "%s cuts one node off, both ways", strategy)
	if strategy == nemesis.PartLeader {
		require.Equal(t, leader, v.Leader, "the recorded leader")
		require.Equal(t, leader, x, "the leader strategy cuts off the leader")
	}
	t.Logf("%s: cut off %s; the leader was %s", strategy, x, leader)
	rest := others(f.ids, x)
	l2 := f.agreed(t, rest, x, 20*time.Second)
	f.write(t, l2, "part-"+strategy, 1, 10*time.Second)
	_, err := f.status(x)
	require.NoError(t, err, "the harness's own traffic still reaches the cut-off %s", x)
	out := f.do(t, x, targets.Op{F: targets.FWrite, Key: "part-" + strategy, Value: 2})
	assert.NotEqual(t, history.Ok, out.Type, "a write through the cut-off %s committed: %+v", x, out)
	if x == leader {
		st, err := f.status(x)
		require.NoError(t, err)
		assert.NotEqual(t, l2, st.Leader, "the cut-off %s heard of its successor %s", x, l2)
	}
	f.healAll(t, n)
	f.agreed(t, f.ids, "", 20*time.Second)
	f.write(t, x, "part-"+strategy, 3, 20*time.Second)
	f.readIs(t, x, "part-"+strategy, 3, 10*time.Second)
}

// victims returns the nodes a kill or pause acted on, from the value the nemesis recorded.
func victims(t *testing.T, raw json.RawMessage, strategy string, want int) []string {
	t.Helper()
	v := decode[nemesis.NodesValue](t, raw)
	if strategy == nemesis.NodesLeader {
		require.NotEmpty(t, v.Leader, "the leader strategy records the leader")
		require.Equal(t, []string{v.Leader}, v.Nodes)
	}
	require.Len(t, v.Nodes, want, "%s acts on %d nodes: %v", strategy, want, v.Nodes)
	return v.Nodes
}

// checkKillStrategy kills the nodes the strategy picks: their processes are gone and they do not answer, the
// others run on; the generated start op runs them again. Kill all is undone by HealAll instead, and the nodes
// keep what was written before.
func checkKillStrategy(t *testing.T, f *fixture, strategy string) {
	leader := f.agreed(t, f.ids, "", 30*time.Second)
	want := map[string]int{nemesis.NodesOne: 1, nemesis.NodesLeader: 1, nemesis.NodesMinority: 1, nemesis.NodesMajority: 2, nemesis.NodesAll: 3}[strategy]
	startOp, stopOp := f.generate(t, 5, nemesis.Flags{Nemesis: nemesis.FaultKill, Kill: strategy})
	require.Equal(t, nemesis.FStart, stopOp.F)
	n := nemesis.New(f.env())
	killed := victims(t, f.apply(t, n, startOp), strategy, want)
	if strategy == nemesis.NodesLeader {
		require.Equal(t, leader, killed[0], "kill leader killed the leader")
	}
	states := map[string]State{}
	for _, id := range killed {
		states[id] = Stopped
		_, err := f.status(id)
		assert.Error(t, err, "killed %s answered", id)
	}
	f.requireStates(t, states, "after kill "+strategy)
	if strategy == nemesis.NodesAll {
		f.healAll(t, n)
	} else {
		f.apply(t, n, stopOp)
		f.healAll(t, n)
	}
	f.requireStates(t, nil, "after the restart")
	f.waitReady(t, killed...)
	f.agreed(t, f.ids, "", 30*time.Second)
	for _, id := range killed {
		f.readIs(t, id, "durable", 77, 20*time.Second)
	}
}

// checkKillFollowers runs a generated cycle of the followers strategy op by op: it kills n/2+1 nodes other than
// the leader (the leader runs on), then the rest, then restarts the first ones, which elect a leader among
// themselves while the old one is still down, then the rest; the cluster then agrees again and kept its data.
func checkKillFollowers(t *testing.T, f *fixture) {
	leader := f.agreed(t, f.ids, "", 30*time.Second)
	o, err := nemesis.ParseOptions(nemesis.Flags{Nemesis: nemesis.FaultKill, Kill: nemesis.NodesFollowers, Interval: time.Second})
	require.NoError(t, err)
	s, err := nemesis.Generate(1, f.ids, 2*time.Second, o)
	require.NoError(t, err)
	require.Len(t, s, 4, "a followers cycle is four ops: %v", s)
	n := nemesis.New(f.env())
	raw := f.apply(t, n, s[0])
	assert.Equal(t, leader, decode[nemesis.NodesValue](t, raw).Leader, "the followers kill names the leader it spared")
	followers := victims(t, raw, nemesis.NodesFollowers, len(f.ids)/2+1)
	require.NotContains(t, followers, leader)
	states := map[string]State{}
	for _, id := range followers {
		states[id] = Stopped
	}
	f.requireStates(t, states, "after kill followers")
	_, err = f.status(leader)
	assert.NoError(t, err, "the leader, left with a minority, runs on")

	rest := decode[nemesis.NodesValue](t, f.apply(t, n, s[1]))
	assert.ElementsMatch(t, others(f.ids, followers...), rest.Nodes, "the second kill kills the rest only")
	states[leader] = Stopped
	f.requireStates(t, states, "after kill all")

	back := decode[nemesis.NodesValue](t, f.apply(t, n, s[2]))
	assert.ElementsMatch(t, followers, back.Nodes, "the followers come back first")
	f.requireStates(t, map[string]State{leader: Stopped}, "after the followers' restart")
	f.waitReady(t, followers...)
	f.agreed(t, followers, leader, 30*time.Second) // a leader of their own, while the old one is down

	f.apply(t, n, s[3])
	f.requireStates(t, nil, "after the restart of the rest")
	f.waitReady(t, leader)
	f.agreed(t, f.ids, "", 30*time.Second)
	for _, id := range f.ids {
		f.readIs(t, id, "durable", 77, 20*time.Second)
	}
}

// checkPauseStrategy pauses the nodes the strategy picks: their processes exist, frozen, and do not answer; the
// others answer. The generated resume op thaws them (pause minority: HealAll does).
func checkPauseStrategy(t *testing.T, f *fixture, strategy string) {
	leader := f.agreed(t, f.ids, "", 30*time.Second)
	startOp, stopOp := f.generate(t, 5, nemesis.Flags{Nemesis: nemesis.FaultPause, Pause: strategy})
	require.Equal(t, nemesis.FResume, stopOp.F)
	n := nemesis.New(f.env())
	paused := victims(t, f.apply(t, n, startOp), strategy, 1)
	if strategy == nemesis.NodesLeader {
		require.Equal(t, leader, paused[0], "pause leader paused the leader")
	}
	f.requireStates(t, map[string]State{paused[0]: Paused}, "after pause "+strategy)
	requireSilent(t, f.urls[paused[0]]+"/admin/status", "paused "+paused[0])
	for _, id := range others(f.ids, paused[0]) {
		_, err := f.status(id)
		assert.NoError(t, err, "%s, not paused, answers", id)
	}
	if strategy == nemesis.NodesMinority {
		f.healAll(t, n)
	} else {
		f.apply(t, n, stopOp)
		f.healAll(t, n)
	}
	f.requireStates(t, nil, "after resume")
	ok := eventually(10*time.Second, func() bool { _, err := f.status(paused[0]); return err == nil })
	require.True(t, ok, "%s answers after resume", paused[0])
}

// clock returns node id's clock settings as its /admin/status reports them.
func (f *fixture) clock(t *testing.T, id string) (time.Duration, float64) {
	t.Helper()
	st, err := f.status(id)
	require.NoError(t, err)
	var off int64
	var rate float64
	require.NoError(t, json.Unmarshal(st.Extra["clock_offset_ns"], &off), "clock_offset_ns of %s", id)
	require.NoError(t, json.Unmarshal(st.Extra["clock_rate"], &rate), "clock_rate of %s", id)
	return time.Duration(off), rate
}

// requireClocks requires every node to report the offset and rate of want (0 and 1 for those it does not name).
func (f *fixture) requireClocks(t *testing.T, want map[string]clockSetting, what string) {
	t.Helper()
	for _, id := range f.ids {
		w, ok := want[id]
		if !ok {
			w = clockSetting{0, 1}
		}
		off, rate := f.clock(t, id)
		assert.Equal(t, w, clockSetting{off, rate}, "%s: the clock of %s", what, id)
	}
}

type clockSetting struct {
	Offset time.Duration
	Rate   float64
}

// checkClockStrategy applies the clock op the strategy generates and requires the nodes to report exactly the
// offsets and rates it set (strobe: both of the values it flips between, while it runs), and its undo op, and
// HealAll, to set every clock back.
func checkClockStrategy(t *testing.T, f *fixture, strategy string) {
	leader := f.agreed(t, f.ids, "", 30*time.Second)
	startOp, stopOp := f.generate(t, 11, nemesis.Flags{Nemesis: nemesis.FaultClock, Clock: strategy})
	n := nemesis.New(f.env())
	var in nemesis.ClockValue
	require.NoError(t, json.Unmarshal(startOp.Value, &in))
	want := map[string]clockSetting{}
	switch strategy {
	case nemesis.ClockBump:
		require.NotEmpty(t, in.Deltas)
		for id, d := range in.Deltas {
			want[id] = clockSetting{d.D(), 1}
		}
		f.apply(t, n, startOp)
	case nemesis.ClockBumpLeader:
		v := decode[nemesis.ClockValue](t, f.apply(t, n, startOp))
		require.Equal(t, leader, v.Leader, "bump-leader bumps the leader")
		want[leader] = clockSetting{in.Delta.D(), 1}
	case nemesis.ClockSkewRate:
		require.NotEmpty(t, in.Rates)
		for id, r := range in.Rates {
			want[id] = clockSetting{0, r}
		}
		f.apply(t, n, startOp)
	case nemesis.ClockStrobe:
		checkStrobe(t, f, n, startOp, in)
	case nemesis.ClockReset:
		// Reset needs something to undo: bump every clock first.
		bump := nemesis.ClockValue{Deltas: map[string]nemesis.Duration{}}
		for _, id := range f.ids {
			bump.Deltas[id] = nemesis.Duration(2 * time.Second)
			want[id] = clockSetting{2 * time.Second, 1}
		}
		f.apply(t, n, nemesis.Op{F: nemesis.FClockBump, Value: mustJSON(t, bump)})
		f.requireClocks(t, want, "before the reset")
		want = nil
		require.Equal(t, nemesis.FClockReset, startOp.F)
		f.apply(t, n, startOp)
	}
	f.requireClocks(t, want, "after clock "+strategy)
	if stopOp.F != "" {
		require.Equal(t, nemesis.FClockReset, stopOp.F)
		f.apply(t, n, stopOp)
		f.requireClocks(t, nil, "after its clock-reset")
	}
	if strategy == nemesis.ClockReset {
		return
	}
	// Again, undone by HealAll alone.
	n = nemesis.New(f.env())
	if strategy == nemesis.ClockStrobe {
		// A strobe leaves the clocks as it found them; bump them to give HealAll something to undo.
		startOp = nemesis.Op{F: nemesis.FClockBump, Value: mustJSON(t, nemesis.ClockValue{Deltas: map[string]nemesis.Duration{"n2": nemesis.Duration(-time.Second)}})}
	}
	f.apply(t, n, startOp)
	f.healAll(t, n)
	f.requireClocks(t, nil, "after HealAll")
}

// checkStrobe runs the strobe while polling the strobed nodes' status: each must report both the strobe's
// offset and its base (0), and be back at the base when the op ends.
func checkStrobe(t *testing.T, f *fixture, n *nemesis.Nemesis, op nemesis.Op, in nemesis.ClockValue) {
	require.NotEmpty(t, in.Nodes)
	t.Logf("strobe %v by %s every %s for %s", in.Nodes, in.Delta.D(), in.Period.D(), in.For.D())
	done := make(chan struct{})
	var mu sync.Mutex
	seen := map[string]map[time.Duration]bool{}
	var wg sync.WaitGroup
	for _, id := range in.Nodes {
		seen[id] = map[time.Duration]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if st, err := f.status(id); err == nil {
					var off int64
					if json.Unmarshal(st.Extra["clock_offset_ns"], &off) == nil {
						mu.Lock()
						seen[id][time.Duration(off)] = true
						mu.Unlock()
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	v := decode[nemesis.ClockValue](t, f.apply(t, n, op))
	close(done)
	wg.Wait()
	assert.GreaterOrEqual(t, v.Flips, 2, "the strobe flipped the clocks")
	for _, id := range in.Nodes {
		// Before the strobe the offset was 0, and after it requireClocks wants 0 again: seeing Delta in between
		// is a flip there and back.
		assert.True(t, seen[id][in.Delta.D()], "%s never reported the strobe's offset %s: saw %v", id, in.Delta.D(), keysOf(seen[id]))
		for off := range seen[id] {
			assert.Contains(t, []time.Duration{0, in.Delta.D()}, off, "%s reported an offset the strobe never set", id)
		}
	}
}

func keysOf(m map[time.Duration]bool) []time.Duration {
	var out []time.Duration
	for k := range m {
		out = append(out, k)
	}
	return out
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
