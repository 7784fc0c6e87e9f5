package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// freeAddrs returns n loopback addresses that were free a moment ago.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// syncWriter lets several nodes log into one test log safely.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// testCluster is n in-process nodes on loopback, each with its own data dir, restartable.
type testCluster struct {
	t     testing.TB
	cfgs  []Config
	nodes []*Node
	logs  *bytes.Buffer
	lw    *syncWriter
}

func newCluster(t testing.TB, n int, mutate func(*Config)) *testCluster {
	t.Helper()
	addrs := freeAddrs(t, 2*n)
	peers, urls := map[string]string{}, map[string]string{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i+1)
		peers[id] = addrs[2*i]
		urls[id] = "http://" + addrs[2*i+1]
	}
	buf := &bytes.Buffer{}
	c := &testCluster{t: t, logs: buf, lw: &syncWriter{w: buf}}
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i+1)
		cfg := Config{
			ID: id, Peers: peers, PeerClientURLs: urls,
			PeerAddr: addrs[2*i], ClientAddr: addrs[2*i+1],
			DataDir: filepath.Join(dir, id), Log: c.lw, Seed: int64(i + 1),
			RequestTimeout: 3 * time.Second,
		}
		if mutate != nil {
			mutate(&cfg)
		}
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, nil)
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.stop(i)
		}
		if t.Failed() || testing.Verbose() {
			c.lw.mu.Lock()
			t.Logf("node logs:\n%s", buf.String())
			c.lw.mu.Unlock()
		}
	})
	return c
}

func (c *testCluster) start(i int) {
	c.t.Helper()
	var err error
	for try := 0; try < 50; try++ {
		c.nodes[i], err = Start(c.cfgs[i])
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		time.Sleep(100 * time.Millisecond) // a just-closed listener of the same node
	}
	require.NoError(c.t, err, "start %s", c.cfgs[i].ID)
}

func (c *testCluster) stop(i int) {
	if c.nodes[i] != nil {
		c.nodes[i].Close()
		c.nodes[i] = nil
	}
}

func (c *testCluster) url(i int) string { return "http://" + c.cfgs[i].ClientAddr }

// leader waits until every running node names the same leader, and returns its index.
func (c *testCluster) leader(timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var lead string
		agree := true
		for _, n := range c.nodes {
			if n == nil {
				continue
			}
			st := n.Status()
			if st.Leader == "" || (lead != "" && st.Leader != lead) {
				agree = false
				break
			}
			lead = st.Leader
		}
		if agree && lead != "" {
			for i, cfg := range c.cfgs {
				if cfg.ID == lead && c.nodes[i] != nil {
					return i
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.FailNow(c.t, fmt.Sprintf("no agreed leader within %s", timeout))
	return -1
}

// call sends one HTTP request and decodes the JSON answer.
func call(t testing.TB, method, url, body string, hdr ...string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	require.NoError(t, err, "%s %s", method, url)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "%s %s: status %d, body %q is not a JSON object", method, url, resp.StatusCode, raw)
	return resp.StatusCode, m
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// mustOK performs a request that must answer 200, retrying a definite 503 (no leader yet) for a few seconds.
func mustOK(t testing.TB, method, url, body string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, m := call(t, method, url, body)
		if st == 200 {
			return m
		}
		if st == 503 && m["definite"] == true && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		require.FailNow(t, fmt.Sprintf("%s %s %s: status %d %v", method, url, body, st, m))
	}
}

func keepEnv(t *testing.T, k string) {
	if v, ok := os.LookupEnv(k); ok {
		t.Cleanup(func() { os.Setenv(k, v) })
	} else {
		t.Cleanup(func() { os.Unsetenv(k) })
	}
}
