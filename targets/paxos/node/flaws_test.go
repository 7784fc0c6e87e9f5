package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
				if st != 200 || m["value"] != float64(1) {
					t.Fatalf("stale-reads: isolated node answered %d %v, want its local 1", st, m)
				}
				if !strings.Contains(c.logText(), "FLAW stale-reads") {
					t.Fatal("no FLAW stale-reads line in the log")
				}
			} else if st == 200 {
				t.Fatalf("correct node answered a read with no leader reachable: %d %v", st, m)
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
	if _, err := os.Stat(filepath.Join(c.cfgs[f].DataDir, "paxos.wal")); !os.IsNotExist(err) {
		t.Fatalf("forget-promises wrote a log file: %v", err)
	}
	c.stop(f)
	c.start(f)
	if st := c.nodes[f].Status(); st.Applied != 0 {
		t.Fatalf("restarted forget-promises node remembered slot %d", st.Applied)
	}
	if !strings.Contains(c.logText(), "FLAW forget-promises") {
		t.Fatal("no FLAW forget-promises line in the log")
	}
	commit := c.nodes[lead].Status().Commit
	deadline := time.Now().Add(10 * time.Second)
	for c.nodes[f].Status().Applied < commit {
		if time.Now().After(deadline) {
			t.Fatalf("restarted node applied %d, leader commit %d: no catch-up", c.nodes[f].Status().Applied, commit)
		}
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
			if st, m := call(t, "POST", c.url(old)+"/admin/clock", `{"offset_ns":-5000000000,"rate":1}`); st != 200 {
				t.Fatalf("clock: %d %v", st, m)
			}
			other := (old + 1) % 3
			deadline := time.Now().Add(5 * time.Second)
			for {
				if lead := c.nodes[other].Status().Leader; lead != "" && lead != c.cfgs[old].ID {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the majority side elected no new leader")
				}
				time.Sleep(10 * time.Millisecond)
			}
			mustOK(t, "PUT", c.url(other)+"/kv/a", `{"value":2}`)
			st, m := call(t, "GET", c.url(old)+"/kv/a", "")
			stale := st == 200 && m["value"] == float64(1)
			if flaw == core.FlawWallclockLease && !stale {
				t.Fatalf("wallclock-lease: old leader answered %d %v, want the stale 1", st, m)
			}
			if flaw == core.FlawNone && st == 200 {
				t.Fatalf("correct lease: cut-off old leader answered %d %v", st, m)
			}
			if flaw == core.FlawWallclockLease && !strings.Contains(c.logText(), "FLAW wallclock-lease") {
				t.Fatal("no FLAW wallclock-lease line in the log")
			}
		})
	}
}
