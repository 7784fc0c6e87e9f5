package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
	"github.com/skeptic-dev/skeptic/targets"
)

// testTarget starts testnode (internal/testbin/testnode) with the runtime's NodeArgs.
type testTarget struct{}

func (testTarget) Name() string                                   { return "testnode" }
func (testTarget) Capabilities() []targets.Capability             { return nil }
func (testTarget) NewClient(targets.Node) (targets.Client, error) { return nil, nil }
func (testTarget) Env(a targets.NodeArgs) ([]string, error) {
	return []string{"TESTNODE_ID=" + a.ID}, nil
}
func (testTarget) Args(a targets.NodeArgs) ([]string, error) { return testbin.TestNodeArgs(a), nil }

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

// TestLabelsAndAddresses checks what is the docker runtime's own (the conformance suite, TestConformance, covers a
// cluster's life): node i at address .10+i of a subnet of the pool, every container, volume and the network
// labelled with the run, containers unprivileged, never restarted, publishing no port; and a run id in use is
// refused.
func TestLabelsAndAddresses(t *testing.T) {
	rt := requireDocker(t)
	c, spec, _ := startCluster(t, rt, 2, testTarget{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	assert.True(t, SubnetPool.Contains(c.Subnet().Addr()), "subnet %s is outside %s", c.Subnet(), SubnetPool)
	for i, n := range c.Nodes() {
		ip := c.IPs()[n.ID]
		assert.Equal(t, fmt.Sprintf("http://%s:8080", ip), n.ClientURL)
		assert.True(t, c.Subnet().Contains(ip) && strings.HasSuffix(ip.String(), fmt.Sprintf(".%d", 11+i)), "node %s at %s", n.ID, ip)
		name, err := c.Container(n.ID)
		require.NoError(t, err)
		info, err := rt.cli.ContainerInspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, "1", info.Config.Labels[LabelSkeptic], "container %s", name)
		assert.Equal(t, spec.RunID, info.Config.Labels[LabelRun], "container %s", name)
		assert.False(t, info.HostConfig.Privileged, "container %s is privileged", name)
		assert.Contains(t, []string{"", "no"}, string(info.HostConfig.RestartPolicy.Name), "container %s's restart policy", name)
		assert.Empty(t, info.HostConfig.PortBindings, "container %s publishes ports", name)
		v, err := rt.cli.VolumeInspect(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, "1", v.Labels[LabelSkeptic], "volume %s", v.Name)
		assert.Equal(t, spec.RunID, v.Labels[LabelRun], "volume %s", v.Name)
	}
	netw, err := rt.cli.NetworkInspect(ctx, c.Network(), network.InspectOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1", netw.Labels[LabelSkeptic], "network %s", netw.Name)
	assert.Equal(t, spec.RunID, netw.Labels[LabelRun], "network %s", netw.Name)
	// The run id is taken while the cluster stands.
	again := spec
	again.Log = nil
	_, err = rt.StartCluster(ctx, again)
	require.Error(t, err, "a second start under run id %s", spec.RunID)
	assert.Contains(t, err.Error(), "is in use")
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

// exitingTarget is testTarget, but node n3 gets a flag the test node does not know, so it exits at once.
type exitingTarget struct{ testTarget }

func (exitingTarget) Args(a targets.NodeArgs) ([]string, error) {
	if a.ID == "n3" {
		return []string{"-no-such-flag"}, nil
	}
	return testbin.TestNodeArgs(a), nil
}

// TestFailedStartLeavesNothing: the nodes are created and started all at once; when one of them exits before
// it accepts connections, or the start is cancelled halfway, StartCluster says so (naming the node) and
// removes every container, volume and the network of the run.
func TestFailedStartLeavesNothing(t *testing.T) {
	rt := requireDocker(t)
	t.Run("a node exits", func(t *testing.T) {
		var log bytes.Buffer
		spec := cluster.Spec{RunID: runID(t), RunDir: t.TempDir(), Log: &log, Target: exitingTarget{}, Nodes: 5, Binary: testNode(t)}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_, err := rt.StartCluster(ctx, spec)
		require.Error(t, err)
		require.Contains(t, err.Error(), "node n3 (container skeptic-"+spec.RunID+"-n3) exited with code")
		require.NotContains(t, err.Error(), "node n1", "only the node that failed is named")
		require.Empty(t, leftovers(t, rt, spec.RunID))
	})
	t.Run("cancelled", func(t *testing.T) {
		var log bytes.Buffer
		spec := cluster.Spec{RunID: runID(t), RunDir: t.TempDir(), Log: &log, Target: testTarget{}, Nodes: 5, Binary: testNode(t)}
		// An untimed start builds the image first, so that the cancel comes while the nodes are created.
		c, err := rt.StartCluster(context.Background(), cluster.Spec{RunID: runID(t), RunDir: t.TempDir(), Target: testTarget{}, Nodes: 1, Binary: spec.Binary})
		require.NoError(t, err)
		require.NoError(t, c.Teardown(context.Background()))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(150*time.Millisecond, cancel)
		_, err = rt.StartCluster(ctx, spec)
		require.Error(t, err, "a start cancelled after 150 ms: %s", log.String())
		require.Empty(t, leftovers(t, rt, spec.RunID))
	})
}
