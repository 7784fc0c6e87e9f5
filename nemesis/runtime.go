package nemesis

import (
	"context"
	"errors"
	"time"
)

// The nemesis acts on a cluster only through these interfaces, which each runtime (harness/docker,
// harness/local) implements. It never knows which runtime it is acting on.

// Grudge is Jepsen's partition model: Grudge[a] lists the nodes whose packets node a drops. A node absent from
// the map drops nothing. A symmetric partition lists each side in the other's entry; a one-way cut lists only
// one direction.
type Grudge map[string][]string

// Link is one direction between two nodes: packets sent by From and received by To.
type Link struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ErrUnsupported is returned (wrapped, with the reason) by a runtime that cannot apply a fault at all, such as
// delay on a kernel without sch_netem.
var ErrUnsupported = errors.New("fault not supported by this runtime")

// Net changes what the network between nodes delivers. Rules only ever match traffic between nodes (peer
// addresses), never the harness's own client traffic. Each call replaces the rules of its own kind: Partition
// replaces the previous grudge, Loss the previous loss rules.
type Net interface {
	// Partition makes every node a drop the packets of every node in g[a]. An empty grudge removes the partition.
	Partition(ctx context.Context, g Grudge) error
	// Loss drops each packet on the given links independently with probability percent/100.
	Loss(ctx context.Context, links []Link, percent float64) error
	// Delay holds each packet on the given links for d (plus up to jitter), or returns ErrUnsupported.
	Delay(ctx context.Context, links []Link, d, jitter time.Duration) error
	// Heal removes every rule that skeptic added, of every kind. It is idempotent, and it reports every rule it
	// failed to remove.
	Heal(ctx context.Context) error
}

// Proc controls the node processes.
type Proc interface {
	// Kill sends SIGKILL to the node's process. Its data stays.
	Kill(ctx context.Context, node string) error
	// Start starts a killed node again with the same data and arguments. Starting a running node is a no-op.
	Start(ctx context.Context, node string) error
	// Pause stops the node's processes (SIGSTOP or the cgroup freezer).
	Pause(ctx context.Context, node string) error
	// Resume continues a paused node. Resuming a running node is a no-op.
	Resume(ctx context.Context, node string) error
}

// Clock skews a node's clocks through the target's clock capability (PROTOCOL.md /admin/clock).
type Clock interface {
	// SetClock makes the node's wall clock read offset ahead of real time, and its clocks run rate times as fast.
	// SetClock(ctx, node, 0, 1) resets it.
	SetClock(ctx context.Context, node string, offset time.Duration, rate float64) error
}

// Cluster is what the nemesis knows of the cluster itself.
type Cluster interface {
	// Nodes lists the node ids in order: n1, n2, ...
	Nodes() []string
	// Leader asks the nodes (PROTOCOL.md /admin/status) which node leads, and returns it, or an error when no
	// majority of answers names one leader.
	Leader(ctx context.Context) (string, error)
}
