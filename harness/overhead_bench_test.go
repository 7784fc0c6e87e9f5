package harness

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/harness/cluster"
	"github.com/skeptic-dev/skeptic/harness/local"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/httpkv"
	"github.com/skeptic-dev/skeptic/targets/paxos"
	"github.com/skeptic-dev/skeptic/workloads"
)

// BenchmarkHarnessOverhead (issue 9): the operations per second that the harness's workers reach unpaced
// (Run with Rate 0, the same as `skeptic run --rate 0`), against a bare loop of the same client, the same
// workload generator and the same concurrency against the same cluster, with nothing recorded. Each iteration
// runs both for overheadLoad, one after the other, and the ratio of the two rates is taken per iteration;
// reported are the medians:
//
//	harness-ops/s   Result.OpsPerSecond of the run (its load phase)
//	bare-ops/s      the bare loop's completions per second
//	ratio           harness over bare, median of the per-iteration ratios (goal >= 0.9)
//
// Clusters: minikv (internal/testbin/minikv, a single-node in-memory PROTOCOL.md server, so that the harness's
// own cost shows) and a 3-node Paxos cluster on the local runtime. The harness attaches to the running cluster
// with --runtime none, so both sides use the very same nodes.
//
// Run: go test -run XXX -bench HarnessOverhead -benchtime 5x ./harness
func BenchmarkHarnessOverhead(b *testing.B) {
	b.Run("minikv", func(b *testing.B) {
		spec := filepath.Join(b.TempDir(), "minikv.yaml")
		if err := os.WriteFile(spec, fmt.Appendf(nil, miniKVSpec, testbin.MiniKV(b)), 0o644); err != nil {
			b.Fatal(err)
		}
		tc := overheadTest(b)
		tc.TargetSpec = spec
		// The client the spec target (targets/spec) gives an http-kv node.
		newClient := func(n targets.Node) (targets.Client, error) {
			return httpkv.New(n.ClientURL, httpkv.WithTimeout(tc.OpTimeout.D())), nil
		}
		overhead(b, tc, newClient, func() ([]targets.Node, func()) {
			addr := freeAddr(b)
			cmd := exec.Command(testbin.MiniKV(b), "-listen", addr, "-id", "n1")
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			waitListening(b, addr)
			return []targets.Node{{ID: "n1", ClientURL: "http://" + addr}}, func() { cmd.Process.Kill(); cmd.Wait() }
		})
	})
	b.Run("paxos-3", func(b *testing.B) {
		target, err := paxos.New(paxos.Options{})
		if err != nil {
			b.Fatal(err)
		}
		bin := testbin.Skeptic(b)
		tc := overheadTest(b)
		tc.Target = "paxos"
		tc.Nodes = 3
		overhead(b, tc, target.NewClient, func() ([]targets.Node, func()) {
			spec := cluster.Spec{RunID: "overhead", Target: target, Nodes: 3, Binary: bin, RunDir: b.TempDir()}
			c, err := local.New().StartCluster(context.Background(), spec)
			if err != nil {
				b.Fatal(err)
			}
			return c.Nodes(), func() {
				if err := c.Teardown(context.Background()); err != nil {
					b.Error(err)
				}
			}
		})
	})
}

// overheadLoad is how long each side of an iteration drives the cluster.
const overheadLoad = 5 * time.Second

func overheadTest(b *testing.B) Test {
	tc := Default()
	tc.Runtime = RuntimeNone
	tc.NodeBinary = ""
	tc.Nodes = 1
	tc.Concurrency = 10
	tc.Rate = 0
	tc.TimeLimit = Duration(overheadLoad)
	tc.Recovery = 0
	tc.Store = b.TempDir()
	tc.Seed = 9
	tc.Out = ioDiscard{}
	return tc
}

type ioDiscard struct{}

func (ioDiscard) Write(p []byte) (int, error) { return len(p), nil }

// overhead measures b.N iterations, each on a fresh cluster from start (keys are named alike in every run, so a
// run on a cluster that holds an earlier run's values would not be linearizable): first the harness, which
// checks what it did, then the bare loop.
func overhead(b *testing.B, tc Test, newClient func(targets.Node) (targets.Client, error), start func() ([]targets.Node, func())) {
	var harness, bare, ratios []float64
	for range b.N {
		nodes, stopCluster := start()
		stop := sync.OnceFunc(stopCluster)
		b.Cleanup(stop) // also when the iteration fails
		tc.Endpoints = map[string]string{}
		for _, n := range nodes {
			tc.Endpoints[n.ID] = strings.TrimPrefix(n.ClientURL, "http://")
		}
		res, err := Run(context.Background(), tc)
		if err != nil {
			b.Fatal(err)
		}
		if res.Verdict != Valid {
			b.Fatalf("the run is %s", res.Verdict)
		}
		rate := bareLoop(b, tc, newClient, nodes)
		stop()
		harness = append(harness, res.OpsPerSecond)
		bare = append(bare, rate)
		ratios = append(ratios, res.OpsPerSecond/rate)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(medianOf(harness), "harness-ops/s")
	b.ReportMetric(medianOf(bare), "bare-ops/s")
	b.ReportMetric(medianOf(ratios), "ratio")
}

// bareLoop drives the cluster as the harness's workers do (worker i on node i mod n, the kv workload with the
// run's seed, op timeout and ratios), recording nothing, for overheadLoad; it returns completions per second.
func bareLoop(b *testing.B, tc Test, newClient func(targets.Node) (targets.Client, error), nodes []targets.Node) float64 {
	wl, err := workloads.New(tc.Workload, workloads.Config{Seed: tc.Seed, Workers: tc.Concurrency, Nodes: len(nodes),
		OpsPerKey: tc.OpsPerKey, WorkersPerKey: tc.WorkersPerKey, ReadRatio: tc.ReadRatio, WriteRatio: tc.WriteRatio,
		CASRatio: tc.CASRatio})
	if err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	start := time.Now()
	deadline := start.Add(overheadLoad)
	var wg sync.WaitGroup
	for i := range tc.Concurrency {
		n := nodes[i%len(nodes)]
		cl, err := newClient(n)
		if err != nil {
			b.Fatal(err)
		}
		gen := wl.Worker(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Close()
			for time.Now().Before(deadline) {
				op := gen.Next()
				ctx, cancel := context.WithTimeout(context.Background(), tc.OpTimeout.D())
				out := cl.Do(ctx, op)
				cancel()
				gen.Observe(op, out)
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

func medianOf(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitListening(b *testing.B, addr string) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
	}
	b.Fatalf("minikv does not listen on %s", addr)
}
