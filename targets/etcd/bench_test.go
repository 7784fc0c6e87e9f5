package etcd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/targets"
	"github.com/skeptic-dev/skeptic/targets/etcd"
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

// BenchmarkClientOps measures one client's sequential operations against a 3-member loopback cluster, bound to
// a follower (reads of both modes, writes, cas), as a worker issues them.
func BenchmarkClientOps(b *testing.B) {
	c := etcdtest.Start(b, 3)
	leader, err := c.Leader(10 * time.Second)
	if err != nil {
		b.Fatal(err)
	}
	var m *etcdtest.Member
	for _, x := range c.Members {
		if x != leader {
			m = x
			break
		}
	}
	for _, mode := range []string{etcd.ReadLinearizable, etcd.ReadSerializable} {
		cl, err := etcd.New(m.Endpoint, etcd.Options{ReadMode: mode})
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		for _, op := range []targets.Op{
			{F: targets.FWrite, Key: "b", Value: 1},
			{F: targets.FRead, Key: "b"},
			{F: targets.FCAS, Key: "b", From: 1, To: 1},
		} {
			if op.F != targets.FRead && mode != etcd.ReadLinearizable {
				continue // the read mode changes reads only
			}
			b.Run(op.F+"/"+mode, func(b *testing.B) {
				for range b.N {
					if out := cl.Do(context.Background(), op); out.Type != history.Ok {
						b.Fatalf("%+v", out)
					}
				}
			})
		}
	}
}
