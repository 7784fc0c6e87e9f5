package docker

import (
	"context"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/targets"
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
	w, err := target.NewClient(c.Nodes()[0])
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := target.NewClient(c.Nodes()[2])
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	deadline := time.Now().Add(20 * time.Second)
	var last targets.Outcome
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = w.Do(ctx, targets.Op{F: targets.FWrite, Key: "k", Value: 42})
		cancel()
		if last.Type == history.Ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last.Type != history.Ok {
		t.Fatalf("write never succeeded: %+v", last)
	}
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		last = r.Do(ctx, targets.Op{F: targets.FRead, Key: "k"})
		cancel()
		if last.Type == history.Ok {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last.Type != history.Ok || last.Value == nil || *last.Value != 42 {
		t.Fatalf("read through n3: %+v, want 42", last)
	}
}
