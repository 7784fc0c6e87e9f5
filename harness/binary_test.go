package harness

import (
	"context"
	"debug/buildinfo"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
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
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
	}
	want := filepath.Join(cache, "skeptic-static")
	if paths[0] != want || paths[1] != want {
		t.Fatalf("StaticBinary = %v, want %s", paths, want)
	}
	if err := checkStatic(want); err != nil {
		t.Fatal(err)
	}
	bi, err := buildinfo.ReadFile(want)
	if err != nil || bi.Path != SkepticCmd {
		t.Fatalf("built %v (%v), want %s", bi, err, SkepticCmd)
	}
	// The override names a static file: used as it is.
	t.Setenv(NodeBinaryEnv, want)
	if p, err := StaticBinary(ctx, t.TempDir()); err != nil || p != want {
		t.Fatalf("with %s set: %q, %v", NodeBinaryEnv, p, err)
	}
}

func TestStaticBinaryErrors(t *testing.T) {
	ctx := context.Background()
	t.Setenv(NodeBinaryEnv, "/bin/sh")
	if _, err := StaticBinary(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), "dynamically linked") || !strings.Contains(err.Error(), NodeBinaryEnv) {
		t.Errorf("dynamic override: %v", err)
	}
	t.Setenv(NodeBinaryEnv, filepath.Join(t.TempDir(), "missing"))
	if _, err := StaticBinary(ctx, t.TempDir()); err == nil || !strings.Contains(err.Error(), NodeBinaryEnv) {
		t.Errorf("missing override: %v", err)
	}
	// Outside the module, with no static skeptic running, there is nothing to use and nothing to build.
	t.Setenv(NodeBinaryEnv, "")
	t.Chdir(os.TempDir())
	_, err := StaticBinary(ctx, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "cannot find a static skeptic binary") || !strings.Contains(err.Error(), "--node-binary") {
		t.Errorf("outside the module: %v", err)
	}
}
