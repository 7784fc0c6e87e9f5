package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// Teardown heals the Net, thaws paused nodes, removes every container (saving its last output into its
// node.log), the network, and the volumes unless the spec said KeepData. It is idempotent: objects already gone
// are not errors. Every other failure is reported, joined, and Teardown goes on with the rest. Concurrent calls
// run one after the other (a caller whose ctx ends while it waits gets ctx's error).
func (c *Cluster) Teardown(ctx context.Context) error {
	leave, err := c.tearing.Enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	var errs []error
	if net := c.Net(); net != nil {
		if err := net.Heal(ctx); err != nil {
			errs = append(errs, fmt.Errorf("healing the network: %w", err))
		}
	}
	for _, n := range c.nodes {
		if n.containerID == "" {
			continue
		}
		if st, err := c.state(ctx, n); err == nil && st.Paused {
			if err := c.cli.ContainerUnpause(ctx, n.containerID); err != nil && !client.IsErrNotFound(err) {
				errs = append(errs, fmt.Errorf("node %s: resuming container %s: %w", n.id, n.name, err))
			}
		}
		if c.attached {
			// The user's container: leave it running as it was found; start it again if skeptic killed it.
			if st, err := c.state(ctx, n); err == nil && !st.Running {
				if err := c.cli.ContainerStart(ctx, n.containerID, container.StartOptions{}); err != nil {
					errs = append(errs, fmt.Errorf("node %s: starting container %s again: %w", n.id, n.name, err))
				}
			}
			continue
		}
		err := c.cli.ContainerRemove(ctx, n.containerID, container.RemoveOptions{Force: true})
		if err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("node %s: removing container %s: %w", n.id, n.name, err))
		}
	}
	if c.attached {
		c.mu.Lock()
		c.down = true
		c.mu.Unlock()
		return errors.Join(errs...) // the followers end with the run's process; the containers go on
	}
	for _, n := range c.nodes {
		c.waitFollower(n, 5*time.Second)
	}
	if c.netCreated {
		if err := c.cli.NetworkRemove(ctx, c.netName); err != nil && !client.IsErrNotFound(err) {
			errs = append(errs, fmt.Errorf("removing network %s: %w", c.netName, err))
		}
	}
	if !c.keep {
		for _, n := range c.nodes {
			if !n.volCreated {
				continue
			}
			if err := c.cli.VolumeRemove(ctx, n.volume, true); err != nil && !client.IsErrNotFound(err) {
				errs = append(errs, fmt.Errorf("node %s: removing volume %s: %w", n.id, n.volume, err))
			}
		}
	} else if !c.down {
		fmt.Fprintf(c.log, "kept the nodes' volumes skeptic-%s-n1...; skeptic clean %s removes them\n", c.runID, c.runID)
	}
	if len(errs) == 0 {
		// Everything is gone: the reaper has nothing left to do. (After a failure it stays, and cleans again
		// when this process ends.)
		if err := c.reaper.dismiss(); err != nil {
			errs = append(errs, err)
		}
	}
	c.mu.Lock()
	c.down = true
	c.mu.Unlock()
	return errors.Join(errs...)
}
