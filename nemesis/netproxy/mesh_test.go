package netproxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/skeptic-dev/skeptic/nemesis"
	"github.com/skeptic-dev/skeptic/nemesis/netproxy"
)

// echo is a real TCP server on loopback that echoes each line and counts the lines it received.
type echo struct {
	ln    net.Listener
	lines atomic.Int64
}

func newEcho(t *testing.T) *echo {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &echo{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					e.lines.Add(1)
					if _, err := io.WriteString(c, line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return e
}

func (e *echo) addr() string { return e.ln.Addr().String() }

// cluster is three echo "nodes" behind a mesh.
func cluster(t *testing.T) (*netproxy.Mesh, map[string]*echo) {
	t.Helper()
	nodes := map[string]*echo{"a": newEcho(t), "b": newEcho(t), "c": newEcho(t)}
	addrs := map[string]string{}
	for id, e := range nodes {
		addrs[id] = e.addr()
	}
	m, err := netproxy.NewMesh(addrs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, nodes
}

// client is a connection from one node to another through the mesh.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, m *netproxy.Mesh, from, to string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", m.Addr(from, to), time.Second)
	if err != nil {
		t.Fatalf("dial %s->%s: %v", from, to, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

// roundTrip sends one line and reports whether its echo came back within wait.
func (c *client) roundTrip(msg string, wait time.Duration) bool {
	_ = c.c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c.c, msg+"\n"); err != nil {
		return false
	}
	line, err := c.r.ReadString('\n')
	return err == nil && line == msg+"\n"
}

// closedByPeer reports whether c's peer (the proxy) closes it within a second: EOF or reset, not a timeout.
func closedByPeer(c *client) bool {
	_ = c.c.SetReadDeadline(time.Now().Add(time.Second))
	for {
		_, err := c.r.ReadByte()
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

func ctx() context.Context { return context.Background() }

func TestForwardsAndSelfAddress(t *testing.T) {
	m, nodes := cluster(t)
	if got := m.Addr("a", "a"); got != nodes["a"].addr() {
		t.Errorf("Addr(a, a) = %s, want a's own %s", got, nodes["a"].addr())
	}
	if m.Addr("a", "zz") != "" {
		t.Error("Addr of an unknown node is not empty")
	}
	if m.Addr("a", "b") == m.Addr("c", "b") {
		t.Error("a->b and c->b share a proxy; links must be told apart")
	}
	if !dial(t, m, "a", "b").roundTrip("hello", time.Second) {
		t.Fatal("a->b echo failed with no fault")
	}
}

func TestPartitionCutsOneDirection(t *testing.T) {
	m, nodes := cluster(t)
	old := dial(t, m, "a", "b")
	if !old.roundTrip("before", time.Second) {
		t.Fatal("no echo before the fault")
	}
	// b stops hearing a: link a->b is cut, b->a is not.
	if err := m.Partition(ctx(), nemesis.Grudge{"b": {"a"}}); err != nil {
		t.Fatal(err)
	}
	// The connection already on the link is closed.
	if !closedByPeer(old) {
		t.Error("existing a->b connection survived the cut")
	}
	// A new a->b connection is a blackhole: b never receives a's bytes.
	before := nodes["b"].lines.Load()
	if dial(t, m, "a", "b").roundTrip("through-cut", 300*time.Millisecond) {
		t.Error("a reached b across the cut")
	}
	if got := nodes["b"].lines.Load(); got != before {
		t.Errorf("b received %d lines from a across the cut", got-before)
	}
	// b->a still delivers: a receives b's line, but a's echo back to b travels the cut link and is lost.
	beforeA := nodes["a"].lines.Load()
	if dial(t, m, "b", "a").roundTrip("one-way", 300*time.Millisecond) {
		t.Error("a's reply reached b over the cut a->b direction")
	}
	if got := nodes["a"].lines.Load(); got != beforeA+1 {
		t.Errorf("a received %d lines from b, want 1: b->a is not cut", got-beforeA)
	}
	// Not even a FIN crosses the cut: a closes its side when b half-closes, and b never hears of it.
	hb := dial(t, m, "b", "a")
	_ = hb.c.(*net.TCPConn).CloseWrite()
	_ = hb.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var ne net.Error
	if _, err := hb.r.ReadByte(); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("b saw %v from a across the cut a->b direction, want silence", err)
	}
	// Links the grudge does not name are untouched.
	if !dial(t, m, "c", "b").roundTrip("c-to-b", time.Second) || !dial(t, m, "b", "c").roundTrip("b-to-c", time.Second) {
		t.Error("c<->b is not cut but failed")
	}
	// The harness reaches b directly.
	direct, err := net.DialTimeout("tcp", nodes["b"].addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	if !(&client{c: direct, r: bufio.NewReader(direct)}).roundTrip("harness", time.Second) {
		t.Error("the harness could not reach b")
	}

	blackholed := dial(t, m, "a", "b")
	if blackholed.roundTrip("into-the-hole", 200*time.Millisecond) {
		t.Fatal("a reached b across the cut")
	}
	if err := m.Heal(ctx()); err != nil {
		t.Fatal(err)
	}
	// The blackholed connection is closed at heal, so its dialer reconnects instead of waiting forever.
	if !closedByPeer(blackholed) {
		t.Error("blackholed connection survived the heal")
	}
	if !dial(t, m, "a", "b").roundTrip("healed", time.Second) {
		t.Error("a->b does not echo after heal")
	}
	if err := m.Heal(ctx()); err != nil {
		t.Errorf("second heal: %v", err)
	}
}

func TestLossLosesAboutTheShare(t *testing.T) {
	m, _ := cluster(t)
	m.SetSeed(7)
	if err := m.Loss(ctx(), []nemesis.Link{{From: "a", To: "b"}}, 50); err != nil {
		t.Fatal(err)
	}
	const probes = 400
	ok := 0
	for i := range probes {
		c, err := net.DialTimeout("tcp", m.Addr("a", "b"), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if (&client{c: c, r: bufio.NewReader(c)}).roundTrip(fmt.Sprintf("p%d", i), time.Second) {
			ok++
		}
		_ = c.Close()
	}
	lost := 100 * float64(probes-ok) / probes
	t.Logf("loss 50%%: %d/%d echoed (%.1f%% lost)", ok, probes, lost)
	if lost < 30 || lost > 70 {
		t.Errorf("loss 50%%: lost %.1f%%, want 30..70%%", lost)
	}
	// c->b carries no loss.
	for i := range 50 {
		if !dial(t, m, "c", "b").roundTrip(fmt.Sprintf("q%d", i), time.Second) {
			t.Fatalf("c->b has no loss but probe %d failed", i)
		}
	}
	if err := m.Heal(ctx()); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if !dial(t, m, "a", "b").roundTrip(fmt.Sprintf("h%d", i), time.Second) {
			t.Fatalf("after heal probe %d failed", i)
		}
	}
}

func TestDelayHoldsInOrder(t *testing.T) {
	m, _ := cluster(t)
	if err := m.Delay(ctx(), []nemesis.Link{{From: "a", To: "b"}}, 150*time.Millisecond, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c := dial(t, m, "a", "b")
	start := time.Now()
	if !c.roundTrip("slow", 2*time.Second) {
		t.Fatal("delayed link does not deliver")
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("round trip took %v under a 150ms delay", d)
	}
	// Many small writes, each its own chunk with its own jitter, arrive in order.
	const n = 40
	var sent strings.Builder
	for i := range n {
		line := fmt.Sprintf("m%02d\n", i)
		sent.WriteString(line)
		if _, err := io.WriteString(c.c, line); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, sent.Len())
	if _, err := io.ReadFull(c.r, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != sent.String() {
		t.Errorf("delayed stream reordered:\n got %q\nwant %q", got, sent.String())
	}
	// Undelayed links are fast.
	if err := m.Heal(ctx()); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if !dial(t, m, "a", "b").roundTrip("fast", time.Second) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("after heal a round trip took %v", time.Since(start))
	}
}

func TestRejectsUnknownNodesAndCloses(t *testing.T) {
	m, _ := cluster(t)
	if err := m.Partition(ctx(), nemesis.Grudge{"a": {"zz"}}); err == nil || !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("partition with unknown node: %v", err)
	}
	if err := m.Loss(ctx(), nil, -1); err == nil {
		t.Error("negative loss accepted")
	}
	addr := m.Addr("a", "b")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		t.Error("proxy still accepts after Close")
	}
}
