package node

import (
	"bytes"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

func (c *testCluster) logText() string {
	c.lw.mu.Lock()
	defer c.lw.mu.Unlock()
	return c.logs.String()
}

// TestStaleReadsFlaw: with stale-reads a node cut off from every peer still answers reads from its own copy,
// where the correct node refuses (no leader, nothing confirmed); and the node logs the flaw acting.
func TestStaleReadsFlaw(t *testing.T) {
	for _, flaw := range []core.Flaw{core.FlawNone, core.FlawStaleReads} {
		t.Run(string(flaw), func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) { cfg.Flaw = flaw; cfg.RequestTimeout = time.Second })
			lead := c.leader(10 * time.Second)
			mustOK(t, "PUT", c.url(lead)+"/kv/a", `{"value":1}`)
			f := (lead + 1) % 3
			deadline := time.Now().Add(5 * time.Second)
			for c.nodes[f].Status().Applied < c.nodes[lead].Status().Commit && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			for i := range c.nodes {
				if i != f {
					c.stop(i)
				}
			}
			st, m := call(t, "GET", c.url(f)+"/kv/a", "")
			if flaw == core.FlawStaleReads {
				require.Equal(t, 200, st, "stale-reads: isolated node answered %v, want its local 1", m)
				require.Equal(t, float64(1), m["value"], "stale-reads: isolated node must answer its local 1")
				require.Contains(t, c.logText(), "FLAW stale-reads", "no FLAW stale-reads line in the log")
				require.NotZero(t, c.nodes[f].Status().FlawActs, "stale-reads answered a read locally but flaw_acts is 0")
			} else {
				require.NotEqual(t, 200, st, "correct node answered a read with no leader reachable: %v", m)
			}
		})
	}
}

// TestForgetPromisesFlaw: with forget-promises nothing reaches the disk, so a restarted node comes back empty and
// catches up from its peers.
func TestForgetPromisesFlaw(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.Flaw = core.FlawForgetPromises })
	lead := c.leader(10 * time.Second)
	for i := 0; i < 5; i++ {
		mustOK(t, "PUT", c.url(lead)+"/kv/a", `{"value":1}`)
	}
	f := (lead + 1) % 3
	_, err := os.Stat(filepath.Join(c.cfgs[f].DataDir, "paxos.wal"))
	require.True(t, os.IsNotExist(err), "forget-promises wrote a log file: %v", err)
	c.stop(f)
	c.start(f)
	require.Zero(t, c.nodes[f].Status().Applied, "restarted forget-promises node remembered a slot")
	require.Contains(t, c.logText(), "FLAW forget-promises", "no FLAW forget-promises line in the log")
	commit := c.nodes[lead].Status().Commit
	deadline := time.Now().Add(10 * time.Second)
	for c.nodes[f].Status().Applied < commit {
		require.False(t, time.Now().After(deadline), "restarted node applied %d, leader commit %d: no catch-up", c.nodes[f].Status().Applied, commit)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWallclockLeaseFlaw cuts the leader off, then sets its wall clock back 5s. With wallclock-lease the old
// leader's lease, timed on that wall clock, outlives the followers' refusal, and it serves a stale read after the
// new leader took a write. The correct lease (on ticks) expires and the old leader does not answer with old data.
func TestWallclockLeaseFlaw(t *testing.T) {
	for _, flaw := range []core.Flaw{core.FlawNone, core.FlawWallclockLease} {
		t.Run(string(flaw), func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) { cfg.Flaw = flaw; cfg.Read = core.ReadLease; cfg.RequestTimeout = time.Second })
			old := c.leader(10 * time.Second)
			mustOK(t, "PUT", c.url(old)+"/kv/a", `{"value":1}`)
			mustOK(t, "GET", c.url(old)+"/kv/a", "") // takes the lease
			c.nodes[old].tr.close()                  // a partition around the old leader, both directions
			st, m := call(t, "POST", c.url(old)+"/admin/clock", `{"offset_ns":-5000000000,"rate":1}`)
			require.Equal(t, 200, st, "clock: %v", m)
			other := (old + 1) % 3
			deadline := time.Now().Add(5 * time.Second)
			for {
				if lead := c.nodes[other].Status().Leader; lead != "" && lead != c.cfgs[old].ID {
					break
				}
				require.False(t, time.Now().After(deadline), "the majority side elected no new leader")
				time.Sleep(10 * time.Millisecond)
			}
			mustOK(t, "PUT", c.url(other)+"/kv/a", `{"value":2}`)
			st, m = call(t, "GET", c.url(old)+"/kv/a", "")
			acts := c.nodes[old].Status().FlawActs
			if flaw == core.FlawWallclockLease {
				require.Equal(t, 200, st, "wallclock-lease: old leader answered %v, want the stale 1", m)
				require.Equal(t, float64(1), m["value"], "wallclock-lease: old leader must answer the stale 1")
				require.Contains(t, c.logText(), "FLAW wallclock-lease: acted", "no FLAW wallclock-lease line in the log")
				// The core counts a read answered on the wall-clock lease after the tick lease ran out.
				require.NotZero(t, acts, "wallclock-lease: old leader's flaw_acts")
			} else {
				require.NotEqual(t, 200, st, "correct lease: cut-off old leader answered %v", m)
				require.Zero(t, acts, "correct lease: old leader's flaw_acts")
			}
		})
	}
}

// TestEarlyAckFlawActs: with early-ack the leader's core counts each slot it took as chosen on its own accept,
// /admin/status shows the count as flaw_acts, and the node logs the act, naming the slot, before it answers the
// write. The correct node counts nothing and logs no FLAW line; followers, which never propose, count nothing.
func TestEarlyAckFlawActs(t *testing.T) {
	for _, flaw := range []core.Flaw{core.FlawNone, core.FlawEarlyAck} {
		t.Run(string(flaw), func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *Config) { cfg.Flaw = flaw })
			lead := c.leader(10 * time.Second)
			mustOK(t, "PUT", c.url(lead)+"/kv/a", `{"value":1}`)
			_, m := call(t, "GET", c.url(lead)+"/admin/status", "")
			require.IsType(t, float64(0), m["flaw_acts"], "status has no numeric flaw_acts: %v", m)
			acts := m["flaw_acts"].(float64)
			logs := c.logText()
			if flaw == core.FlawEarlyAck {
				require.GreaterOrEqual(t, acts, float64(1), "early-ack leader answered a write but flaw_acts is 0")
				require.Contains(t, logs, "FLAW early-ack: acted once since the last line (1 in all); last: slot 1 (", "no exact FLAW early-ack line in the log")
				require.Contains(t, logs, "on this leader's own accept, 1 of the 2 accepts a majority needs", "no exact FLAW early-ack line in the log")
			} else {
				require.Zero(t, acts, "correct leader: flaw_acts")
				require.NotContains(t, logs, "FLAW", "correct node logged a FLAW line")
			}
			for i := range c.nodes {
				if i != lead {
					require.Zero(t, c.nodes[i].Status().FlawActs, "follower %s: flaw_acts", c.cfgs[i].ID)
				}
			}
		})
	}
}

// TestActLogRateLimit: the first act is logged at once; acts within the interval are held back and the next
// line after it summarises them with the latest act's detail; no new acts, no line.
func TestActLogRateLimit(t *testing.T) {
	var buf bytes.Buffer
	a := &actLog{log: log.New(&buf, "", 0), flaw: core.FlawEarlyAck, interval: 200 * time.Millisecond}
	a.observe(core.Status{})
	a.observe(core.Status{FlawActs: 1, LastFlawAct: "slot 1"})
	a.observe(core.Status{FlawActs: 3, LastFlawAct: "slot 3"}) // held back
	a.observe(core.Status{FlawActs: 4, LastFlawAct: "slot 4"}) // held back
	want := "FLAW early-ack: acted once since the last line (1 in all); last: slot 1\n"
	require.Equal(t, want, buf.String())
	time.Sleep(250 * time.Millisecond)
	a.observe(core.Status{FlawActs: 4, LastFlawAct: "slot 4"})
	a.observe(core.Status{FlawActs: 4, LastFlawAct: "slot 4"})
	want += "FLAW early-ack: acted 3 times since the last line (4 in all); last: slot 4\n"
	require.Equal(t, want, buf.String())
}
