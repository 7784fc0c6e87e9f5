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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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
	require.NoError(t, err)
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
	require.NoError(t, err)
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
	require.NoError(t, err, "dial %s->%s", from, to)
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
	assert.Equal(t, nodes["a"].addr(), m.Addr("a", "a"), "Addr(a, a) is a's own address")
	assert.Empty(t, m.Addr("a", "zz"), "Addr of an unknown node")
	assert.NotEqual(t, m.Addr("c", "b"), m.Addr("a", "b"), "a->b and c->b share a proxy; links must be told apart")
	require.True(t, dial(t, m, "a", "b").roundTrip("hello", time.Second), "a->b echo failed with no fault")
}

func TestPartitionCutsOneDirection(t *testing.T) {
	m, nodes := cluster(t)
	old := dial(t, m, "a", "b")
	require.True(t, old.roundTrip("before", time.Second), "no echo before the fault")
	// b stops hearing a: link a->b is cut, b->a is not.
	require.NoError(t, m.Partition(ctx(), nemesis.Grudge{"b": {"a"}}))
	// The connection already on the link is closed.
	assert.True(t, closedByPeer(old), "existing a->b connection survived the cut")
	// A new a->b connection is a blackhole: b never receives a's bytes.
	before := nodes["b"].lines.Load()
	assert.False(t, dial(t, m, "a", "b").roundTrip("through-cut", 300*time.Millisecond), "a reached b across the cut")
	assert.Equal(t, before, nodes["b"].lines.Load(), "b received lines from a across the cut")
	// b->a still delivers: a receives b's line, but a's echo back to b travels the cut link and is lost.
	beforeA := nodes["a"].lines.Load()
	assert.False(t, dial(t, m, "b", "a").roundTrip("one-way", 300*time.Millisecond), "a's reply reached b over the cut a->b direction")
	assert.Equal(t, beforeA+1, nodes["a"].lines.Load(), "a must receive 1 line from b: b->a is not cut")
	// Not even a FIN crosses the cut: a closes its side when b half-closes, and b never hears of it.
	hb := dial(t, m, "b", "a")
	_ = hb.c.(*net.TCPConn).CloseWrite()
	_ = hb.c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var ne net.Error
	_, err := hb.r.ReadByte()
	assert.True(t, errors.As(err, &ne) && ne.Timeout(), "b saw %v from a across the cut a->b direction, want silence", err)
	// Links the grudge does not name are untouched.
	assert.True(t, dial(t, m, "c", "b").roundTrip("c-to-b", time.Second), "c->b is not cut but failed")
	assert.True(t, dial(t, m, "b", "c").roundTrip("b-to-c", time.Second), "b->c is not cut but failed")
	// The harness reaches b directly.
	direct, err := net.DialTimeout("tcp", nodes["b"].addr(), time.Second)
	require.NoError(t, err)
	defer direct.Close()
	assert.True(t, (&client{c: direct, r: bufio.NewReader(direct)}).roundTrip("harness", time.Second), "the harness could not reach b")

	blackholed := dial(t, m, "a", "b")
	require.False(t, blackholed.roundTrip("into-the-hole", 200*time.Millisecond), "a reached b across the cut")
	require.NoError(t, m.Heal(ctx()))
	// The blackholed connection is closed at heal, so its dialer reconnects instead of waiting forever.
	assert.True(t, closedByPeer(blackholed), "blackholed connection survived the heal")
	assert.True(t, dial(t, m, "a", "b").roundTrip("healed", time.Second), "a->b does not echo after heal")
	assert.NoError(t, m.Heal(ctx()), "second heal")
}

func TestLossLosesAboutTheShare(t *testing.T) {
	m, _ := cluster(t)
	m.SetSeed(7)
	require.NoError(t, m.Loss(ctx(), []nemesis.Link{{From: "a", To: "b"}}, 50))
	const probes = 400
	ok := 0
	for i := range probes {
		c, err := net.DialTimeout("tcp", m.Addr("a", "b"), time.Second)
		require.NoError(t, err)
		if (&client{c: c, r: bufio.NewReader(c)}).roundTrip(fmt.Sprintf("p%d", i), time.Second) {
			ok++
		}
		_ = c.Close()
	}
	lost := 100 * float64(probes-ok) / probes
	t.Logf("loss 50%%: %d/%d echoed (%.1f%% lost)", ok, probes, lost)
	assert.InDelta(t, 50, lost, 20, "loss 50%%: lost %.1f%%, want 30..70%%", lost)
	// c->b carries no loss.
	for i := range 50 {
		require.True(t, dial(t, m, "c", "b").roundTrip(fmt.Sprintf("q%d", i), time.Second), "c->b has no loss but probe %d failed", i)
	}
	require.NoError(t, m.Heal(ctx()))
	for i := range 50 {
		require.True(t, dial(t, m, "a", "b").roundTrip(fmt.Sprintf("h%d", i), time.Second), "after heal probe %d failed", i)
	}
}

func TestDelayHoldsInOrder(t *testing.T) {
	m, _ := cluster(t)
	require.NoError(t, m.Delay(ctx(), []nemesis.Link{{From: "a", To: "b"}}, 150*time.Millisecond, 50*time.Millisecond))
	c := dial(t, m, "a", "b")
	start := time.Now()
	require.True(t, c.roundTrip("slow", 2*time.Second), "delayed link does not deliver")
	assert.GreaterOrEqual(t, time.Since(start), 150*time.Millisecond, "round trip under a 150ms delay")
	// Many small writes, each its own chunk with its own jitter, arrive in order.
	const n = 40
	var sent strings.Builder
	for i := range n {
		line := fmt.Sprintf("m%02d\n", i)
		sent.WriteString(line)
		_, err := io.WriteString(c.c, line)
		require.NoError(t, err)
		time.Sleep(2 * time.Millisecond)
	}
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, sent.Len())
	_, err := io.ReadFull(c.r, got)
	require.NoError(t, err)
	assert.Equal(t, sent.String(), string(got), "delayed stream reordered")
	// Undelayed links are fast.
	require.NoError(t, m.Heal(ctx()))
	start = time.Now()
	assert.True(t, dial(t, m, "a", "b").roundTrip("fast", time.Second), "after heal a->b does not echo")
	assert.LessOrEqual(t, time.Since(start), 100*time.Millisecond, "after heal a round trip took too long")
}

func TestRejectsUnknownNodesAndCloses(t *testing.T) {
	m, _ := cluster(t)
	assert.ErrorContains(t, m.Partition(ctx(), nemesis.Grudge{"a": {"zz"}}), `"zz"`, "partition with unknown node")
	assert.Error(t, m.Loss(ctx(), nil, -1), "negative loss accepted")
	addr := m.Addr("a", "b")
	require.NoError(t, m.Close())
	assert.NoError(t, m.Close(), "second close")
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		assert.Fail(t, "proxy still accepts after Close")
	}
}
