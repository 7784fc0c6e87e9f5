package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/targets"
)

// testTarget starts testnode (internal/testbin/testnode) with the runtime's NodeArgs.
type testTarget struct {
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
	return testbin.TestNodeArgs(a), nil
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
	require.NoError(t, err, "StartCluster")
	t.Logf("runtime log: %s", log.String())
	t.Cleanup(func() {
		assert.NoError(t, c.Teardown(context.Background()), "Teardown")
	})
	return c, spec
}

// get asks a test node for url (see testnode's doc).
func get(url string) (string, error) { return testbin.Get(url) }

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// TestHarnessSettingsStayOut: the harness's SKEPTIC_ variables do not reach the nodes (the conformance suite,
// TestConformance, covers the rest of a cluster's life).
func TestHarnessSettingsStayOut(t *testing.T) {
	t.Setenv("SKEPTIC_TICK", "1h")
	c, _ := startCluster(t, 2, false)
	body, err := get(c.Nodes()[1].ClientURL + "/env?k=SKEPTIC_TICK")
	require.NoError(t, err)
	assert.Empty(t, body, "n2's SKEPTIC_TICK")
	body, err = get(c.Nodes()[1].ClientURL + "/env?k=TESTNODE_ID")
	require.NoError(t, err)
	assert.Equal(t, "n2", body, "the target's own environment does reach it")
}

func TestKeepData(t *testing.T) {
	c, spec := startCluster(t, 1, true)
	require.NoError(t, c.Teardown(context.Background()))
	_, err := os.Stat(filepath.Join(spec.RunDir, "nodes", "n1", "data"))
	assert.NoError(t, err, "KeepData")
}

// TestStartFailureSaysHow: the conformance suite checks a node that fails; here, one that exits cleanly, and a
// binary that is missing.
func TestStartFailureSaysHow(t *testing.T) {
	spec := cluster.Spec{RunID: "t", Target: testTarget{}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir()}
	// A program that exits at once with status 0 is said to have done so (not "exited (<nil>)").
	spec.Binary = "/bin/true"
	_, err := New().StartCluster(context.Background(), spec)
	require.Error(t, err, "StartCluster of /bin/true")
	require.Contains(t, err.Error(), "node n1 exited with status 0 before accepting connections", "StartCluster of /bin/true")
	spec.Binary = filepath.Join(t.TempDir(), "missing")
	_, err = New().StartCluster(context.Background(), spec)
	require.Error(t, err, "missing binary")
	require.Contains(t, err.Error(), "Binary", "missing binary")
}

// TestNodesDieWithTheHarness SIGKILLs a harness process and checks its nodes die too (Pdeathsig).
func TestNodesDieWithTheHarness(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SKEPTIC_LOCAL_HELPER="+testNode(t), "SKEPTIC_LOCAL_RUNDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
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
			require.FailNow(t, "the helper printed an unexpected line", "helper: %s", line)
		}
	}
	require.Len(t, pids, 2, "helper printed pids %v", pids)
	for _, pid := range pids {
		require.True(t, alive(pid), "node pid %d not alive while the harness runs", pid)
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) && procState(pid) != "Z" && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			assert.Equal(t, "Z", procState(pid), "node pid %d outlived its SIGKILLed harness", pid)
		}
	}
}

func TestStartAgainWhenAPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	taken := ln.Addr().String()
	var log bytes.Buffer
	spec := cluster.Spec{RunID: "t", Target: testTarget{steal: &taken}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir(), Log: &log}
	c, err := New().StartCluster(context.Background(), spec)
	require.NoError(t, err, "StartCluster")
	defer c.Teardown(context.Background())
	assert.Contains(t, log.String(), "port was taken", "no retry in the log")
	_, err = get(c.Nodes()[0].ClientURL + "/")
	assert.NoError(t, err)
}
