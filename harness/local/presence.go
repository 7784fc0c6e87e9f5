package local

import (
	"context"
	"fmt"
	"os"

	"github.com/skeptic-dev/skeptic/harness/cluster"
)

// Presence says, for every node, whether its process still runs (a stopped, paused process runs), and calls a
// node whose data dir was removed gone. It makes the cluster a cluster.Presencer.
func (c *Cluster) Presence(context.Context) (map[string]error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]error, len(c.nodes))
	for _, n := range c.nodes {
		switch {
		case n.running():
			out[n.id] = nil
		case n.cmd == nil:
			out[n.id] = fmt.Errorf("node %s was never started: %w", n.id, cluster.ErrNodeStopped)
		default:
			out[n.id] = fmt.Errorf("the process of node %s (pid %d) has exited (%v): %w", n.id, n.cmd.Process.Pid, n.exit, cluster.ErrNodeStopped)
		}
		if _, err := os.Stat(n.dataDir); err != nil && os.IsNotExist(err) {
			out[n.id] = fmt.Errorf("the data dir %s of node %s was removed: %w", n.dataDir, n.id, cluster.ErrNodeGone)
		}
	}
	return out, nil
}
