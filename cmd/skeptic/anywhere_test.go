package main

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/harness/docker"
)

// TestRunFromAnywhere is a user's first run after `go install .../cmd/skeptic@latest` (cgo on, so the binary is
// dynamically linked) in an empty folder far from any go.mod: the docker runtime packs the binary itself, with
// its ELF interpreter and libraries, into the node image, and the run checks valid.
func TestRunFromAnywhere(t *testing.T) {
	rt := requireDocker(t)
	if _, err := exec.LookPath("gcc"); err != nil {
		require.NotEqual(t, "1", os.Getenv("SKEPTIC_REQUIRE_DOCKER"), "SKEPTIC_REQUIRE_DOCKER=1 but no gcc to build a cgo skeptic: %v", err)
		t.Skip("no gcc: go install would build a static binary here")
	}
	bin := filepath.Join(t.TempDir(), "skeptic")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	ef, err := elf.Open(bin)
	require.NoError(t, err)
	dynamic := false
	for _, p := range ef.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	ef.Close()
	require.True(t, dynamic, "the test needs a dynamically linked skeptic")

	// The image is made by this run (a test before may have left it), and removed after it.
	tag, err := docker.ImageTag(bin)
	require.NoError(t, err)
	removeImage := func() { _, _ = rt.Client().ImageRemove(context.Background(), tag, image.RemoveOptions{Force: true}) }
	removeImage()
	t.Cleanup(removeImage)

	dir := t.TempDir() // outside the module: no go.mod here or above
	run := exec.Command(bin, "run", "--runtime", "docker", "--nodes", "3", "--time-limit", "3s", "--recovery", "1s")
	run.Dir = dir
	run.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CACHE_HOME="+t.TempDir())
	out, err = run.CombinedOutput()
	t.Logf("%s", out)
	require.NoError(t, err)
	assert.Contains(t, string(out), "verdict: valid")
	assert.Contains(t, string(out), "packed with", "the image holds the binary's libraries")
	_, err = os.Stat(filepath.Join(dir, "store", "latest"))
	assert.NoError(t, err, "the run folder is made in the working folder")
	assert.False(t, strings.Contains(string(out), "go.mod"), "nothing asks for the module")
}
