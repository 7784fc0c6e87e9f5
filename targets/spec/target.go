package spec

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
)

// Target is a system described by a Spec, with its options resolved: the one kind of targets.Target the harness
// runs, for the built-in targets and a user's alike.
type Target struct {
	spec      *Spec
	opts      map[string]string
	opTimeout time.Duration
}

var _ targets.Target = (*Target)(nil)

// New returns the target s describes with the given options (see Spec.Resolve; a bad option is a *field.Error).
// opTimeout bounds each client operation.
func New(s *Spec, given map[string]string, opTimeout time.Duration) (*Target, error) {
	opts, err := s.Resolve(given)
	if err != nil {
		return nil, err
	}
	return &Target{spec: s, opts: opts, opTimeout: opTimeout}, nil
}

// Spec returns the target's spec.
func (t *Target) Spec() *Spec { return t.spec }

// Options returns the target's resolved options.
func (t *Target) Options() map[string]string { return t.opts }

// Name is the spec's name.
func (t *Target) Name() string { return t.spec.Name }

// Capabilities are the spec's.
func (t *Target) Capabilities() []targets.Capability { return t.spec.Capabilities }

// Args renders the spec's args for one node.
func (t *Target) Args(a targets.NodeArgs) ([]string, error) {
	return t.spec.RenderArgs(NodeFrom(a, t.opts))
}

// Env renders the spec's env for one node.
func (t *Target) Env(a targets.NodeArgs) ([]string, error) {
	return t.spec.RenderEnv(NodeFrom(a, t.opts))
}

// NewClient returns a client of the spec's kind, bound to node n alone.
func (t *Target) NewClient(n targets.Node) (targets.Client, error) {
	switch t.spec.Client {
	case ClientHTTPKV:
		if !strings.HasPrefix(n.ClientURL, "http") {
			return nil, fmt.Errorf("target %s: node %s has no http client URL (got %q)", t.spec.Name, n.ID, n.ClientURL)
		}
		return httpkv.New(n.ClientURL, httpkv.WithTimeout(t.opTimeout)), nil
	case ClientEtcd:
		return newEtcdClient(n, t.opts, t.opTimeout)
	}
	return nil, fmt.Errorf("target %s: unknown client kind %q", t.spec.Name, t.spec.Client)
}

// Leader returns the leader node n names (its id), for a target with the status capability: GET /admin/status for
// an http-kv target, etcd's member status for etcd.
func (t *Target) Leader(ctx context.Context, n targets.Node) (string, error) {
	switch t.spec.Client {
	case ClientHTTPKV:
		st, err := httpkv.Status(ctx, n.ClientURL)
		return st.Leader, err
	case ClientEtcd:
		return etcdLeader(ctx, n)
	}
	return "", fmt.Errorf("target %s: no status for client kind %q", t.spec.Name, t.spec.Client)
}
