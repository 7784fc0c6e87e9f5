package harness_test

// Bite tests: every fault of the nemesis, applied through nemesis.Run on a real 3-node Paxos cluster on BOTH
// runtimes (Docker containers with nftables rules in their namespaces; local processes behind the netproxy
// mesh), must change what the cluster does, and HealAll must undo it. Nothing here is faked: the nodes are the
// skeptic Paxos node, the faults are real rules, signals and clock settings, and the evidence is what the
// nodes answer on /admin/status and /kv, or what real probes on the nodes' own peer paths see.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/harness/local"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/netnstest"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// faultCluster is a running 3-node cluster with what the bite tests need to act on it and look at it.
type faultCluster struct {
	name   string
	c      cluster.Cluster
	target targets.Target
	ids    []string
	urls   map[string]string
	// probeLoss sends a burst of n probes on the real peer path from -> to and returns how many arrived.
	probeLoss func(t *testing.T, from, to string, n int) int
	// datagrams (docker only) sends n UDP datagrams between the nodes' namespaces and returns how many arrived.
	datagrams func(t *testing.T, from, to string, n int) int
	// running reports whether node id has a process.
	running func(id string) bool

	mu     sync.Mutex
	events []history.Event
}

// env is the nemesis's view of the cluster: the runtime's Net and Proc, the target's admin endpoints for the
// clock and the leader, and a recorder that keeps the events for the test to read.
func (fc *faultCluster) env() nemesis.Env {
	return nemesis.Env{
		Net: fc.c.Net(), Proc: fc.c.Proc(), Clock: adminClock{fc.urls}, Cluster: adminCluster{fc.ids, fc.urls},
		Record: func(e history.Event) error {
			fc.mu.Lock()
			defer fc.mu.Unlock()
			fc.events = append(fc.events, e)
			return nil
		},
	}
}

// adminClock is nemesis.Clock through POST /admin/clock, as the harness implements it.
type adminClock struct{ urls map[string]string }

func (a adminClock) SetClock(ctx context.Context, node string, off time.Duration, rate float64) error {
	return httpkv.SetClock(ctx, a.urls[node], off, rate)
}

// adminCluster is nemesis.Cluster through GET /admin/status: the leader a majority names.
type adminCluster struct {
	ids  []string
	urls map[string]string
}

func (a adminCluster) Nodes() []string { return a.ids }

func (a adminCluster) Leader(ctx context.Context) (string, error) {
	votes := map[string]int{}
	for _, id := range a.ids {
		if st, err := httpkv.Status(ctx, a.urls[id]); err == nil && st.Leader != "" {
			votes[st.Leader]++
		}
	}
	for l, v := range votes {
		if v > len(a.ids)/2 {
			return l, nil
		}
	}
	return "", fmt.Errorf("no majority names a leader: %v", votes)
}

// run applies a schedule of ops (all at once, in order) and fails the test on any error.
func (fc *faultCluster) run(t *testing.T, n *nemesis.Nemesis, ops ...nemesis.Op) {
	t.Helper()
	if err := nemesis.Schedule(ops).Validate(fc.ids); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.Run(ctx, ops); err != nil {
		t.Fatalf("%s: nemesis: %v", fc.name, err)
	}
}

func heal(t *testing.T, n *nemesis.Nemesis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.HealAll(ctx); err != nil {
		t.Fatalf("HealAll: %v", err)
	}
	if err := n.HealAll(ctx); err != nil {
		t.Fatalf("second HealAll: %v", err)
	}
}

func op(f string, v any) nemesis.Op {
	o := nemesis.Op{F: f}
	if v != nil {
		b, _ := json.Marshal(v)
		o.Value = b
	}
	return o
}

// status asks node id for its status within a second.
func (fc *faultCluster) status(id string) (httpkv.StatusInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return httpkv.Status(ctx, fc.urls[id])
}

// eventually polls cond every 100ms until it holds or d passes, then fails with cond's last word.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, d, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// agreed waits until every node of ids answers and names the same leader, and returns it.
func (fc *faultCluster) agreed(t *testing.T, ids []string, d time.Duration) string {
	t.Helper()
	return fc.agreedNot(t, ids, "", d)
}

// agreedNot waits until every node of ids answers and names the same leader other than not, and returns it.
func (fc *faultCluster) agreedNot(t *testing.T, ids []string, not string, d time.Duration) string {
	t.Helper()
	var leader string
	eventually(t, d, fmt.Sprintf("%v agree on a leader other than %q", ids, not), func() (bool, string) {
		seen := map[string]string{}
		for _, id := range ids {
			st, err := fc.status(id)
			if err != nil {
				return false, fmt.Sprintf("%s: %v", id, err)
			}
			seen[id] = st.Leader
		}
		leader = seen[ids[0]]
		for _, id := range ids {
			if seen[id] != leader || leader == "" || leader == not {
				return false, fmt.Sprintf("leaders %v", seen)
			}
		}
		return true, ""
	})
	return leader
}

// do performs one operation through node id with a 2s timeout.
func (fc *faultCluster) do(t *testing.T, id string, o targets.Op) targets.Outcome {
	t.Helper()
	var node targets.Node
	for _, n := range fc.c.Nodes() {
		if n.ID == id {
			node = n
		}
	}
	cl, err := fc.target.NewClient(node)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return cl.Do(ctx, o)
}

// write writes key=v through id, retrying until it is ok.
func (fc *faultCluster) write(t *testing.T, id, key string, v int64, d time.Duration) {
	t.Helper()
	eventually(t, d, fmt.Sprintf("write %s=%d through %s", key, v, id), func() (bool, string) {
		out := fc.do(t, id, targets.Op{F: targets.FWrite, Key: key, Value: v})
		return out.Type == history.Ok, fmt.Sprintf("%+v", out)
	})
}

// read waits until a read of key through id is ok and returns v.
func (fc *faultCluster) readIs(t *testing.T, id, key string, v int64, d time.Duration) {
	t.Helper()
	eventually(t, d, fmt.Sprintf("read %s through %s gives %d", key, id, v), func() (bool, string) {
		out := fc.do(t, id, targets.Op{F: targets.FRead, Key: key})
		return out.Type == history.Ok && out.Value != nil && *out.Value == v, fmt.Sprintf("%+v", out)
	})
}

func others(ids []string, x string) []string {
	var out []string
	for _, id := range ids {
		if id != x {
			out = append(out, id)
		}
	}
	return out
}

// TestFaultsBiteLocal and TestFaultsBiteDocker run the same bite tests on each runtime.
func TestFaultsBiteLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Paxos cluster")
	}
	biteTests(t, startLocal(t))
}

func TestFaultsBiteDocker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Paxos cluster")
	}
	biteTests(t, startDocker(t))
}

func biteTests(t *testing.T, fc *faultCluster) {
	fc.agreed(t, fc.ids, 30*time.Second)
	fc.write(t, fc.ids[0], "warmup", 1, 20*time.Second)
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, *faultCluster)
	}{
		{"partition-one", bitePartitionOne},
		{"one-way", biteOneWay},
		{"pause", bitePause},
		{"clock", biteClock},
		{"loss", biteLoss},
		{"kill", biteKill},
		{"generated", runGenerated},
	} {
		if !t.Run(tc.name, func(t *testing.T) { tc.fn(t, fc) }) {
			// A failed fault test may leave the cluster in any state; heal before the next one.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_ = fc.c.Net().Heal(ctx)
			for _, id := range fc.ids {
				_ = fc.c.Proc().Resume(ctx, id)
				_ = fc.c.Proc().Start(ctx, id)
				_ = httpkv.SetClock(ctx, fc.urls[id], 0, 1)
			}
			cancel()
		}
	}
}

// bitePartitionOne isolates the leader: the two others elect a leader without it and keep committing, the
// isolated node never hears of that leader, the harness still reaches it, and after HealAll all three agree
// again and the isolated node serves writes.
func bitePartitionOne(t *testing.T, fc *faultCluster) {
	l := fc.agreed(t, fc.ids, 20*time.Second)
	rest := others(fc.ids, l)
	n := nemesis.New(fc.env())
	fc.run(t, n, op(nemesis.FStartPartition, nemesis.PartitionValue{Strategy: nemesis.PartOne,
		Grudge: nemesis.Isolate(fc.ids, l)}))
	l2 := fc.agreedNot(t, rest, l, 20*time.Second)
	fc.write(t, l2, "p1", 11, 10*time.Second)
	st, err := fc.status(l)
	if err != nil {
		t.Fatalf("the harness cannot reach the isolated node %s: %v", l, err)
	}
	if st.Leader == l2 {
		t.Errorf("isolated %s knows the new leader %s: its peers reached it", l, l2)
	}
	if fc.datagrams != nil {
		for _, o := range rest {
			if a, b := fc.datagrams(t, l, o, burst), fc.datagrams(t, o, l, burst); a != 0 || b != 0 {
				t.Errorf("isolated %s: %d/%d datagrams reached %s, %d/%d came back", l, a, burst, o, b, burst)
			}
		}
	}
	if out := fc.do(t, l, targets.Op{F: targets.FWrite, Key: "p1", Value: 12}); out.Type == history.Ok {
		t.Errorf("a write through the isolated %s committed: %+v", l, out)
	}
	heal(t, n)
	fc.agreed(t, fc.ids, 20*time.Second)
	fc.write(t, l, "p1", 13, 20*time.Second)
	fc.readIs(t, l, "p1", 13, 10*time.Second)
}

// biteOneWay mutes the leader (every other node drops its packets; it still hears them). On both runtimes the
// others elect a new leader. Then each runtime shows that only one direction is cut in its own terms:
//
//   - docker: datagrams between the containers, on the rules the nemesis installed, arrive from the others at
//     the muted node and never from it. (A TCP connection needs both directions, so at the packet level a
//     one-way cut stops TCP both ways, as on a real network and in Jepsen; only datagrams show the direction.)
//   - local: the mesh cuts messages, not packets, and the Paxos transport sends each direction on its own
//     connection, so the muted node still hears the others and learns the new leader, which an isolated node
//     (bitePartitionOne) never does.
func biteOneWay(t *testing.T, fc *faultCluster) {
	l := fc.agreed(t, fc.ids, 20*time.Second)
	rest := others(fc.ids, l)
	g := nemesis.Grudge{}
	for _, id := range rest {
		g[id] = []string{l}
	}
	n := nemesis.New(fc.env())
	fc.run(t, n, op(nemesis.FStartPartition, nemesis.PartitionValue{Grudge: g}))
	l2 := fc.agreedNot(t, rest, l, 20*time.Second)
	if fc.datagrams != nil {
		for _, o := range rest {
			if got := fc.datagrams(t, l, o, burst); got != 0 {
				t.Errorf("%d/%d datagrams from the muted %s reached %s", got, burst, l, o)
			}
			if got := fc.datagrams(t, o, l, burst); got != burst {
				t.Errorf("only %d/%d datagrams from %s reached the muted %s", got, burst, o, l)
			}
		}
	} else {
		eventually(t, 20*time.Second, fmt.Sprintf("muted %s hears of the new leader %s", l, l2), func() (bool, string) {
			st, err := fc.status(l)
			if err != nil {
				return false, err.Error()
			}
			return st.Leader == l2, fmt.Sprintf("%s names %q", l, st.Leader)
		})
	}
	heal(t, n)
	fc.agreed(t, fc.ids, 20*time.Second)
	if fc.datagrams != nil {
		for _, o := range rest {
			if got := fc.datagrams(t, l, o, burst); got != burst {
				t.Errorf("after HealAll %d/%d datagrams from %s reached %s", got, burst, l, o)
			}
		}
	}
}

// burst is the number of datagrams of a direction probe.
const burst = 20

// bitePause freezes a node: it stops answering the harness; after resume it answers again.
func bitePause(t *testing.T, fc *faultCluster) {
	x := fc.ids[1]
	n := nemesis.New(fc.env())
	fc.run(t, n, op(nemesis.FPause, nemesis.NodesValue{Strategy: nemesis.NodesOne, Nodes: []string{x}}))
	for range 3 {
		if st, err := fc.status(x); err == nil {
			t.Fatalf("paused %s answered: %+v", x, st)
		}
	}
	if !fc.running(x) {
		t.Errorf("paused %s has no process; pause must not kill", x)
	}
	fc.run(t, n, op(nemesis.FResume, nemesis.NodesValue{Nodes: []string{x}}))
	eventually(t, 10*time.Second, x+" answers after resume", func() (bool, string) {
		_, err := fc.status(x)
		return err == nil, fmt.Sprint(err)
	})
	heal(t, n)
}

// biteClock bumps and skews one node's clock; its /admin/status reports the exact offset and rate, and HealAll
// sets both back.
func biteClock(t *testing.T, fc *faultCluster) {
	x := fc.ids[2]
	n := nemesis.New(fc.env())
	fc.run(t, n,
		op(nemesis.FClockBump, nemesis.ClockValue{Deltas: map[string]nemesis.Duration{x: nemesis.Duration(5 * time.Second)}}),
		op(nemesis.FClockBump, nemesis.ClockValue{Deltas: map[string]nemesis.Duration{x: nemesis.Duration(-1500 * time.Millisecond)}}),
		op(nemesis.FClockSkew, nemesis.ClockValue{Rates: map[string]float64{x: 2}}))
	clock := func() (int64, float64) {
		st, err := fc.status(x)
		if err != nil {
			t.Fatal(err)
		}
		var off int64
		var rate float64
		_ = json.Unmarshal(st.Extra["clock_offset_ns"], &off)
		_ = json.Unmarshal(st.Extra["clock_rate"], &rate)
		return off, rate
	}
	if off, rate := clock(); off != int64(3500*time.Millisecond) || rate != 2 {
		t.Errorf("%s reports offset %dns rate %v, want 3.5s and 2 (bumps add up)", x, off, rate)
	}
	fc.mu.Lock()
	last := fc.events[len(fc.events)-1]
	fc.mu.Unlock()
	var v nemesis.ClockValue
	_ = json.Unmarshal(last.Value, &v)
	if last.F != nemesis.FClockSkew || v.OffsetsNS[x] != int64(3500*time.Millisecond) || v.Rates[x] != 2 {
		t.Errorf("history does not record what was set: %+v", last)
	}
	heal(t, n)
	if off, rate := clock(); off != 0 || rate != 1 {
		t.Errorf("after HealAll %s reports offset %dns rate %v", x, off, rate)
	}
}

// biteLoss drops 50% on one link: about half of a burst of 400 probes on that real peer path is lost, the
// reverse direction loses nothing, and after HealAll nothing is lost.
func biteLoss(t *testing.T, fc *faultCluster) {
	a, b := fc.ids[0], fc.ids[1]
	const probes = 400
	n := nemesis.New(fc.env())
	fc.run(t, n, op(nemesis.FStartLoss, nemesis.LinksValue{Links: []nemesis.Link{{From: a, To: b}}, Percent: 50}))
	got := fc.probeLoss(t, a, b, probes)
	lost := 100 * float64(probes-got) / probes
	t.Logf("%s: loss 50%% on %s->%s: %d/%d arrived (%.1f%% lost)", fc.name, a, b, got, probes, lost)
	if lost < 30 || lost > 70 {
		t.Errorf("loss 50%%: %.1f%% of %d probes lost, want 30..70%%", lost, probes)
	}
	if back := fc.probeLoss(t, b, a, probes); back != probes {
		t.Errorf("%s->%s has no loss, but %d/%d arrived", b, a, back, probes)
	}
	heal(t, n)
	if got := fc.probeLoss(t, a, b, probes); got != probes {
		t.Errorf("after HealAll %d/%d arrived", got, probes)
	}
}

// biteKill kills every node: all processes are gone and nothing answers; the nemesis starts them again and
// they still hold what was written before, which only their data dirs (volumes) can have kept.
func biteKill(t *testing.T, fc *faultCluster) {
	fc.write(t, fc.ids[0], "durable", 77, 20*time.Second)
	n := nemesis.New(fc.env())
	fc.run(t, n, op(nemesis.FKill, nemesis.NodesValue{Strategy: nemesis.NodesMajority, Nodes: fc.ids}))
	for _, id := range fc.ids {
		if fc.running(id) {
			t.Errorf("killed %s still has a process", id)
		}
		if _, err := fc.status(id); err == nil {
			t.Errorf("killed %s answered", id)
		}
	}
	fc.run(t, n, op(nemesis.FStart, nil))
	fc.agreed(t, fc.ids, 30*time.Second)
	for _, id := range fc.ids {
		if !fc.running(id) {
			t.Errorf("restarted %s has no process", id)
		}
		fc.readIs(t, id, "durable", 77, 20*time.Second)
	}
	heal(t, n)
}

// runGenerated runs a generated schedule with every fault kind and strategy, at a fast pace, on the real
// cluster: every op applies without error and is recorded as two events, HealAll leaves a cluster that agrees on
// a leader and serves writes through every node.
func runGenerated(t *testing.T, fc *faultCluster) {
	const seed = 20261126
	o, err := nemesis.ParseOptions(nemesis.Flags{Nemesis: "partition,kill,pause,clock,loss",
		Partition: "one,majority,majorities-ring,bridge,leader,one-way", Kill: "one,leader,minority,majority",
		Pause: "one,leader,minority", Clock: "bump,strobe,skew-rate,reset", Interval: 400 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s, err := nemesis.Generate(seed, fc.ids, 10*time.Second, o)
	if err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	before := len(fc.events)
	fc.mu.Unlock()
	n := nemesis.New(fc.env())
	fc.run(t, n, s...)
	heal(t, n)
	fc.mu.Lock()
	got := fc.events[before:]
	fc.mu.Unlock()
	if want := 2*len(s) + 4; len(got) != want { // two heal events per HealAll, called twice
		t.Errorf("seed %d: %d events for %d ops, want %d", seed, len(got), len(s), want)
	}
	fs := map[string]int{}
	for _, op := range s {
		fs[op.F]++
	}
	t.Logf("%s: seed %d: %d ops %v", fc.name, seed, len(s), fs)
	for _, e := range got {
		// A leader strategy that met a leaderless moment (just after a kill, say) is recorded and skipped.
		if e.Error != "" && !strings.Contains(e.Error, nemesis.ErrNoLeader.Error()) {
			t.Errorf("seed %d: %s failed: %s (value %s)", seed, e.F, e.Error, e.Value)
		}
	}
	fc.agreed(t, fc.ids, 30*time.Second)
	for i, id := range fc.ids {
		fc.write(t, id, "after-generated", int64(i), 20*time.Second)
		fc.readIs(t, id, "after-generated", int64(i), 10*time.Second)
	}
}

// --- the runtimes ---

// nodeBinary returns a static skeptic binary, whose `node` command is the Paxos node.
func nodeBinary(t *testing.T) string { return testbin.Skeptic(t) }

func newSpec(t *testing.T) (cluster.Spec, *bytes.Buffer) {
	t.Helper()
	target, err := paxos.New(paxos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	var log bytes.Buffer
	return cluster.Spec{RunID: "faults" + hex.EncodeToString(b), Target: target, Nodes: 3, Binary: nodeBinary(t),
		RunDir: t.TempDir(), Log: &log}, &log
}

func newFaultCluster(name string, c cluster.Cluster, target targets.Target) *faultCluster {
	fc := &faultCluster{name: name, c: c, target: target, urls: map[string]string{}}
	for _, n := range c.Nodes() {
		fc.ids = append(fc.ids, n.ID)
		fc.urls[n.ID] = n.ClientURL
	}
	return fc
}

func startLocal(t *testing.T) *faultCluster {
	spec, log := newSpec(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := local.New().StartCluster(ctx, spec)
	if err != nil {
		t.Fatalf("start local cluster: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	fc := newFaultCluster("local", c, spec.Target)
	fc.running = func(id string) bool { _, err := c.PID(id); return err == nil }
	fc.probeLoss = func(t *testing.T, from, to string, n int) int {
		return meshProbes(t, c.Mesh().Addr(from, to), n)
	}
	return fc
}

// meshProbes sends n probes through a mesh link to a Paxos node's real peer listener. Each probe is a frame
// header the node refuses (a length past its limit), so the node closes the connection: a probe that arrived
// comes back as a clean EOF through the reverse direction, and one the link lost comes back as a reset (the
// proxy's way of losing a chunk).
func meshProbes(t *testing.T, addr string, n int) int {
	t.Helper()
	arrived := 0
	for range n {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		hdr := binary.BigEndian.AppendUint32(nil, 0xFFFFFFFF)
		if _, err := c.Write(hdr); err != nil {
			t.Fatal(err)
		}
		_, err = bufio.NewReader(c).ReadByte()
		switch {
		case errors.Is(err, io.EOF):
			arrived++
		case errors.Is(err, syscall.ECONNRESET):
		default:
			t.Fatalf("probe through %s: %v, want EOF (arrived) or reset (lost)", addr, err)
		}
		_ = c.Close()
	}
	return arrived
}

func startDocker(t *testing.T) *faultCluster {
	if err := docker.Available(context.Background()); err != nil {
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			t.Fatalf("SKEPTIC_REQUIRE_DOCKER=1 but: %v", err)
		}
		t.Skip(err)
	}
	if os.Geteuid() != 0 {
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			t.Fatal("SKEPTIC_REQUIRE_DOCKER=1 but not root: the probes enter the containers' namespaces")
		}
		t.Skip("needs root to probe inside the containers' network namespaces")
	}
	rt, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	spec, log := newSpec(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := rt.StartCluster(ctx, spec)
	if err != nil {
		t.Fatalf("start docker cluster: %v\n%s", err, log)
	}
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	fc := newFaultCluster("docker", c, spec.Target)
	pid := func(id string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.PID(ctx, id)
	}
	fc.running = func(id string) bool { _, err := pid(id); return err == nil }
	ips := c.IPs()
	fc.datagrams = func(t *testing.T, from, to string, n int) int {
		return udpProbes(t, pid, ips, from, to, n)
	}
	fc.probeLoss = fc.datagrams
	return fc
}

// inNetNS runs fn on a thread inside the network namespace of pid; sockets fn opens belong there.
func inNetNS(pid int, fn func() error) error { return netnstest.In(netnstest.OfPID(pid), fn) }

// udpProbes sends n numbered datagrams from inside from's container, from its cluster address, to a socket
// inside to's container on its cluster address: the very path peer traffic takes, through the very rules the
// nemesis installed. It returns how many arrived.
func udpProbes(t *testing.T, pid func(string) (int, error), ips map[string]netip.Addr, from, to string, n int) int {
	t.Helper()
	open := func(id string) *net.UDPConn {
		p, err := pid(id)
		if err != nil {
			t.Fatal(err)
		}
		var c *net.UDPConn
		if err := inNetNS(p, func() (err error) {
			c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: ips[id].AsSlice()})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	srv, cli := open(to), open(from)
	defer srv.Close()
	defer cli.Close()
	_ = srv.SetReadBuffer(1 << 20)
	seen := map[string]bool{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			k, _, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			seen[string(buf[:k])] = true
		}
	}()
	dst := srv.LocalAddr().(*net.UDPAddr)
	for i := range n {
		if _, err := cli.WriteToUDP([]byte(fmt.Sprintf("probe-%d", i)), dst); err != nil {
			t.Fatalf("probe %s->%s: %v", from, to, err)
		}
		if i%25 == 24 {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	_ = srv.SetReadDeadline(time.Now())
	<-done
	return len(seen)
}
