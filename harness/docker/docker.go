package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
	"github.com/skeptic-dev/skeptic/targets"
)

// Labels and ports every docker cluster uses.
const (
	// LabelSkeptic marks every object this runtime creates (value "1").
	LabelSkeptic = "skeptic"
	// LabelRun holds the run id on every container, network and volume of a run.
	LabelRun = "skeptic.run"
	// ClientPort is the port each node serves its clients on, inside its container.
	ClientPort = 8080
	// PeerPort is the port each node serves its peers on, inside its container.
	PeerPort = 7070
	// DataDir is where each node's volume is mounted.
	DataDir = "/data"
)

// ReadyTimeout bounds how long Start waits for a node to accept connections on its client port.
var ReadyTimeout = 30 * time.Second

// Runtime starts clusters as containers on the Docker engine that the environment names (DOCKER_HOST, or the
// default socket). It implements cluster.Runtime. A Runtime is safe for concurrent use.
type Runtime struct {
	cli *client.Client
}

// New returns a Runtime that talks to the Docker engine named by the environment. It does not contact the
// engine; Available does.
func New() (*Runtime, error) {
	cli, err := newClient()
	if err != nil {
		return nil, err
	}
	return &Runtime{cli: cli}, nil
}

func newClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

// Available returns nil when a Docker engine answers, and otherwise an error that says where it looked and what
// to do instead.
func Available(ctx context.Context) error {
	cli, err := newClient()
	if err != nil {
		return fmt.Errorf("%w; fix DOCKER_HOST, or use --runtime local", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		return fmt.Errorf("no Docker daemon at %s: %v; start it, or use --runtime local", cli.DaemonHost(), err)
	}
	return nil
}

// Client returns the Docker client the runtime uses.
func (r *Runtime) Client() *client.Client { return r.cli }

// Close releases the runtime's connection to the engine. Clusters it started must be torn down first.
func (r *Runtime) Close() error { return r.cli.Close() }

// CanDelay reports whether this runtime can apply the delay fault: nil, or an error wrapping
// nemesis.ErrUnsupported that names the kernel's missing sch_netem (nft.NetemSupported). It makes the Runtime a
// nemesis.DelayProber, so that the harness refuses a delay fault before it creates anything.
func (r *Runtime) CanDelay() error { return nft.NetemSupported() }

// CheckBinary returns an error saying why the program at path cannot be a node of this runtime (it must be a
// statically linked ELF executable, to run in a FROM scratch image), or nil.
func (r *Runtime) CheckBinary(path string) error { return checkPackable(path) }

// Name returns "docker".
func (r *Runtime) Name() string { return "docker" }

// Start starts the cluster spec describes; see StartCluster.
func (r *Runtime) Start(ctx context.Context, spec cluster.Spec) (cluster.Cluster, error) {
	c, err := r.StartCluster(ctx, spec)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// StartCluster builds (or reuses) the node image from spec.Binary, creates the run's network, volumes and
// containers, starts every node, and waits until each accepts TCP connections on its client port. On error it
// removes whatever it had created, and the error says which step and node failed.
func (r *Runtime) StartCluster(ctx context.Context, spec cluster.Spec) (*Cluster, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if spec.Image == "" {
		if err := checkPackable(spec.Binary); err != nil {
			return nil, err
		}
	}
	spec, log := withDefaults(spec)
	// A second run under the same id would share, and on teardown remove, the first one's volumes.
	if objs, err := runObjects(ctx, r.cli, spec.RunID); err != nil {
		return nil, err
	} else if len(objs) > 0 {
		return nil, fmt.Errorf("cluster spec: RunID %q is in use (%s); pick another, or remove them with skeptic clean %s", spec.RunID, strings.Join(objs, ", "), spec.RunID)
	}
	tag := spec.Image
	if tag != "" {
		if _, err := r.cli.ImageInspect(ctx, tag); err != nil {
			return nil, fmt.Errorf("image %s: %w (it must already be in the local Docker: nothing is pulled)", tag, err)
		}
	} else {
		var err error
		if tag, err = EnsureImage(ctx, r.cli, spec.Binary, log); err != nil {
			return nil, err
		}
	}
	reap, err := startReaper(spec.RunID, spec.RunDir, spec.KeepData)
	if err != nil {
		fmt.Fprintf(log, "warning: %v; if this process dies before its teardown, skeptic clean %s removes the run's containers\n", err, spec.RunID)
	}
	c := &Cluster{
		cli:     r.cli,
		runID:   spec.RunID,
		runDir:  spec.RunDir,
		keep:    spec.KeepData,
		log:     log,
		netName: "skeptic-" + spec.RunID,
		byID:    map[string]*node{},
		reaper:  reap,
		tearing: cluster.NewGate(),
		ports:   ports{client: spec.ClientPort, peer: spec.PeerPort, ready: spec.ReadyTimeout},
	}
	if err := c.start(ctx, spec, tag); err != nil {
		tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if terr := c.Teardown(tctx); terr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up after the failed start: %w", terr))
		}
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, spec cluster.Spec, tag string) error {
	labels, err := runLabels(spec.RunID, c.reaper)
	if err != nil {
		return err
	}
	// Not cancelled halfway, for the reason createNode gives.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("network %s not created: %w", c.netName, err)
	}
	nctx, ncancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	prefix, err := createNetwork(nctx, c.cli, c.netName, spec.Subnet, labels)
	ncancel()
	if err != nil {
		return err
	}
	c.netCreated = true
	c.subnet = prefix
	fmt.Fprintf(c.log, "network %s created with subnet %s\n", c.netName, prefix)

	ids := cluster.NodeIDs(spec.Nodes)
	base := prefix.Addr().As4()
	peers := map[string]string{}
	urls := map[string]string{}
	for i, id := range ids {
		a := base
		a[3] += byte(11 + i)
		ip := netip.AddrFrom4(a)
		n := &node{id: id, ip: ip, name: "skeptic-" + spec.RunID + "-" + id, volume: "skeptic-" + spec.RunID + "-" + id}
		c.nodes = append(c.nodes, n)
		c.byID[id] = n
		peers[id] = netip.AddrPortFrom(ip, uint16(spec.PeerPort)).String()
		urls[id] = c.url(n)
	}
	hosts := map[string]nft.Host{}
	for _, n := range c.nodes {
		id := n.id
		hosts[id] = nft.Host{IP: n.ip, PID: func() (int, error) { return c.netPID(id) }}
	}
	c.SetNet(nft.New(hosts))
	// Each node on its own goroutine, all at once: its volume, its container, its start, and the wait until it
	// accepts connections. One node after another, these calls to the engine took most of the startup (5 nodes:
	// 4 s of a 4.8 s time to the first operation on a busy machine, and the creations still 0.3 s after the
	// starts were made parallel). A node needs no other to exist before it starts: its peers' addresses are
	// fixed, and it keeps trying them. On an error every goroutine is waited for, so that the teardown that
	// follows sees every object created.
	t0 := time.Now()
	steps := make([][3]time.Duration, len(c.nodes)) // per node: created, started, ready, since t0
	errs := make([]error, len(c.nodes))
	nctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The first node to fail stops the others, and its error is the one returned: the others only report the
	// cancellation it caused.
	first := -1
	var once sync.Once
	fail := func(i int, err error) {
		errs[i] = err
		once.Do(func() { first = i; cancel() })
	}
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() {
			if err := c.createNode(nctx, spec, tag, labels, peers, urls, n); err != nil {
				fail(i, err)
				return
			}
			steps[i][0] = time.Since(t0)
			if err := c.startNode(nctx, n); err != nil {
				fail(i, err)
				return
			}
			steps[i][1] = time.Since(t0)
			if err := c.WaitReady(nctx, n.id); err != nil {
				fail(i, err)
				return
			}
			steps[i][2] = time.Since(t0)
		})
	}
	wg.Wait()
	if first >= 0 {
		return errs[first]
	}
	var last [3]time.Duration
	for _, s := range steps {
		for k := range last {
			last[k] = max(last[k], s[k])
		}
	}
	fmt.Fprintf(c.log, "%d nodes up in %s (the last created at %s, started at %s, accepting connections at %s)\n",
		len(c.nodes), time.Since(t0).Round(time.Millisecond), last[0].Round(time.Millisecond),
		last[1].Round(time.Millisecond), last[2].Round(time.Millisecond))
	return nil
}

// createTimeout bounds each creation call to the engine.
const createTimeout = time.Minute

// createNode creates node n's folder, volume and container. The calls to the engine are not cancelled with
// ctx, only not started once it ends: a creation cancelled halfway may still complete in the engine after the
// client gave up, and an object the teardown does not know of would be left behind (the reaper would remove it
// only when the harness ends).
func (c *Cluster) createNode(ctx context.Context, spec cluster.Spec, tag string, labels, peers, urls map[string]string, n *node) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("node %s: not created: %w", n.id, err)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), createTimeout)
	defer cancel()
	dir := filepath.Join(spec.RunDir, "nodes", n.id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("node %s: %w", n.id, err)
	}
	n.logPath = filepath.Join(dir, "node.log")
	if _, err := c.cli.VolumeCreate(cctx, volume.CreateOptions{Name: n.volume, Labels: labels}); err != nil {
		return fmt.Errorf("node %s: creating volume %s: %w", n.id, n.volume, err)
	}
	n.volCreated = true
	a := targets.NodeArgs{
		ID:             n.id,
		IP:             n.ip.String(),
		ClientListen:   fmt.Sprintf("0.0.0.0:%d", spec.ClientPort),
		PeerListen:     fmt.Sprintf("0.0.0.0:%d", spec.PeerPort),
		Peers:          peers,
		PeerClientURLs: urls,
		DataDir:        spec.DataDir,
	}
	args, env, err := spec.Command(a)
	if err != nil {
		return err
	}
	cfg := &container.Config{
		Image:    tag,
		Hostname: n.id,
		Cmd:      args,
		Env:      env,
		Labels:   labels,
	}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(c.netName),
		Mounts:      []mount.Mount{{Type: mount.TypeVolume, Source: n.volume, Target: spec.DataDir}},
		LogConfig:   container.LogConfig{Type: "json-file"},
	}
	netcfg := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		c.netName: {IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: n.ip.String()}},
	}}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("node %s: container not created: %w", n.id, err)
	}
	resp, err := c.cli.ContainerCreate(cctx, cfg, host, netcfg, nil, n.name)
	if err != nil {
		return fmt.Errorf("node %s: creating container %s: %w", n.id, n.name, err)
	}
	n.containerID = resp.ID
	return nil
}

// withDefaults fills in the spec's ports, data dir and readiness timeout where it leaves them to this runtime,
// and returns the writer of its progress lines.
func withDefaults(spec cluster.Spec) (cluster.Spec, io.Writer) {
	if spec.ClientPort == 0 {
		spec.ClientPort = ClientPort
	}
	if spec.PeerPort == 0 {
		spec.PeerPort = PeerPort
	}
	if spec.DataDir == "" {
		spec.DataDir = DataDir
	}
	if spec.ReadyTimeout == 0 {
		spec.ReadyTimeout = ReadyTimeout
	}
	if spec.Log == nil {
		return spec, io.Discard
	}
	return spec, spec.Log
}
