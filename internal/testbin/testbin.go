// Package testbin builds, once per test process, the static programs that runtime and fault tests start as
// nodes: the skeptic binary (its `node` command is the Paxos node), and testnode, a trivial node for testing the
// runtimes without a real target. It is test infrastructure only.
package testbin

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/targets"
)

var (
	mu   sync.Mutex
	dirs []string // the temporary folders of the builds, for Cleanup
)

// Cleanup removes every program this process built. Call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	dirs = nil
}

// static builds pkg with CGO_ENABLED=0 into a fresh temporary folder.
func static(pkg, name string) (string, error) {
	dir, err := os.MkdirTemp("", "skeptic-testbin-")
	if err != nil {
		return "", err
	}
	mu.Lock()
	dirs = append(dirs, dir)
	mu.Unlock()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("CGO_ENABLED=0 go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

var (
	build         = sync.OnceValues(func() (string, error) { return static("github.com/skeptic-dev/skeptic/cmd/skeptic", "skeptic") })
	buildTestNode = sync.OnceValues(func() (string, error) {
		return static("github.com/skeptic-dev/skeptic/internal/testbin/testnode", "testnode")
	})
	buildMiniKV = sync.OnceValues(func() (string, error) {
		return static("github.com/skeptic-dev/skeptic/internal/testbin/minikv", "minikv")
	})
)

// MiniKV returns the path of a static build of minikv, a minimal single-node server of shared/PROTOCOL.md (see
// its doc), failing tb if it cannot be built.
func MiniKV(tb testing.TB) string {
	tb.Helper()
	bin, err := buildMiniKV()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// Skeptic returns the path of a statically linked skeptic binary built from this module, failing tb if it
// cannot be built. Every caller in one test process gets the same file (go build's cache makes later
// processes fast too).
func Skeptic(tb testing.TB) string {
	tb.Helper()
	bin, err := build()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// TestNode returns the path of a static build of testnode (see its doc), failing tb if it cannot be built.
func TestNode(tb testing.TB) string {
	tb.Helper()
	bin, err := buildTestNode()
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// TestNodeArgs is testnode's command line for the node a describes.
func TestNodeArgs(a targets.NodeArgs) []string {
	var peers []string
	for id, addr := range a.Peers {
		peers = append(peers, id+"="+addr)
	}
	return []string{"-id", a.ID, "-client", a.ClientListen, "-peer", a.PeerListen, "-data", a.DataDir, "-peers", strings.Join(peers, ",")}
}

var httpc = &http.Client{Timeout: 2 * time.Second}

// Get asks a test node for url (GET, 2 s timeout) and returns the body of a 200 answer; any other answer is an
// error that quotes it.
func Get(url string) (string, error) {
	resp, err := httpc.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, b)
	}
	return string(b), err
}

// Put stores v in the test node at baseURL (POST /put?v=V); anything but a 200 answer is an error.
func Put(baseURL, v string) error {
	resp, err := httpc.Post(baseURL+"/put?v="+url.QueryEscape(v), "text/plain", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("put %s to %s: %s: %s", v, baseURL, resp.Status, b)
	}
	return nil
}
