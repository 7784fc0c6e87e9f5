package nemesis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
	if err != nil {
		t.Fatal(err)
	}
	return sc
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
	if !errors.Is(err, nemesis.ErrUnsupported) {
		t.Errorf("Run returned %v, want the delay's ErrUnsupported", err)
	}
	if len(f.events) != 18 {
		t.Fatalf("%d events, want 2 per op: %v", len(f.events), f.events)
	}
	for i, e := range f.events {
		if e.Process != history.NemesisProcess || e.Type != history.Info {
			t.Errorf("event %d: process %v type %v, want nemesis info", i, e.Process, e.Type)
		}
	}
	var part nemesis.PartitionValue
	_ = json.Unmarshal(f.events[1].Value, &part)
	if part.Leader != "n2" || !reflect.DeepEqual(part.Grudge, nemesis.Isolate(f.nodes, "n2")) {
		t.Errorf("start-partition leader recorded %s", f.events[1].Value)
	}
	var kill nemesis.NodesValue
	_ = json.Unmarshal(f.events[5].Value, &kill)
	if kill.Leader != "n2" || !slices.Equal(kill.Nodes, []string{"n2"}) {
		t.Errorf("kill leader recorded %s", f.events[5].Value)
	}
	var start nemesis.NodesValue
	_ = json.Unmarshal(f.events[7].Value, &start)
	if !slices.Equal(start.Nodes, []string{"n2"}) || f.down["n2"] {
		t.Errorf("start with no nodes should restart what was killed: %s, down %v", f.events[7].Value, f.down)
	}
	var bump nemesis.ClockValue
	_ = json.Unmarshal(f.events[13].Value, &bump)
	if bump.OffsetsNS["n2"] != int64(6*time.Second) {
		t.Errorf("second bump recorded %s, want n2 at 6s (bumps add up)", f.events[13].Value)
	}
	if f.events[17].Error == "" || f.events[16].Error != "" {
		t.Errorf("delay events: %+v %+v", f.events[16], f.events[17])
	}

	if err := n.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.heals != 1 || len(f.paused) != 0 || f.loss != 0 {
		t.Errorf("after HealAll: heals %d, paused %v, loss %v", f.heals, f.paused, f.loss)
	}
	for _, node := range []string{"n2", "n3"} {
		if f.clocks[node] != [2]float64{0, 1} {
			t.Errorf("clock of %s is %v after HealAll", node, f.clocks[node])
		}
	}
	last := f.events[len(f.events)-1]
	var heal nemesis.HealValue
	_ = json.Unmarshal(last.Value, &heal)
	if last.F != nemesis.FHeal || !slices.Equal(heal.Resumed, []string{"n1"}) ||
		!slices.Equal(heal.ClocksReset, []string{"n2", "n3"}) {
		t.Errorf("heal event %+v", last)
	}
	// Idempotent, and the nemesis is stopped: Run does nothing more.
	if err := n.HealAll(context.Background()); err != nil {
		t.Errorf("second HealAll: %v", err)
	}
	before := len(f.events)
	_ = n.Run(context.Background(), schedule(t, `[{"at":"0s","f":"kill","value":{"nodes":["n1"]}}]`))
	if len(f.events) != before || f.down["n1"] {
		t.Error("Run acted after HealAll")
	}
}

func TestHealAllReportsFailuresAndRetries(t *testing.T) {
	f := newFakes()
	f.failStart["n3"] = 1
	n := nemesis.New(f.env())
	if err := n.Run(context.Background(), schedule(t, `[{"at":"0s","f":"kill","value":{"nodes":["n1","n3"]}}]`)); err != nil {
		t.Fatal(err)
	}
	err := n.HealAll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start n3: docker: no such volume") {
		t.Fatalf("HealAll hid a failed restart: %v", err)
	}
	if f.down["n1"] || !f.down["n3"] {
		t.Errorf("down after first HealAll: %v", f.down)
	}
	if e := f.events[len(f.events)-1]; e.F != nemesis.FHeal || !strings.Contains(e.Error, "start n3") {
		t.Errorf("heal event does not carry the failure: %+v", e)
	}
	if err := n.HealAll(context.Background()); err != nil {
		t.Fatalf("second HealAll: %v", err)
	}
	if f.down["n3"] {
		t.Error("second HealAll did not retry the restart")
	}
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
	if time.Since(start) > 5*time.Second {
		t.Error("Run did not return when its context ended")
	}
	if err != nil {
		t.Errorf("Run returned %v: a missing leader is recorded, not a nemesis failure", err)
	}
	if len(f.events) != 2 || !strings.Contains(f.events[1].Error, "no leader") || len(f.paused) != 0 {
		t.Errorf("events %v paused %v", f.events, f.paused)
	}
}

func TestStrobeFlipsAndEndsAtBase(t *testing.T) {
	f := newFakes()
	n := nemesis.New(f.env())
	if err := n.Run(context.Background(), schedule(t, `[
		{"at":"0s","f":"clock-strobe","value":{"nodes":["n1"],"delta":"2s","period":"5ms","for":"40ms"}}]`)); err != nil {
		t.Fatal(err)
	}
	var v nemesis.ClockValue
	_ = json.Unmarshal(f.events[1].Value, &v)
	if v.Flips < 4 || v.OffsetsNS["n1"] != 0 || f.clocks["n1"] != [2]float64{0, 1} {
		t.Errorf("strobe recorded %s, clock %v", f.events[1].Value, f.clocks["n1"])
	}
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
	if err := n.HealAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel and HealAll")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down["n2"] || f.clocks["n1"] != [2]float64{0, 1} {
		t.Errorf("after HealAll: down %v, n1 clock %v", f.down, f.clocks["n1"])
	}
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
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a bump of a killed node should fail: %v", err)
	}
	if err := n.HealAll(context.Background()); err != nil {
		t.Fatalf("HealAll: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down["n1"] || f.clocks["n1"] != [2]float64{0, 1} {
		t.Errorf("after HealAll: down %v, n1 clock %v", f.down, f.clocks["n1"])
	}
}

// TestHealAllSkipsTheClockOfANodeItCouldNotRestart: no process, no clock to reset; HealAll reports the failed
// restart at once instead of also waiting ClockResetWait for a node that cannot answer, and resets the clock
// when a later HealAll restarts the node.
func TestHealAllSkipsTheClockOfANodeItCouldNotRestart(t *testing.T) {
	f := newFakes()
	f.failStart["n3"] = 1
	b := &bootingClock{fakes: f, booting: map[string]int{}}
	n := nemesis.New(nemesis.Env{Net: f, Proc: b, Clock: b, Cluster: f, Record: f.Record})
	if err := n.Run(context.Background(), schedule(t, `[
		{"at":"0s","f":"clock-bump","value":{"deltas":{"n3":"5s"}}},
		{"at":"0s","f":"kill","value":{"nodes":["n3"]}}]`)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err := n.HealAll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "start n3") || strings.Contains(err.Error(), "reset clock") {
		t.Fatalf("HealAll: %v; want only the failed restart", err)
	}
	if d := time.Since(t0); d > nemesis.ClockResetWait/2 {
		t.Errorf("HealAll took %s", d)
	}
	if err := n.HealAll(context.Background()); err != nil {
		t.Fatalf("second HealAll: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down["n3"] || f.clocks["n3"] != [2]float64{0, 1} {
		t.Errorf("after the second HealAll: down %v, n3 clock %v", f.down, f.clocks["n3"])
	}
}
