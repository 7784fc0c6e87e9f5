package docker

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

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
			t.Fatal("SKEPTIC_REQUIRE_DOCKER=1 but not root: the probes enter the containers' network namespaces")
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

// State is the container's state as the engine reports it: paused is frozen by the cgroup freezer.
func (c *dockerCluster) State(ctx context.Context, id string) (runtimetest.State, error) {
	n, err := c.node(id)
	if err != nil {
		return 0, err
	}
	st, err := c.state(ctx, n)
	switch {
	case err != nil:
		return 0, err
	case st.Paused:
		return runtimetest.Paused, nil
	case st.Running:
		return runtimetest.Running, nil
	}
	return runtimetest.Stopped, nil
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
