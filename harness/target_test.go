package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/internal/field"
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
	fe, ok := field.As(err)
	require.True(t, ok, "want a *field.Error, got %v", err)
	assert.Equal(t, "nemesis", fe.Field)
	assert.Contains(t, fe.Msg, `"clock" capability, which target minikv does not declare`)
	ents, _ := os.ReadDir(tc.Store)
	assert.Empty(t, ents, "nothing created")

	tc = miniKVTest(t, RuntimeLocal)
	tc.Flaw = "stale-reads"
	_, err = Run(context.Background(), tc)
	fe, ok = field.As(err)
	require.True(t, ok, "want a *field.Error, got %v", err)
	assert.Equal(t, "target_options.flaw", fe.Field)
	assert.Equal(t, `target minikv has no option "flaw" (its options: stale-every)`, fe.Msg)
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
	// The server is running before the test points skeptic at it (as a user's cluster would be).
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 20*time.Second, 50*time.Millisecond, "minikv did not come up at %s", addr)

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
	fe, ok := field.As(err)
	require.True(t, ok, "want a *field.Error, got %v", err)
	assert.Equal(t, "nemesis", fe.Field)
	// And an endpoint that does not answer is a setup error that names it.
	tc = miniKVTest(t, RuntimeNone)
	tc.Endpoints = map[string]string{"n1": "127.0.0.1:1"}
	_, err = Run(context.Background(), tc)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "node n1 at 127.0.0.1:1 does not accept connections")
}

// TestEtcdTarget runs a real etcd cluster (Debian's etcd-server, packed with its libraries) in containers: with
// linearizable reads it stays valid through a partition and a kill, and with serializable reads the isolated
// member's stale reads are caught.
func TestEtcdTarget(t *testing.T) {
	requireRuntime(t, RuntimeDocker)
	requireEtcd(t)
	sched := filepath.Join(t.TempDir(), "schedule.json")
	require.NoError(t, os.WriteFile(sched, []byte(`[
 {"at":"1s","f":"start-partition","value":{"strategy":"one","grudge":{"n3":["n1","n2"],"n1":["n3"],"n2":["n3"]}}},
 {"at":"5s","f":"stop-partition"},
 {"at":"6s","f":"kill","value":{"strategy":"one","nodes":["n1"]}},
 {"at":"7500ms","f":"start"}
]`), 0o644))
	for _, read := range []string{"linearizable", "serializable"} {
		t.Run(read, func(t *testing.T) {
			tc := e2eTest(t, RuntimeDocker)
			tc.NodeBinary = ""
			tc.Target = "etcd"
			tc.TargetOptions = map[string]string{"etcd-read": read}
			tc.TimeLimit = Duration(9 * time.Second)
			tc.Recovery = Duration(2 * time.Second)
			tc.Nemesis.ScheduleFile = sched
			var out bytes.Buffer
			tc.Out = &out
			res, err := Run(context.Background(), tc)
			t.Logf("output:\n%s", out.String())
			require.NoError(t, err)
			assert.Equal(t, "etcd-kv", res.Test)
			assert.Greater(t, res.Counts["read"]["ok"], int64(100))
			assert.Empty(t, res.HealError)
			events, err := history.ReadFile(filepath.Join(res.Dir, HistoryFile))
			require.NoError(t, err)
			nem := 0
			for _, e := range events {
				if e.Process == history.NemesisProcess {
					nem++
					assert.Empty(t, e.Error, "nemesis event %s failed", e.F)
				}
			}
			assert.GreaterOrEqual(t, nem, 8, "every fault applied and recorded")
			if read == "linearizable" {
				assert.Equal(t, Valid, res.Verdict)
			} else {
				assert.Equal(t, Invalid, res.Verdict, "serializable reads on the cut-off member are stale")
			}
		})
	}
}

// TestEnabledFaultsNeedCapabilities: a fault the target cannot take is refused even when the run is too short
// for the seed to draw it.
func TestEnabledFaultsNeedCapabilities(t *testing.T) {
	tc := miniKVTest(t, RuntimeLocal) // 2 s: shorter than one nemesis interval, so no op is drawn
	o, err := ParseNemesis(nemesis.Flags{Nemesis: "clock"})
	require.NoError(t, err)
	tc.Nemesis.Options = o
	_, err = Run(context.Background(), tc)
	fe, ok := field.As(err)
	require.True(t, ok, "want a *field.Error, got %v", err)
	assert.Equal(t, "nemesis", fe.Field)
	assert.Contains(t, fe.Msg, `the "clock" capability, which target minikv does not declare`)
}
