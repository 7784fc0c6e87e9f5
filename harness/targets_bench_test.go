package harness

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/internal/testbin"
)

// BenchmarkPaxosVsEtcd (issue 9): the Paxos store against etcd (Debian's etcd-server, /usr/bin/etcd) under the
// same skeptic workload on the same machine: 5 Docker nodes, the kv workload, 10 workers, --rate 0, for
// targetsLoad, no faults. Each iteration runs Paxos then etcd, one after the other, and takes the ratio of
// their Result.OpsPerSecond (results.json's ops_per_second, completions per second of the load phase);
// reported are the medians:
//
//	paxos-ops/s   the Paxos store
//	etcd-ops/s    etcd
//	ratio         Paxos over etcd, median of the per-iteration ratios (goal >= 1.0)
//
// Run: go test -run XXX -bench PaxosVsEtcd -benchtime 3x -timeout 30m ./harness
func BenchmarkPaxosVsEtcd(b *testing.B) {
	ctx := context.Background()
	requireRuntime(b, RuntimeDocker)
	requireEtcd(b)
	bin := testbin.Skeptic(b)
	load := func(b *testing.B, target string) float64 {
		tc := Default()
		tc.Runtime = RuntimeDocker
		tc.Target = target
		if target == "paxos" {
			tc.NodeBinary = bin
		}
		tc.Nodes = 5
		tc.Concurrency = 10
		tc.Rate = 0
		tc.TimeLimit = Duration(targetsLoad)
		tc.Recovery = 0
		tc.Store = b.TempDir()
		var out bytes.Buffer
		tc.Out = &out
		res, err := Run(ctx, tc)
		if err != nil {
			b.Fatalf("%s: %v\n%s", target, err, out.String())
		}
		if res.Verdict != Valid || res.OpsPerSecond <= 0 {
			b.Fatalf("%s: verdict %s, %.0f ops/s:\n%s", target, res.Verdict, res.OpsPerSecond, out.String())
		}
		return res.OpsPerSecond
	}
	var paxos, etcd, ratios []float64
	for range b.N {
		p := load(b, "paxos")
		e := load(b, "etcd")
		paxos, etcd, ratios = append(paxos, p), append(etcd, e), append(ratios, p/e)
		b.Logf("paxos %.0f ops/s, etcd %.0f ops/s, ratio %.2f", p, e, p/e)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(medianOf(paxos), "paxos-ops/s")
	b.ReportMetric(medianOf(etcd), "etcd-ops/s")
	b.ReportMetric(medianOf(ratios), "ratio")
}

// targetsLoad is how long each side of BenchmarkPaxosVsEtcd runs its load.
const targetsLoad = 20 * time.Second
