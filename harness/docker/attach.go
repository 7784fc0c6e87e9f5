package docker

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
)

// Attach returns a cluster of containers that already run, such as a user's docker-compose cluster:
// containers maps each node id to a container name or id. The workload runs against their addresses on their
// network; faults go through Docker and their network namespaces exactly as for containers this runtime
// started. Teardown removes only what skeptic added (its nftables table; it resumes what it paused and starts what
// it killed) and never stops or removes the user's containers, networks or volumes.
//
// spec gives the client and peer ports, the readiness timeout and RunDir (for the nodes' logs, followed from
// the moment of attaching); its Binary, Image, Nodes and Subnet are not used.
func (r *Runtime) Attach(ctx context.Context, spec cluster.Spec, containers map[string]string) (*Cluster, error) {
	if len(containers) == 0 {
		return nil, errors.New("attach: no containers named")
	}
	spec, log := withDefaults(spec)
	ids := make([]string, 0, len(containers))
	for id := range containers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if len(ids[i]) != len(ids[j]) {
			return len(ids[i]) < len(ids[j])
		}
		return ids[i] < ids[j]
	})
	c := &Cluster{
		cli:      r.cli,
		runID:    spec.RunID,
		runDir:   spec.RunDir,
		keep:     true,
		log:      log,
		byID:     map[string]*node{},
		tearing:  cluster.NewGate(),
		ports:    ports{client: spec.ClientPort, peer: spec.PeerPort, ready: spec.ReadyTimeout},
		attached: true,
	}
	var netName string
	for _, id := range ids {
		name := containers[id]
		info, err := r.cli.ContainerInspect(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("attach %s=%s: %w", id, name, err)
		}
		if info.State == nil || !info.State.Running || info.State.Paused {
			status := "unknown"
			if info.State != nil {
				status = info.State.Status
			}
			return nil, fmt.Errorf("attach %s=%s: the container is %s; attach running containers", id, name, status)
		}
		if info.NetworkSettings == nil || len(info.NetworkSettings.Networks) == 0 {
			return nil, fmt.Errorf("attach %s=%s: the container is on no network", id, name)
		}
		// The nodes must share one network: the one the first container is on, or the one all share.
		nets := make([]string, 0, len(info.NetworkSettings.Networks))
		for nn := range info.NetworkSettings.Networks {
			nets = append(nets, nn)
		}
		sort.Strings(nets)
		if netName == "" {
			netName = nets[0]
		}
		ep, ok := info.NetworkSettings.Networks[netName]
		if !ok {
			return nil, fmt.Errorf("attach %s=%s: the container is not on network %s, which %s is on (it is on %s)", id, name, netName, ids[0], strings.Join(nets, ", "))
		}
		ip, err := netip.ParseAddr(ep.IPAddress)
		if err != nil {
			return nil, fmt.Errorf("attach %s=%s: no IPv4 address on network %s (%q)", id, name, netName, ep.IPAddress)
		}
		n := &node{id: id, name: strings.TrimPrefix(info.Name, "/"), ip: ip, containerID: info.ID}
		dir := filepath.Join(spec.RunDir, "nodes", id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("node %s: %w", id, err)
		}
		n.logPath = filepath.Join(dir, "node.log")
		c.nodes = append(c.nodes, n)
		c.byID[id] = n
	}
	c.netName = netName
	hosts := map[string]nft.Host{}
	for _, n := range c.nodes {
		id := n.id
		hosts[id] = nft.Host{IP: n.ip, PID: func() (int, error) { return c.netPID(id) }}
	}
	c.SetNet(nft.New(hosts))
	now := time.Now()
	for _, n := range c.nodes {
		c.follow(n, now)
		fmt.Fprintf(log, "attached %s: container %s at %s\n", n.id, n.name, n.ip)
	}
	for _, n := range c.nodes {
		if err := c.WaitReady(ctx, n.id); err != nil {
			return nil, err
		}
	}
	return c, nil
}
