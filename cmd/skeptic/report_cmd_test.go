package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReportCommand: `skeptic report DIR` re-checks a stored history, writes report.html, prints the anomaly,
// and exits with the verdict's code; a folder that is not a run folder exits 254 saying so.
func TestReportCommand(t *testing.T) {
	h, err := os.ReadFile("../../report/testdata/explain/stale-read.jsonl")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "history.jsonl"), h, 0o644))
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"report", dir}, &out, &errb)
	require.Equal(t, 1, code, "%s\n%s", out.String(), errb.String())
	assert.Contains(t, out.String(), "Read of k1 by process 2 on n3 at 3.000 s returned 1, but write 2")
	assert.Contains(t, out.String(), "report: "+filepath.Join(dir, "report.html"))
	_, err = os.Stat(filepath.Join(dir, "report.html"))
	require.NoError(t, err)

	// The same history with the stale read fixed is valid.
	good := t.TempDir()
	fixed := strings.Replace(string(h), `"type":"ok","f":"read","key":"k1","value":1,"node":"n3"`, `"type":"ok","f":"read","key":"k1","value":2,"node":"n3"`, 1)
	require.NotEqual(t, string(h), fixed)
	require.NoError(t, os.WriteFile(filepath.Join(good, "history.jsonl"), []byte(fixed), 0o644))
	out.Reset()
	require.Equal(t, 0, executeContext(context.Background(), []string{"report", good}, &out, &errb), errb.String())
	assert.Contains(t, out.String(), "verdict: valid")

	for _, bad := range []string{t.TempDir(), filepath.Join(t.TempDir(), "nothing")} {
		errb.Reset()
		code = executeContext(context.Background(), []string{"report", bad}, &out, &errb)
		assert.Equal(t, 254, code)
		assert.Contains(t, errb.String(), "is not a run folder: it has no history.jsonl")
	}
}

// TestJUnitFlagChecked: a --junit file whose folder does not exist is refused before anything runs.
func TestJUnitFlagChecked(t *testing.T) {
	store := t.TempDir()
	var out, errb bytes.Buffer
	code := executeContext(context.Background(), []string{"run", "--runtime", "local", "--store", store,
		"--junit", filepath.Join(store, "no", "junit.xml")}, &out, &errb)
	assert.Equal(t, 254, code)
	assert.Contains(t, errb.String(), "--junit:")
	entries, err := os.ReadDir(store)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing ran")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader in two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeCommand starts `skeptic serve` on a free loopback port, fetches the run list, and stops it by
// cancelling its context, as Ctrl-C does; a missing store or a bad address exits 254.
func TestServeCommand(t *testing.T) {
	store := t.TempDir()
	run := filepath.Join(store, "paxos-kv", "20261130T080000")
	require.NoError(t, os.MkdirAll(run, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(run, "history.jsonl"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(run, "results.json"), []byte(`{"verdict":"valid","test":"paxos-kv"}`), 0o644))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- executeContext(ctx, []string{"serve", "--store", store, "--addr", "127.0.0.1:0"}, &out, io.Discard)
	}()
	re := regexp.MustCompile(`at (http://127\.0\.0\.1:\d+/)`)
	var url string
	require.Eventually(t, func() bool {
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	}, 10*time.Second, 20*time.Millisecond)
	resp, err := http.Get(url)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `<tr class="valid">`)
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "serve did not stop when its context ended")
	}

	var errb bytes.Buffer
	assert.Equal(t, 254, executeContext(context.Background(), []string{"serve", "--store", filepath.Join(store, "nope")}, io.Discard, &errb))
	assert.Contains(t, errb.String(), "--store")
	errb.Reset()
	assert.Equal(t, 254, executeContext(context.Background(), []string{"serve", "--store", store, "--addr", "127.0.0.1:notaport"}, io.Discard, &errb))
	assert.Contains(t, errb.String(), "--addr")
}
