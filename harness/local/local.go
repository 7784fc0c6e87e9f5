package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/netproxy"
	"github.com/skeptic-dev/skeptic/targets"
)

// ReadyTimeout bounds how long Start waits for a node to accept connections on its client port.
var ReadyTimeout = 30 * time.Second

// Runtime starts clusters as child processes on loopback. It implements cluster.Runtime.
type Runtime struct{}

// New returns the local runtime.
func New() *Runtime { return &Runtime{} }

// Name returns "local".
func (*Runtime) Name() string { return "local" }

// Start starts the cluster spec describes; see StartCluster.
func (r *Runtime) Start(ctx context.Context, spec cluster.Spec) (cluster.Cluster, error) {
	c, err := r.StartCluster(ctx, spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// StartCluster picks a client and a peer port on 127.0.0.1 for each node, starts the proxy mesh between their
// peer ports, starts every node, and waits until each accepts TCP connections on its client port. On error it
// kills what it had started and removes the data it had created; the error names the node and holds the end of
// its output.
func (*Runtime) StartCluster(ctx context.Context, spec cluster.Spec) (*Cluster, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Image != "" {
		return nil, fmt.Errorf("cluster spec: the local runtime cannot run image %s; it runs a binary", spec.Image)
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = ReadyTimeout
	}
	bin, err := filepath.Abs(spec.Binary)
	if err != nil {
		return nil, fmt.Errorf("cluster spec: Binary: %w", err)
	}
	log := spec.Log
	if log == nil {
		log = io.Discard
	}
	for attempt := 1; ; attempt++ {
		c, err := startOnce(ctx, spec, bin, log)
		// Another process may take a port between its reservation and the node's bind: pick new ports.
		if err != nil && attempt < 3 && strings.Contains(err.Error(), "address already in use") && ctx.Err() == nil {
			fmt.Fprintf(log, "a node's port was taken meanwhile; starting again on new ports\n")
			continue
		}
		return c, err
	}
}

func startOnce(ctx context.Context, spec cluster.Spec, bin string, log io.Writer) (*Cluster, error) {
	ids := cluster.NodeIDs(spec.Nodes)
	// The ports stay reserved until the mesh has its own, so that no proxy takes a node's port.
	ports, release, err := reservePorts(2 * len(ids))
	if err != nil {
		return nil, err
	}
	c := &Cluster{keep: spec.KeepData, log: log, byID: map[string]*node{}, tearing: cluster.NewGate(), ready: spec.ReadyTimeout}
	realPeers := map[string]string{}
	realClients := map[string]string{}
	for i, id := range ids {
		dir := filepath.Join(spec.RunDir, "nodes", id)
		n := &node{
			id:         id,
			bin:        bin,
			clientAddr: fmt.Sprintf("127.0.0.1:%d", ports[2*i]),
			peerAddr:   fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
			dataDir:    filepath.Join(dir, "data"),
			logPath:    filepath.Join(dir, "node.log"),
		}
		c.nodes = append(c.nodes, n)
		c.byID[id] = n
		realPeers[id] = n.peerAddr
		realClients[id] = n.clientAddr
	}
	mesh, err := netproxy.NewMesh(realPeers)
	if err != nil {
		release()
		return nil, fmt.Errorf("starting the peer proxies: %w", err)
	}
	c.mesh = mesh
	// Nodes forward client requests to each other (a follower to its leader) over their client ports. That path
	// crosses the network too, so it gets a mesh of its own, and a partition cuts it with the peer links.
	clientMesh, err := netproxy.NewMesh(realClients)
	release()
	if err != nil {
		mesh.Close()
		return nil, fmt.Errorf("starting the client-forwarding proxies: %w", err)
	}
	c.clientMesh = clientMesh
	if err := c.start(ctx, spec); err != nil {
		if terr := c.Teardown(context.WithoutCancel(ctx)); terr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", terr))
		}
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, spec cluster.Spec) error {
	for _, n := range c.nodes {
		if err := os.MkdirAll(n.dataDir, 0o755); err != nil {
			return fmt.Errorf("node %s: %w", n.id, err)
		}
		peers := map[string]string{}
		urls := map[string]string{}
		for _, m := range c.nodes {
			peers[m.id] = c.mesh.Addr(n.id, m.id)
			urls[m.id] = "http://" + c.clientMesh.Addr(n.id, m.id)
		}
		a := targets.NodeArgs{
			ID:             n.id,
			IP:             "127.0.0.1",
			ClientListen:   n.clientAddr,
			PeerListen:     n.peerAddr,
			Peers:          peers,
			PeerClientURLs: urls,
			DataDir:        n.dataDir,
		}
		args, env, err := spec.Command(a)
		if err != nil {
			return err
		}
		n.args = args
		n.env = append(nodeEnv(), env...)
	}
	t0 := time.Now()
	for _, n := range c.nodes {
		if err := c.startNode(n); err != nil {
			return err
		}
	}
	for _, n := range c.nodes {
		if err := c.WaitReady(ctx, n.id); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.log, "%d local nodes up in %s\n", len(c.nodes), time.Since(t0).Round(time.Millisecond))
	return nil
}

// nodeEnv is the environment every node inherits: the harness's, without its SKEPTIC_ variables, which are the
// harness's settings and, for skeptic's own node, would set flags (as the docker runtime's nodes never see
// them either).
func nodeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SKEPTIC_") {
			env = append(env, kv)
		}
	}
	return env
}

// reservePorts returns k distinct free ports on 127.0.0.1, held by listeners until release is called.
func reservePorts(k int) (ports []int, release func(), err error) {
	var lns []net.Listener
	release = func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for range k {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("picking a free port on 127.0.0.1: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, release, nil
}

// Cluster is a running local cluster. It implements cluster.Cluster, and adds each node's pid (PID).
type Cluster struct {
	// ready bounds the wait for a node to accept connections.
	ready time.Duration
	keep  bool
	log   io.Writer
	nodes []*node
	byID  map[string]*node
	mesh  *netproxy.Mesh
	// clientMesh carries the nodes' forwarded client requests between their client ports.
	clientMesh *netproxy.Mesh

	// tearing lets one Teardown run at a time.
	tearing cluster.Gate

	mu   sync.Mutex // guards the nodes' processes
	down bool
}

type node struct {
	id, bin              string
	clientAddr, peerAddr string
	dataDir, logPath     string
	args, env            []string

	cmd    *exec.Cmd     // the current (or last) process; nil before the first start
	done   chan struct{} // closed when cmd has been waited for
	exit   error         // cmd.Wait's result, once done is closed
	paused bool
}

func (n *node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Nodes lists the nodes n1..nN with their client URLs, http://127.0.0.1:<port>.
func (c *Cluster) Nodes() []targets.Node {
	out := make([]targets.Node, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = targets.Node{ID: n.id, ClientURL: "http://" + n.clientAddr}
	}
	return out
}

// Proc returns the cluster's process control: SIGKILL, start, SIGSTOP and SIGCONT to each node's process
// group.
func (c *Cluster) Proc() nemesis.Proc { return proc{c} }

// Net returns the proxy meshes between the nodes' peer ports and between their client ports (the path of
// forwarded requests), as one Net: every fault cuts both.
func (c *Cluster) Net() nemesis.Net { return nemesis.MultiNet{c.mesh, c.clientMesh} }

// Mesh returns the proxy mesh between the nodes' peer ports.
func (c *Cluster) Mesh() *netproxy.Mesh { return c.mesh }

// PeerAddr returns the address node id really listens on for its peers (not a proxy's).
func (c *Cluster) PeerAddr(id string) (string, error) {
	n, err := c.node(id)
	if err != nil {
		return "", err
	}
	return n.peerAddr, nil
}

// DataDir returns node id's data dir.
func (c *Cluster) DataDir(id string) (string, error) {
	n, err := c.node(id)
	if err != nil {
		return "", err
	}
	return n.dataDir, nil
}

// PID returns the pid of node id's process (also its process group id), or an error when it is not running.
func (c *Cluster) PID(id string) (int, error) {
	n, err := c.node(id)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !n.running() {
		return 0, fmt.Errorf("node %s is not running, so it has no pid", id)
	}
	return n.cmd.Process.Pid, nil
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

// startNode starts n's process; c.mu is held or the cluster is not shared yet.
func (c *Cluster) startNode(n *node) error {
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("node %s: %w", n.id, err)
	}
	defer f.Close()
	cmd := exec.Command(n.bin, n.args...)
	cmd.Env = n.env
	cmd.Dir = n.dataDir
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("node %s: starting %s: %w", n.id, n.bin, err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.exit, n.paused = cmd, done, nil, false
	go func() {
		err := cmd.Wait()
		c.mu.Lock()
		n.exit = err
		c.mu.Unlock()
		close(done)
	}()
	return nil
}

// spawnCalls carries every process start to one goroutine locked to its OS thread for the life of the program.
// Pdeathsig fires when the thread that forked the child exits, not the process: Go may end an idle thread, so
// children are forked from a thread that never ends.
var (
	spawnOnce  sync.Once
	spawnCalls = make(chan spawnCall)
)

type spawnCall struct {
	cmd  *exec.Cmd
	done chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for call := range spawnCalls {
				call.done <- call.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnCalls <- spawnCall{cmd, done}
	return <-done
}

// WaitReady waits until node id accepts TCP connections on its client port, for at most ReadyTimeout (or until
// ctx ends). If the process exits or the time runs out, the error names the node and holds the end of its
// output.
func (c *Cluster) WaitReady(ctx context.Context, id string) error {
	n, err := c.node(id)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.ready)
	defer cancel()
	var d net.Dialer
	for {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		conn, err := d.DialContext(dctx, "tcp", n.clientAddr)
		dcancel()
		if err == nil {
			conn.Close()
			return nil
		}
		c.mu.Lock()
		running, exit := n.running(), n.exit
		c.mu.Unlock()
		if !running {
			how := "with status 0"
			if exit != nil {
				how = "(" + exit.Error() + ")"
			}
			return fmt.Errorf("node %s exited %s before accepting connections on %s; %s ends:\n%s", n.id, how, n.clientAddr, n.logPath, tail(n.logPath))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("node %s did not accept connections on %s within %s (last: %v); %s ends:\n%s", n.id, n.clientAddr, c.ready, err, n.logPath, tail(n.logPath))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tail returns the last lines of the file at path.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no output: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	if len(lines) == 1 && lines[0] == "" {
		return "(no output)"
	}
	return strings.Join(lines, "\n")
}

// Teardown kills every node (its whole process group), closes the proxy meshes, and removes the nodes' data dirs
// unless the spec said KeepData (their logs stay). It is idempotent, and reports every failure. Concurrent calls
// run one after the other (a caller whose ctx ends while it waits gets ctx's error).
func (c *Cluster) Teardown(ctx context.Context) error {
	leave, err := c.tearing.Enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	var errs []error
	if c.mesh != nil {
		if err := c.mesh.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the peer proxies: %w", err))
		}
	}
	if c.clientMesh != nil {
		if err := c.clientMesh.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the client-forwarding proxies: %w", err))
		}
	}
	p := proc{c}
	for _, n := range c.nodes {
		if err := p.Kill(ctx, n.id); err != nil {
			errs = append(errs, err)
		}
	}
	c.mu.Lock()
	first := !c.down
	c.down = true
	c.mu.Unlock()
	for _, n := range c.nodes {
		if c.keep {
			continue
		}
		if err := os.RemoveAll(n.dataDir); err != nil {
			errs = append(errs, fmt.Errorf("node %s: removing its data: %w", n.id, err))
		}
	}
	if c.keep && first && len(c.nodes) > 0 {
		fmt.Fprintf(c.log, "kept the nodes' data in %s\n", filepath.Dir(filepath.Dir(c.nodes[0].dataDir)))
	}
	return errors.Join(errs...)
}
