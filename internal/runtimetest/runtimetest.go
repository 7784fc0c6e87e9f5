// Package runtimetest is the conformance suite of skeptic's runtimes (harness/docker, harness/local, and any
// later one), in the manner of testing/fstest.TestFS: a runtime's test calls Run with a Harness, and the suite
// starts real clusters on it and checks what every runtime must do.
//
// Run starts two clusters of 3 nodes and checks them side by side (as parallel subtests):
//
//   - a cluster of testnode (internal/testbin/testnode): the runtime's basics (nodes n1..n3 at their URLs, a kill
//     keeps the node's data, a pause freezes the process, Teardown removes everything and saves the node logs),
//     and the network faults, each strategy as nemesis.Generate makes it and nemesis.Run applies it: probes on
//     every directed peer path arrive exactly where the grudge lets them, loss drops about its share of them,
//     delay holds them (or the runtime refuses it with nemesis.ErrUnsupported), and healing undoes each;
//   - a cluster of the Paxos node (targets/paxos, the static skeptic binary): every strategy of kill, pause and
//     clock, and the partitions as the nodes live them (the leader strategy among them): processes stop or
//     freeze, /admin/status reports the clock settings, a partitioned node loses its leader or its writes, and
//     healing brings the cluster back to one leader that serves writes through every node.
//
// Every nemesis event the suite causes must carry no error, and the faults are applied through nemesis.Run, so the
// suite checks the path a real run takes. The suite never skips: a runtime that cannot run it fails.
package runtimetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// covered are the fault kinds the suite checks.
var covered = []string{nemesis.FaultPartition, nemesis.FaultKill, nemesis.FaultPause, nemesis.FaultClock, nemesis.FaultLoss, nemesis.FaultDelay}

// Harness is what the suite needs from a runtime.
type Harness interface {
	// Name names the runtime in messages ("docker", "local").
	Name() string
	// Start starts the cluster spec describes and waits until every node accepts connections, as
	// cluster.Runtime.Start does. The suite fills every field it needs (RunID, Target, Nodes, Binary, RunDir,
	// Log) and tears the cluster down itself.
	Start(ctx context.Context, spec cluster.Spec) (Cluster, error)
	// CanDelay returns nil when the runtime's Net can delay packets, or an error wrapping nemesis.ErrUnsupported
	// that says why not. The suite then requires Delay itself to fail the same way.
	CanDelay() error
	// Leftovers lists what of the cluster of spec exists, found afresh (not from the runtime's own
	// bookkeeping): processes, containers, networks, volumes, data folders. After Teardown, or after a Start
	// that failed, nothing may.
	Leftovers(ctx context.Context, spec cluster.Spec) ([]string, error)
}

// Cluster is a running cluster with the runtime's own ways of looking at it.
type Cluster interface {
	cluster.Cluster
	// WaitReady waits until node id accepts connections on its client address again, after a start.
	WaitReady(ctx context.Context, id string) error
	// State says whether node id's process runs, is frozen, or does not exist, as the operating system or the
	// engine sees it (not as the runtime remembers having left it).
	State(ctx context.Context, id string) (State, error)
	// Probe sends n probes on the peer path from node from to node to (the path from's peer traffic takes,
	// through whatever faults the runtime applies to it), waits up to wait for the last ones to arrive, and
	// says how many arrived and how late. The suite probes only clusters of testnode, whose peer port counts
	// probes (see ProbeTCP).
	Probe(ctx context.Context, from, to string, n int, wait time.Duration) (Probe, error)
}

// State is a node process's state.
type State int

// The states of a node.
const (
	// Stopped: the node has no running process (it was killed).
	Stopped State = iota
	// Running: the node's process runs.
	Running
	// Paused: the node's process exists but is frozen (SIGSTOP, or the cgroup freezer).
	Paused
)

func (s State) String() string {
	switch s {
	case Stopped:
		return "stopped"
	case Running:
		return "running"
	case Paused:
		return "paused"
	}
	return "state?"
}

// Probe is what a burst of probes on one path saw.
type Probe struct {
	// Sent and Arrived count the probes.
	Sent, Arrived int
	// MinLatency and MaxLatency are the least and the most time a probe took to arrive (zero when none did).
	MinLatency, MaxLatency time.Duration
}

// Run runs the conformance suite on h. It takes a minute or so: both clusters run side by side, and each is
// reused by its subtests (everything is healed between them).
func Run(t *testing.T, h Harness) {
	// A fault kind the nemesis gains must gain its checks here too.
	require.ElementsMatch(t, covered, nemesis.KnownFaults, "the fault kinds the suite checks, and those the nemesis has")
	t.Run("testnode", func(t *testing.T) {
		t.Parallel()
		testNodeSuite(t, h)
	})
	t.Run("paxos", func(t *testing.T) {
		t.Parallel()
		paxosSuite(t, h)
	})
}
