package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scoped limits this test's Docker objects, and every clean it does, to a label of its own: other tests' (and
// other people's) clusters on the same daemon are never touched.
func scoped(t *testing.T) string {
	t.Helper()
	v := runID(t)
	t.Setenv(ScopeEnv, "skeptic.test.scope="+v)
	return v
}

func TestOwnerState(t *testing.T) {
	me, err := procIdentity(os.Getpid())
	require.NoError(t, err)
	st, _ := ownerState(me)
	assert.Equal(t, ownerAlive, st, "this very process")

	// The same pid with another start time: the pid was reused by another process.
	parts := strings.SplitN(me, "/", 3)
	st, _ = ownerState(parts[0] + "/1/" + parts[2])
	assert.Equal(t, ownerDead, st, "a reused pid")

	// A process that has exited.
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	st, _ = ownerState(fmt.Sprintf("%d/%s/%s", cmd.Process.Pid, parts[1], parts[2]))
	assert.Equal(t, ownerDead, st, "an exited process")

	st, why := ownerState(parts[0] + "/" + parts[1] + "/another-boot")
	assert.Equal(t, ownerUnknown, st)
	assert.Contains(t, why, "another machine")
	st, why = ownerState("")
	assert.Equal(t, ownerUnknown, st)
	assert.Contains(t, why, "no owner")
	st, _ = ownerState("garbage")
	assert.Equal(t, ownerUnknown, st)

	// A run is owned while its harness or its reaper lives.
	dead := parts[0] + "/1/" + parts[2]
	st, why = runOwners{harness: dead, reaper: me}.state()
	assert.Equal(t, ownerAlive, st)
	assert.Contains(t, why, "reaper")
	st, _ = runOwners{harness: dead, reaper: dead}.state()
	assert.Equal(t, ownerDead, st)
}

func TestScopeLabelMustBeKeyValue(t *testing.T) {
	t.Setenv(ScopeEnv, "novalue")
	_, err := CleanWith(context.Background(), CleanOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), ScopeEnv)
}

// TestBareCleanLeavesLiveRun is a bare `skeptic clean` during another run: it removes the leftovers of a dead
// harness, and leaves the live run's cluster untouched and working.
func TestBareCleanLeavesLiveRun(t *testing.T) {
	rt := requireDocker(t)
	scoped(t)
	live, liveSpec, _ := startCluster(t, rt, 2, testTarget{})

	// A harness that detached its cluster (so its reaper is gone too), then died.
	dead, dir := runID(t), t.TempDir()
	t.Cleanup(func() { _, _ = Clean(context.Background(), dead) })
	cmd := startHarnessThatDies(t, dead, dir, "SKEPTIC_DOCKER_TEST_DETACH=1")
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Len(t, leftovers(t, rt, dead), 5)

	var plan, kept []string
	res, err := CleanWith(context.Background(), CleanOptions{Plan: func(r, k []string) { plan, kept = r, k }})
	require.NoError(t, err)
	assert.Contains(t, res.Removed, "container skeptic-"+dead+"-n1")
	assert.Empty(t, leftovers(t, rt, dead), "the dead run's objects")
	require.Len(t, plan, 1)
	assert.Contains(t, plan[0], "run "+dead)
	require.Len(t, kept, 1)
	assert.Contains(t, kept[0], "run "+liveSpec.RunID+": its harness (pid")
	for _, r := range res.Removed {
		assert.NotContains(t, r, liveSpec.RunID)
	}
	assert.Len(t, leftovers(t, rt, liveSpec.RunID), 5, "the live run's objects")
	for _, n := range live.Nodes() {
		_, err := get(n.ClientURL + "/")
		assert.NoError(t, err, "node %s of the live run after a bare clean", n.ID)
	}
}

// TestCleanAllRemovesLiveRunAndSaysSo: --all removes the cluster of a run still going on, and says so first.
func TestCleanAllRemovesLiveRunAndSaysSo(t *testing.T) {
	rt := requireDocker(t)
	scoped(t)
	_, spec, _ := startCluster(t, rt, 1, testTarget{})
	var plan []string
	res, err := CleanWith(context.Background(), CleanOptions{All: true, Plan: func(r, _ []string) { plan = r }})
	require.NoError(t, err)
	require.Len(t, plan, 1)
	assert.Contains(t, plan[0], "run "+spec.RunID)
	assert.Contains(t, plan[0], "STILL RUNNING: its harness (pid")
	assert.Contains(t, res.Removed, "container skeptic-"+spec.RunID+"-n1")
	assert.Empty(t, leftovers(t, rt, spec.RunID))
}

// TestCleanImagesOnlyWithImages: images are removed only with Images, and an image a container uses is kept.
func TestCleanImagesOnlyWithImages(t *testing.T) {
	rt := requireDocker(t)
	scope := scoped(t)
	ctx := context.Background()
	tag := "skeptic-cleantest:" + scope
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	df := []byte("FROM scratch\nCOPY f /f\n")
	for name, data := range map[string][]byte{"Dockerfile": df, "f": []byte(scope)} {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)}))
		_, err := tw.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	resp, err := rt.cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{tag}, Remove: true,
		Labels: map[string]string{LabelSkeptic: "1", "skeptic.test.scope": scope}})
	require.NoError(t, err)
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	resp.Body.Close()
	t.Cleanup(func() { _, _ = rt.cli.ImageRemove(ctx, tag, image.RemoveOptions{Force: true}) })
	has := func() bool {
		_, err := rt.cli.ImageInspect(ctx, tag)
		return err == nil
	}
	require.True(t, has(), "the test image was not built: %s", out.String())

	res, err := CleanWith(ctx, CleanOptions{All: true})
	require.NoError(t, err)
	assert.True(t, has(), "clean --all without --images removed the image (%v)", res.Removed)
	res, err = CleanWith(ctx, CleanOptions{Images: true})
	require.NoError(t, err)
	assert.False(t, has(), "clean --images kept the image (%v)", res.Removed)
	assert.Contains(t, res.Removed, "image "+tag)
}
