package node

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// TestClusterBasics: writes, reads and cas through every node of a real 3-node loopback cluster, including
// forwarding from followers to the leader.
func TestClusterBasics(t *testing.T) {
	for _, mode := range []core.ReadMode{core.ReadIndex, core.ReadLog, core.ReadLease} {
		t.Run(string(mode), func(t *testing.T) { testBasics(t, mode) })
	}
}

func testBasics(t *testing.T, mode core.ReadMode) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.Read = mode })
	lead := c.leader(10 * time.Second)
	for i := range c.nodes {
		key := fmt.Sprintf("k%d", i)
		require.Nil(t, mustOK(t, "GET", c.url(i)+"/kv/"+key, "")["value"], "fresh key %s", key)
		mustOK(t, "PUT", c.url(i)+"/kv/"+key, `{"value":7}`)
		for j := range c.nodes {
			require.Equal(t, float64(7), mustOK(t, "GET", c.url(j)+"/kv/"+key, "")["value"], "read %s through n%d after write through n%d", key, j+1, i+1)
		}
		mustOK(t, "POST", c.url(i)+"/kv/"+key+"/cas", `{"from":7,"to":8}`)
		st, m := call(t, "POST", c.url((i+1)%3)+"/kv/"+key+"/cas", `{"from":7,"to":9}`)
		require.Equal(t, 409, st, "stale cas: %v", m)
		require.Equal(t, "cas-mismatch", m["error"], "stale cas: %v", m)
		require.Equal(t, float64(8), m["value"], "stale cas: %v", m)
	}
	st, m := call(t, "POST", c.url(lead)+"/kv/never/cas", `{"from":1,"to":2}`)
	require.Equal(t, 409, st, "cas on a missing key: %v", m)
	require.Equal(t, "cas-mismatch", m["error"], "cas on a missing key: %v", m)
	require.Contains(t, m, "value", "cas on a missing key: %v", m)
	require.Nil(t, m["value"], "cas on a missing key: %v", m)
}

// TestRestartRecovers: every node stops and starts again from its log alone; nothing acknowledged is lost.
func TestRestartRecovers(t *testing.T) {
	c := newCluster(t, 3, nil)
	lead := c.leader(10 * time.Second)
	for i := 0; i < 20; i++ {
		mustOK(t, "PUT", c.url(lead)+fmt.Sprintf("/kv/r%d", i), fmt.Sprintf(`{"value":%d}`, i))
	}
	for i := range c.nodes {
		c.stop(i)
	}
	for i := range c.nodes {
		c.start(i)
	}
	lead = c.leader(10 * time.Second)
	for i := 0; i < 20; i++ {
		require.Equal(t, float64(i), mustOK(t, "GET", c.url((lead+1)%3)+fmt.Sprintf("/kv/r%d", i), "")["value"], "after a full restart r%d", i)
	}
}

// TestTornTailAtStartup garbles the tail of a stopped node's log: the node cuts it, says so, and starts with
// everything before it.
func TestTornTailAtStartup(t *testing.T) {
	c := newCluster(t, 3, nil)
	lead := c.leader(10 * time.Second)
	mustOK(t, "PUT", c.url(lead)+"/kv/a", `{"value":1}`)
	victim := (lead + 1) % 3
	// Wait until the victim has applied the write, so its log holds it.
	deadline := time.Now().Add(5 * time.Second)
	for c.nodes[victim].Status().Applied < c.nodes[lead].Status().Commit && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	c.stop(victim)
	path := filepath.Join(c.cfgs[victim].DataDir, wal.FileName)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, '{', '"'}) // a frame header promising 200 bytes, then 2
	require.NoError(t, err)
	require.NoError(t, f.Close())
	c.start(victim)
	c.lw.mu.Lock()
	logs := c.logs.String()
	c.lw.mu.Unlock()
	require.Contains(t, logs, "cut 10 torn bytes", "no recovery line about the 10 torn bytes in the log")
	require.NotZero(t, c.nodes[victim].Status().Applied, "restarted node applied nothing from its log")
	require.Equal(t, float64(1), mustOK(t, "GET", c.url(victim)+"/kv/a", "")["value"], "a after restart")
}

// TestCompactionBoundsLog writes far more than the compaction threshold and checks that the log stays small and
// a restart still recovers every value.
func TestCompactionBoundsLog(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.CompactBytes = 16 << 10 })
	lead := c.leader(10 * time.Second)
	for i := 0; i < 400; i++ {
		mustOK(t, "PUT", c.url(lead)+fmt.Sprintf("/kv/c%d", i%20), fmt.Sprintf(`{"value":%d}`, i))
	}
	for i, n := range c.nodes {
		st := n.Status()
		require.LessOrEqual(t, st.LogBytes, int64(64<<10), "n%d log after 400 writes, compaction threshold 16KiB", i+1)
		if i == lead {
			require.NotZero(t, st.Snapshot, "leader never snapshotted: %+v", st)
		}
	}
	for i := range c.nodes {
		c.stop(i)
	}
	for i := range c.nodes {
		c.start(i)
	}
	lead = c.leader(10 * time.Second)
	for k := 0; k < 20; k++ {
		want := float64(380 + k)
		require.Equal(t, want, mustOK(t, "GET", c.url(lead)+fmt.Sprintf("/kv/c%d", k), "")["value"], "c%d after compaction and restart", k)
	}
}

// TestReadIndexNeedsMajority: in index mode a leader that has lost its majority cannot confirm a read, so it must
// not answer one, even though its own copy is current.
func TestReadIndexNeedsMajority(t *testing.T) {
	c := newCluster(t, 3, func(cfg *Config) { cfg.RequestTimeout = time.Second })
	lead := c.leader(10 * time.Second)
	mustOK(t, "PUT", c.url(lead)+"/kv/a", `{"value":1}`)
	mustOK(t, "GET", c.url(lead)+"/kv/a", "")
	for i := range c.nodes {
		if i != lead {
			c.stop(i)
		}
	}
	st, m := call(t, "GET", c.url(lead)+"/kv/a", "")
	require.NotEqual(t, 200, st, "leader without a majority answered a read-index read: %v", m)
}
