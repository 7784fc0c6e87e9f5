package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCleanRunAndAllExit254(t *testing.T) {
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"clean", "--run", "x", "--all"}, &out, &errb)
	assert.Equal(t, 254, code)
	assert.Contains(t, errb.String(), "--all: cannot be used with --run")
}

// TestFailedCheckLeavesNoFolder: a check that cannot read its file creates no output folder.
func TestFailedCheckLeavesNoFolder(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "history.jsonl")
	require.NoError(t, os.WriteFile(p, []byte("not json\n"), 0o644))
	store := filepath.Join(dir, "store")
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"check", "--store", store, p}, &out, &errb)
	require.Equal(t, 254, code, errb.String())
	_, err := os.Stat(store)
	assert.True(t, os.IsNotExist(err), "a failed check left %s behind", store)

	given := filepath.Join(dir, "given")
	require.NoError(t, os.Mkdir(given, 0o755))
	code = executeContext(context.Background(), []string{"check", "--out", filepath.Join(given, "a", "b"), p}, &out, &errb)
	require.Equal(t, 254, code)
	entries, err := os.ReadDir(given)
	require.NoError(t, err)
	assert.Empty(t, entries, "a failed check left folders in --out's parent")
}

func TestStoppingTextNamesWhatStops(t *testing.T) {
	assert.Contains(t, stoppingText([]string{"run", "--nodes", "3"}), "tearing the cluster down")
	assert.Equal(t, "shutting the node down", stoppingText([]string{"node", "--id", "n1"}))
	assert.NotContains(t, stoppingText([]string{"check", "x"}), "cluster")
}

func TestNemesisModeAndKillAllFlags(t *testing.T) {
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"run", "--nemesis", "kill", "--nemesis-mode", "both"}, &out, &errb)
	assert.Equal(t, 254, code)
	assert.Contains(t, errb.String(), `--nemesis-mode: unknown mode "both" (want alternate or overlap)`)
	errb.Reset()
	code = executeContext(context.Background(), []string{"run", "--kill", "everyone"}, &out, &errb)
	assert.Equal(t, 254, code)
	assert.Contains(t, errb.String(), "all")
}
