package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

// Runtime starts clusters of a target's nodes: harness/docker as containers, harness/local as child processes.
type Runtime interface {
	// Name is "docker" or "local".
	Name() string
	// Start creates and starts every node of spec, waits until each one accepts connections on its client
	// address (or ctx ends), and returns the cluster. On error it removes whatever it had created.
	Start(ctx context.Context, spec Spec) (Cluster, error)
}

// Spec is what a runtime needs to start a cluster.
type Spec struct {
	// RunID is unique per run; every container, network and volume carries it as the label skeptic.run, and
	// container names are skeptic-<RunID>-<node>.
	RunID string
	// Target says how to start a node (Args, Env) and is asked for nothing else by the runtime.
	Target targets.Target
	// Nodes is the number of nodes, named n1..nN.
	Nodes int
	// Binary is the program every node runs (the docker runtime packs it into a FROM scratch image tagged by its
	// content hash).
	Binary string
	// Image, when set, is an image already in the local Docker that the docker runtime runs instead of packing
	// Binary (the local runtime cannot run one).
	Image string
	// ClientPort, PeerPort and DataDir are where a node serves clients and peers, and keeps its data, inside its
	// container (the docker runtime; zero values mean 8080, 7070 and /data). The local runtime picks free ports
	// and a folder of its own.
	ClientPort, PeerPort int
	DataDir              string
	// ReadyTimeout bounds the wait for each node to accept connections on its client port (0: the runtime's
	// default).
	ReadyTimeout time.Duration
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

// MaxNodes is the largest cluster a runtime starts (the docker runtime gives node i the address .10+i).
const MaxNodes = 200

// NodeIDs returns the node names n1..nN for a cluster of n nodes.
func NodeIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "n" + strconv.Itoa(i+1)
	}
	return ids
}

// Command renders node a's arguments and environment from the spec's Target, with an error that names the node.
func (s Spec) Command(a targets.NodeArgs) (args, env []string, err error) {
	if args, err = s.Target.Args(a); err != nil {
		return nil, nil, fmt.Errorf("node %s: its arguments: %w", a.ID, err)
	}
	if env, err = s.Target.Env(a); err != nil {
		return nil, nil, fmt.Errorf("node %s: its environment: %w", a.ID, err)
	}
	return args, env, nil
}

// Validate returns an error naming the first field of s that no runtime can use.
func (s Spec) Validate() error {
	if s.RunID == "" {
		return errors.New("cluster spec: RunID is empty")
	}
	for i, r := range s.RunID {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_' || r == '.')
		if !ok {
			return fmt.Errorf("cluster spec: RunID %q may hold only letters, digits and (not first) - _ .", s.RunID)
		}
	}
	if s.Target == nil {
		return errors.New("cluster spec: Target is nil")
	}
	if s.Nodes < 1 || s.Nodes > MaxNodes {
		return fmt.Errorf("cluster spec: Nodes is %d, want 1..%d", s.Nodes, MaxNodes)
	}
	if s.Binary == "" && s.Image == "" {
		return errors.New("cluster spec: Binary and Image are both empty")
	}
	if s.Image != "" {
		// An image needs no binary.
	} else if st, err := os.Stat(s.Binary); err != nil {
		return fmt.Errorf("cluster spec: Binary: %w", err)
	} else if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("cluster spec: Binary %s is not an executable file", s.Binary)
	}
	if s.RunDir == "" {
		return errors.New("cluster spec: RunDir is empty")
	}
	return nil
}

// Gate lets one Teardown of a cluster run at a time, as both runtimes need: a second caller waits for the first
// to finish (and then runs, which finds little left to do), unless its ctx ends first. Make it with NewGate.
type Gate chan struct{}

// NewGate returns an open gate.
func NewGate() Gate { return make(Gate, 1) }

// Enter waits until no one else is inside, or ctx ends (the error then says so). On success the caller must call
// the returned leave when done.
func (g Gate) Enter(ctx context.Context) (leave func(), err error) {
	select {
	case g <- struct{}{}:
		return func() { <-g }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the teardown in progress: %w", ctx.Err())
	}
}
