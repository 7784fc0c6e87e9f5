package spec

import (
	"context"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/etcd"
)

// EtcdReadOption is the option of an etcd target that chooses the read consistency: linearizable (default) or
// serializable.
const EtcdReadOption = "etcd-read"

// newEtcdClient returns an etcd client bound to node n's member alone.
func newEtcdClient(n targets.Node, opts map[string]string, timeout time.Duration) (targets.Client, error) {
	return etcd.New(n.ClientURL, etcd.Options{ReadMode: opts[EtcdReadOption], Timeout: timeout})
}

// etcdLeader returns the leader member n names, by its --name (the node id).
func etcdLeader(ctx context.Context, n targets.Node) (string, error) {
	st, err := etcd.Status(ctx, n.ClientURL)
	return st.LeaderName, err
}
