package core

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// cluster is a synchronous in-memory network of cores for scenario tests, in the manner of etcd raft's
// rafttest: messages wait in a queue until the test delivers them, and a drop filter cuts links.
type cluster struct {
	t       *testing.T
	ids     []NodeID
	cfg     func(id NodeID) Config
	nodes   map[NodeID]*Node
	disk    map[NodeID][]Record // records each node persisted, in order
	applied map[NodeID][]Entry  // Committed entries, in order
	snaps   map[NodeID]*Snapshot
	reads   map[NodeID][]ReadState
	queue   []Message
	down    map[NodeID]bool
	cut     map[[2]NodeID]bool
	log     strings.Builder
	verbose bool // log message contents and applied slots (scenario scripts)
}

func newCluster(t *testing.T, n int, tweak func(*Config)) *cluster {
	c := &cluster{t: t, nodes: map[NodeID]*Node{}, disk: map[NodeID][]Record{}, applied: map[NodeID][]Entry{},
		snaps: map[NodeID]*Snapshot{}, reads: map[NodeID][]ReadState{}, down: map[NodeID]bool{}, cut: map[[2]NodeID]bool{}}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, fmt.Sprintf("n%d", i))
	}
	seed := int64(1)
	c.cfg = func(id NodeID) Config {
		seed++
		cfg := Config{ID: id, Peers: c.ids, HeartbeatTicks: 2, ElectionTicks: 10, Rand: rand.New(rand.NewSource(seed)), MaxBatch: 4, MaxInflight: 8}
		if tweak != nil {
			tweak(&cfg)
		}
		return cfg
	}
	for _, id := range c.ids {
		nd, err := New(c.cfg(id), nil)
		require.NoError(t, err)
		// The cluster has been up for an election timeout: the boot-time promise refusal (leaseGuard) is over.
		nd.now = int64(nd.cfg.ElectionTicks)
		c.nodes[id] = nd
	}
	return c
}

// drain takes every node's Ready, persisting, queueing and applying as a driver would.
func (c *cluster) drain() {
	for _, id := range c.ids {
		nd := c.nodes[id]
		if c.down[id] || !nd.HasReady() {
			continue
		}
		rd := nd.Ready()
		if rd.Snapshot != nil {
			c.snaps[id] = rd.Snapshot
			c.applied[id] = nil
		}
		c.disk[id] = append(c.disk[id], rd.Records...)
		c.queue = append(c.queue, rd.Messages...)
		c.applied[id] = append(c.applied[id], rd.Committed...)
		if c.verbose {
			if rd.Snapshot != nil {
				fmt.Fprintf(&c.log, "%s installs snapshot@%d\n", id, rd.Snapshot.Slot)
			}
			for _, e := range rd.Committed {
				fmt.Fprintf(&c.log, "%s applies %d:%s\n", id, e.Slot, valueString(e.Value))
			}
			for _, r := range rd.ReadStates {
				fmt.Fprintf(&c.log, "%s read-state ctx=%d index=%d\n", id, r.Ctx, r.Index)
			}
		}
		c.reads[id] = append(c.reads[id], rd.ReadStates...)
		nd.Advance()
	}
}

// deliver delivers queued messages until none are left (or limit rounds), honouring cuts and crashed nodes.
func (c *cluster) deliver() {
	for range 1000 {
		c.drain()
		if len(c.queue) == 0 {
			return
		}
		q := c.queue
		c.queue = nil
		for _, m := range q {
			if c.down[m.From] || c.down[m.To] || c.cut[[2]NodeID{m.From, m.To}] {
				continue
			}
			c.logMsg(m)
			require.NoError(c.t, c.nodes[m.To].Step(m))
		}
	}
	require.FailNow(c.t, "messages did not quiesce")
}

func msgName(t MsgType) string {
	return [...]string{"?", "prepare", "promise", "accept", "accepted", "commit", "heartbeat", "heartbeat-resp",
		"catchup-req", "catchup-resp", "snapshot", "nack"}[t]
}

// tick ticks every live node k times, delivering after each tick.
func (c *cluster) tick(k int) {
	for range k {
		for _, id := range c.ids {
			if !c.down[id] {
				c.nodes[id].Tick(0)
			}
		}
		c.deliver()
	}
}

// campaign makes id start phase 1 now, by ticking it alone past its election timeout.
func (c *cluster) campaign(id NodeID) {
	nd := c.nodes[id]
	nd.electElapsed = nd.electTimeout - 1
	nd.Tick(0)
	require.Equal(c.t, candidate, nd.role)
	c.deliver()
}

func (c *cluster) isolate(id NodeID) {
	for _, o := range c.ids {
		if o != id {
			c.cut[[2]NodeID{id, o}] = true
			c.cut[[2]NodeID{o, id}] = true
		}
	}
}

func (c *cluster) heal() { c.cut = map[[2]NodeID]bool{} }

// crash stops id; restart brings it back from the records it persisted.
func (c *cluster) crash(id NodeID) { c.down[id] = true }

func (c *cluster) restart(id NodeID) {
	nd, err := New(c.cfg(id), c.disk[id])
	require.NoError(c.t, err)
	c.nodes[id] = nd
	c.applied[id] = nil
	c.snaps[id] = nil
	c.down[id] = false
}

func (c *cluster) leader() NodeID {
	for _, id := range c.ids {
		if !c.down[id] && c.nodes[id].role == leader {
			return id
		}
	}
	return ""
}

func cmd(client string, seq uint64, data string) Command {
	return Command{ID: CommandID{Client: client, Seq: seq}, Data: []byte(data)}
}

// values lists the applied commands of id as "slot:data" strings ("slot:-" for a no-op).
func (c *cluster) values(id NodeID) []string {
	var out []string
	for _, e := range c.applied[id] {
		if len(e.Value.Commands) == 0 {
			out = append(out, fmt.Sprintf("%d:-", e.Slot))
		}
		for _, cm := range e.Value.Commands {
			out = append(out, fmt.Sprintf("%d:%s", e.Slot, cm.Data))
		}
	}
	return out
}

func (c *cluster) requireAgree(ids ...NodeID) {
	for _, id := range ids[1:] {
		require.Equal(c.t, c.values(ids[0]), c.values(id), "%s and %s applied different logs\n%s", ids[0], id, c.log.String())
	}
	_ = slices.Clone(ids)
}

func valueString(v Value) string {
	if len(v.Commands) == 0 {
		return "-"
	}
	var ds []string
	for _, c := range v.Commands {
		ds = append(ds, string(c.Data))
	}
	return strings.Join(ds, ",")
}

func (c *cluster) logMsg(m Message) {
	fmt.Fprintf(&c.log, "%s->%s %s", m.From, m.To, msgName(m.Type))
	if !c.verbose {
		fmt.Fprintf(&c.log, " %v s%d\n", m.Ballot, m.Slot)
		return
	}
	if !m.Ballot.IsZero() {
		fmt.Fprintf(&c.log, " b=%v", m.Ballot)
	}
	if m.Slot != 0 {
		fmt.Fprintf(&c.log, " s=%d", m.Slot)
	}
	if m.Value != nil {
		fmt.Fprintf(&c.log, " v=%s", valueString(*m.Value))
	}
	for _, r := range m.Accepted {
		if r.Kind == RecChosen {
			fmt.Fprintf(&c.log, " chosen(%d:%s)", r.Slot, valueString(*r.Value))
			continue
		}
		fmt.Fprintf(&c.log, " accepted(%d:%s@%v)", r.Slot, valueString(*r.Value), r.Ballot)
	}
	for _, e := range m.Entries {
		fmt.Fprintf(&c.log, " [%d:%s]", e.Slot, valueString(e.Value))
	}
	if m.Snapshot != nil {
		fmt.Fprintf(&c.log, " snapshot@%d", m.Snapshot.Slot)
	}
	if m.Commit != 0 {
		fmt.Fprintf(&c.log, " commit=%d", m.Commit)
	}
	c.log.WriteString("\n")
}
