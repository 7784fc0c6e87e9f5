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
		if os.Getenv("SKEPTIC_REQUIRE_DOCKER") == "1" {
			t.Fatalf("SKEPTIC_REQUIRE_DOCKER=1 but: %v", err)
		}
		t.Skipf("no Docker: %v", err)
	}
	rt, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestImage builds (or reuses) the node image and checks that skeptic-node:latest is the same image.
func TestImage(t *testing.T) {
	rt := requireDocker(t)
	bin := staticSkeptic(t)
	var out, errb bytes.Buffer
	if code := executeContext(context.Background(), []string{"image", "--node-binary", bin}, &out, &errb); code != 0 {
		t.Fatalf("image exit %d: %s", code, errb.String())
	}
	tag := strings.TrimSpace(out.String())
	want, err := docker.ImageTag(bin)
	if err != nil {
		t.Fatal(err)
	}
	if tag != want {
		t.Fatalf("image printed %q, want %q", tag, want)
	}
	ctx := context.Background()
	a, err := rt.Client().ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	b, err := rt.Client().ImageInspect(ctx, harness.LatestImage)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID {
		t.Fatalf("%s is %s, but %s is %s", harness.LatestImage, b.ID, tag, a.ID)
	}
}

// TestClean starts a cluster as a crashed run would leave it, and checks that `skeptic clean --run` removes it
// and says what it removed.
func TestClean(t *testing.T) {
	rt := requireDocker(t)
	bin := staticSkeptic(t)
	target, err := paxos.New(paxos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runID := "cleantest-" + strings.ToLower(time.Now().UTC().Format("150405.000"))
	runID = strings.ReplaceAll(runID, ".", "-")
	ctx := context.Background()
	clu, err := rt.Start(ctx, cluster.Spec{RunID: runID, Target: target, Nodes: 1, Binary: bin, RunDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer clu.Teardown(ctx)
	var out, errb bytes.Buffer
	if code := executeContext(ctx, []string{"clean", "--run", runID}, &out, &errb); code != 0 {
		t.Fatalf("clean exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "removed container skeptic-"+runID+"-n1") {
		t.Fatalf("clean did not say it removed the container:\n%s", out.String())
	}
	cs, err := rt.Client().ContainerList(ctx, container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+runID))})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) > 0 {
		t.Fatalf("containers left after clean: %v", cs[0].Names)
	}
	out.Reset()
	if code := executeContext(ctx, []string{"clean", "--run", runID}, &out, &errb); code != 0 || !strings.Contains(out.String(), "nothing of run") {
		t.Fatalf("second clean: exit %d, %q", code, out.String())
	}
}
