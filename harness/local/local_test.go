package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/targets"
)

// testTarget starts testnode (internal/testbin/testnode) with the runtime's NodeArgs.
type testTarget struct {
	extra []string
	// steal, when set, is given once, to n1, as its client address instead of the runtime's.
	steal *string
}

func (testTarget) Name() string                                   { return "testnode" }
func (testTarget) Capabilities() []targets.Capability             { return nil }
func (testTarget) NewClient(targets.Node) (targets.Client, error) { return nil, nil }
func (testTarget) Env(a targets.NodeArgs) ([]string, error) {
	return []string{"TESTNODE_ID=" + a.ID}, nil
}
func (t testTarget) Args(a targets.NodeArgs) ([]string, error) {
	if t.steal != nil && *t.steal != "" && a.ID == "n1" {
		a.ClientListen, *t.steal = *t.steal, ""
	}
	return append(testbin.TestNodeArgs(a), t.extra...), nil
}

// testNode returns the static test node.
func testNode(t *testing.T) string { return testbin.TestNode(t) }

func TestMain(m *testing.M) {
	if os.Getenv("SKEPTIC_LOCAL_HELPER") != "" {
		helper()
		return
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// helper is a harness that starts a cluster, prints its nodes' pids, and waits to be killed.
func helper() {
	spec := cluster.Spec{RunID: "helper", Target: testTarget{}, Nodes: 2, Binary: os.Getenv("SKEPTIC_LOCAL_HELPER"), RunDir: os.Getenv("SKEPTIC_LOCAL_RUNDIR")}
	c, err := New().StartCluster(context.Background(), spec)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for _, n := range c.Nodes() {
		pid, _ := c.PID(n.ID)
		fmt.Println("pid", pid)
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
}

func startCluster(t *testing.T, n int, keep bool) (*Cluster, cluster.Spec) {
	t.Helper()
	var log bytes.Buffer
	spec := cluster.Spec{RunID: "t", Target: testTarget{}, Nodes: n, Binary: testNode(t), RunDir: t.TempDir(), KeepData: keep, Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := New().StartCluster(ctx, spec)
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
	t.Logf("runtime log: %s", log.String())
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("Teardown: %v", err)
		}
	})
	return c, spec
}

// get asks a test node for url (see testnode's doc).
func get(url string) (string, error) { return testbin.Get(url) }

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func TestClusterLifecycle(t *testing.T) {
	t.Setenv("SKEPTIC_TICK", "1h") // the harness's settings do not reach the nodes
	c, spec := startCluster(t, 3, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := c.Nodes()
	for i, n := range nodes {
		if want := fmt.Sprintf("n%d", i+1); n.ID != want || !strings.HasPrefix(n.ClientURL, "http://127.0.0.1:") {
			t.Fatalf("node %d = %+v", i, n)
		}
		if body, err := get(n.ClientURL + "/"); err != nil || body != "ok "+n.ID+" " {
			t.Fatalf("GET %s = %q, %v", n.ClientURL, body, err)
		}
	}
	if body, err := get(nodes[1].ClientURL + "/env?k=TESTNODE_ID"); err != nil || body != "n2" {
		t.Errorf("n2's TESTNODE_ID = %q, %v", body, err)
	}
	if body, err := get(nodes[1].ClientURL + "/env?k=SKEPTIC_TICK"); err != nil || body != "" {
		t.Errorf("n2's SKEPTIC_TICK = %q, %v; want it unset", body, err)
	}
	p := c.Proc()

	// Kill -9 really kills the pid; Start brings the node back with its data.
	if err := testbin.Put(nodes[0].ClientURL, "survivor"); err != nil {
		t.Fatal(err)
	}
	pid, err := c.PID("n1")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("pid %d of n1 is alive after Kill", pid)
	}
	if _, err := get(nodes[0].ClientURL + "/"); err == nil {
		t.Fatal("n1 answered after Kill")
	}
	if err := p.Kill(ctx, "n1"); err != nil {
		t.Errorf("killing a killed node: %v", err)
	}
	if err := p.Start(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if body, err := get(nodes[0].ClientURL + "/"); err != nil || body != "ok n1 survivor" {
		t.Fatalf("after restart GET n1 = %q, %v", body, err)
	}
	if err := p.Start(ctx, "n1"); err != nil {
		t.Errorf("starting a running node: %v", err)
	}

	// Pause: SIGSTOP, no answer; Resume: answers again.
	pid2, _ := c.PID("n2")
	if err := p.Pause(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if s := procState(pid2); s != "T" {
		t.Errorf("paused n2 is in state %q, want T", s)
	}
	if resp, err := (&http.Client{Timeout: 300 * time.Millisecond}).Get(nodes[1].ClientURL + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("n2 answered while paused")
	}
	if err := p.Pause(ctx, "n2"); err != nil {
		t.Errorf("pausing a paused node: %v", err)
	}
	if err := p.Resume(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := p.Resume(ctx, "n2"); err != nil {
		t.Errorf("resuming a running node: %v", err)
	}
	if body, err := get(nodes[1].ClientURL + "/"); err != nil || body != "ok n2 " {
		t.Fatalf("after Resume GET n2 = %q, %v", body, err)
	}

	// A paused node is killed by Kill.
	pid3, _ := c.PID("n3")
	if err := p.Pause(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if alive(pid3) {
		t.Errorf("paused n3 (pid %d) survived Kill", pid3)
	}
	if err := p.Pause(ctx, "n3"); err == nil {
		t.Error("pausing a killed node succeeded")
	}
	if err := p.Kill(ctx, "n7"); err == nil || !strings.Contains(err.Error(), `unknown node "n7"`) {
		t.Errorf("Kill(n7) = %v", err)
	}

	// Teardown kills everything, removes the data but keeps the logs; it is idempotent.
	pids := []int{}
	for _, id := range []string{"n1", "n2"} {
		pid, err := c.PID(id)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after Teardown", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(spec.RunDir, "nodes", "n1", "data")); !os.IsNotExist(err) {
		t.Errorf("n1's data dir survived Teardown: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(spec.RunDir, "nodes", "n1", "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	if k := strings.Count(string(b), "testnode n1: client"); k != 2 {
		t.Errorf("n1's node.log has %d start lines, want 2:\n%s", k, b)
	}
	if err := p.Start(ctx, "n1"); err == nil {
		t.Error("Start after Teardown succeeded")
	}
}

func TestPeersGoThroughTheMesh(t *testing.T) {
	c, _ := startCluster(t, 3, false)
	ctx := context.Background()
	nodes := c.Nodes()
	dial := func(from, to int) error {
		body, err := get(fmt.Sprintf("%s/dial?to=n%d", nodes[from-1].ClientURL, to))
		if err == nil && body != fmt.Sprintf("pong n%d to n%d\n", to, from) {
			err = fmt.Errorf("unexpected answer %q", body)
		}
		return err
	}
	if err := dial(1, 3); err != nil {
		t.Fatalf("n1 -> n3: %v", err)
	}
	if err := c.Net().Partition(ctx, map[string][]string{"n3": {"n1"}}); err != nil {
		t.Fatal(err)
	}
	if err := dial(1, 3); err == nil {
		t.Error("n1 reached n3 across the partition")
	}
	if err := dial(2, 3); err != nil {
		t.Errorf("n2 -> n3: %v", err)
	}
	if err := c.Net().Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dial(1, 3); err != nil {
		t.Errorf("after Heal, n1 -> n3: %v", err)
	}
}

func TestKeepData(t *testing.T) {
	c, spec := startCluster(t, 1, true)
	if err := c.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(spec.RunDir, "nodes", "n1", "data")); err != nil {
		t.Errorf("KeepData: %v", err)
	}
}

func TestStartFailureNamesNode(t *testing.T) {
	spec := cluster.Spec{RunID: "t", Target: testTarget{extra: []string{"-no-such-flag"}}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir()}
	_, err := New().StartCluster(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "node n1") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Fatalf("StartCluster = %v; want an error naming n1 with its output", err)
	}
	// A program that exits at once with status 0 is said to have done so (not "exited (<nil>)").
	spec.Binary = "/bin/true"
	if _, err := New().StartCluster(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "node n1 exited with status 0 before accepting connections") {
		t.Fatalf("StartCluster of /bin/true = %v", err)
	}
	spec.Binary = filepath.Join(t.TempDir(), "missing")
	if _, err := New().StartCluster(context.Background(), spec); err == nil || !strings.Contains(err.Error(), "Binary") {
		t.Fatalf("missing binary: %v", err)
	}
}

// TestNodesDieWithTheHarness SIGKILLs a harness process and checks its nodes die too (Pdeathsig).
func TestNodesDieWithTheHarness(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SKEPTIC_LOCAL_HELPER="+testNode(t), "SKEPTIC_LOCAL_RUNDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "pid "); ok {
			pid, _ := strconv.Atoi(rest)
			pids = append(pids, pid)
		} else if line == "ready" {
			break
		} else {
			t.Fatalf("helper: %s", line)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("helper printed pids %v", pids)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("node pid %d not alive while the harness runs", pid)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) && procState(pid) != "Z" && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) && procState(pid) != "Z" {
			t.Errorf("node pid %d outlived its SIGKILLed harness", pid)
		}
	}
}

func TestStartAgainWhenAPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	var log bytes.Buffer
	spec := cluster.Spec{RunID: "t", Target: testTarget{steal: &taken}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir(), Log: &log}
	c, err := New().StartCluster(context.Background(), spec)
	if err != nil {
		t.Fatalf("StartCluster: %v", err)
	}
	defer c.Teardown(context.Background())
	if !strings.Contains(log.String(), "port was taken") {
		t.Errorf("no retry in the log: %s", log.String())
	}
	if _, err := get(c.Nodes()[0].ClientURL + "/"); err != nil {
		t.Error(err)
	}
}

func TestConcurrentTeardowns(t *testing.T) {
	c, _ := startCluster(t, 2, false)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Teardown(context.Background())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
