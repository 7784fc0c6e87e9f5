package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/docker/api/types/container"
)

// proc is the docker cluster's nemesis.Proc.
type proc struct{ c *Cluster }

// lookup returns the cluster, node id, and the current state of its container.
func (p proc) lookup(ctx context.Context, id string) (*Cluster, *node, *container.State, error) {
	n, err := p.c.node(id)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := p.c.state(ctx, n)
	if err != nil {
		return nil, nil, nil, err
	}
	return p.c, n, st, nil
}

// Kill sends SIGKILL to the node's container and waits until it has stopped and its output is saved. Killing a
// node that is not running is a no-op. The volume, and so the node's data, stays.
func (p proc) Kill(ctx context.Context, id string) error {
	c, n, st, err := p.lookup(ctx, id)
	if err != nil {
		return err
	}
	if !st.Running {
		return nil
	}
	waitC, errC := c.cli.ContainerWait(ctx, n.containerID, container.WaitConditionNotRunning)
	if err := c.cli.ContainerKill(ctx, n.containerID, "SIGKILL"); err != nil {
		return fmt.Errorf("node %s: killing container %s: %w", id, n.name, err)
	}
	if st.Paused {
		// A frozen process handles its SIGKILL only once thawed.
		if err := c.cli.ContainerUnpause(ctx, n.containerID); err != nil {
			if st2, serr := c.state(ctx, n); serr != nil || st2.Paused {
				return fmt.Errorf("node %s: thawing paused container %s after SIGKILL: %w", id, n.name, err)
			}
		}
	}
	select {
	case <-waitC:
	case err := <-errC:
		if st2, serr := c.state(ctx, n); serr != nil || st2.Running {
			return fmt.Errorf("node %s: waiting for container %s to stop after SIGKILL: %w", id, n.name, errors.Join(err, serr))
		}
	case <-ctx.Done():
		return fmt.Errorf("node %s: container %s did not stop after SIGKILL: %w", id, n.name, ctx.Err())
	}
	c.waitFollower(n, 5*time.Second)
	return nil
}

// Start starts a killed node's container again, on the same volume, address and arguments. Starting a running
// node is a no-op. It returns once the container runs; Cluster.WaitReady waits for its client port.
func (p proc) Start(ctx context.Context, id string) error {
	c, n, st, err := p.lookup(ctx, id)
	if err != nil {
		return err
	}
	if st.Running {
		return nil
	}
	if err := c.startNode(ctx, n); err != nil {
		return err
	}
	// The new process has a new, empty network namespace: put the current faults back into it.
	if r, ok := c.Net().(interface {
		Refresh(context.Context, string) error
	}); ok {
		if err := r.Refresh(ctx, id); err != nil {
			return fmt.Errorf("node %s started, but its network faults were not restored: %w", id, err)
		}
	}
	return nil
}

// Pause freezes every process of the node's container (the cgroup freezer). Pausing a paused node is a no-op;
// pausing a node that is not running is an error.
func (p proc) Pause(ctx context.Context, id string) error {
	c, n, st, err := p.lookup(ctx, id)
	if err != nil {
		return err
	}
	if st.Paused {
		return nil
	}
	if !st.Running {
		return fmt.Errorf("node %s is not running (%s), so it cannot be paused", id, st.Status)
	}
	if err := c.cli.ContainerPause(ctx, n.containerID); err != nil {
		return fmt.Errorf("node %s: pausing container %s: %w", id, n.name, err)
	}
	return nil
}

// Resume thaws a paused node. Resuming a node that is not paused is a no-op.
func (p proc) Resume(ctx context.Context, id string) error {
	c, n, st, err := p.lookup(ctx, id)
	if err != nil {
		return err
	}
	if !st.Paused {
		return nil
	}
	if err := c.cli.ContainerUnpause(ctx, n.containerID); err != nil {
		return fmt.Errorf("node %s: resuming container %s: %w", id, n.name, err)
	}
	return nil
}
