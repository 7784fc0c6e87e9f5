package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/skeptic-dev/skeptic/harness/cluster"
)

// Presence says, for every node, whether its container still exists and runs (a paused container runs). A
// removed network makes every node gone. It makes the cluster a cluster.Presencer.
func (c *Cluster) Presence(ctx context.Context) (map[string]error, error) {
	out := make(map[string]error, len(c.nodes))
	if c.netCreated {
		if _, err := c.cli.NetworkInspect(ctx, c.netName, network.InspectOptions{}); err != nil {
			if !client.IsErrNotFound(err) {
				return nil, fmt.Errorf("inspecting network %s: %w", c.netName, err)
			}
			for _, n := range c.nodes {
				out[n.id] = fmt.Errorf("network %s was removed: %w", c.netName, cluster.ErrNodeGone)
			}
			return out, nil
		}
	}
	for _, n := range c.nodes {
		info, err := c.cli.ContainerInspect(ctx, n.containerID)
		switch {
		case client.IsErrNotFound(err):
			out[n.id] = fmt.Errorf("container %s was removed: %w", n.name, cluster.ErrNodeGone)
		case err != nil:
			return nil, fmt.Errorf("inspecting container %s: %w", n.name, err)
		case info.State == nil || !info.State.Running:
			st, code := "unknown", 0
			if info.State != nil {
				st, code = string(info.State.Status), info.State.ExitCode
			}
			out[n.id] = fmt.Errorf("container %s is %s (exit code %d): %w", n.name, st, code, cluster.ErrNodeStopped)
		default:
			out[n.id] = nil
		}
	}
	return out, nil
}
