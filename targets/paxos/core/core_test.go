package core

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConfigValidation(t *testing.T) {
	good := func() Config {
		return Config{ID: "n1", Peers: []NodeID{"n1", "n2", "n3"}, HeartbeatTicks: 1, ElectionTicks: 10, Rand: rand.New(rand.NewSource(1))}
	}
	for _, tc := range []struct {
		name  string
		tweak func(*Config)
		err   string
	}{
		{"ok", func(*Config) {}, ""},
		{"id", func(c *Config) { c.ID = "" }, "ID"},
		{"peers", func(c *Config) { c.Peers = nil }, "Peers"},
		{"peers-dup", func(c *Config) { c.Peers = []NodeID{"n1", "n1"} }, "Peers"},
		{"peers-self", func(c *Config) { c.Peers = []NodeID{"n2", "n3"} }, "Peers"},
		{"heartbeat", func(c *Config) { c.HeartbeatTicks = 0 }, "HeartbeatTicks"},
		{"election", func(c *Config) { c.ElectionTicks = 1 }, "ElectionTicks"},
		{"rand", func(c *Config) { c.Rand = nil }, "Rand"},
		{"readmode", func(c *Config) { c.ReadMode = "fast" }, "ReadMode"},
		{"lease", func(c *Config) { c.ReadMode, c.LeaseTicks = ReadLease, 10 }, "LeaseTicks"},
		{"drift", func(c *Config) { c.DriftMargin = 1 }, "DriftMargin"},
		{"batch", func(c *Config) { c.MaxBatch = -1 }, "MaxBatch"},
		{"inflight", func(c *Config) { c.MaxInflight = -1 }, "MaxInflight"},
		{"flaw", func(c *Config) { c.Flaw = "bogus" }, "Flaw"},
		{"ticknanos", func(c *Config) { c.Flaw = FlawWallclockLease }, "TickNanos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.tweak(&cfg)
			_, err := New(cfg, nil)
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
		})
	}
}

func TestBallotOrder(t *testing.T) {
	ordered := []Ballot{{}, {1, "n1"}, {1, "n2"}, {2, "n1"}, {2, "n3"}, {10, "n1"}}
	for i := range ordered {
		for j := range ordered {
			require.Equal(t, i < j, ordered[i].Less(ordered[j]), "%v < %v", ordered[i], ordered[j])
		}
	}
	require.True(t, Ballot{}.IsZero())
	require.False(t, Ballot{Round: 1}.IsZero())
}

func TestElectAndCommit(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign("n1")
	require.Equal(t, "n1", c.leader())
	for _, id := range c.ids {
		require.Equal(t, "n1", c.nodes[id].Status().Leader, id)
	}
	require.NoError(t, c.nodes["n1"].Propose(cmd("a", 1, "x"), cmd("a", 2, "y")))
	c.deliver()
	c.tick(3) // heartbeats carry the commit index; nothing else should change
	c.requireAgree(c.ids...)
	require.Equal(t, []string{"1:x", "1:y"}, c.values("n1"))
	require.ErrorIs(t, c.nodes["n2"].Propose(cmd("a", 3, "z")), ErrNotLeader)
	require.Equal(t, "n1", c.nodes["n2"].Status().Leader)
}

// TestAcceptorRules walks an acceptor through phase 1 and phase 2 messages and the answers Paxos requires.
func TestAcceptorRules(t *testing.T) {
	c := newCluster(t, 3, nil)
	a := c.nodes["n2"]
	b := func(r uint64, n NodeID) Ballot { return Ballot{Round: r, Node: n} }
	v := func(s string) *Value { return &Value{Commands: []Command{cmd("c", 1, s)}} }
	steps := []struct {
		name string
		in   Message
		want []Message // type, ballot, slot of the answers
	}{
		{"prepare promises", Message{Type: MsgPrepare, From: "n1", Ballot: b(2, "n1"), Slot: 1},
			[]Message{{Type: MsgPromise, Ballot: b(2, "n1"), Slot: 1}}},
		{"lower prepare is refused with the promise", Message{Type: MsgPrepare, From: "n3", Ballot: b(1, "n3"), Slot: 1},
			[]Message{{Type: MsgNack, Ballot: b(2, "n1"), Slot: 1}}},
		{"same round, lower node is lower", Message{Type: MsgPrepare, From: "n3", Ballot: b(2, "n0"), Slot: 1},
			[]Message{{Type: MsgNack, Ballot: b(2, "n1"), Slot: 1}}},
		{"accept at the promise", Message{Type: MsgAccept, From: "n1", Ballot: b(2, "n1"), Slot: 1, Value: v("x")},
			[]Message{{Type: MsgAccepted, Ballot: b(2, "n1"), Slot: 1}}},
		{"accept below the promise is refused", Message{Type: MsgAccept, From: "n3", Ballot: b(1, "n3"), Slot: 2, Value: v("y")},
			[]Message{{Type: MsgNack, Ballot: b(2, "n1"), Slot: 2}}},
		// n1 is the leader n2 just heard from, so a higher prepare from n1 itself is not held off by the lease
		// guard; it reports slot 1's accepted value with its ballot.
		{"higher prepare reports accepted values", Message{Type: MsgPrepare, From: "n1", Ballot: b(3, "n1"), Slot: 1},
			[]Message{{Type: MsgPromise, Ballot: b(3, "n1"), Slot: 1, Accepted: []Record{{Kind: RecAccept, Ballot: b(2, "n1"), Slot: 1, Value: v("x")}}}}},
		{"another proposer is refused while the leader was heard recently", Message{Type: MsgPrepare, From: "n3", Ballot: b(4, "n3"), Slot: 1},
			nil},
	}
	for _, st := range steps {
		st.in.To = "n2"
		require.NoError(t, a.Step(st.in), st.name)
		rd := a.Ready()
		a.Advance()
		var got []Message
		for _, m := range rd.Messages {
			got = append(got, Message{Type: m.Type, Ballot: m.Ballot, Slot: m.Slot, Accepted: m.Accepted})
		}
		require.Equal(t, st.want, got, st.name)
	}
	// Durability: what n2 answered is in its records, and a restart from them keeps it.
	c.drain()
	st := a.Status()
	require.Equal(t, b(3, "n1"), st.Promised)
	rs := a.PersistentState()
	r, err := New(c.cfg("n2"), rs)
	require.NoError(t, err)
	require.Equal(t, b(3, "n1"), r.Status().Promised)
	require.Equal(t, *v("x"), r.accepts[1].value)
}

func TestStepRejectsMalformed(t *testing.T) {
	c := newCluster(t, 3, nil)
	a := c.nodes["n1"]
	bal := Ballot{Round: 1, Node: "n2"}
	for _, m := range []Message{
		{Type: 99, From: "n2", To: "n1", Ballot: bal},
		{Type: MsgPrepare, From: "n9", To: "n1", Ballot: bal, Slot: 1},
		{Type: MsgPrepare, From: "n2", To: "n3", Ballot: bal, Slot: 1},
		{Type: MsgPrepare, From: "n2", To: "n1", Slot: 1},
		{Type: MsgAccept, From: "n2", To: "n1", Ballot: bal, Slot: 1},
		{Type: MsgSnapshot, From: "n2", To: "n1"},
		{Type: MsgCommit, From: "n2", To: "n1", Entries: []Entry{{Slot: 0}}},
	} {
		require.Error(t, a.Step(m), "%+v", m)
	}
	require.False(t, a.HasReady() && len(a.Ready().Messages) > 0)
}

// TestNewLeaderReproposesAccepted is Paxos's repair of the seed's step 6: a value accepted by a minority, whose
// leader crashed before anyone learned it was chosen, is re-proposed by the next leader; and with the
// naive-tickets flaw it is not.
func TestNewLeaderReproposesAccepted(t *testing.T) {
	for _, tc := range []struct {
		flaw Flaw
		want []string
		acts uint64 // n3's Status().FlawActs once it leads
	}{
		{FlawNone, []string{"1:x", "2:y"}, 0},
		{FlawNaiveTickets, []string{"1:y"}, 1},
	} {
		t.Run(string(tc.flaw), func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) { cfg.Flaw = tc.flaw })
			c.campaign("n1")
			// The first phase 1 of a fresh cluster reports nothing, so the flaw has nothing to ignore.
			require.Zero(t, c.nodes["n1"].Status().FlawActs)
			// n1's Accept reaches n2 only, and n2's Accepted never gets back: x is chosen (n1 and n2 accepted it)
			// but nobody knows.
			c.cut[[2]NodeID{"n1", "n3"}] = true
			c.cut[[2]NodeID{"n2", "n1"}] = true
			require.NoError(t, c.nodes["n1"].Propose(cmd("a", 1, "x")))
			c.deliver()
			require.Empty(t, c.applied["n1"])
			c.crash("n1")
			c.heal()
			// n3 knows nothing of slot 1; it becomes leader with n2's promise, which reports x.
			c.nodes["n3"].now += 20 // n3 and n2 stop hearing n1
			c.nodes["n2"].now += 20
			c.campaign("n3")
			require.Equal(t, "n3", c.leader())
			// n2's promise reported x in slot 1; the naive leader ignored it (one slot: one act).
			st := c.nodes["n3"].Status()
			require.Equal(t, tc.acts, st.FlawActs, st.LastFlawAct)
			if tc.acts > 0 {
				require.Contains(t, st.LastFlawAct, "slot 1: phase 1 of ballot 2.n3 reported 1 command (a/1) accepted at ballot 1.n1")
			} else {
				require.Empty(t, st.LastFlawAct)
			}
			require.NoError(t, c.nodes["n3"].Propose(cmd("b", 1, "y")))
			c.deliver()
			require.Equal(t, tc.want, c.values("n3"), c.log.String())
			require.Zero(t, c.nodes["n2"].Status().FlawActs, "a follower never acts on naive-tickets")
			if tc.flaw == FlawNone {
				c.requireAgree("n2", "n3")
			}
		})
	}
}

// TestNaiveLeaderCountsCommittedSlotsItIgnores: a promise names its sender's commit index instead of listing the
// slots at or below it; the naive leader, which knows none of them, leaves them to new commands, and each is an
// act of the flaw (the correct leader fetches them). It steps down at the next heartbeat response, which shows
// the log past it, but the acts were counted when it took over.
func TestNaiveLeaderCountsCommittedSlotsItIgnores(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.Flaw = FlawNaiveTickets })
	c.campaign("n1")
	c.isolate("n3")
	for i := uint64(1); i <= 3; i++ {
		require.NoError(t, c.nodes["n1"].Propose(cmd("a", i, "x")))
		c.deliver()
	}
	c.tick(4) // a heartbeat tells n2 the commit index
	require.Equal(t, uint64(3), c.nodes["n2"].commit, c.log.String())
	c.crash("n1")
	c.heal()
	c.nodes["n3"].now += 100 // n3 and n2 stop hearing n1, past any lease
	c.nodes["n2"].now += 100
	c.campaign("n3")
	st := c.nodes["n3"].Status()
	require.Equal(t, uint64(3), st.FlawActs, st.LastFlawAct)
	require.Contains(t, st.LastFlawAct, "slot 3: phase 1 of ballot 2.n3 heard that n2 had chosen every slot up to 3; the leader ignored it")
}

func TestCatchupAfterPartition(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign("n1")
	c.isolate("n3")
	for i := uint64(1); i <= 10; i++ {
		require.NoError(t, c.nodes["n1"].Propose(cmd("a", i, string(rune('a'+i)))))
		c.deliver()
	}
	require.Len(t, c.values("n1"), 10)
	require.Empty(t, c.values("n3"))
	c.heal()
	c.tick(4) // a heartbeat tells n3 the commit index; it fetches the slots
	c.requireAgree(c.ids...)
}

func TestSnapshotCatchup(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign("n1")
	c.isolate("n3")
	for i := uint64(1); i <= 6; i++ {
		require.NoError(t, c.nodes["n1"].Propose(cmd("a", i, "v")))
		c.deliver()
	}
	// The drivers of n1 and n2 compact through slot 4.
	for _, id := range []NodeID{"n1", "n2"} {
		c.nodes[id].Compact(4, []byte("state@4"))
		require.Equal(t, uint64(4), c.nodes[id].Status().Snapshot)
	}
	c.drain()
	c.heal()
	c.tick(4)
	require.NotNil(t, c.snaps["n3"])
	require.Equal(t, Snapshot{Slot: 4, Data: []byte("state@4")}, *c.snaps["n3"])
	require.Equal(t, []string{"5:v", "6:v"}, c.values("n3"))
	require.Equal(t, uint64(6), c.nodes["n3"].Status().Commit)

	// Restart from the records: the snapshot comes back first, then the slots after it.
	c.crash("n3")
	c.restart("n3")
	c.drain()
	require.Equal(t, uint64(4), c.snaps["n3"].Slot)
	require.Equal(t, []string{"5:v", "6:v"}, c.values("n3"))
	require.Panics(t, func() { c.nodes["n3"].Compact(9, nil) })
}

func TestBatchingAndInflight(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.MaxBatch, cfg.MaxInflight = 2, 3 })
	c.campaign("n1")
	c.isolate("n1") // nothing gets chosen, so slots stay in flight
	var cmds []Command
	for i := uint64(1); i <= 5; i++ {
		cmds = append(cmds, cmd("a", i, "v"))
	}
	require.NoError(t, c.nodes["n1"].Propose(cmds...)) // 3 slots: 2+2+1
	require.ErrorIs(t, c.nodes["n1"].Propose(cmd("a", 6, "w")), ErrTooMuchInflight)
	require.Len(t, c.nodes["n1"].inflight, 3)
	c.heal()
	c.tick(2) // the leader resends its Accepts on the heartbeat
	require.Equal(t, []string{"1:v", "1:v", "2:v", "2:v", "3:v"}, c.values("n2"))
	c.requireAgree(c.ids...)
	require.NoError(t, c.nodes["n1"].Propose(cmd("a", 6, "w")))
}

func TestRestartFromRecords(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign("n1")
	for i := uint64(1); i <= 3; i++ {
		require.NoError(t, c.nodes["n1"].Propose(cmd("a", i, "v")))
		c.deliver()
	}
	before := c.nodes["n2"].Status()
	persisted := c.nodes["n2"].PersistentState()
	c.crash("n2")
	c.restart("n2")
	after := c.nodes["n2"].Status()
	require.Equal(t, before.Promised, after.Promised)
	require.Equal(t, before.Commit, after.Commit)
	c.drain()
	require.Equal(t, c.values("n1"), c.values("n2"), "the restarted node re-applies every chosen slot")
	// PersistentState restores the same node as the full record log.
	r, err := New(c.cfg("n2"), persisted)
	require.NoError(t, err)
	require.Equal(t, c.nodes["n2"].PersistentState(), r.PersistentState())
	// The cluster carries on with the restarted node.
	c.tick(30)
	require.NotEmpty(t, c.leader())
	require.NoError(t, c.nodes[c.leader()].Propose(cmd("a", 4, "w")))
	c.deliver()
	c.tick(3)
	c.requireAgree(c.ids...)

	_, err = New(c.cfg("n2"), []Record{{Kind: RecAccept}})
	require.ErrorContains(t, err, "record 0")
}

func TestReadIndex(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign("n1")
	require.ErrorIs(t, c.nodes["n2"].ReadIndex(7), ErrNotLeader)
	require.NoError(t, c.nodes["n1"].Propose(cmd("a", 1, "v")))
	c.deliver()
	// Partitioned from everyone, the leader cannot confirm it leads: no answer.
	c.isolate("n1")
	require.NoError(t, c.nodes["n1"].ReadIndex(7))
	c.deliver()
	require.Empty(t, c.reads["n1"])
	c.heal()
	require.NoError(t, c.nodes["n1"].ReadIndex(8))
	c.deliver()
	// A round sent after both requests confirms both.
	require.Equal(t, []ReadState{{Ctx: 7, Index: 1}, {Ctx: 8, Index: 1}}, c.reads["n1"])
}

func TestLeaseRead(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.ReadMode, cfg.LeaseTicks, cfg.DriftMargin = ReadLease, 8, 0.25 })
	c.campaign("n1")
	require.Positive(t, c.nodes["n1"].Status().LeaseLeft)
	c.isolate("n1")
	require.NoError(t, c.nodes["n1"].ReadIndex(1))
	require.Equal(t, []ReadState{{Ctx: 1, Index: 0}}, c.nodes["n1"].Ready().ReadStates, "answered at once on the lease")
	c.nodes["n1"].Advance()
	// The lease runs out after LeaseTicks*(1-DriftMargin) = 6 ticks; then reads fall back to a heartbeat round,
	// which the partition blocks.
	for range 6 {
		c.nodes["n1"].Tick(0)
	}
	require.Zero(t, c.nodes["n1"].Status().LeaseLeft)
	require.NoError(t, c.nodes["n1"].ReadIndex(2))
	require.Empty(t, c.nodes["n1"].Ready().ReadStates)
	// Meanwhile n3 cannot get n2's promise while n2 still honours the lease it granted.
	c.tick(1)
	c.campaign("n3")
	require.Equal(t, follower, c.nodes["n2"].role)
	require.NotEqual(t, "n3", c.leader())
}

// TestWallclockLeaseFlaw: a wall clock that jumps backwards stretches the flawed lease past the followers'
// promise refusal; the correct lease, timed on ticks, ignores the wall clock.
func TestWallclockLeaseFlaw(t *testing.T) {
	for _, tc := range []struct {
		flaw      Flaw
		leaseAt20 bool
	}{
		{FlawNone, false},
		{FlawWallclockLease, true},
	} {
		t.Run(string(tc.flaw), func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) {
				cfg.ReadMode, cfg.LeaseTicks, cfg.DriftMargin, cfg.TickNanos, cfg.Flaw = ReadLease, 8, 0.2, 1_000_000, tc.flaw
			})
			c.campaign("n1")
			require.Positive(t, c.nodes["n1"].Status().LeaseLeft)
			// Both leases hold: the read is answered at once either way, and the flaw changed nothing.
			require.NoError(t, c.nodes["n1"].ReadIndex(8))
			require.Equal(t, []ReadState{{Ctx: 8, Index: 0}}, c.nodes["n1"].Ready().ReadStates)
			c.nodes["n1"].Advance()
			require.Zero(t, c.nodes["n1"].Status().FlawActs)
			c.isolate("n1")
			// n1's wall clock jumps 50 ticks back, then n1 ticks on alone for 20 ticks (2 election timeouts).
			for i := range 20 {
				c.nodes["n1"].Tick(int64(i-50) * 1_000_000)
			}
			c.drain()
			require.Equal(t, tc.leaseAt20, c.nodes["n1"].Status().LeaseLeft > 0)
			require.Equal(t, "leader", c.nodes["n1"].Role(), "a leader does not step down before 2*ElectionTicks or while its lease holds")
			require.NoError(t, c.nodes["n1"].ReadIndex(9))
			got := c.nodes["n1"].Ready().ReadStates
			st := c.nodes["n1"].Status()
			if tc.leaseAt20 {
				require.Equal(t, []ReadState{{Ctx: 9, Index: 0}}, got, "the flawed lease answers, though n2 and n3 may have a new leader by now")
				require.Equal(t, uint64(1), st.FlawActs, "one read answered on the wall clock alone")
				require.Contains(t, st.LastFlawAct, "read 9 answered at index 0 on the wall-clock lease")
			} else {
				require.Empty(t, got)
				require.Zero(t, st.FlawActs)
			}
		})
	}
}

// TestEarlyAckFlawActs: with early-ack every slot a leader of three proposes is chosen on its own accept, one act
// per slot, whether or not the accepts of the others arrive later; with the flaw off, or in a one-node cluster
// (where the leader's accept is a majority), the count stays 0.
func TestEarlyAckFlawActs(t *testing.T) {
	for _, tc := range []struct {
		flaw  Flaw
		nodes int
		acts  uint64
	}{
		{FlawNone, 3, 0},
		{FlawEarlyAck, 3, 3},
		{FlawEarlyAck, 1, 0},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.flaw, tc.nodes), func(t *testing.T) {
			c := newCluster(t, tc.nodes, func(cfg *Config) { cfg.Flaw = tc.flaw })
			if tc.nodes == 1 {
				nd := c.nodes["n1"] // a one-node phase 1 completes within the tick (c.campaign expects a candidate)
				nd.electElapsed = nd.electTimeout - 1
				nd.Tick(0)
				c.deliver()
			} else {
				c.campaign("n1")
			}
			require.Equal(t, "n1", c.leader())
			// Five commands at MaxBatch 4: slots 1 and 2, with every acceptor reachable.
			var cmds []Command
			for i := uint64(1); i <= 5; i++ {
				cmds = append(cmds, cmd("a", i, "v"))
			}
			require.NoError(t, c.nodes["n1"].Propose(cmds...))
			c.deliver()
			// Slot 3 while n1 is cut off: only the flaw applies it.
			if tc.nodes > 1 {
				c.isolate("n1")
			}
			require.NoError(t, c.nodes["n1"].Propose(cmd("a", 6, "w")))
			c.deliver()
			st := c.nodes["n1"].Status()
			require.Equal(t, tc.acts, st.FlawActs, st.LastFlawAct)
			if tc.acts > 0 {
				require.Equal(t, "slot 3 (1 command (a/6)) chosen at ballot 1.n1 on this leader's own accept, 1 of the 2 accepts a majority needs", st.LastFlawAct)
				require.Equal(t, uint64(3), st.Commit, "the isolated leader took slot 3 as chosen")
			} else {
				require.Empty(t, st.LastFlawAct)
			}
			for _, id := range c.ids[1:] {
				require.Zero(t, c.nodes[id].Status().FlawActs, "%s never led", id)
			}
		})
	}
}

// TestNaiveTicketsNoActWhenOwnValueIsReported: the naive leader proposes its own accepted value, so when that is
// the value the promises reported (it accepted x itself, the other promise reports nothing) it ignored nothing and
// the count stays 0, and x survives as with the correct rule.
func TestNaiveTicketsNoActWhenOwnValueIsReported(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.Flaw = FlawNaiveTickets })
	c.campaign("n1")
	c.cut[[2]NodeID{"n1", "n3"}] = true
	c.cut[[2]NodeID{"n2", "n1"}] = true
	require.NoError(t, c.nodes["n1"].Propose(cmd("a", 1, "x")))
	c.deliver()
	c.crash("n1")
	c.heal()
	c.nodes["n3"].now += 20
	c.nodes["n2"].now += 20
	c.campaign("n2")
	require.Equal(t, "n2", c.leader())
	c.deliver()
	require.Equal(t, []string{"1:x"}, c.values("n2"), c.log.String())
	st := c.nodes["n2"].Status()
	require.Zero(t, st.FlawActs, st.LastFlawAct)
}

// TestLeaderOvertaken pins what a leader does when a message proves that the log went past it (issue 10): a slot
// at or past its next free slot is chosen, so a higher ballot chose it, and the leader steps down instead of
// proposing into that slot (or below a snapshot it installed, which used to panic). Each handler that learns of
// chosen slots is driven directly: a peer's commit index, Commit and CatchupResp entries, a snapshot, and a
// Commit at a higher ballot. The controls carry only what the leader already knew, and it keeps leading.
func TestLeaderOvertaken(t *testing.T) {
	val := func(s string) Value { return Value{Commands: []Command{cmd("c", 1, s)}} }
	for _, tc := range []struct {
		name     string
		msg      Message // From n2 to n1; n1 leads at 1.n1 with slot 1 chosen, its next free slot 2
		stepDown bool
	}{
		{"heartbeat-resp reports commit past the next slot", Message{Type: MsgHeartbeatResp, Ballot: Ballot{1, "n1"}, Ctx: 99, Commit: 2}, true},
		{"heartbeat-resp reports the leader's own commit", Message{Type: MsgHeartbeatResp, Ballot: Ballot{1, "n1"}, Ctx: 99, Commit: 1}, false},
		{"accepted reports commit past the next slot", Message{Type: MsgAccepted, Ballot: Ballot{1, "n1"}, Slot: 1, Commit: 7}, true},
		{"commit entry at the next slot", Message{Type: MsgCommit, Entries: []Entry{{Slot: 2, Value: val("a")}}}, true},
		{"commit entry beyond a gap", Message{Type: MsgCommit, Entries: []Entry{{Slot: 5, Value: val("a")}}}, true},
		{"commit of a slot the leader chose", Message{Type: MsgCommit, Ballot: Ballot{1, "n1"}, Entries: []Entry{{Slot: 1, Value: val("x")}}, Commit: 1}, false},
		{"commit at a higher ballot", Message{Type: MsgCommit, Ballot: Ballot{3, "n2"}, Entries: []Entry{{Slot: 1, Value: val("x")}}}, true},
		{"catchup-resp entry beyond a gap", Message{Type: MsgCatchupResp, Entries: []Entry{{Slot: 3, Value: val("a")}}}, true},
		{"snapshot past the next slot", Message{Type: MsgSnapshot, Snapshot: &Snapshot{Slot: 5, Data: []byte("s")}}, true},
		{"snapshot the leader already covers", Message{Type: MsgSnapshot, Snapshot: &Snapshot{Slot: 1, Data: []byte("s")}, Commit: 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			c.campaign("n1")
			require.NoError(t, c.nodes["n1"].Propose(cmd("c", 1, "x")))
			c.deliver()
			require.Equal(t, []string{"1:x"}, c.values("n1"))
			n1 := c.nodes["n1"]
			require.Equal(t, uint64(2), n1.nextSlot)

			m := tc.msg
			m.From, m.To = "n2", "n1"
			require.NoError(t, n1.Step(m))
			if !tc.stepDown {
				require.Equal(t, "leader", n1.Role())
				require.NoError(t, n1.Propose(cmd("c", 2, "y")))
				c.deliver()
				require.Equal(t, []string{"1:x", "2:y"}, c.values("n1"))
				return
			}
			require.Equal(t, "follower", n1.Role())
			require.NotPanics(t, func() {
				require.ErrorIs(t, n1.Propose(cmd("c", 2, "y")), ErrNotLeader)
			})
			// n1 hears from no leader now (its peers are cut off), so it runs phase 1 again, from its first slot
			// not known chosen: past the snapshot if it installed one.
			c.isolate("n1")
			c.drain()
			c.queue = nil
			for range 2 * n1.cfg.ElectionTicks {
				n1.Tick(0)
			}
			rd := n1.Ready()
			require.Equal(t, "candidate", n1.Role())
			require.NotEmpty(t, rd.Messages)
			require.Equal(t, MsgPrepare, rd.Messages[0].Type)
			require.Equal(t, n1.Status().Commit+1, rd.Messages[0].Slot)
			require.Greater(t, rd.Messages[0].Slot, n1.Status().Snapshot)
		})
	}
}

// TestLeaderOvertakenInFlight: a leader that learns that a slot it has in phase 2 was chosen with another value
// steps down (a higher ballot chose it); learning its own value there is no news.
func TestLeaderOvertakenInFlight(t *testing.T) {
	for _, tc := range []struct {
		value    string
		stepDown bool
	}{
		{"w", true},
		{"y", false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			c := newCluster(t, 3, nil)
			c.campaign("n1")
			c.isolate("n1")
			n1 := c.nodes["n1"]
			require.NoError(t, n1.Propose(cmd("c", 1, "y")))
			c.deliver()
			require.Len(t, n1.inflight, 1)
			for _, typ := range []MsgType{MsgCommit, MsgCatchupResp} {
				require.NoError(t, n1.Step(Message{Type: typ, From: "n2", To: "n1", Entries: []Entry{{Slot: 1, Value: Value{Commands: []Command{cmd("c", 1, tc.value)}}}}}))
			}
			if tc.stepDown {
				require.Equal(t, "follower", n1.Role())
				require.ErrorIs(t, n1.Propose(cmd("c", 2, "z")), ErrNotLeader)
			} else {
				require.Equal(t, "leader", n1.Role())
				require.NoError(t, n1.Propose(cmd("c", 2, "z")))
			}
			c.drain()
			require.Equal(t, []string{"1:" + tc.value}, c.values("n1"))
		})
	}
}

// TestReadyIsReadOnly: Ready reports work without taking it (as in go.etcd.io/raft); Advance takes exactly what
// the last Ready reported, so output added in between waits for the next Ready, and committed slots count as
// applied only after Advance.
func TestReadyIsReadOnly(t *testing.T) {
	c := newCluster(t, 3, nil)
	c.campaign("n1")
	n1 := c.nodes["n1"]
	require.NoError(t, n1.Propose(Command{ID: CommandID{Client: "c", Seq: 1}, Data: []byte("x")}))
	a, b := n1.Ready(), n1.Ready()
	require.NotEmpty(t, a.Messages)
	require.NotEmpty(t, a.Records)
	require.Equal(t, a, b, "a second Ready without Advance reports the same work")
	require.True(t, n1.HasReady())
	n1.Advance()
	require.False(t, n1.HasReady())

	// The accepts reach n2 and n3, whose answers reach n1: the slot is chosen.
	before := n1.Status().Applied
	for _, m := range a.Messages {
		f := c.nodes[m.To]
		require.NoError(t, f.Step(m))
		frd := f.Ready()
		f.Advance()
		for _, r := range frd.Messages {
			if r.To == "n1" {
				require.NoError(t, n1.Step(r))
			}
		}
	}
	rd := n1.Ready()
	require.NotEmpty(t, rd.Committed)
	require.Equal(t, before, n1.Status().Applied)
	// Output that arrives between Ready and Advance is not lost by Advance.
	require.NoError(t, n1.Propose(Command{ID: CommandID{Client: "c", Seq: 2}, Data: []byte("y")}))
	n1.Advance()
	require.Equal(t, rd.Committed[len(rd.Committed)-1].Slot, n1.Status().Applied)
	rd = n1.Ready()
	require.NotEmpty(t, rd.Messages, "the second proposal's accepts survive the first Ready's Advance")
	require.Equal(t, MsgAccept, rd.Messages[0].Type)
	require.Empty(t, rd.Committed)
}
