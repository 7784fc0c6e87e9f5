package harness

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCreateRunDir(t *testing.T) {
	store := t.TempDir()
	now := time.Date(2026, 11, 26, 9, 1, 2, 0, time.UTC)
	d, err := CreateRunDir(store, "paxos-kv", now, []string{"n1", "n2"})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(store, "paxos-kv", "20261126T090102")
	if d.Path != want {
		t.Fatalf("run folder %s, want %s", d.Path, want)
	}
	for _, p := range []string{d.NodeDir("n1"), d.NodeDir("n2")} {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			t.Fatalf("node folder %s: %v", p, err)
		}
	}
	assertLatest(t, store, d.Path)

	// A second run in the same second gets its own folder, and latest moves to it.
	d2, err := CreateRunDir(store, "paxos-kv", now, []string{"n1"})
	if err != nil {
		t.Fatal(err)
	}
	if d2.Path != want+"-2" {
		t.Fatalf("second run folder %s, want %s-2", d2.Path, want)
	}
	assertLatest(t, store, d2.Path)
	assertLatest(t, filepath.Join(store, "paxos-kv"), d2.Path)

	// Another test moves store/latest, not the first test's own latest.
	d3, err := CreateRunDir(store, "other", now.Add(time.Second), nil)
	if err != nil {
		t.Fatal(err)
	}
	assertLatest(t, store, d3.Path)
	assertLatest(t, filepath.Join(store, "paxos-kv"), d2.Path)
}

func assertLatest(t *testing.T, dir, want string) {
	t.Helper()
	got, err := filepath.EvalSymlinks(filepath.Join(dir, LatestLink))
	if err != nil {
		t.Fatalf("%s/latest: %v", dir, err)
	}
	w, _ := filepath.EvalSymlinks(want)
	if got != w {
		t.Fatalf("%s/latest -> %s, want %s", dir, got, w)
	}
}

func TestCreateRunDirUnwritable(t *testing.T) {
	// Root may write anywhere, so make the store root a file rather than a read-only folder.
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateRunDir(f, "t", time.Now(), nil); err == nil {
		t.Fatal("CreateRunDir under a file succeeded")
	}
}
