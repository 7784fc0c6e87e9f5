package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness"
	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/docker"
	"github.com/skeptic-dev/skeptic/targets/paxos"
)

// requireDocker skips without a Docker daemon, unless SKEPTIC_REQUIRE_DOCKER=1, where it fails.
func requireDocker(t *testing.T) *docker.Runtime {
	t.Helper()
	if os.Getenv("SKEPTIC_REQUIRE_DOCKER") != "1" && (testing.Short() || os.Getenv("SKEPTIC_SKIP_E2E") == "1") {
		t.Skip("end-to-end test (-short or SKEPTIC_SKIP_E2E=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := docker.Available(ctx); err != nil {
		require.NotEqual(t, "1", os.Getenv("SKEPTIC_REQUIRE_DOCKER"), "SKEPTIC_REQUIRE_DOCKER=1 but: %v", err)
		t.Skipf("no Docker: %v", err)
	}
	rt, err := docker.New()
	require.NoError(t, err)
	t.Cleanup(func() { rt.Close() })
	return rt
}

func staticSkeptic(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin, err := harness.StaticBinary(context.Background(), filepath.Join(cache, "skeptic"))
	require.NoError(t, err)
	return bin
}

// TestImage builds (or reuses) the node image and checks that skeptic-node:latest is the same image.
func TestImage(t *testing.T) {
	rt := requireDocker(t)
	bin := staticSkeptic(t)
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"image", "--node-binary", bin}, &out, &errb)
	require.Equal(t, 0, code, "image: %s", errb.String())
	tag := strings.TrimSpace(out.String())
	want, err := docker.ImageTag(bin)
	require.NoError(t, err)
	require.Equal(t, want, tag, "the image printed")
	ctx := context.Background()
	a, err := rt.Client().ImageInspect(ctx, tag)
	require.NoError(t, err)
	b, err := rt.Client().ImageInspect(ctx, harness.LatestImage)
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID, "%s is the image %s", harness.LatestImage, tag)
}

// TestClean starts a cluster as a crashed run would leave it, and checks that `skeptic clean --run` removes it
// and says what it removed.
func TestClean(t *testing.T) {
	rt := requireDocker(t)
	bin := staticSkeptic(t)
	target, err := paxos.New(paxos.Options{})
	require.NoError(t, err)
	runID := "cleantest-" + strings.ToLower(time.Now().UTC().Format("150405.000"))
	runID = strings.ReplaceAll(runID, ".", "-")
	ctx := context.Background()
	clu, err := rt.Start(ctx, cluster.Spec{RunID: runID, Target: target, Nodes: 1, Binary: bin, RunDir: t.TempDir()})
	require.NoError(t, err)
	defer clu.Teardown(ctx)
	var out, errb bytes.Buffer
	code := executeContext(ctx, []string{"clean", "--run", runID}, &out, &errb)
	require.Equal(t, 0, code, "clean: %s", errb.String())
	require.Contains(t, out.String(), "removed container skeptic-"+runID+"-n1", "clean says it removed the container")
	cs, err := rt.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+runID))})
	require.NoError(t, err)
	require.Empty(t, cs, "containers left after clean")
	out.Reset()
	code = executeContext(ctx, []string{"clean", "--run", runID}, &out, &errb)
	assert.Equal(t, 0, code, "second clean")
	assert.Contains(t, out.String(), "nothing of run", "second clean")
}
