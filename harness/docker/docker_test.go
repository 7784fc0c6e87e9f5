package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
	"github.com/skeptic-dev/skeptic/targets"
)

// testTarget starts testnode (internal/testbin/testnode) with the runtime's NodeArgs.
type testTarget struct{ extra []string }

func (testTarget) Name() string                                   { return "testnode" }
func (testTarget) Capabilities() []targets.Capability             { return nil }
func (testTarget) NewClient(targets.Node) (targets.Client, error) { return nil, nil }
func (testTarget) Env(a targets.NodeArgs) ([]string, error) {
	return []string{"TESTNODE_ID=" + a.ID}, nil
}
func (t testTarget) Args(a targets.NodeArgs) ([]string, error) {
	return append(testbin.TestNodeArgs(a), t.extra...), nil
}

// testNode returns the static test node.
func testNode(t *testing.T) string { return testbin.TestNode(t) }

func TestMain(m *testing.M) {
	if bin := os.Getenv("SKEPTIC_DOCKER_TEST_HARNESS"); bin != "" {
		harnessThatDies(bin)
		return
	}
	code := m.Run()
	testbin.Cleanup()
	os.Exit(code)
}

// requireDocker skips the test when no daemon answers, unless SKEPTIC_REQUIRE_DOCKER=1 (as in CI) makes that a
// failure.
func requireDocker(t *testing.T) *Runtime {
	t.Helper()
	if err := Available(context.Background()); err != nil {
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			t.Fatalf("SKEPTIC_REQUIRE_DOCKER=1 but: %v", err)
		}
		t.Skip(err)
	}
	rt, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func runID(t *testing.T) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "test" + hex.EncodeToString(b)
}

// startCluster starts an n-node test cluster, torn down (and checked gone) when the test ends.
func startCluster(t *testing.T, rt *Runtime, n int, target targets.Target) (*Cluster, cluster.Spec, *bytes.Buffer) {
	t.Helper()
	return startClusterWith(t, rt, cluster.Spec{Target: target, Nodes: n, Binary: testNode(t)})
}

// startClusterWith starts spec with a fresh run id and run dir, torn down (and checked gone) when the test ends.
func startClusterWith(t *testing.T, rt *Runtime, spec cluster.Spec) (*Cluster, cluster.Spec, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	spec.RunID, spec.RunDir, spec.Log = runID(t), t.TempDir(), &log
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := rt.StartCluster(ctx, spec)
	if err != nil {
		t.Fatalf("StartCluster: %v\nlog:\n%s", err, log.String())
	}
	t.Cleanup(func() {
		if err := c.Teardown(context.Background()); err != nil {
			t.Errorf("Teardown: %v", err)
		}
		if left := leftovers(t, rt, spec.RunID); len(left) > 0 {
			t.Errorf("after Teardown, run %s still has %v", spec.RunID, left)
		}
	})
	return c, spec, &log
}

// leftovers lists every container, network and volume labelled with run.
func leftovers(t *testing.T, rt *Runtime, run string) []string {
	t.Helper()
	out, err := rt.RunObjects(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// get asks a test node for url (see testnode's doc).
func get(url string) (string, error) { return testbin.Get(url) }

func TestClusterLifecycle(t *testing.T) {
	rt := requireDocker(t)
	c, spec, log := startCluster(t, rt, 3, testTarget{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	t.Logf("runtime log:\n%s", log)

	nodes := c.Nodes()
	if len(nodes) != 3 {
		t.Fatalf("Nodes() = %v, want 3 nodes", nodes)
	}
	for i, n := range nodes {
		if want := fmt.Sprintf("n%d", i+1); n.ID != want {
			t.Fatalf("node %d is %s, want %s", i, n.ID, want)
		}
		wantURL := fmt.Sprintf("http://%s:8080", c.IPs()[n.ID])
		if n.ClientURL != wantURL || !strings.HasSuffix(c.IPs()[n.ID].String(), fmt.Sprintf(".%d", 11+i)) {
			t.Fatalf("node %s at %s (ip %s), want %s ending in .%d", n.ID, n.ClientURL, c.IPs()[n.ID], wantURL, 11+i)
		}
		body, err := get(n.ClientURL + "/")
		if err != nil || body != "ok "+n.ID+" " {
			t.Fatalf("GET %s = %q, %v; want %q", n.ClientURL, body, err, "ok "+n.ID+" ")
		}
	}
	if !SubnetPool.Contains(c.Subnet().Addr()) {
		t.Errorf("subnet %s is outside %s", c.Subnet(), SubnetPool)
	}
	// Peers reach each other at the addresses the target was given, and the env reached the node.
	if body, err := get(nodes[0].ClientURL + "/dial?to=n3"); err != nil || body != "pong n3 to n1\n" {
		t.Errorf("n1 dialing n3: %q, %v", body, err)
	}
	if body, err := get(nodes[1].ClientURL + "/env?k=TESTNODE_ID"); err != nil || body != "n2" {
		t.Errorf("n2's TESTNODE_ID = %q, %v; want n2", body, err)
	}

	// Labels: every container, volume and the network carries skeptic=1 and the run.
	for _, n := range nodes {
		name, _ := c.Container(n.ID)
		info, err := rt.cli.ContainerInspect(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if l := info.Config.Labels; l[LabelSkeptic] != "1" || l[LabelRun] != spec.RunID {
			t.Errorf("container %s labels %v", name, l)
		}
		if info.HostConfig.Privileged || info.HostConfig.RestartPolicy.Name != "" && info.HostConfig.RestartPolicy.Name != "no" || len(info.HostConfig.PortBindings) > 0 {
			t.Errorf("container %s: privileged %v, restart %q, ports %v", name, info.HostConfig.Privileged, info.HostConfig.RestartPolicy.Name, info.HostConfig.PortBindings)
		}
		v, err := rt.cli.VolumeInspect(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if v.Labels[LabelSkeptic] != "1" || v.Labels[LabelRun] != spec.RunID {
			t.Errorf("volume %s labels %v", v.Name, v.Labels)
		}
	}
	netw, err := rt.cli.NetworkInspect(ctx, c.Network(), network.InspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if netw.Labels[LabelSkeptic] != "1" || netw.Labels[LabelRun] != spec.RunID {
		t.Errorf("network %s labels %v", netw.Name, netw.Labels)
	}

	// Kill: the node stops answering, and starts again with its data.
	p := c.Proc()
	n1 := nodes[0]
	if err := testbin.Put(n1.ClientURL, "survivor"); err != nil {
		t.Fatal(err)
	}
	pid1, err := c.PID(ctx, "n1")
	if err != nil || pid1 <= 0 {
		t.Fatalf("PID(n1) = %d, %v", pid1, err)
	}
	if err := p.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(n1.ClientURL + "/"); err == nil {
		t.Fatal("n1 answered after Kill")
	}
	if _, err := c.PID(ctx, "n1"); err == nil {
		t.Error("PID(n1) succeeded after Kill")
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
	if body, err := get(n1.ClientURL + "/"); err != nil || body != "ok n1 survivor" {
		t.Fatalf("after restart, GET n1 = %q, %v; want its data back", body, err)
	}
	if pid2, err := c.PID(ctx, "n1"); err != nil || pid2 == pid1 {
		t.Errorf("PID(n1) after restart = %d, %v (before: %d)", pid2, err, pid1)
	}
	if err := p.Start(ctx, "n1"); err != nil {
		t.Errorf("starting a running node: %v", err)
	}

	// Pause: the node stops answering; Resume: it answers again.
	n2 := nodes[1]
	if err := p.Pause(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := p.Pause(ctx, "n2"); err != nil {
		t.Errorf("pausing a paused node: %v", err)
	}
	if body, err := (&http.Client{Timeout: 500 * time.Millisecond}).Get(n2.ClientURL + "/"); err == nil {
		body.Body.Close()
		t.Fatal("n2 answered while paused")
	}
	if err := p.Resume(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := p.Resume(ctx, "n2"); err != nil {
		t.Errorf("resuming a running node: %v", err)
	}
	if body, err := get(n2.ClientURL + "/"); err != nil || body != "ok n2 " {
		t.Fatalf("after Resume, GET n2 = %q, %v", body, err)
	}

	// Kill of a paused node kills it.
	if err := p.Pause(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(ctx, "n3"); err != nil {
		t.Fatalf("killing a paused node: %v", err)
	}
	if _, err := c.PID(ctx, "n3"); err == nil {
		t.Error("n3 still runs after Kill while paused")
	}
	if err := p.Pause(ctx, "n3"); err == nil {
		t.Error("pausing a killed node succeeded")
	}
	if err := p.Kill(ctx, "n9"); err == nil || !strings.Contains(err.Error(), `unknown node "n9"`) {
		t.Errorf("Kill(n9) = %v, want an unknown-node error", err)
	}

	if err := c.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatalf("second Teardown: %v", err)
	}
	// Output of both lives of n1 reached its node.log.
	b, err := os.ReadFile(filepath.Join(spec.RunDir, "nodes", "n1", "node.log"))
	if err != nil {
		t.Fatal(err)
	}
	if k := strings.Count(string(b), "testnode n1: client"); k != 2 {
		t.Errorf("n1's node.log has %d start lines, want 2 (one per life):\n%s", k, b)
	}
}

func TestImageReusedSecondTime(t *testing.T) {
	rt := requireDocker(t)
	ctx := context.Background()
	bin := testNode(t)
	tag, err := ImageTag(bin)
	if err != nil {
		t.Fatal(err)
	}
	// Cold: remove the image unless containers of another test use it.
	_, rmErr := rt.cli.ImageRemove(ctx, tag, image.RemoveOptions{})
	var log bytes.Buffer
	t0 := time.Now()
	got, err := EnsureImage(ctx, rt.cli, bin, &log)
	cold := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if got != tag || !strings.HasPrefix(tag, "skeptic-node:") || len(tag) != len("skeptic-node:")+16 {
		t.Fatalf("tag %q, want skeptic-node:<16 hex> = %q", got, tag)
	}
	t1 := time.Now()
	if _, err := EnsureImage(ctx, rt.cli, bin, &log); err != nil {
		t.Fatal(err)
	}
	warm := time.Since(t1)
	t.Logf("image cold %s (removed first: %v), reused %s\n%s", cold, rmErr == nil, warm, log.String())
	if !strings.Contains(log.String(), tag+" reused") {
		t.Errorf("second EnsureImage did not reuse the image: %s", log.String())
	}
	if rmErr == nil && !strings.Contains(log.String(), tag+" built in") {
		t.Errorf("first EnsureImage did not build: %s", log.String())
	}
	info, err := rt.cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Labels[LabelSkeptic] != "1" {
		t.Errorf("image labels %v", info.Config.Labels)
	}
}

func TestCleanRemovesCrashedRun(t *testing.T) {
	rt := requireDocker(t)
	var log bytes.Buffer
	spec := cluster.Spec{RunID: runID(t), Target: testTarget{}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir(), Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := rt.StartCluster(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Proc().Pause(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	// The harness "crashes": no Teardown. Clean finds it all by its label, paused or not.
	removed, err := Clean(ctx, spec.RunID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"container skeptic-" + spec.RunID + "-n1", "container skeptic-" + spec.RunID + "-n2", "network skeptic-" + spec.RunID,
		"volume skeptic-" + spec.RunID + "-n1", "volume skeptic-" + spec.RunID + "-n2"}
	for _, w := range want {
		found := false
		for _, r := range removed {
			found = found || r == w
		}
		if !found {
			t.Errorf("Clean removed %v, missing %q", removed, w)
		}
	}
	if left := leftovers(t, rt, spec.RunID); len(left) > 0 {
		t.Errorf("after Clean, %v remain", left)
	}
}

func TestStartFailureNamesNodeAndCleansUp(t *testing.T) {
	rt := requireDocker(t)
	var log bytes.Buffer
	spec := cluster.Spec{RunID: runID(t), Target: testTarget{extra: []string{"-no-such-flag"}}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir(), Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := rt.StartCluster(ctx, spec)
	if err == nil {
		t.Fatal("StartCluster succeeded with nodes that exit at once")
	}
	if !strings.Contains(err.Error(), "node n1") || !strings.Contains(err.Error(), "no-such-flag") {
		t.Errorf("error should name the node and hold its output: %v", err)
	}
	if left := leftovers(t, rt, spec.RunID); len(left) > 0 {
		t.Errorf("after a failed start, %v remain", left)
	}
}

func TestBadSpecs(t *testing.T) {
	rt := requireDocker(t)
	ctx := context.Background()
	base := cluster.Spec{RunID: runID(t), Target: testTarget{}, Nodes: 1, Binary: testNode(t), RunDir: t.TempDir()}
	cases := map[string]struct {
		edit func(*cluster.Spec)
		want string
	}{
		"not an ELF program": {func(s *cluster.Spec) { s.Binary = notELF(t) }, "is not an ELF executable"},
		"no nodes":           {func(s *cluster.Spec) { s.Nodes = 0 }, "Nodes is 0"},
		"bad run id":         {func(s *cluster.Spec) { s.RunID = "a/b" }, "RunID"},
		"bad subnet":         {func(s *cluster.Spec) { s.Subnet = "10.201.3.0/28" }, "subnet"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := base
			tc.edit(&s)
			_, err := rt.StartCluster(ctx, s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("StartCluster = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if left := leftovers(t, rt, base.RunID); len(left) > 0 {
		t.Errorf("after bad specs, %v remain", left)
	}
}

func TestFiveNodesAndConcurrentRuns(t *testing.T) {
	rt := requireDocker(t)
	var wg sync.WaitGroup
	cs := make([]*Cluster, 2)
	times := make([]time.Duration, 2)
	for i := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			// startCluster's t.Fatal must run on the test goroutine: use the runtime directly.
			var log bytes.Buffer
			spec := cluster.Spec{RunID: runID(t), Target: testTarget{}, Nodes: 5, Binary: testNode(t), RunDir: t.TempDir(), Log: &log}
			c, err := rt.StartCluster(context.Background(), spec)
			times[i] = time.Since(t0)
			if err != nil {
				t.Errorf("run %d: %v", i, err)
				return
			}
			cs[i] = c
			t.Cleanup(func() {
				if err := c.Teardown(context.Background()); err != nil {
					t.Errorf("Teardown: %v", err)
				}
				if left := leftovers(t, rt, spec.RunID); len(left) > 0 {
					t.Errorf("after Teardown, %v remain", left)
				}
			})
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("two 5-node clusters started concurrently in %s and %s (subnets %s, %s)", times[0], times[1], cs[0].Subnet(), cs[1].Subnet())
	if cs[0].Subnet().Overlaps(cs[1].Subnet()) {
		t.Errorf("concurrent runs share subnet %s", cs[0].Subnet())
	}
	for _, c := range cs {
		for _, n := range c.Nodes() {
			if _, err := get(n.ClientURL + "/"); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestNetPartitionSurvivesRestart(t *testing.T) {
	rt := requireDocker(t)
	c, _, _ := startCluster(t, rt, 3, testTarget{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := c.Nodes()
	dial := func(from, to int) error {
		body, err := get(fmt.Sprintf("%s/dial?to=n%d", nodes[from-1].ClientURL, to))
		if err == nil && body != fmt.Sprintf("pong n%d to n%d\n", to, from) {
			err = fmt.Errorf("unexpected answer %q", body)
		}
		return err
	}
	// n3 drops n1's packets: n1 cannot reach n3, n2 can, and the harness still reaches n3.
	if err := c.Net().Partition(ctx, map[string][]string{"n3": {"n1"}}); err != nil {
		t.Fatal(err)
	}
	if err := dial(1, 3); err == nil {
		t.Error("n1 reached n3 across the partition")
	}
	if err := dial(2, 3); err != nil {
		t.Errorf("n2 -> n3: %v", err)
	}
	if _, err := get(nodes[2].ClientURL + "/"); err != nil {
		t.Errorf("the harness lost n3 in the partition: %v", err)
	}
	// A restarted n3 has a new namespace; the runtime puts the partition back into it.
	if err := c.Proc().Kill(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := c.Proc().Start(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	if err := dial(1, 3); err == nil {
		t.Error("n1 reached the restarted n3 across the partition")
	}
	if err := c.Net().Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dial(1, 3); err != nil {
		t.Errorf("after Heal, n1 -> n3: %v", err)
	}
}

// harnessThatDies starts a 2-node cluster, says so, and waits to be killed.
func harnessThatDies(bin string) {
	rt, err := New()
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	run := os.Getenv("SKEPTIC_DOCKER_TEST_RUN")
	spec := cluster.Spec{RunID: run, Target: testTarget{}, Nodes: 2, Binary: bin, RunDir: os.Getenv("SKEPTIC_DOCKER_TEST_RUNDIR")}
	c, err := rt.StartCluster(context.Background(), spec)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	// A paused node must not stop the reaper either.
	if err := c.Proc().Pause(context.Background(), "n2"); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if os.Getenv("SKEPTIC_DOCKER_TEST_DETACH") == "1" {
		if err := c.Detach(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
}

// startHarnessThatDies runs this test binary as harnessThatDies (a harness with a 2-node cluster of run, one
// node paused), with env added, and returns once it says its cluster is ready.
func startHarnessThatDies(t *testing.T, run, dir string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SKEPTIC_DOCKER_TEST_HARNESS="+testNode(t), "SKEPTIC_DOCKER_TEST_RUN="+run, "SKEPTIC_DOCKER_TEST_RUNDIR="+dir)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the harness said %q", line)
	}
	return cmd
}

// TestDetachedClusterOutlivesTheHarness is --leave-db-running: a harness that detached its cluster and then died
// leaves the cluster running, until Clean removes it.
func TestDetachedClusterOutlivesTheHarness(t *testing.T) {
	rt := requireDocker(t)
	run, dir := runID(t), t.TempDir()
	t.Cleanup(func() { _, _ = Clean(context.Background(), run) })
	cmd := startHarnessThatDies(t, run, dir, "SKEPTIC_DOCKER_TEST_DETACH=1")
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The reaper of TestContainersDoNotOutliveTheHarness removes everything within about a second; wait longer.
	time.Sleep(3 * time.Second)
	if left := leftovers(t, rt, run); len(left) != 5 {
		t.Fatalf("3s after the detached harness died, the run has %v, want 2 containers, 2 volumes and a network", left)
	}
	removed, err := Clean(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) < 5 {
		t.Errorf("Clean removed only %v", removed)
	}
	if left := leftovers(t, rt, run); len(left) > 0 {
		t.Errorf("after Clean, %v remain", left)
	}
}

// TestContainersDoNotOutliveTheHarness SIGKILLs a harness that runs a cluster, and checks that its reaper removes
// every container, the network and the volumes.
func TestContainersDoNotOutliveTheHarness(t *testing.T) {
	rt := requireDocker(t)
	run, dir := runID(t), t.TempDir()
	t.Cleanup(func() { _, _ = Clean(context.Background(), run) })
	cmd := startHarnessThatDies(t, run, dir)
	if left := leftovers(t, rt, run); len(left) != 5 {
		t.Fatalf("the running harness has %v, want 2 containers, 2 volumes and a network", left)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	left := leftovers(t, rt, run)
	for len(left) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		left = leftovers(t, rt, run)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "docker-reaper.log"))
	if len(left) > 0 {
		t.Fatalf("20s after the harness died, %v remain; reaper log:\n%s", left, log)
	}
	if !strings.Contains(string(log), "removed container skeptic-"+run+"-n1") {
		t.Errorf("reaper log:\n%s", log)
	}
}

func TestAvailableSaysWhereItLooked(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	err := Available(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no Docker daemon at unix:///nonexistent/docker.sock") || !strings.Contains(err.Error(), "--runtime local") {
		t.Fatalf("Available() = %v", err)
	}
}

func TestFixedSubnet(t *testing.T) {
	rt := requireDocker(t)
	used, err := usedSubnets(context.Background(), rt.cli)
	if err != nil {
		t.Fatal(err)
	}
	var free netip.Prefix
	for k := 255; k >= 0; k-- {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 201, byte(k), 0}), 24)
		if !overlapsAny(p, used) {
			free = p
			break
		}
	}
	c, _, _ := startClusterWith(t, rt, cluster.Spec{Target: testTarget{}, Nodes: 1, Binary: testNode(t), Subnet: free.String()})
	if c.Subnet() != free || c.Nodes()[0].ClientURL != "http://"+netip.AddrFrom4([4]byte{10, 201, free.Addr().As4()[2], 11}).String()+":8080" {
		t.Fatalf("subnet %s, node %v; want %s", c.Subnet(), c.Nodes(), free)
	}
}

func TestConcurrentTeardowns(t *testing.T) {
	rt := requireDocker(t)
	c, spec, _ := startCluster(t, rt, 2, testTarget{})
	// The run id is taken while the cluster stands.
	again := spec
	again.Log = nil
	if _, err := rt.StartCluster(context.Background(), again); err == nil || !strings.Contains(err.Error(), "is in use") {
		t.Errorf("a second start under run id %s: %v", spec.RunID, err)
	}
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

func TestKeepDataKeepsVolumesUntilClean(t *testing.T) {
	rt := requireDocker(t)
	ctx := context.Background()
	var log bytes.Buffer
	spec := cluster.Spec{RunID: runID(t), Target: testTarget{}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir(), KeepData: true, Log: &log}
	t.Cleanup(func() { _, _ = Clean(ctx, spec.RunID) })
	c, err := rt.StartCluster(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Teardown(ctx); err != nil {
		t.Fatal(err)
	}
	left := leftovers(t, rt, spec.RunID)
	slices.Sort(left)
	want := "volume skeptic-" + spec.RunID + "-n1,volume skeptic-" + spec.RunID + "-n2"
	if strings.Join(left, ",") != want {
		t.Fatalf("after a KeepData teardown: %v, want only %s", left, want)
	}
	removed, err := Clean(ctx, spec.RunID)
	if err != nil || len(removed) != 2 {
		t.Fatalf("Clean = %v, %v", removed, err)
	}
}

// TestCleanRemovesFaultRules checks that clean takes skeptic's nftables table out of a live container's
// namespace (and says so) before it removes the container, so a removal that fails leaves no partition behind.
func TestCleanRemovesFaultRules(t *testing.T) {
	rt := requireDocker(t)
	c, spec, _ := startCluster(t, rt, 2, testTarget{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Net().Partition(ctx, nemesis.Grudge{"n2": {"n1"}}); err != nil {
		t.Fatal(err)
	}
	pid, err := c.PID(ctx, "n2")
	if err != nil {
		t.Fatal(err)
	}
	if has, err := nft.HasTable(pid); err != nil || !has {
		t.Fatalf("after the partition, n2's namespace has skeptic's table: %v (err %v)", has, err)
	}
	id, err := c.Container("n2")
	if err != nil {
		t.Fatal(err)
	}
	name := "skeptic-" + spec.RunID + "-n2"
	msg, err := cleanRules(ctx, rt.cli, id, name)
	if err != nil {
		t.Fatal(err)
	}
	if msg != "fault rules of container "+name {
		t.Errorf("cleanRules said %q", msg)
	}
	if has, err := nft.HasTable(pid); err != nil || has {
		t.Fatalf("after cleanRules, n2's namespace still has skeptic's table: %v (err %v)", has, err)
	}
	// n1 never had rules: nothing to say.
	id1, _ := c.Container("n1")
	if msg, err := cleanRules(ctx, rt.cli, id1, "n1"); err != nil || msg != "" {
		t.Errorf("cleanRules of a container without rules: %q, %v", msg, err)
	}
}

// notELF returns an executable shell script, which the docker runtime cannot pack.
func notELF(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "node.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
