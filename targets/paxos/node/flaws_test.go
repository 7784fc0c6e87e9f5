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
