package etcd_test

import (
	"fmt"
	"testing"

	"github.com/skeptic-dev/skeptic/targets/etcd/etcdtest"
)

// BenchmarkClusterReady measures how long a cluster of n local etcd processes on loopback takes from the first
// start to every member naming the same leader (etcd's default 100ms heartbeat and 1s election timeout).
func BenchmarkClusterReady(b *testing.B) {
	for _, n := range []int{1, 3, 5} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			var total float64
			for range b.N {
				c := etcdtest.Start(b, n)
				total += c.Ready.Seconds()
				for _, m := range c.Members {
					m.Kill()
				}
			}
			b.ReportMetric(total/float64(b.N), "s/ready")
		})
	}
}
