package local

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// skepticNode returns a static skeptic binary, whose `node` command is the Paxos node.
func skepticNode(t *testing.T) string { return testbin.Skeptic(t) }

// TestPartitionCutsForwarding proves that a partition on the local runtime also cuts the path a follower uses to
// forward a client's request to its leader: with the peer links alone cut, the isolated follower would still
// reach the leader over its client port and the write would succeed.
func TestPartitionCutsForwarding(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Paxos node")
	}
	target, err := paxos.New(paxos.Options{})
	require.NoError(t, err)
	spec := cluster.Spec{RunID: "fwd", Target: target, Nodes: 3, Binary: skepticNode(t), RunDir: t.TempDir()}
	c, err := New().StartCluster(context.Background(), spec)
	require.NoError(t, err)
	defer func() { assert.NoError(t, c.Teardown(context.Background())) }()
	nodes := c.Nodes()
	testbin.WriteRead(t, target, nodes)

	// The follower that every node agrees is not the leader, once the leader is known to it.
	var leader string
	require.Eventually(t, func() bool {
		st, err := httpkv.Status(context.Background(), nodes[0].ClientURL)
		leader = st.Leader
		return err == nil && leader != ""
	}, 10*time.Second, 50*time.Millisecond)
	var follower targets.Node
	for _, n := range nodes {
		if n.ID != leader {
			follower = n
			break
		}
	}
	require.Eventually(t, func() bool {
		st, err := httpkv.Status(context.Background(), follower.ClientURL)
		return err == nil && st.Leader == leader
	}, 10*time.Second, 50*time.Millisecond, "follower %s never learned leader %s", follower.ID, leader)
	cl, err := target.NewClient(follower)
	require.NoError(t, err)
	defer cl.Close()
	do := func(v int64) targets.Outcome {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
		defer cancel()
		return cl.Do(ctx, targets.Op{F: targets.FWrite, Key: "fwd", Value: v})
	}
	require.Equal(t, history.Ok, do(1).Type, "a write through follower %s before the partition", follower.ID)

	g := nemesis.Grudge{follower.ID: nil}
	for _, n := range nodes {
		if n.ID != follower.ID {
			g[follower.ID] = append(g[follower.ID], n.ID)
			g[n.ID] = []string{follower.ID}
		}
	}
	require.NoError(t, c.Net().Partition(context.Background(), g))
	out := do(2)
	assert.NotEqual(t, history.Ok, out.Type, "isolated follower %s still got a write to leader %s: %+v", follower.ID, leader, out)

	require.NoError(t, c.Net().Heal(context.Background()))
	require.Eventually(t, func() bool { return do(3).Type == history.Ok }, 20*time.Second, 200*time.Millisecond,
		"writes through %s after the heal", follower.ID)
}
