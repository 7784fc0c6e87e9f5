package harness

import (
	"context"
	"debug/buildinfo"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/docker"
)

func TestStaticBinaryBuildsOnceUnderALock(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/skeptic")
	}
	t.Setenv(NodeBinaryEnv, "")
	cache := t.TempDir()
	ctx := context.Background()
	// The test binary is not cmd/skeptic, so StaticBinary builds one; two callers at once share the lock.
	var wg sync.WaitGroup
	paths := make([]string, 2)
	errs := make([]error, 2)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths[i], errs[i] = StaticBinary(ctx, cache)
		}()
	}
	wg.Wait()
	for i := range paths {
		require.NoError(t, errs[i])
	}
	want := filepath.Join(cache, "skeptic-static")
	assert.Equal(t, []string{want, want}, paths)
	require.NoError(t, docker.CheckStatic(want))
	bi, err := buildinfo.ReadFile(want)
	require.NoError(t, err)
	assert.Equal(t, SkepticCmd, bi.Path)
	// The override names a static file: used as it is.
	t.Setenv(NodeBinaryEnv, want)
	p, err := StaticBinary(ctx, t.TempDir())
	require.NoError(t, err, "with %s set", NodeBinaryEnv)
	assert.Equal(t, want, p)
}

func TestStaticBinaryErrors(t *testing.T) {
	ctx := context.Background()
	t.Setenv(NodeBinaryEnv, "/bin/sh")
	_, err := StaticBinary(ctx, t.TempDir())
	require.Error(t, err, "dynamic override")
	assert.Contains(t, err.Error(), "dynamically linked")
	assert.Contains(t, err.Error(), NodeBinaryEnv)
	t.Setenv(NodeBinaryEnv, filepath.Join(t.TempDir(), "missing"))
	_, err = StaticBinary(ctx, t.TempDir())
	require.Error(t, err, "missing override")
	assert.Contains(t, err.Error(), NodeBinaryEnv)
	// Outside the module, with no static skeptic running, there is nothing to use and nothing to build.
	t.Setenv(NodeBinaryEnv, "")
	t.Chdir(os.TempDir())
	_, err = StaticBinary(ctx, t.TempDir())
	require.Error(t, err, "outside the module")
	assert.Contains(t, err.Error(), "cannot find a static skeptic binary")
	assert.Contains(t, err.Error(), "--node-binary")
}
