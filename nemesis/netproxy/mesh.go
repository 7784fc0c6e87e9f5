package netproxy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/nemesis"
)

// chunkSize bounds one read, and so one loss draw.
const chunkSize = 32 << 10

// dialTimeout bounds the proxy's dial of a node's real peer address.
const dialTimeout = 2 * time.Second

// Mesh is a set of TCP proxies, one per ordered pair of nodes, that implements nemesis.Net for the local
// runtime. It is safe for concurrent use.
type Mesh struct {
	nodes map[string]string // id -> real peer listen address
	ids   []string

	mu     sync.Mutex
	lns    map[nemesis.Link]net.Listener // a->b: the listener a dials to reach b
	cut    map[nemesis.Link]bool
	loss   map[nemesis.Link]float64
	delay  map[nemesis.Link][2]time.Duration // delay, jitter
	conns  map[*conn]struct{}
	rnd    *rand.Rand
	closed bool
	wg     sync.WaitGroup
}

var _ nemesis.Net = (*Mesh)(nil)

// NewMesh starts a proxy listener on 127.0.0.1:0 for each ordered pair of distinct nodes (id -> the address
// where the node really listens for peers). Close stops them.
func NewMesh(nodes map[string]string) (*Mesh, error) {
	m := &Mesh{
		nodes: map[string]string{},
		lns:   map[nemesis.Link]net.Listener{},
		conns: map[*conn]struct{}{},
		rnd:   rand.New(rand.NewPCG(1, 2)),
	}
	for id, addr := range nodes {
		if id == "" || addr == "" {
			return nil, fmt.Errorf("netproxy: node %q has address %q: both must be non-empty", id, addr)
		}
		m.nodes[id] = addr
		m.ids = append(m.ids, id)
	}
	sort.Strings(m.ids)
	for _, a := range m.ids {
		for _, b := range m.ids {
			if a == b {
				continue
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				_ = m.Close()
				return nil, fmt.Errorf("netproxy: listen for %s->%s: %w", a, b, err)
			}
			l := nemesis.Link{From: a, To: b}
			m.lns[l] = ln
			m.wg.Add(1)
			go m.accept(l, ln)
		}
	}
	return m, nil
}

// SetSeed reseeds the source of loss draws and jitter.
func (m *Mesh) SetSeed(seed uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rnd = rand.New(rand.NewPCG(seed, seed^0x5eed))
}

// Addr returns the address from must dial to reach to: the proxy of link from->to, or to's own address when
// from is to. It returns "" for an unknown node.
func (m *Mesh) Addr(from, to string) string {
	if from == to {
		return m.nodes[to]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if ln, ok := m.lns[nemesis.Link{From: from, To: to}]; ok {
		return ln.Addr().String()
	}
	return ""
}

// Partition cuts link b->a for every b in g[a] (a stops hearing b), replacing the previous grudge. Connections
// on links whose cut begins or ends are closed.
func (m *Mesh) Partition(_ context.Context, g nemesis.Grudge) error {
	cut := map[nemesis.Link]bool{}
	for a, bs := range g {
		for _, b := range bs {
			if err := m.check(nemesis.Link{From: b, To: a}); err != nil {
				return fmt.Errorf("netproxy: partition: %w", err)
			}
			cut[nemesis.Link{From: b, To: a}] = true
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setCut(cut)
	return nil
}

// Loss makes each chunk on the given links, with probability percent/100, vanish and reset its connection,
// replacing the previous loss.
func (m *Mesh) Loss(_ context.Context, links []nemesis.Link, percent float64) error {
	if math.IsNaN(percent) || percent < 0 || percent > 100 {
		return fmt.Errorf("netproxy: loss: percent %v is not between 0 and 100", percent)
	}
	loss := map[nemesis.Link]float64{}
	for _, l := range links {
		if err := m.check(l); err != nil {
			return fmt.Errorf("netproxy: loss: %w", err)
		}
		if percent > 0 {
			loss[l] = percent
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loss = loss
	return nil
}

// Delay holds each chunk on the given links for d plus up to jitter, in order, replacing the previous delay.
func (m *Mesh) Delay(_ context.Context, links []nemesis.Link, d, jitter time.Duration) error {
	if d < 0 || jitter < 0 {
		return fmt.Errorf("netproxy: delay: negative duration (delay %v, jitter %v)", d, jitter)
	}
	delay := map[nemesis.Link][2]time.Duration{}
	for _, l := range links {
		if err := m.check(l); err != nil {
			return fmt.Errorf("netproxy: delay: %w", err)
		}
		if d > 0 || jitter > 0 {
			delay[l] = [2]time.Duration{d, jitter}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delay = delay
	return nil
}

// Heal removes every cut, loss and delay. Connections on links that were cut are closed, so no stream resumes
// with a hole in it. It is idempotent and cannot fail.
func (m *Mesh) Heal(_ context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setCut(nil)
	m.loss, m.delay = nil, nil
	return nil
}

// Close heals, stops every listener and closes every connection. It is idempotent.
func (m *Mesh) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var errs []error
	for _, ln := range m.lns {
		errs = append(errs, ln.Close())
	}
	for c := range m.conns {
		c.close(false)
	}
	m.mu.Unlock()
	m.wg.Wait()
	return errors.Join(errs...)
}

func (m *Mesh) check(l nemesis.Link) error {
	if _, ok := m.nodes[l.From]; !ok {
		return fmt.Errorf("link %s->%s: unknown node %q", l.From, l.To, l.From)
	}
	if _, ok := m.nodes[l.To]; !ok {
		return fmt.Errorf("link %s->%s: unknown node %q", l.From, l.To, l.To)
	}
	if l.From == l.To {
		return fmt.Errorf("link %s->%s: a node's traffic to itself does not pass the mesh", l.From, l.To)
	}
	return nil
}

// setCut installs cut and closes every connection with a direction whose cut flag flips; m.mu is held.
func (m *Mesh) setCut(cut map[nemesis.Link]bool) {
	flipped := func(l nemesis.Link) bool { return m.cut[l] != cut[l] }
	for c := range m.conns {
		back := nemesis.Link{From: c.link.To, To: c.link.From}
		if flipped(c.link) || flipped(back) {
			c.close(false)
		}
	}
	m.cut = cut
}

func (m *Mesh) isCut(l nemesis.Link) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cut[l]
}

// state is what link l does now to a chunk: pass (with a delay), drop it, or reset the connection.
func (m *Mesh) state(l nemesis.Link) (drop, reset bool, hold time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cut[l] {
		return true, false, 0
	}
	if p := m.loss[l]; p > 0 && m.rnd.Float64()*100 < p {
		return true, true, 0
	}
	if d, ok := m.delay[l]; ok {
		hold = d[0]
		if d[1] > 0 {
			hold += time.Duration(m.rnd.Int64N(int64(d[1]) + 1))
		}
	}
	return false, false, hold
}

// accept serves link l's listener until it is closed.
func (m *Mesh) accept(l nemesis.Link, ln net.Listener) {
	defer m.wg.Done()
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		c := &conn{link: l, client: client, done: make(chan struct{})}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			_ = client.Close()
			return
		}
		m.conns[c] = struct{}{}
		blackhole := m.cut[l]
		m.wg.Add(1)
		m.mu.Unlock()
		go m.serve(c, blackhole)
	}
}

// serve proxies one connection until either side ends or the mesh closes it.
func (m *Mesh) serve(c *conn, blackhole bool) {
	defer m.wg.Done()
	defer func() {
		c.close(false)
		m.mu.Lock()
		delete(m.conns, c)
		m.mu.Unlock()
	}()
	if blackhole {
		// Swallow whatever the dialer sends until the cut ends (setCut closes us) or it hangs up.
		buf := make([]byte, chunkSize)
		for {
			if _, err := c.client.Read(buf); err != nil {
				return
			}
		}
	}
	server, err := net.DialTimeout("tcp", m.nodes[c.link.To], dialTimeout)
	if err != nil {
		return // the dialer sees its connection closed, as it would see a refusal
	}
	if !c.setServer(server) {
		_ = server.Close()
		return
	}
	back := nemesis.Link{From: c.link.To, To: c.link.From}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.pipe(c, c.link, c.client, server) }()
	go func() { defer wg.Done(); m.pipe(c, back, server, c.client) }()
	wg.Wait()
	if m.isCut(c.link) || m.isCut(back) {
		// Closing now would tell the dialer (or the target) across the cut that its peer hung up. Stay silent
		// until the cut ends (setCut closes the connection then) or the mesh closes.
		<-c.done
	}
}

// chunk is bytes read on a link, to be written at due.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies src to dst as link l allows. A writer goroutine keeps the order of delayed chunks.
func (m *Mesh) pipe(c *conn, l nemesis.Link, src, dst net.Conn) {
	q := make(chan chunk, 64)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for ch := range q {
			if w := time.Until(ch.due); w > 0 {
				select {
				case <-time.After(w):
				case <-c.done:
					return
				}
			}
			if _, err := dst.Write(ch.b); err != nil {
				c.close(false)
				return
			}
		}
		// src ended cleanly: pass the half-close on, unless the link is cut (a FIN is a packet too).
		if tc, ok := dst.(*net.TCPConn); ok && !m.isCut(l) {
			_ = tc.CloseWrite()
		}
	}()
	defer func() {
		close(q)
		<-writerDone
	}()
	var last time.Time
	for {
		buf := make([]byte, chunkSize)
		k, err := src.Read(buf)
		if k > 0 {
			drop, reset, hold := m.state(l)
			switch {
			case reset:
				c.close(true)
				return
			case drop:
			default:
				due := time.Now().Add(hold)
				if due.Before(last) {
					due = last // jitter never reorders a stream
				}
				last = due
				select {
				case q <- chunk{b: buf[:k], due: due}:
				case <-c.done:
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// conn is one proxied connection: client dialed the proxy of link, server is the target node.
type conn struct {
	link   nemesis.Link
	client net.Conn
	mu     sync.Mutex
	server net.Conn
	closed bool
	done   chan struct{}
}

// setServer attaches the target connection, unless conn was closed meanwhile.
func (c *conn) setServer(s net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.server = s
	return true
}

// close ends both sides; with rst, it resets them (SO_LINGER 0) instead of closing them in order.
func (c *conn) close(rst bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	close(c.done)
	for _, s := range []net.Conn{c.client, c.server} {
		if s == nil {
			continue
		}
		if tc, ok := s.(*net.TCPConn); ok && rst {
			_ = tc.SetLinger(0)
		}
		_ = s.Close()
	}
}
