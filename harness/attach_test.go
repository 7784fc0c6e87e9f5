package harness_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/nemesis/nft"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// composeUp starts the repository's docker-compose.yml cluster under a project of its own, and returns each
// node's container id. The cluster is removed (down -v) when the test ends.
func composeUp(t *testing.T) map[string]string {
	t.Helper()
	if err := docker.Available(context.Background()); err != nil {
		require.NotEqual(t, "1", os.Getenv("SKEPTIC_REQUIRE_DOCKER"), "SKEPTIC_REQUIRE_DOCKER=1 but: %v", err)
		t.Skip(err)
	}
	if _, err := exec.LookPath("docker-compose"); err != nil {
		require.NotEqual(t, "1", os.Getenv("SKEPTIC_REQUIRE_DOCKER"), "SKEPTIC_REQUIRE_DOCKER=1 but docker-compose is missing: %v", err)
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, err := harness.BuildImage(ctx, nodeBinary(t), io.Discard)
	require.NoError(t, err)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	project := "skepticattach" + hex.EncodeToString(b)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	compose := func(args ...string) string {
		cmd := exec.CommandContext(context.Background(), "docker-compose", append([]string{"-p", project, "-f", filepath.Join(root, "docker-compose.yml")}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "docker-compose %s: %s", strings.Join(args, " "), out)
		return string(out)
	}
	t.Cleanup(func() { compose("down", "-v", "--timeout", "1") })
	compose("up", "-d")
	ids := map[string]string{}
	for _, n := range []string{"n1", "n2", "n3"} {
		ids[n] = strings.TrimSpace(compose("ps", "-q", n))
		require.NotEmpty(t, ids[n], "container of %s", n)
	}
	return ids
}

// TestAttachCompose attaches the repository's docker-compose cluster: a whole run with a partition and a kill
// checks valid, the faults really bite on the attached containers (the bite tests run on them), and afterwards
// every container still runs, with no rule of skeptic's left in it.
func TestAttachCompose(t *testing.T) {
	containers := composeUp(t)

	t.Run("run", func(t *testing.T) {
		tc := harness.Default()
		tc.Runtime = harness.RuntimeDocker
		tc.Nodes = 3
		tc.Concurrency = 6
		tc.TimeLimit = harness.Duration(5 * time.Second)
		tc.Recovery = harness.Duration(time.Second)
		tc.OpTimeout = harness.Duration(time.Second)
		tc.Store = t.TempDir()
		tc.Seed = 7
		tc.Attach = containers
		sched := filepath.Join(t.TempDir(), "schedule.json")
		require.NoError(t, os.WriteFile(sched, []byte(`[
 {"at":"500ms","f":"start-partition","value":{"strategy":"one","grudge":{"n3":["n1","n2"],"n1":["n3"],"n2":["n3"]}}},
 {"at":"2s","f":"stop-partition"},
 {"at":"2500ms","f":"kill","value":{"strategy":"one","nodes":["n2"]}},
 {"at":"3500ms","f":"start"}
]`), 0o644))
		tc.Nemesis.ScheduleFile = sched
		var out bytes.Buffer
		tc.Out = &out
		res, err := harness.Run(context.Background(), tc)
		t.Logf("output:\n%s", out.String())
		require.NoError(t, err)
		assert.Equal(t, harness.Valid, res.Verdict)
		assert.Contains(t, out.String(), "attaching n1=")
		assert.Greater(t, res.Ops, int64(200))
	})

	t.Run("faults bite", func(t *testing.T) {
		rt, err := docker.New()
		require.NoError(t, err)
		defer rt.Close()
		target, err := paxos.New(paxos.Options{})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := rt.Attach(ctx, cluster.Spec{RunID: "attachbite", Target: target, RunDir: t.TempDir()}, containers)
		require.NoError(t, err)
		fc := newFaultCluster("attach", c, target)
		pid := func(id string) (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return c.PID(ctx, id)
		}
		fc.running = func(id string) bool { _, err := pid(id); return err == nil }
		ips := c.IPs()
		fc.datagrams = func(t *testing.T, from, to string, n int) int { return udpProbes(t, pid, ips, from, to, n) }
		fc.agreed(t, fc.ids, 30*time.Second)
		t.Run("partition-one", func(t *testing.T) { bitePartitionOne(t, fc) })
		t.Run("kill", func(t *testing.T) { biteKill(t, fc) })
		require.NoError(t, c.Teardown(ctx))
	})

	// Whatever ran, the user's containers run on, and hold no table of skeptic's.
	cli, err := docker.New()
	require.NoError(t, err)
	defer cli.Close()
	for id, ctr := range containers {
		info, err := cli.Client().ContainerInspect(context.Background(), ctr)
		require.NoError(t, err)
		require.True(t, info.State.Running, "%s's container stopped", id)
		has, err := nft.HasTable(info.State.Pid)
		require.NoError(t, err)
		assert.False(t, has, "%s's container keeps skeptic's nftables table", id)
	}
}
