package spec

import (
	"context"
	"errors"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

// TEMPORARY until the etcd client lands.
func newEtcdClient(n targets.Node, opts map[string]string, timeout time.Duration) (targets.Client, error) {
	return nil, errors.New("etcd client: not yet")
}

func etcdLeader(ctx context.Context, n targets.Node) (string, error) {
	return "", errors.New("not yet")
}
