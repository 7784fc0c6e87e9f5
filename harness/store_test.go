package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateRunDir(t *testing.T) {
	store := t.TempDir()
	now := time.Date(2026, 11, 26, 9, 1, 2, 0, time.UTC)
	d, err := CreateRunDir(store, "paxos-kv", now, []string{"n1", "n2"})
	require.NoError(t, err)
	want := filepath.Join(store, "paxos-kv", "20261126T090102")
	assert.Equal(t, want, d.Path, "run folder")
	for _, p := range []string{d.NodeDir("n1"), d.NodeDir("n2")} {
		assert.DirExists(t, p, "node folder")
	}
	assertLatest(t, store, d.Path)

	// A second run in the same second gets its own folder, and latest moves to it.
	d2, err := CreateRunDir(store, "paxos-kv", now, []string{"n1"})
	require.NoError(t, err)
	assert.Equal(t, want+"-2", d2.Path, "second run folder")
	assertLatest(t, store, d2.Path)
	assertLatest(t, filepath.Join(store, "paxos-kv"), d2.Path)

	// Another test moves store/latest, not the first test's own latest.
	d3, err := CreateRunDir(store, "other", now.Add(time.Second), nil)
	require.NoError(t, err)
	assertLatest(t, store, d3.Path)
	assertLatest(t, filepath.Join(store, "paxos-kv"), d2.Path)
}

func assertLatest(t *testing.T, dir, want string) {
	t.Helper()
	got, err := filepath.EvalSymlinks(filepath.Join(dir, LatestLink))
	require.NoError(t, err, "%s/latest", dir)
	w, _ := filepath.EvalSymlinks(want)
	assert.Equal(t, w, got, "%s/latest", dir)
}

func TestCreateRunDirUnwritable(t *testing.T) {
	// Root may write anywhere, so make the store root a file rather than a read-only folder.
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	_, err := CreateRunDir(f, "t", time.Now(), nil)
	assert.Error(t, err, "CreateRunDir under a file")
}
