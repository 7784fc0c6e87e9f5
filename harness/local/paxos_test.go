package local

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// skepticNode returns a static binary whose `node` command is the Paxos node: cmd/skeptic when it mounts the
// node command, and otherwise testdata/paxosnode, which mounts nothing else.
func skepticNode(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	build := func(pkg string) (string, error) {
		out := filepath.Join(dir, filepath.Base(pkg))
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("building %s: %v\n%s", pkg, err, b)
		}
		return out, err
	}
	if bin, err := build("github.com/skeptic-dev/skeptic/cmd/skeptic"); err == nil {
		if exec.Command(bin, "node", "--help").Run() == nil {
			return bin
		}
		t.Log("cmd/skeptic has no node command yet: using testdata/paxosnode")
	}
	bin, err := build("./testdata/paxosnode")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// writeRead writes a key through one node and reads it back through another, retrying while the cluster elects
// a leader.
func writeRead(t *testing.T, target targets.Target, nodes []targets.Node) {
	t.Helper()
	w, err := target.NewClient(nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := target.NewClient(nodes[len(nodes)-1])
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
		t.Fatalf("read through %s: %+v, want 42", nodes[len(nodes)-1].ID, last)
	}
}

func TestPaxosClusterWritesAndReads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the Paxos node")
	}
	target, err := paxos.New(paxos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	spec := cluster.Spec{RunID: "paxos", Target: target, Nodes: 3, Binary: skepticNode(t), RunDir: t.TempDir()}
	c, err := New().StartCluster(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	writeRead(t, target, c.Nodes())
}
