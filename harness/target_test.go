package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/nemesis"
)

// miniKVSpec describes minikv (internal/testbin/minikv), a single-node server written for these tests, the way a
// user describes their own system. Its option stale-every switches on a stale-read bug.
const miniKVSpec = `name: minikv
binary: %s
args: ["-listen={{.ClientListen}}", "-id={{.ID}}", "-stale-every={{index .Opt \"stale-every\"}}"]
client: http-kv
client_port: 9000
capabilities: [status]
ready:
  http: /health
  timeout: 20s
options:
  stale-every:
    default: "0"
    help: answer every Nth read with the value before the latest write
`

func writeMiniKVSpec(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "minikv.yaml")
	require.NoError(t, os.WriteFile(p, fmt.Appendf(nil, miniKVSpec, testbin.MiniKV(t)), 0o644))
	return p
}

func miniKVTest(t *testing.T, rt string) Test {
	tc := e2eTest(t, rt)
	tc.NodeBinary = ""
	tc.TargetSpec = writeMiniKVSpec(t)
	tc.Nodes = 1
	tc.Concurrency = 4
	tc.TimeLimit = Duration(2 * time.Second)
	tc.Recovery = 0
	return tc
}

// TestSpecFileTarget runs a user's system described by a spec file, on both runtimes: the correct build is
// valid, and the same program with its stale-read bug switched on through --target-opt is caught.
func TestSpecFileTarget(t *testing.T) {
	for _, rt := range []string{RuntimeLocal, RuntimeDocker} {
		for _, stale := range []string{"", "3"} {
			t.Run(rt+"/stale-every="+stale, func(t *testing.T) {
				requireRuntime(t, rt)
				tc := miniKVTest(t, rt)
				if stale != "" {
					tc.TargetOptions = map[string]string{"stale-every": stale}
				}
				var out bytes.Buffer
				tc.Out = &out
				res, err := Run(context.Background(), tc)
				t.Logf("output:\n%s", out.String())
				require.NoError(t, err)
				assert.Equal(t, "minikv-kv", res.Test, "the spec's name names the test")
				assert.Contains(t, out.String(), "starting 1 minikv nodes on "+rt)
				assert.Greater(t, res.Ops, int64(100))
				if stale == "" {
					assert.Equal(t, Valid, res.Verdict)
				} else {
					assert.Equal(t, Invalid, res.Verdict, "a read of the previous value after a completed write")
				}
			})
		}
	}
}

// TestSpecCapabilitiesRefused: a fault that needs a capability the spec does not declare is refused before
// anything is created.
func TestSpecCapabilitiesRefused(t *testing.T) {
	tc := miniKVTest(t, RuntimeLocal)
	tc.TimeLimit = Duration(time.Minute) // long enough for the schedule to hold clock faults
	tc.Nemesis.Options = nemesis.Options{Faults: []string{nemesis.FaultClock}}
	tc.Nemesis.Options = tc.Nemesis.Options.WithDefaults()
	_, err := Run(context.Background(), tc)
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "--nemesis", ce.Flag)
	assert.Contains(t, ce.Msg, `"clock" capability, which target minikv does not declare`)
	ents, _ := os.ReadDir(tc.Store)
	assert.Empty(t, ents, "nothing created")

	tc = miniKVTest(t, RuntimeLocal)
	tc.Flaw = "stale-reads"
	_, err = Run(context.Background(), tc)
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "--flaw", ce.Flag)
	assert.Equal(t, `target minikv has no option "flaw" (its options: stale-every)`, ce.Msg)
}

// TestRuntimeNone tests a running server skeptic did not start: no lifecycle, no faults. The server keeps
// running after the run.
func TestRuntimeNone(t *testing.T) {
	skipE2E(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(testbin.MiniKV(t), "-listen", addr, "-id", "n1")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	tc := miniKVTest(t, RuntimeNone)
	tc.Endpoints = map[string]string{"n1": addr}
	var out bytes.Buffer
	tc.Out = &out
	res, err := Run(context.Background(), tc)
	t.Logf("output:\n%s", out.String())
	require.NoError(t, err)
	assert.Equal(t, Valid, res.Verdict)
	assert.Contains(t, out.String(), "runtime: none (a running cluster at n1="+addr)
	assert.Greater(t, res.Ops, int64(100))
	// The server was left as it was.
	c, err := net.DialTimeout("tcp", addr, time.Second)
	require.NoError(t, err, "the server must still run")
	c.Close()

	// Faults are refused: skeptic may not touch this cluster.
	tc.Nemesis.Options = nemesis.Options{Faults: []string{nemesis.FaultKill}}
	_, err = Run(context.Background(), tc)
	var ce *ConfigError
	require.True(t, errors.As(err, &ce), "%v", err)
	assert.Equal(t, "--nemesis", ce.Flag)
	// And an endpoint that does not answer is a setup error that names it.
	tc = miniKVTest(t, RuntimeNone)
	tc.Endpoints = map[string]string{"n1": "127.0.0.1:1"}
	_, err = Run(context.Background(), tc)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "node n1 at 127.0.0.1:1 does not accept connections")
}
