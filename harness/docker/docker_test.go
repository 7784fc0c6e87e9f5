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
			require.NoError(t, err, "SKEPTIC_REQUIRE_DOCKER=1 but Docker is not available")
		}
		t.Skip(err)
	}
	rt, err := New()
	require.NoError(t, err)
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
	require.NoError(t, err, "StartCluster; log:\n%s", log.String())
	t.Cleanup(func() {
		assert.NoError(t, c.Teardown(context.Background()), "Teardown")
		assert.Empty(t, leftovers(t, rt, spec.RunID), "after Teardown, run %s still has objects", spec.RunID)
	})
	return c, spec, &log
}

// leftovers lists every container, network and volume labelled with run.
func leftovers(t *testing.T, rt *Runtime, run string) []string {
	t.Helper()
	out, err := rt.RunObjects(context.Background(), run)
	require.NoError(t, err)
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
	require.NoError(t, err)
	// Cold: remove the image unless containers of another test use it.
	_, rmErr := rt.cli.ImageRemove(ctx, tag, image.RemoveOptions{})
	var log bytes.Buffer
	t0 := time.Now()
	got, err := EnsureImage(ctx, rt.cli, bin, &log)
	cold := time.Since(t0)
	require.NoError(t, err)
	require.Equal(t, tag, got, "EnsureImage's tag")
	require.True(t, strings.HasPrefix(tag, "skeptic-node:"), "tag %q, want skeptic-node:<16 hex>", tag)
	require.Len(t, tag, len("skeptic-node:")+16, "tag %q, want skeptic-node:<16 hex>", tag)
	t1 := time.Now()
	_, err = EnsureImage(ctx, rt.cli, bin, &log)
	require.NoError(t, err)
	warm := time.Since(t1)
	t.Logf("image cold %s (removed first: %v), reused %s\n%s", cold, rmErr == nil, warm, log.String())
	assert.Contains(t, log.String(), tag+" reused", "second EnsureImage did not reuse the image")
	if rmErr == nil {
		assert.Contains(t, log.String(), tag+" built in", "first EnsureImage did not build")
	}
	info, err := rt.cli.ImageInspect(ctx, tag)
	require.NoError(t, err)
	assert.Equal(t, "1", info.Config.Labels[LabelSkeptic], "image labels %v", info.Config.Labels)
}

func TestCleanRemovesCrashedRun(t *testing.T) {
	rt := requireDocker(t)
	var log bytes.Buffer
	spec := cluster.Spec{RunID: runID(t), Target: testTarget{}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir(), Log: &log}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := rt.StartCluster(ctx, spec)
	require.NoError(t, err)
	require.NoError(t, c.Proc().Pause(ctx, "n1"))
	// The harness "crashes": no Teardown. Clean finds it all by its label, paused or not.
	removed, err := Clean(ctx, spec.RunID)
	require.NoError(t, err)
	want := []string{"container skeptic-" + spec.RunID + "-n1", "container skeptic-" + spec.RunID + "-n2", "network skeptic-" + spec.RunID,
		"volume skeptic-" + spec.RunID + "-n1", "volume skeptic-" + spec.RunID + "-n2"}
	for _, w := range want {
		found := false
		for _, r := range removed {
			found = found || r == w
		}
		assert.True(t, found, "Clean removed %v, missing %q", removed, w)
	}
	assert.Empty(t, leftovers(t, rt, spec.RunID), "after Clean")
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
			require.Error(t, err, "StartCluster, want an error containing %q", tc.want)
			require.Contains(t, err.Error(), tc.want)
		})
	}
	assert.Empty(t, leftovers(t, rt, base.RunID), "after bad specs")
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
			// startCluster's require (FailNow) must run on the test goroutine: use the runtime directly.
			var log bytes.Buffer
			spec := cluster.Spec{RunID: runID(t), Target: testTarget{}, Nodes: 5, Binary: testNode(t), RunDir: t.TempDir(), Log: &log}
			c, err := rt.StartCluster(context.Background(), spec)
			times[i] = time.Since(t0)
			if !assert.NoError(t, err, "run %d", i) {
				return
			}
			cs[i] = c
			t.Cleanup(func() {
				assert.NoError(t, c.Teardown(context.Background()), "Teardown")
				assert.Empty(t, leftovers(t, rt, spec.RunID), "after Teardown")
			})
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("two 5-node clusters started concurrently in %s and %s (subnets %s, %s)", times[0], times[1], cs[0].Subnet(), cs[1].Subnet())
	assert.False(t, cs[0].Subnet().Overlaps(cs[1].Subnet()), "concurrent runs share subnet %s", cs[0].Subnet())
	for _, c := range cs {
		for _, n := range c.Nodes() {
			_, err := get(n.ClientURL + "/")
			assert.NoError(t, err)
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
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		require.Equal(t, "ready\n", line, "what the harness said")
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
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	// The reaper of TestContainersDoNotOutliveTheHarness removes everything within about a second; wait longer.
	time.Sleep(3 * time.Second)
	require.Len(t, leftovers(t, rt, run), 5, "3s after the detached harness died, want 2 containers, 2 volumes and a network")
	removed, err := Clean(context.Background(), run)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(removed), 5, "Clean removed only %v", removed)
	assert.Empty(t, leftovers(t, rt, run), "after Clean")
}

// TestContainersDoNotOutliveTheHarness SIGKILLs a harness that runs a cluster, and checks that its reaper removes
// every container, the network and the volumes.
func TestContainersDoNotOutliveTheHarness(t *testing.T) {
	rt := requireDocker(t)
	run, dir := runID(t), t.TempDir()
	t.Cleanup(func() { _, _ = Clean(context.Background(), run) })
	cmd := startHarnessThatDies(t, run, dir)
	require.Len(t, leftovers(t, rt, run), 5, "the running harness: want 2 containers, 2 volumes and a network")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	left := leftovers(t, rt, run)
	for len(left) > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		left = leftovers(t, rt, run)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "docker-reaper.log"))
	require.Empty(t, left, "20s after the harness died; reaper log:\n%s", log)
	assert.Contains(t, string(log), "removed container skeptic-"+run+"-n1", "reaper log")
}

func TestAvailableSaysWhereItLooked(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	err := Available(context.Background())
	require.Error(t, err, "Available()")
	require.Contains(t, err.Error(), "no Docker daemon at unix:///nonexistent/docker.sock")
	require.Contains(t, err.Error(), "--runtime local")
}

func TestFixedSubnet(t *testing.T) {
	rt := requireDocker(t)
	used, err := usedSubnets(context.Background(), rt.cli)
	require.NoError(t, err)
	var free netip.Prefix
	for k := 255; k >= 0; k-- {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 201, byte(k), 0}), 24)
		if !overlapsAny(p, used) {
			free = p
			break
		}
	}
	c, _, _ := startClusterWith(t, rt, cluster.Spec{Target: testTarget{}, Nodes: 1, Binary: testNode(t), Subnet: free.String()})
	require.Equal(t, free, c.Subnet(), "subnet")
	require.Equal(t, "http://"+netip.AddrFrom4([4]byte{10, 201, free.Addr().As4()[2], 11}).String()+":8080", c.Nodes()[0].ClientURL, "node %v", c.Nodes())
}

func TestKeepDataKeepsVolumesUntilClean(t *testing.T) {
	rt := requireDocker(t)
	ctx := context.Background()
	var log bytes.Buffer
	spec := cluster.Spec{RunID: runID(t), Target: testTarget{}, Nodes: 2, Binary: testNode(t), RunDir: t.TempDir(), KeepData: true, Log: &log}
	t.Cleanup(func() { _, _ = Clean(ctx, spec.RunID) })
	c, err := rt.StartCluster(ctx, spec)
	require.NoError(t, err)
	require.NoError(t, c.Teardown(ctx))
	left := leftovers(t, rt, spec.RunID)
	slices.Sort(left)
	want := "volume skeptic-" + spec.RunID + "-n1,volume skeptic-" + spec.RunID + "-n2"
	require.Equal(t, want, strings.Join(left, ","), "after a KeepData teardown")
	removed, err := Clean(ctx, spec.RunID)
	require.NoError(t, err, "Clean")
	require.Len(t, removed, 2, "Clean")
}

// TestCleanRemovesFaultRules checks that clean takes skeptic's nftables table out of a live container's
// namespace (and says so) before it removes the container, so a removal that fails leaves no partition behind.
func TestCleanRemovesFaultRules(t *testing.T) {
	rt := requireDocker(t)
	c, spec, _ := startCluster(t, rt, 2, testTarget{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, c.Net().Partition(ctx, nemesis.Grudge{"n2": {"n1"}}))
	pid, err := c.PID(ctx, "n2")
	require.NoError(t, err)
	has, err := nft.HasTable(pid)
	require.NoError(t, err, "after the partition, n2's namespace has skeptic's table")
	require.True(t, has, "after the partition, n2's namespace has skeptic's table")
	id, err := c.Container("n2")
	require.NoError(t, err)
	name := "skeptic-" + spec.RunID + "-n2"
	msg, err := cleanRules(ctx, rt.cli, id, name)
	require.NoError(t, err)
	assert.Equal(t, "fault rules of container "+name, msg, "what cleanRules said")
	has, err = nft.HasTable(pid)
	require.NoError(t, err, "after cleanRules")
	require.False(t, has, "after cleanRules, n2's namespace still has skeptic's table")
	// n1 never had rules: nothing to say.
	id1, _ := c.Container("n1")
	msg, err = cleanRules(ctx, rt.cli, id1, "n1")
	assert.NoError(t, err, "cleanRules of a container without rules")
	assert.Empty(t, msg, "cleanRules of a container without rules")
}

// notELF returns an executable shell script, which the docker runtime cannot pack.
func notELF(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "node.sh")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755))
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
