package nemesis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// In-memory fakes of the runtime's interfaces: they only remember what they were asked, so the runner's
// bookkeeping can be checked. The faults themselves are proven real in nft, netproxy and harness/faults_test.go.

type fakes struct {
	mu        sync.Mutex
	nodes     []string
	leader    string
	grudge    nemesis.Grudge
	loss      float64
	heals     int
	down      map[string]bool
	paused    map[string]bool
	clocks    map[string][2]float64 // offset seconds, rate
	failStart map[string]int        // node -> failures left
	events    []history.Event
}

func newFakes() *fakes {
	return &fakes{nodes: []string{"n1", "n2", "n3"}, leader: "n2", down: map[string]bool{},
		paused: map[string]bool{}, clocks: map[string][2]float64{}, failStart: map[string]int{}}
}

func (f *fakes) Partition(_ context.Context, g nemesis.Grudge) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grudge = g
	return nil
}
func (f *fakes) Loss(_ context.Context, _ []nemesis.Link, p float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loss = p
	return nil
}
func (f *fakes) Delay(context.Context, []nemesis.Link, time.Duration, time.Duration) error {
	return fmt.Errorf("fake: %w", nemesis.ErrUnsupported)
}
func (f *fakes) Heal(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grudge, f.loss = nil, 0
	f.heals++
	return nil
}
func (f *fakes) Kill(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down[n] = true
	return nil
}
func (f *fakes) Start(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failStart[n] > 0 {
		f.failStart[n]--
		return errors.New("docker: no such volume")
	}
	delete(f.down, n)
	return nil
}
func (f *fakes) Pause(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paused[n] = true
	return nil
}
func (f *fakes) Resume(_ context.Context, n string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.paused, n)
	return nil
}
func (f *fakes) SetClock(_ context.Context, n string, off time.Duration, rate float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clocks[n] = [2]float64{off.Seconds(), rate}
	return nil
}
func (f *fakes) Nodes() []string { return f.nodes }
func (f *fakes) Leader(context.Context) (string, error) {
	if f.leader == "" {
		return "", errors.New("no majority names a leader")
	}
	return f.leader, nil
}
func (f *fakes) Record(e history.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
	return nil
}

func (f *fakes) env() nemesis.Env {
	return nemesis.Env{Net: f, Proc: f, Clock: f, Cluster: f, Record: f.Record}
}

func schedule(t *testing.T, s string) nemesis.Schedule {
	t.Helper()
	sc, err := nemesis.ParseSchedule([]byte(s), []string{"n1", "n2", "n3"})
	require.NoError(t, err)
	return sc
}

// unmarshal decodes an event's value.
func unmarshal[V any](t *testing.T, raw json.RawMessage) V {
	t.Helper()
	var v V
	require.NoError(t, json.Unmarshal(raw, &v), "%s", raw)
	return v
}

func TestRunRecordsWhatItDid(t *testing.T) {
	f := newFakes()
	n := nemesis.New(f.env())
	err := n.Run(context.Background(), schedule(t, `[
		{"at":"0s","f":"start-partition","value":{"strategy":"leader"}},
		{"at":"1ms","f":"stop-partition"},
		{"at":"2ms","f":"kill","value":{"strategy":"leader"}},
		{"at":"3ms","f":"start"},
		{"at":"4ms","f":"pause","value":{"nodes":["n1"]}},
		{"at":"5ms","f":"clock-bump","value":{"deltas":{"n2":"5s","n3":"-250ms"}}},
		{"at":"6ms","f":"clock-bump","value":{"deltas":{"n2":"1s"}}},
		{"at":"7ms","f":"start-loss","value":{"links":[{"from":"n1","to":"n2"}],"percent":50}},
		{"at":"8ms","f":"start-delay","value":{"links":[{"from":"n1","to":"n2"}],"delay":"10ms"}}
	]`))
	// The delay fails (the fake refuses it like nft without netem); the run goes on and reports it.
	assert.ErrorIs(t, err, nemesis.ErrUnsupported, "Run should return the delay's ErrUnsupported")
	require.Len(t, f.events, 18, "2 events per op: %v", f.events)
	for i, e := range f.events {
		assert.Equal(t, history.NemesisProcess, e.Process, "event %d", i)
		assert.Equal(t, history.Info, e.Type, "event %d", i)
	}
	part := unmarshal[nemesis.PartitionValue](t, f.events[1].Value)
	assert.Equal(t, "n2", part.Leader, "start-partition leader recorded %s", f.events[1].Value)
	assert.Equal(t, nemesis.Isolate(f.nodes, "n2"), part.Grudge)
	kill := unmarshal[nemesis.NodesValue](t, f.events[5].Value)
	assert.Equal(t, "n2", kill.Leader, "kill leader recorded %s", f.events[5].Value)
	assert.Equal(t, []string{"n2"}, kill.Nodes)
	start := unmarshal[nemesis.NodesValue](t, f.events[7].Value)
	assert.Equal(t, []string{"n2"}, start.Nodes, "start with no nodes should restart what was killed")
	assert.False(t, f.down["n2"], "n2 still down after start")
	bump := unmarshal[nemesis.ClockValue](t, f.events[13].Value)
	assert.Equal(t, int64(6*time.Second), bump.OffsetsNS["n2"], "bumps add up: %s", f.events[13].Value)
	assert.Empty(t, f.events[16].Error, "the delay as planned carries no error")
	assert.NotEmpty(t, f.events[17].Error, "the delay as done carries its error")

	require.NoError(t, n.HealAll(context.Background()))
	assert.Equal(t, 1, f.heals)
	assert.Empty(t, f.paused)
	assert.Zero(t, f.loss)
	for _, node := range []string{"n2", "n3"} {
		assert.Equal(t, [2]float64{0, 1}, f.clocks[node], "clock of %s after HealAll", node)
	}
	last := f.events[len(f.events)-1]
	assert.Equal(t, nemesis.FHeal, last.F)
	heal := unmarshal[nemesis.HealValue](t, last.Value)
	assert.Equal(t, []string{"n1"}, heal.Resumed)
	assert.Equal(t, []string{"n2", "n3"}, heal.ClocksReset)
	// Idempotent, and the nemesis is stopped: Run does nothing more.
	assert.NoError(t, n.HealAll(context.Background()), "second HealAll")
	before := len(f.events)
	_ = n.Run(context.Background(), schedule(t, `[{"at":"0s","f":"kill","value":{"nodes":["n1"]}}]`))
	assert.Len(t, f.events, before, "Run recorded after HealAll")
	assert.False(t, f.down["n1"], "Run acted after HealAll")
}

// TestFollowersKillLeavesTheLeaderLast: the followers strategy kills n/2+1 nodes other than the leader (those after
// it in the ring), a kill of every node then kills only the rest, a start of the followers restarts those it
// killed, and a plain start the rest. When no leader is named, the followers kill does nothing, and a later start
// of the followers does not restart an earlier kill's followers.
func TestFollowersKillLeavesTheLeaderLast(t *testing.T) {
	f := newFakes()
	f.nodes, f.leader = []string{"n1", "n2", "n3", "n4", "n5"}, "n4"
	n := nemesis.New(f.env())
	step := func(op string, down ...string) nemesis.NodesValue {
		t.Helper()
		require.NoError(t, n.Run(context.Background(), schedule5(t, "["+op+"]")))
		got := []string{}
		for _, node := range f.nodes {
			if f.down[node] {
				got = append(got, node)
			}
		}
		assert.Equal(t, append([]string{}, down...), got, "down after %s", op)
		e := f.events[len(f.events)-1]
		assert.Empty(t, e.Error, "%s", op)
		return unmarshal[nemesis.NodesValue](t, e.Value)
	}
	v := step(`{"at":"0s","f":"kill","value":{"strategy":"followers"}}`, "n1", "n2", "n5")
	assert.Equal(t, nemesis.NodesValue{Strategy: nemesis.NodesFollowers, Leader: "n4", Nodes: []string{"n1", "n2", "n5"}}, v)
	v = step(`{"at":"0s","f":"kill","value":{"strategy":"all","nodes":["n1","n2","n3","n4","n5"]}}`, "n1", "n2", "n3", "n4", "n5")
	assert.Equal(t, []string{"n3", "n4"}, v.Nodes, "the rest, and only the rest, are killed and recorded")
	v = step(`{"at":"0s","f":"start","value":{"strategy":"followers"}}`, "n3", "n4")
	assert.Equal(t, []string{"n1", "n2", "n5"}, v.Nodes)
	assert.Equal(t, []string{"n3", "n4"}, slices.Sorted(maps.Keys(n.Down())), "the nemesis knows which are down")
	step(`{"at":"0s","f":"start"}`)

	f.leader = "n9" // a target that names a leader outside the cluster: refused, not a panic, nothing killed
	require.Error(t, n.Run(context.Background(), schedule5(t, `[{"at":"0s","f":"kill","value":{"strategy":"followers"}}]`)))
	assert.Contains(t, f.events[len(f.events)-1].Error, `named "n9" as its leader, which is none of its nodes`)
	assert.Empty(t, f.down)

	f.leader = ""
	require.NoError(t, n.Run(context.Background(), schedule5(t, `[{"at":"0s","f":"kill","value":{"strategy":"followers"}}]`)))
	assert.Contains(t, f.events[len(f.events)-1].Error, "no leader")
	step(`{"at":"0s","f":"kill","value":{"nodes":["n1"]}}`, "n1")
	v = step(`{"at":"0s","f":"start","value":{"strategy":"followers"}}`, "n1")
	assert.Empty(t, v.Nodes, "a followers kill that found no leader has no followers to restart")
}

// schedule5 parses a schedule on five nodes.
func schedule5(t *testing.T, s string) nemesis.Schedule {
	t.Helper()
	sc, err := nemesis.ParseSchedule([]byte(s), []string{"n1", "n2", "n3", "n4", "n5"})
	require.NoError(t, err)
	return sc
}

func TestHealAllReportsFailuresAndRetries(t *testing.T) {
	f := newFakes()
	f.failStart["n3"] = 1
	n := nemesis.New(f.env())
	require.NoError(t, n.Run(context.Background(), schedule(t, `[{"at":"0s","f":"kill","value":{"nodes":["n1","n3"]}}]`)))
	err := n.HealAll(context.Background())
	require.ErrorContains(t, err, "start n3: docker: no such volume", "HealAll hid a failed restart")
	assert.False(t, f.down["n1"], "n1 down after the first HealAll")
	assert.True(t, f.down["n3"], "n3 up after a failed restart")
	e := f.events[len(f.events)-1]
	assert.Equal(t, nemesis.FHeal, e.F)
	assert.Contains(t, e.Error, "start n3", "the heal event carries the failure")
	require.NoError(t, n.HealAll(context.Background()), "second HealAll")
	assert.False(t, f.down["n3"], "second HealAll did not retry the restart")
}

func TestRunStopsWithItsContextAndOnNoLeader(t *testing.T) {
	f := newFakes()
	f.leader = ""
	n := nemesis.New(f.env())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := n.Run(ctx, schedule(t, `[
		{"at":"0s","f":"pause","value":{"strategy":"leader"}},
		{"at":"1h","f":"kill","value":{"nodes":["n1"]}}]`))
	assert.Less(t, time.Since(start), 5*time.Second, "Run did not return when its context ended")
	assert.NoError(t, err, "a missing leader is recorded, not a nemesis failure")
	require.Len(t, f.events, 2)
	assert.Contains(t, f.events[1].Error, "no leader")
	assert.Empty(t, f.paused)
}

func TestStrobeFlipsAndEndsAtBase(t *testing.T) {
	f := newFakes()
	n := nemesis.New(f.env())
	require.NoError(t, n.Run(context.Background(), schedule(t, `[
		{"at":"0s","f":"clock-strobe","value":{"nodes":["n1"],"delta":"2s","period":"5ms","for":"40ms"}}]`)))
	v := unmarshal[nemesis.ClockValue](t, f.events[1].Value)
	assert.GreaterOrEqual(t, v.Flips, 4, "strobe recorded %s", f.events[1].Value)
	assert.Zero(t, v.OffsetsNS["n1"], "strobe recorded %s", f.events[1].Value)
	assert.Equal(t, [2]float64{0, 1}, f.clocks["n1"])
}

func TestHealAllDuringRunStopsIt(t *testing.T) {
	f := newFakes()
	n := nemesis.New(f.env())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- n.Run(ctx, schedule(t, `[
			{"at":"0s","f":"clock-strobe","value":{"nodes":["n1"],"delta":"3s","period":"5ms","for":"1h"}},
			{"at":"0s","f":"kill","value":{"nodes":["n2"]}}]`))
	}()
	time.Sleep(50 * time.Millisecond) // the strobe is running
	cancel()
	require.NoError(t, n.HealAll(context.Background()))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "Run did not return after cancel and HealAll")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.False(t, f.down["n2"], "n2 down after HealAll")
	assert.Equal(t, [2]float64{0, 1}, f.clocks["n1"], "n1's clock after HealAll")
}

// bootingClock is a Clock whose nodes refuse connections while they are down, and for a few attempts after
// they are started again, as a restarted process does until it listens.
type bootingClock struct {
	*fakes
	booting map[string]int // node -> refusals left after its start
}

func (b *bootingClock) Start(ctx context.Context, n string) error {
	b.mu.Lock()
	b.booting[n] = 3
	b.mu.Unlock()
	return b.fakes.Start(ctx, n)
}

func (b *bootingClock) SetClock(ctx context.Context, n string, off time.Duration, rate float64) error {
	b.mu.Lock()
	if b.down[n] || b.booting[n] > 0 {
		b.booting[n]--
		b.mu.Unlock()
		return fmt.Errorf("dial %s: connection refused", n)
	}
	b.mu.Unlock()
	return b.fakes.SetClock(ctx, n, off, rate)
}

// TestHealAllResetsTheClockOfANodeItRestarts: a node whose clock was bumped and which was then killed is
// started by HealAll, and its clock endpoint answers only once the new process listens. HealAll waits for it
// rather than reporting the refused connection as a failure to heal.
func TestHealAllResetsTheClockOfANodeItRestarts(t *testing.T) {
	f := newFakes()
	b := &bootingClock{fakes: f, booting: map[string]int{}}
	n := nemesis.New(nemesis.Env{Net: f, Proc: b, Clock: b, Cluster: f, Record: f.Record})
	err := n.Run(context.Background(), schedule(t, `[
		{"at":"0s","f":"clock-bump","value":{"deltas":{"n1":"5s"}}},
		{"at":"0s","f":"kill","value":{"nodes":["n1"]}},
		{"at":"0s","f":"clock-bump","value":{"deltas":{"n1":"1s"}}}]`))
	require.ErrorContains(t, err, "connection refused", "a bump of a killed node should fail")
	require.NoError(t, n.HealAll(context.Background()))
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.False(t, f.down["n1"], "n1 down after HealAll")
	assert.Equal(t, [2]float64{0, 1}, f.clocks["n1"], "n1's clock after HealAll")
}

// TestHealAllSkipsTheClockOfANodeItCouldNotRestart: no process, no clock to reset; HealAll reports the failed
// restart at once instead of also waiting ClockResetWait for a node that cannot answer, and resets the clock
// when a later HealAll restarts the node.
func TestHealAllSkipsTheClockOfANodeItCouldNotRestart(t *testing.T) {
	f := newFakes()
	f.failStart["n3"] = 1
	b := &bootingClock{fakes: f, booting: map[string]int{}}
	n := nemesis.New(nemesis.Env{Net: f, Proc: b, Clock: b, Cluster: f, Record: f.Record})
	require.NoError(t, n.Run(context.Background(), schedule(t, `[
		{"at":"0s","f":"clock-bump","value":{"deltas":{"n3":"5s"}}},
		{"at":"0s","f":"kill","value":{"nodes":["n3"]}}]`)))
	t0 := time.Now()
	err := n.HealAll(context.Background())
	require.ErrorContains(t, err, "start n3")
	assert.NotContains(t, err.Error(), "reset clock", "want only the failed restart")
	assert.LessOrEqual(t, time.Since(t0), nemesis.ClockResetWait/2, "HealAll waited for a node it could not restart")
	require.NoError(t, n.HealAll(context.Background()), "second HealAll")
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.False(t, f.down["n3"], "n3 down after the second HealAll")
	assert.Equal(t, [2]float64{0, 1}, f.clocks["n3"], "n3's clock after the second HealAll")
}
