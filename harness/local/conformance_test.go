package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
type localCluster struct{ *Cluster }

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

// Leftovers finds, in /proc, the processes that run in one of the cluster's node folders (each node runs in its
// data folder), and lists the data folders that exist.
func (localHarness) Leftovers(_ context.Context, spec cluster.Spec) ([]string, error) {
	nodes := filepath.Join(spec.RunDir, "nodes") + string(filepath.Separator)
	var left []string
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", p.Name(), "cwd")); err == nil && strings.HasPrefix(cwd, nodes) {
			left = append(left, fmt.Sprintf("process %d (state %s) in %s", pid, procState(pid), cwd))
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(nodes, "*", "data"))
	for _, d := range dirs {
		left = append(left, "data "+d)
	}
	return left, nil
}
