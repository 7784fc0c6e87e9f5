package local

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/internal/runtimetest"
)

// TestConformance runs the runtime conformance suite on the local runtime.
func TestConformance(t *testing.T) {
	runtimetest.Run(t, localHarness{})
}

// localHarness is the local runtime as the conformance suite sees it.
type localHarness struct{}

func (localHarness) Name() string    { return "local" }
func (localHarness) CanDelay() error { return nil } // the link proxies delay

func (localHarness) Start(ctx context.Context, spec cluster.Spec) (runtimetest.Cluster, error) {
	c, err := New().StartCluster(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &localCluster{Cluster: c}, nil
}

// localCluster adds the suite's probes to a local cluster.
type localCluster struct {
	*Cluster
	// pids are the nodes' processes when Teardown began, for Leftovers.
	pids []int
}

// State reads the node's process state from /proc: T (stopped by SIGSTOP) is paused.
func (c *localCluster) State(_ context.Context, id string) (runtimetest.State, error) {
	if _, err := c.node(id); err != nil {
		return 0, err
	}
	pid, err := c.PID(id)
	if err != nil {
		return runtimetest.Stopped, nil
	}
	switch s := procState(pid); s {
	case "T":
		return runtimetest.Paused, nil
	case "", "Z", "X":
		return runtimetest.Stopped, nil
	default:
		return runtimetest.Running, nil
	}
}

// Probe sends the probes through the peer proxy from -> to, to the testnode at to's peer port, and asks it what
// arrived.
func (c *localCluster) Probe(ctx context.Context, from, to string, n int, wait time.Duration) (runtimetest.Probe, error) {
	addr := c.Mesh().Addr(from, to)
	if addr == "" || from == to {
		return runtimetest.Probe{}, fmt.Errorf("no peer path %s->%s", from, to)
	}
	return runtimetest.ProbeTCP(ctx, addr, "http://"+c.byID[to].clientAddr, n, wait)
}

// Teardown remembers the nodes' pids, then tears down.
func (c *localCluster) Teardown(ctx context.Context) error {
	for _, n := range c.nodes {
		if pid, err := c.PID(n.id); err == nil {
			c.pids = append(c.pids, pid)
		}
	}
	return c.Cluster.Teardown(ctx)
}

// Leftovers lists the nodes' processes that are alive, and their data folders that exist.
func (c *localCluster) Leftovers(context.Context) ([]string, error) {
	var left []string
	pids := c.pids
	for _, n := range c.nodes {
		if pid, err := c.PID(n.id); err == nil {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		if alive(pid) && procState(pid) != "Z" {
			left = append(left, fmt.Sprintf("process %d", pid))
		}
	}
	for _, n := range c.nodes {
		if _, err := os.Stat(n.dataDir); err == nil {
			left = append(left, "data "+n.dataDir)
		}
	}
	return left, nil
}
