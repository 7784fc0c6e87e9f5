package report

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// store makes a store with two runs of one test and one of another, as the harness lays them out (with the
// latest symlinks), and a secret file beside the store that must never be served.
func testStore(t *testing.T) (store, secret string) {
	t.Helper()
	base := t.TempDir()
	store = filepath.Join(base, "store")
	secret = filepath.Join(base, "secret.txt")
	require.NoError(t, os.WriteFile(secret, []byte("top secret"), 0o644))
	runs := []struct{ test, stamp, verdict string }{
		{"paxos-kv", "20261130T080000", "valid"},
		{"paxos-stale-reads-kv", "20261130T090000", "invalid"},
		{"paxos-kv", "20261130T070000-2", "unknown"},
	}
	for _, r := range runs {
		dir := filepath.Join(store, r.test, r.stamp)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, HistoryFile), nil, 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, ResultsFile), []byte(`{"verdict":"`+r.verdict+`","test":"`+r.test+`","seed":5}`), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"seed":5,"nemesis":{"faults":["partition","kill"]}}`), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, ReportFile), []byte("<html>report of "+r.test+"</html>"), 0o644))
	}
	require.NoError(t, os.Symlink(filepath.Join("paxos-stale-reads-kv", "20261130T090000"), filepath.Join(store, "latest")))
	// A symlink out of the store, as a careless or hostile user could leave.
	require.NoError(t, os.Symlink(secret, filepath.Join(store, "paxos-kv", "20261130T080000", "leak.txt")))
	require.NoError(t, os.Symlink(base, filepath.Join(store, "up")))
	return store, secret
}

func get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	require.NoError(t, err)
	req.URL.Opaque = path // send the path as written, ".." included, as a hostile client would
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestServeListsRunsNewestFirst: the index lists every run once (not again through latest), newest first,
// coloured by verdict, with faults and seed, and links that serve each run's report.
func TestServeListsRunsNewestFirst(t *testing.T) {
	store, _ := testStore(t)
	s, err := NewServer(store)
	require.NoError(t, err)
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()

	code, body := get(t, srv, "/")
	require.Equal(t, http.StatusOK, code)
	i1 := strings.Index(body, `<tr class="invalid">`)
	i2 := strings.Index(body, `<tr class="valid">`)
	i3 := strings.Index(body, `<tr class="unknown">`)
	require.True(t, i1 > 0 && i2 > i1 && i3 > i2, "runs not newest first:\n%s", body)
	assert.Equal(t, 3, strings.Count(body, "<tr class="), "each run once")
	assert.Contains(t, body, "2026-11-30 09:00:00")
	assert.Contains(t, body, "partition, kill")
	assert.Contains(t, body, `href="/files/paxos-stale-reads-kv/20261130T090000/report.html"`)

	code, body = get(t, srv, "/files/paxos-stale-reads-kv/20261130T090000/report.html")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "<html>report of paxos-stale-reads-kv</html>", body)
	code, body = get(t, srv, "/files/latest/report.html")
	require.Equal(t, http.StatusOK, code, "a symlink inside the store is served")
	assert.Contains(t, body, "paxos-stale-reads-kv")
}

// TestServeNoEscape: no request reaches a file outside the store: not with "..", encoded or not, and not
// through a symlink that points out of it.
func TestServeNoEscape(t *testing.T) {
	store, _ := testStore(t)
	s, err := NewServer(store)
	require.NoError(t, err)
	defer s.Close()
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, p := range []string{
		"/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/paxos-kv/../../secret.txt",
		"/files/paxos-kv/20261130T080000/leak.txt", "/files/up/secret.txt", "/../secret.txt", "/files/..%2fsecret.txt",
	} {
		code, body := get(t, srv, p)
		assert.NotContains(t, body, "top secret", p)
		assert.NotEqual(t, http.StatusOK, code, p)
	}
}

// TestServeBadStore: a store that is not a folder is an error naming it.
func TestServeBadStore(t *testing.T) {
	_, err := NewServer(filepath.Join(t.TempDir(), "nothing"))
	require.ErrorContains(t, err, "nothing")
}
