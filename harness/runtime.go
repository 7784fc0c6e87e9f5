package harness

import (
	"context"
	"io"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

// Runtime starts clusters of a target's nodes: harness/docker as containers, harness/local as child processes.
type Runtime interface {
	// Name is "docker" or "local".
	Name() string
	// Start creates and starts every node of spec, waits until each one accepts connections on its client
	// address (or ctx ends), and returns the cluster. On error it removes whatever it had created.
	Start(ctx context.Context, spec ClusterSpec) (Cluster, error)
}

// ClusterSpec is what a runtime needs to start a cluster.
type ClusterSpec struct {
	// RunID is unique per run; every container, network and volume carries it as the label skeptic.run, and
	// container names are skeptic-<RunID>-<node>.
	RunID string
	// Target says how to start a node (Args, Env) and is asked for nothing else by the runtime.
	Target targets.Target
	// Nodes is the number of nodes, named n1..nN.
	Nodes int
	// Binary is the program every node runs (for docker, it must be statically linked; the runtime packs it
	// into a FROM scratch image tagged by its content hash).
	Binary string
	// RunDir is the run's store folder; the runtime writes each node's output to RunDir/nodes/<id>/, as it runs
	// where it can, and at the latest on Teardown.
	RunDir string
	// KeepData keeps the nodes' data (volumes or folders) on Teardown.
	KeepData bool
	// Subnet is the docker network's subnet in CIDR form; "" lets the runtime choose a free one.
	Subnet string
	// Log receives the runtime's progress lines (image built or reused, network created, ...).
	Log io.Writer
}

// Cluster is a running set of nodes.
type Cluster interface {
	// Nodes lists the nodes in order n1..nN, with the URL the harness's clients use.
	Nodes() []targets.Node
	// Proc kills, starts, pauses and resumes nodes.
	Proc() nemesis.Proc
	// Net applies network faults between nodes.
	Net() nemesis.Net
	// Teardown heals the network, resumes paused nodes, saves node logs into the run folder and removes every
	// node, network and (unless KeepData) volume that Start created. It is idempotent and reports each failure.
	Teardown(ctx context.Context) error
}
