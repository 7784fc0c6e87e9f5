package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/netproxy"
)

// newMeshCluster is newCluster with every peer link going through the local runtime's per-direction proxies, so
// node a reaches b at an address no other node uses, and a link can be cut in one direction.
func newMeshCluster(t *testing.T, n int) (*testCluster, *netproxy.Mesh) {
	real := map[string]string{}
	addrs := freeAddrs(t, n)
	for i := 0; i < n; i++ {
		real[fmt.Sprintf("n%d", i+1)] = addrs[i]
	}
	mesh, err := netproxy.NewMesh(real)
	require.NoError(t, err)
	t.Cleanup(func() { mesh.Close() })
	c := newCluster(t, n, func(cfg *Config) {
		cfg.PeerAddr = real[cfg.ID]
		cfg.Peers = map[string]string{}
		for id := range real {
			cfg.Peers[id] = mesh.Addr(cfg.ID, id)
		}
	})
	return c, mesh
}

// TestOneWayPartitionOfLeader cuts every link out of the leader (it still hears the others, they no longer hear
// it): the others elect a new leader and keep taking writes; after the heal the old leader catches up.
func TestOneWayPartitionOfLeader(t *testing.T) {
	c, mesh := newMeshCluster(t, 3)
	old := c.leader(10 * time.Second)
	oldID := c.cfgs[old].ID
	mustOK(t, "PUT", c.url(old)+"/kv/p", `{"value":1}`)
	g := nemesis.Grudge{}
	for _, cfg := range c.cfgs {
		if cfg.ID != oldID {
			g[cfg.ID] = []string{oldID} // cfg.ID stops hearing the old leader
		}
	}
	require.NoError(t, mesh.Partition(context.Background(), g))
	f := (old + 1) % 3
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l := c.nodes[f].Status().Leader; l != "" && l != oldID {
			t.Logf("new leader %s after cutting %s's outbound links", l, oldID)
			break
		}
		require.False(t, time.Now().After(deadline), "no new leader on the side that stopped hearing %s: %+v", oldID, c.nodes[f].Status())
		time.Sleep(20 * time.Millisecond)
	}
	for i := 2; i <= 10; i++ {
		mustOK(t, "PUT", c.url(f)+"/kv/p", fmt.Sprintf(`{"value":%d}`, i))
	}
	require.NoError(t, mesh.Heal(context.Background()))
	lead := c.leader(10 * time.Second)
	commit := c.nodes[lead].Status().Commit
	deadline = time.Now().Add(10 * time.Second)
	for c.nodes[old].Status().Applied < commit {
		require.False(t, time.Now().After(deadline), "old leader applied %d after the heal, leader commit %d", c.nodes[old].Status().Applied, commit)
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, float64(10), mustOK(t, "GET", c.url(old)+"/kv/p", "")["value"], "p through the old leader after the heal")
}

// TestLossyLinks: with 20% of chunks lost (and their connections reset) on every link, writes still complete.
func TestLossyLinks(t *testing.T) {
	c, mesh := newMeshCluster(t, 3)
	lead := c.leader(10 * time.Second)
	var links []nemesis.Link
	for _, a := range c.cfgs {
		for _, b := range c.cfgs {
			if a.ID != b.ID {
				links = append(links, nemesis.Link{From: a.ID, To: b.ID})
			}
		}
	}
	mesh.SetSeed(11)
	require.NoError(t, mesh.Loss(context.Background(), links, 20))
	start := time.Now()
	for i := 0; i < 30; i++ {
		mustOK(t, "PUT", c.url((lead+i)%3)+"/kv/l", fmt.Sprintf(`{"value":%d}`, i))
	}
	t.Logf("30 writes through 20%% loss in %s", time.Since(start))
	require.NoError(t, mesh.Heal(context.Background()))
	require.Equal(t, float64(29), mustOK(t, "GET", c.url(lead)+"/kv/l", "")["value"], "l")
}
