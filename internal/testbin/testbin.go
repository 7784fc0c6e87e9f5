// Package testbin builds, once per test process, the static skeptic binary that runtime and fault tests start
// as Paxos nodes (its `node` command). It is test infrastructure only.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var build = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "skeptic-testbin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "skeptic")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/skeptic-dev/skeptic/cmd/skeptic")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("CGO_ENABLED=0 go build ./cmd/skeptic: %v\n%s", err, out)
	}
	return bin, nil
})

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
