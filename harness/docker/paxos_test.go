package docker

import (
	"testing"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// skepticNode returns a static skeptic binary, whose `node` command is the Paxos node.
func skepticNode(t *testing.T) string { return testbin.Skeptic(t) }

func TestPaxosClusterWritesAndReads(t *testing.T) {
	rt := requireDocker(t)
	if testing.Short() {
		t.Skip("builds the Paxos node")
	}
	target, err := paxos.New(paxos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, _, log := startClusterWith(t, rt, cluster.Spec{Target: target, Nodes: 3, Binary: skepticNode(t)})
	t.Logf("runtime log:\n%s", log)
	testbin.WriteRead(t, target, c.Nodes())
}
