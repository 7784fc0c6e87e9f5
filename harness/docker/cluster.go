package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
	"github.com/skeptic-dev/skeptic/targets"
)

// Cluster is a running docker cluster. It implements cluster.Cluster, and adds what faults put into a node's
// network namespace need: each node's address (IP) and the pid of its process (PID).
type Cluster struct {
	cli    *client.Client
	runID  string
	runDir string
	keep   bool
	log    io.Writer

	netName    string
	netCreated bool
	subnet     netip.Prefix
	nodes      []*node
	byID       map[string]*node

	// reaper removes the run's objects if the harness dies before Teardown.
	reaper *reaper
	// tearing lets one Teardown run at a time.
	tearing cluster.Gate
	ports   ports
	// attached is set for containers skeptic did not create (Attach): Teardown then removes nothing of theirs.
	attached bool

	mu   sync.Mutex // guards net, and each node's follower
	net  nemesis.Net
	down bool // Teardown has run (it may run again)
}

type node struct {
	id, name, volume string
	ip               netip.Addr
	containerID      string
	volCreated       bool
	logPath          string

	// follower streams the container's output into logPath; it is done when the container stops.
	follower chan struct{}
}

// ports are where the cluster's nodes serve, in their containers, and how long a node may take to be ready.
type ports struct {
	client, peer int
	ready        time.Duration
}

func (c *Cluster) url(n *node) string {
	return fmt.Sprintf("http://%s", netip.AddrPortFrom(n.ip, uint16(c.ports.client)))
}

// RunID returns the run id the cluster's objects are labelled with.
func (c *Cluster) RunID() string { return c.runID }

// Network returns the name of the run's bridge network.
func (c *Cluster) Network() string { return c.netName }

// Subnet returns the run's subnet.
func (c *Cluster) Subnet() netip.Prefix { return c.subnet }

// Nodes lists the nodes n1..nN with their client URLs, http://<address>:8080.
func (c *Cluster) Nodes() []targets.Node {
	out := make([]targets.Node, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = targets.Node{ID: n.id, ClientURL: c.url(n)}
	}
	return out
}

// IPs maps each node id to its address on the run's network.
func (c *Cluster) IPs() map[string]netip.Addr {
	m := make(map[string]netip.Addr, len(c.nodes))
	for _, n := range c.nodes {
		m[n.id] = n.ip
	}
	return m
}

// IP returns the address of node id on the run's network.
func (c *Cluster) IP(id string) (netip.Addr, error) {
	n, err := c.node(id)
	if err != nil {
		return netip.Addr{}, err
	}
	return n.ip, nil
}

// Container returns the name of node id's container.
func (c *Cluster) Container(id string) (string, error) {
	n, err := c.node(id)
	if err != nil {
		return "", err
	}
	return n.name, nil
}

// PID returns the host pid of node id's process, whose network namespace is the node's. A node that is not
// running has no pid, and PID returns an error saying so. The pid changes when the node is killed and started.
func (c *Cluster) PID(ctx context.Context, id string) (int, error) {
	n, err := c.node(id)
	if err != nil {
		return 0, err
	}
	st, err := c.state(ctx, n)
	if err != nil {
		return 0, err
	}
	if !st.Running || st.Pid == 0 {
		return 0, fmt.Errorf("node %s is not running (%s), so it has no pid", id, st.Status)
	}
	return st.Pid, nil
}

// netPID is the nft.Host PID of node id: 0 and nft.ErrNoProcess when it is not running.
func (c *Cluster) netPID(id string) (int, error) {
	n, err := c.node(id)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := c.state(ctx, n)
	if err != nil {
		if client.IsErrNotFound(err) {
			return 0, fmt.Errorf("node %s: container %s is gone: %w", id, n.name, nft.ErrNoProcess)
		}
		return 0, err
	}
	if !st.Running || st.Pid == 0 {
		return 0, fmt.Errorf("node %s is %s: %w", id, st.Status, nft.ErrNoProcess)
	}
	return st.Pid, nil
}

// Proc returns the cluster's process control: SIGKILL, start, and the cgroup freezer.
func (c *Cluster) Proc() nemesis.Proc { return proc{c} }

// Net returns the network faults of the cluster: an *nft.Net, which puts nftables rules matching peer source
// addresses into each node's network namespace (so the harness's own traffic from the host is never dropped).
func (c *Cluster) Net() nemesis.Net {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.net
}

// SetNet replaces the cluster's Net (Teardown heals the one set last, and Proc.Start calls its
// Refresh(ctx, node) error method, if it has one, on the node it started).
func (c *Cluster) SetNet(n nemesis.Net) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.net = n
}

func (c *Cluster) node(id string) (*node, error) {
	n, ok := c.byID[id]
	if !ok {
		ids := make([]string, len(c.nodes))
		for i, n := range c.nodes {
			ids[i] = n.id
		}
		return nil, fmt.Errorf("unknown node %q (the cluster has %s)", id, strings.Join(ids, ", "))
	}
	return n, nil
}

func (c *Cluster) state(ctx context.Context, n *node) (*container.State, error) {
	info, err := c.cli.ContainerInspect(ctx, n.containerID)
	if err != nil {
		return nil, fmt.Errorf("node %s: inspecting container %s: %w", n.id, n.name, err)
	}
	if info.ContainerJSONBase == nil || info.State == nil {
		return nil, fmt.Errorf("node %s: container %s has no state", n.id, n.name)
	}
	return info.State, nil
}

// startNode starts following the container's output, then starts the container.
func (c *Cluster) startNode(ctx context.Context, n *node) error {
	c.waitFollower(n, 5*time.Second)
	var since time.Time
	if n.follower != nil { // a restart: the previous follower saved everything before now
		since = time.Now()
	}
	if err := c.cli.ContainerStart(ctx, n.containerID, container.StartOptions{}); err != nil {
		return fmt.Errorf("node %s: starting container %s: %w", n.id, n.name, err)
	}
	c.follow(n, since)
	return nil
}

// follow streams the container's output written since since into the node's log file, until the container
// stops. Output from before since was saved by the previous follower.
func (c *Cluster) follow(n *node, since time.Time) {
	done := make(chan struct{})
	c.mu.Lock()
	n.follower = done
	c.mu.Unlock()
	go func() {
		defer close(done)
		f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(c.log, "node %s: cannot save its log: %v\n", n.id, err)
			return
		}
		defer f.Close()
		opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true}
		if !since.IsZero() {
			opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
		}
		rc, err := c.cli.ContainerLogs(context.Background(), n.containerID, opts)
		if err != nil {
			fmt.Fprintf(f, "[skeptic: cannot follow the container's output: %v]\n", err)
			return
		}
		defer rc.Close()
		if _, err := stdcopy.StdCopy(f, f, rc); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(f, "[skeptic: following the container's output: %v]\n", err)
		}
	}()
}

// waitFollower waits up to d for the node's current follower to save the last output of a stopped container.
func (c *Cluster) waitFollower(n *node, d time.Duration) {
	c.mu.Lock()
	done := n.follower
	c.mu.Unlock()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(d):
	}
}

// WaitReady waits until node id accepts TCP connections on its client port, for at most ReadyTimeout (or until
// ctx ends). If the container stops or the time runs out, the error names the node and holds the end of its
// output.
func (c *Cluster) WaitReady(ctx context.Context, id string) error {
	n, err := c.node(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.ports.ready)
	defer cancel()
	addr := netip.AddrPortFrom(n.ip, uint16(c.ports.client)).String()
	var d net.Dialer
	// A refused connection costs next to nothing, and a node is usually up within a few hundred ms: poll often
	// at first (every 5 ms, doubling up to 100 ms). Asking the engine whether the container still runs is
	// dearer, so that is done at most every 100 ms.
	wait := 5 * time.Millisecond
	var inspected time.Time
	for {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		conn, err := d.DialContext(dctx, "tcp", addr)
		dcancel()
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Since(inspected) >= 100*time.Millisecond {
			inspected = time.Now()
			if st, serr := c.state(ctx, n); serr == nil && !st.Running {
				return fmt.Errorf("node %s (container %s) exited with code %d before accepting connections on %s; its output ends:\n%s",
					n.id, n.name, st.ExitCode, addr, c.tail(n))
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s (container %s) did not accept connections on %s within %s (last: %v); its output ends:\n%s",
				n.id, n.name, addr, c.ports.ready, err, c.tail(n))
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// tail returns the last lines the container printed.
func (c *Cluster) tail(n *node) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := c.cli.ContainerLogs(ctx, n.containerID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: "20"})
	if err != nil {
		return fmt.Sprintf("(no output: %v)", err)
	}
	defer rc.Close()
	var b strings.Builder
	_, _ = stdcopy.StdCopy(&b, &b, rc)
	if b.Len() == 0 {
		return "(no output)"
	}
	return b.String()
}
