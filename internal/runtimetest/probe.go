package runtimetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/internal/netnstest"
	"github.com/skeptic-dev/skeptic/internal/testbin"
	"github.com/skeptic-dev/skeptic/targets"
)

// testNodeTarget starts testnode with the runtime's NodeArgs, and extra.
type testNodeTarget struct{ extra []string }

func (testNodeTarget) Name() string                       { return "testnode" }
func (testNodeTarget) Capabilities() []targets.Capability { return nil }
func (testNodeTarget) NewClient(targets.Node) (targets.Client, error) {
	return nil, fmt.Errorf("testnode has no client")
}
func (testNodeTarget) Env(a targets.NodeArgs) ([]string, error) {
	return []string{"TESTNODE_ID=" + a.ID}, nil
}
func (t testNodeTarget) Args(a targets.NodeArgs) ([]string, error) {
	return append(testbin.TestNodeArgs(a), t.extra...), nil
}

func batchID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ProbeTCP sends n probes to a testnode's peer port through addr (for the local runtime, the proxy of the path
// between two nodes), one connection each, and asks the testnode at receiverURL (its client URL) how many
// arrived, until all have or wait has passed. Each probe is a line "probe <batch> <unix_ns>" that testnode counts
// and never answers, so what arrives says what one direction of the path carries. A connection the path refuses
// counts as a lost probe.
func ProbeTCP(ctx context.Context, addr, receiverURL string, n int, wait time.Duration) (Probe, error) {
	batch := batchID()
	d := net.Dialer{Timeout: time.Second}
	for range n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if ctx.Err() != nil {
				return Probe{}, ctx.Err()
			}
			continue
		}
		_ = c.SetDeadline(time.Now().Add(time.Second))
		_, _ = fmt.Fprintf(c, "probe %s %d\n", batch, time.Now().UnixNano())
		_ = c.Close()
	}
	deadline := time.Now().Add(wait)
	for {
		p, err := probesOf(receiverURL, batch)
		if err != nil {
			return Probe{}, err
		}
		p.Sent = n
		if p.Arrived >= n || time.Now().After(deadline) || ctx.Err() != nil {
			return p, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// probesOf asks the testnode at url what arrived of batch.
func probesOf(url, batch string) (Probe, error) {
	body, err := testbin.Get(url + "/probes?batch=" + batch)
	if err != nil {
		return Probe{}, fmt.Errorf("asking %s for its probes: %w", url, err)
	}
	f := strings.Fields(body)
	if len(f) != 3 {
		return Probe{}, fmt.Errorf("%s/probes answered %q, want <count> <min_ns> <max_ns>", url, body)
	}
	var v [3]int64
	for i, s := range f {
		if v[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return Probe{}, fmt.Errorf("%s/probes answered %q: %w", url, body, err)
		}
	}
	return Probe{Arrived: int(v[0]), MinLatency: time.Duration(v[1]), MaxLatency: time.Duration(v[2])}, nil
}

// ProbeUDP sends n numbered datagrams from inside the network namespace fromNS (a path such as /proc/<pid>/ns/net),
// from the address fromIP, to a socket it opens inside toNS on toIP: for the docker runtime, the very path peer
// traffic takes between two containers, through the very rules the nemesis put into their namespaces. It waits
// until all have arrived or wait has passed. (A TCP connection needs both directions, so only datagrams show
// what one direction carries.) It needs root.
func ProbeUDP(ctx context.Context, fromNS, toNS string, fromIP, toIP netip.Addr, n int, wait time.Duration) (Probe, error) {
	open := func(ns string, ip netip.Addr) (*net.UDPConn, error) {
		var c *net.UDPConn
		err := netnstest.In(ns, func() (err error) {
			c, err = net.ListenUDP("udp", &net.UDPAddr{IP: ip.AsSlice()})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("a UDP socket on %s in %s: %w", ip, ns, err)
		}
		return c, nil
	}
	srv, err := open(toNS, toIP)
	if err != nil {
		return Probe{}, err
	}
	defer srv.Close()
	cli, err := open(fromNS, fromIP)
	if err != nil {
		return Probe{}, err
	}
	defer cli.Close()
	_ = srv.SetReadBuffer(1 << 20)
	var (
		mu   sync.Mutex
		seen = map[int]bool{}
		p    = Probe{Sent: n}
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			k, _, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			now := time.Now().UnixNano()
			var i int
			var sent int64
			if _, err := fmt.Sscanf(string(buf[:k]), "probe-%d %d", &i, &sent); err != nil {
				continue
			}
			lat := time.Duration(now - sent)
			mu.Lock()
			if !seen[i] {
				seen[i] = true
				if p.Arrived == 0 || lat < p.MinLatency {
					p.MinLatency = lat
				}
				p.MaxLatency = max(p.MaxLatency, lat)
				p.Arrived++
			}
			mu.Unlock()
		}
	}()
	dst := srv.LocalAddr().(*net.UDPAddr)
	for i := range n {
		if _, err := cli.WriteToUDP(fmt.Appendf(nil, "probe-%d %d", i, time.Now().UnixNano()), dst); err != nil {
			return Probe{}, fmt.Errorf("datagram %d from %s to %s: %w", i, fromIP, toIP, err)
		}
		if i%25 == 24 {
			time.Sleep(time.Millisecond)
		}
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		mu.Lock()
		all := p.Arrived >= n
		mu.Unlock()
		if all {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = srv.SetReadDeadline(time.Now())
	<-done
	mu.Lock()
	defer mu.Unlock()
	return p, nil
}
