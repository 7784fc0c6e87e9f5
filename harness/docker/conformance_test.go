package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/internal/netnstest"
	"github.com/skeptic-dev/skeptic/internal/runtimetest"
)

// TestConformance runs the runtime conformance suite on the docker runtime. Its probes enter the containers'
// network namespaces, so it needs root as well as a Docker engine.
func TestConformance(t *testing.T) {
	rt := requireDocker(t)
	if os.Geteuid() != 0 {
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			require.FailNow(t, "SKEPTIC_REQUIRE_DOCKER=1 but not root: the probes enter the containers' network namespaces")
		}
		t.Skip("needs root to probe inside the containers' network namespaces")
	}
	runtimetest.Run(t, dockerHarness{rt})
}

// dockerHarness is the docker runtime as the conformance suite sees it.
type dockerHarness struct{ rt *Runtime }

func (h dockerHarness) Name() string    { return "docker" }
func (h dockerHarness) CanDelay() error { return h.rt.CanDelay() }

func (h dockerHarness) Start(ctx context.Context, spec cluster.Spec) (runtimetest.Cluster, error) {
	c, err := h.rt.StartCluster(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &dockerCluster{Cluster: c, rt: h.rt}, nil
}

// dockerCluster adds the suite's probes to a docker cluster.
type dockerCluster struct {
	*Cluster
	rt *Runtime
}

// State is the container's state: stopped unless the engine says it runs; then paused when the kernel's cgroup
// freezer holds its process (the engine must agree).
func (c *dockerCluster) State(ctx context.Context, id string) (runtimetest.State, error) {
	n, err := c.node(id)
	if err != nil {
		return 0, err
	}
	st, err := c.state(ctx, n)
	if err != nil {
		return 0, err
	}
	if !st.Running || st.Pid == 0 {
		return runtimetest.Stopped, nil
	}
	frozen, err := frozen(st.Pid)
	if err != nil {
		return 0, fmt.Errorf("node %s: %w", id, err)
	}
	if frozen != st.Paused {
		return 0, fmt.Errorf("node %s: the kernel says its process is frozen: %v, the engine says it is paused: %v", id, frozen, st.Paused)
	}
	if frozen {
		return runtimetest.Paused, nil
	}
	return runtimetest.Running, nil
}

// frozen reads whether the cgroup freezer holds process pid: freezer.state of its freezer cgroup (cgroup v1), or
// cgroup.events of its cgroup (v2).
func frozen(pid int) (bool, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false, err
	}
	var v2 string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if slices.Contains(strings.Split(parts[1], ","), "freezer") {
			st, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/freezer", parts[2], "freezer.state"))
			if err != nil {
				return false, err
			}
			return strings.TrimSpace(string(st)) == "FROZEN", nil
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
		}
	}
	if v2 == "" {
		return false, fmt.Errorf("process %d is in no freezer cgroup:\n%s", pid, b)
	}
	ev, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", v2, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(ev), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == "frozen" {
			return v == "1", nil
		}
	}
	return false, fmt.Errorf("%s says nothing of frozen:\n%s", filepath.Join("/sys/fs/cgroup", v2, "cgroup.events"), ev)
}

// Probe sends datagrams from inside from's network namespace, from its cluster address, to a socket inside to's
// namespace on its cluster address: the path peer traffic takes, through the rules the nemesis installed.
func (c *dockerCluster) Probe(ctx context.Context, from, to string, n int, wait time.Duration) (runtimetest.Probe, error) {
	fromPID, err1 := c.PID(ctx, from)
	toPID, err2 := c.PID(ctx, to)
	if err := errors.Join(err1, err2); err != nil {
		return runtimetest.Probe{}, err
	}
	ips := c.IPs()
	return runtimetest.ProbeUDP(ctx, netnstest.OfPID(fromPID), netnstest.OfPID(toPID), ips[from], ips[to], n, wait)
}

// Leftovers lists the containers, networks and volumes labelled with the run.
func (h dockerHarness) Leftovers(ctx context.Context, spec cluster.Spec) ([]string, error) {
	return h.rt.RunObjects(ctx, spec.RunID)
}
