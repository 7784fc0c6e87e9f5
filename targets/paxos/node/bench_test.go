package node

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

// BenchmarkCluster measures a real 3-node loopback cluster (in-process nodes, real sockets, real fsync) through
// its HTTP API: writes and reads (read index) at concurrency 1, 16 and 64 sent to the leader, and writes sent to a
// follower that forwards them. It reports
// throughput (ops/s) and latency percentiles (p50-ms, p99-ms). Run it with, for example:
//
//	go test ./targets/paxos/node -run '^$' -bench Cluster -benchtime 2000x
func BenchmarkCluster(b *testing.B) {
	c := newCluster(b, 3, func(cfg *Config) { cfg.Log = io.Discard })
	lead := c.leader(10 * time.Second)
	for _, op := range []string{"write", "read"} {
		for _, conc := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/c=%d", op, conc), func(b *testing.B) { benchLoad(b, c.url(lead), op, conc) })
		}
	}
	// Through a follower, which forwards each request to the leader.
	b.Run("write-via-follower/c=16", func(b *testing.B) { benchLoad(b, c.url((lead+1)%3), "write", 16) })
}

// BenchmarkClusterLeaseReads is BenchmarkCluster's reads with --read lease.
func BenchmarkClusterLeaseReads(b *testing.B) {
	c := newCluster(b, 3, func(cfg *Config) { cfg.Log = io.Discard; cfg.Read = core.ReadLease })
	lead := c.leader(10 * time.Second)
	for _, conc := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("read/c=%d", conc), func(b *testing.B) { benchLoad(b, c.url(lead), "read", conc) })
	}
}

// benchLoad sends b.N requests of op to base from conc workers, and reports ops/s, p50-ms and p99-ms.
func benchLoad(b *testing.B, base, op string, conc int) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxIdleConns: conc}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	lat := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				key := fmt.Sprintf("/kv/b%d", i%100)
				t0 := time.Now()
				var req *http.Request
				if op == "write" {
					req, _ = http.NewRequest("PUT", base+key, strings.NewReader(fmt.Sprintf(`{"value":%d}`, i)))
				} else {
					req, _ = http.NewRequest("GET", base+key, nil)
				}
				resp, err := hc.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	require.Zero(b, failed.Load(), "requests failed of %d", b.N)
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
}
