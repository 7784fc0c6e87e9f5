package harness_test

// Bite helpers for clusters the harness attaches to (attach_test.go): a partition and a kill, applied through
// nemesis.Run on a real 3-node Paxos cluster, must change what the cluster does, and HealAll must undo it. The
// runtimes' own clusters are checked, every fault kind and strategy, by the conformance suite
// (internal/runtimetest, run by TestConformance in harness/docker and harness/local).

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/netnstest"
	"github.com/skeptic-dev/skeptic/internal/runtimetest"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
)

// faultCluster is a running 3-node cluster with what the bite tests need to act on it and look at it.
type faultCluster struct {
	name   string
	c      cluster.Cluster
	target targets.Target
	ids    []string
	urls   map[string]string
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
		Net: fc.c.Net(), Proc: fc.c.Proc(), Clock: runtimetest.AdminClock(fc.urls), Cluster: runtimetest.AdminCluster(fc.ids, fc.urls),
		Record: func(e history.Event) error {
			fc.mu.Lock()
			defer fc.mu.Unlock()
			fc.events = append(fc.events, e)
			return nil
		},
	}
}

// run applies a schedule of ops (all at once, in order) and fails the test on any error.
func (fc *faultCluster) run(t *testing.T, n *nemesis.Nemesis, ops ...nemesis.Op) {
	t.Helper()
	require.NoError(t, nemesis.Schedule(ops).Validate(fc.ids))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, n.Run(ctx, ops), "%s: nemesis", fc.name)
}

func heal(t *testing.T, n *nemesis.Nemesis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, n.HealAll(ctx), "HealAll")
	require.NoError(t, n.HealAll(ctx), "second HealAll")
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
			require.FailNow(t, fmt.Sprintf("%s: not within %s: %s", what, d, why))
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
	require.NoError(t, err)
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
	require.NoError(t, err, "the harness cannot reach the isolated node %s", l)
	assert.NotEqual(t, l2, st.Leader, "isolated %s knows the new leader %s: its peers reached it", l, l2)
	if fc.datagrams != nil {
		for _, o := range rest {
			a, b := fc.datagrams(t, l, o, burst), fc.datagrams(t, o, l, burst)
			assert.Zero(t, a, "isolated %s: %d/%d datagrams reached %s", l, a, burst, o)
			assert.Zero(t, b, "isolated %s: %d/%d datagrams came back from %s", l, b, burst, o)
		}
	}
	out := fc.do(t, l, targets.Op{F: targets.FWrite, Key: "p1", Value: 12})
	assert.NotEqual(t, history.Ok, out.Type, "a write through the isolated %s committed: %+v", l, out)
	heal(t, n)
	fc.agreed(t, fc.ids, 20*time.Second)
	fc.write(t, l, "p1", 13, 20*time.Second)
	fc.readIs(t, l, "p1", 13, 10*time.Second)
}

// burst is the number of datagrams of a direction probe.
const burst = 20

// biteKill kills every node: all processes are gone and nothing answers; the nemesis starts them again and
// they still hold what was written before, which only their data dirs (volumes) can have kept.
func biteKill(t *testing.T, fc *faultCluster) {
	fc.write(t, fc.ids[0], "durable", 77, 20*time.Second)
	n := nemesis.New(fc.env())
	fc.run(t, n, op(nemesis.FKill, nemesis.NodesValue{Strategy: nemesis.NodesMajority, Nodes: fc.ids}))
	for _, id := range fc.ids {
		assert.False(t, fc.running(id), "killed %s still has a process", id)
		_, err := fc.status(id)
		assert.Error(t, err, "killed %s answered", id)
	}
	fc.run(t, n, op(nemesis.FStart, nil))
	fc.agreed(t, fc.ids, 30*time.Second)
	for _, id := range fc.ids {
		assert.True(t, fc.running(id), "restarted %s has no process", id)
		fc.readIs(t, id, "durable", 77, 20*time.Second)
	}
	heal(t, n)
}

// --- the runtimes ---

// nodeBinary returns a static skeptic binary, whose `node` command is the Paxos node.
func nodeBinary(t *testing.T) string { return testbin.Skeptic(t) }

func newFaultCluster(name string, c cluster.Cluster, target targets.Target) *faultCluster {
	fc := &faultCluster{name: name, c: c, target: target, urls: map[string]string{}}
	for _, n := range c.Nodes() {
		fc.ids = append(fc.ids, n.ID)
		fc.urls[n.ID] = n.ClientURL
	}
	return fc
}

// udpProbes sends n datagrams from inside from's container, from its cluster address, to inside to's container
// (runtimetest.ProbeUDP), and returns how many arrived.
func udpProbes(t *testing.T, pid func(string) (int, error), ips map[string]netip.Addr, from, to string, n int) int {
	t.Helper()
	fromPID, err := pid(from)
	require.NoError(t, err)
	toPID, err := pid(to)
	require.NoError(t, err)
	p, err := runtimetest.ProbeUDP(context.Background(), netnstest.OfPID(fromPID), netnstest.OfPID(toPID), ips[from], ips[to], n, time.Second)
	require.NoError(t, err, "probe %s->%s", from, to)
	return p.Arrived
}
