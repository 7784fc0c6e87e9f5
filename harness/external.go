package harness

// This file is about clusters skeptic did not start: --runtime none --endpoints (a running cluster, tested
// without lifecycle or faults) and --attach (existing containers, faulted through Docker like skeptic's own).

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/internal/field"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
)

var nodeIDRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// ParseNodeMap reads id=VALUE,... (the form of --endpoints and --attach) for the Test field name ("endpoints"
// or "attach"); errors are *field.Error for that field.
func ParseNodeMap(name, s string) (map[string]string, error) {
	m := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, v, ok := strings.Cut(part, "=")
		if !ok || id == "" || v == "" {
			return nil, field.Errorf(name, "%q is not ID=VALUE (for example n1=%s)", part, map[string]string{"endpoints": "127.0.0.1:8080", "attach": "mycluster-n1-1"}[name])
		}
		if !nodeIDRE.MatchString(id) {
			return nil, field.Errorf(name, "node id %q must start with a lower-case letter and hold only lower-case letters, digits, '_' and '-'", id)
		}
		if _, dup := m[id]; dup {
			return nil, field.Errorf(name, "node %s is given twice", id)
		}
		m[id] = v
	}
	if len(m) == 0 {
		return nil, field.Errorf(name, "names no node; want ID=VALUE,...")
	}
	return m, nil
}

// validateExternal checks --endpoints and --attach against the runtime, the node count and the nemesis.
func (t Test) validateExternal() error {
	if len(t.Endpoints) > 0 && len(t.Attach) > 0 {
		return field.Errorf("attach", "tests containers through Docker; --endpoints tests a cluster skeptic cannot touch; give one")
	}
	if t.Runtime == RuntimeNone {
		if len(t.Endpoints) == 0 {
			return field.Errorf("runtime", "none tests a running cluster: give its client addresses with --endpoints n1=HOST:PORT,...")
		}
		if t.Nemesis.Enabled() {
			return field.Errorf("nemesis", "--runtime none starts nothing and applies no faults; use --attach for containers skeptic may fault")
		}
		for id, ep := range t.Endpoints {
			if _, _, err := net.SplitHostPort(strings.TrimPrefix(ep, "http://")); err != nil {
				return field.Errorf("endpoints", "%s=%s: want HOST:PORT (%v)", id, ep, err)
			}
		}
	} else if len(t.Endpoints) > 0 {
		return field.Errorf("endpoints", "names a running cluster; it goes with --runtime none")
	}
	if len(t.Attach) > 0 && t.Runtime != RuntimeDocker && t.Runtime != RuntimeAuto {
		return field.Errorf("attach", "attaches Docker containers; it goes with --runtime docker, not %s", t.Runtime)
	}
	for _, m := range []map[string]string{t.Endpoints, t.Attach} {
		if len(m) > 0 && len(m) != t.Nodes {
			return field.Errorf("nodes", "is %d, but %d nodes are named; leave --nodes out", t.Nodes, len(m))
		}
	}
	return nil
}

// external reports whether the run tests nodes skeptic does not start.
func (t Test) external() bool { return len(t.Endpoints) > 0 || len(t.Attach) > 0 }

// nodeIDs returns the ids of the run's nodes: those named by --endpoints or --attach, else n1..nN.
func (t Test) nodeIDs() []string {
	for _, m := range []map[string]string{t.Endpoints, t.Attach} {
		if len(m) > 0 {
			ids := make([]string, 0, len(m))
			for id := range m {
				ids = append(ids, id)
			}
			sort.Slice(ids, func(i, j int) bool { return keyLess(ids[i], ids[j]) })
			return ids
		}
	}
	return cluster.NodeIDs(t.Nodes)
}

// noneRuntime is --runtime none: the cluster at --endpoints, as it is. It starts, stops and faults nothing.
type noneRuntime struct{ endpoints map[string]string }

func (noneRuntime) Name() string { return RuntimeNone }

// Start returns the nodes at the endpoints, after checking that each accepts TCP connections.
func (r noneRuntime) Start(ctx context.Context, spec cluster.Spec) (cluster.Cluster, error) {
	c := &noneCluster{}
	ids := make([]string, 0, len(r.endpoints))
	for id := range r.endpoints {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return keyLess(ids[i], ids[j]) })
	var d net.Dialer
	for _, id := range ids {
		hp := strings.TrimPrefix(r.endpoints[id], "http://")
		dctx, cancel := context.WithTimeout(ctx, spec.ReadyTimeout)
		conn, err := d.DialContext(dctx, "tcp", hp)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("node %s at %s does not accept connections: %w", id, hp, err)
		}
		conn.Close()
		c.nodes = append(c.nodes, targets.Node{ID: id, ClientURL: "http://" + hp})
	}
	return c, nil
}

// noneCluster is a running cluster skeptic may only talk to.
type noneCluster struct{ nodes []targets.Node }

func (c *noneCluster) Nodes() []targets.Node { return c.nodes }

// Proc and Net are nil: the nemesis is refused with --runtime none before a run starts.
func (c *noneCluster) Proc() nemesis.Proc { return nil }
func (c *noneCluster) Net() nemesis.Net   { return nil }

// Teardown leaves the cluster as it was.
func (c *noneCluster) Teardown(context.Context) error { return nil }

// attachRuntime is the docker runtime attaching existing containers (--attach) instead of starting new ones.
type attachRuntime struct {
	*docker.Runtime
	containers map[string]string
}

// Start attaches the containers; see docker.Runtime.Attach.
func (r attachRuntime) Start(ctx context.Context, spec cluster.Spec) (cluster.Cluster, error) {
	return r.Attach(ctx, spec, r.containers)
}
