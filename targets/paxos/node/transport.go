package node

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
)

// The transport moves core.Messages between nodes over TCP, one message per frame:
//
//	[4 bytes big-endian length][JSON of core.Message]
//
// Each node dials every peer at the address its --peers flag gives for that peer, and uses that outbound
// connection only to send. It receives only on its own peer listener. So the two directions of a link are two
// connections, as the local runtime's per-direction proxies and one-way partitions require.
//
// Nothing here blocks the event loop: Send only enqueues into a bounded per-peer queue and drops the message when
// the queue is full (Paxos tolerates lost messages; the core retransmits what matters), and the receiver drops
// an inbound message when the event loop's inbox is full.

// maxFrame bounds one peer message; a longer length means a broken or hostile stream, and the connection is closed.
const maxFrame = 256 << 20

// sendQueueLen is how many encoded messages may wait for one peer.
const sendQueueLen = 4096

type transport struct {
	id      core.NodeID
	peers   map[core.NodeID]*peerConn
	inbox   chan<- core.Message
	ln      net.Listener
	logf    func(format string, args ...any)
	closing chan struct{}
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// inbound is each peer's current inbound connection. A peer sends on one connection at a time, so when a new
	// one delivers its first message the old one is dead (its peer redialled after a failure we never saw, such
	// as packets dropped by a partition) and is closed, instead of waiting forever for bytes that never come.
	inbound map[core.NodeID]net.Conn

	// dropped counts messages lost to full queues, for status.
	dropped atomic.Uint64

	closeOnce sync.Once
}

type peerConn struct {
	id    core.NodeID
	addr  string
	queue chan []byte
}

// newTransport starts listening on listen and one sender goroutine per peer (every peer but id).
func newTransport(id core.NodeID, listen string, peers map[core.NodeID]string, inbox chan<- core.Message, logf func(string, ...any)) (*transport, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("--peer-addr %s: %w", listen, err)
	}
	t := &transport{id: id, peers: map[core.NodeID]*peerConn{}, inbox: inbox, ln: ln, logf: logf,
		closing: make(chan struct{}), conns: map[net.Conn]struct{}{}, inbound: map[core.NodeID]net.Conn{}}
	for pid, addr := range peers {
		if pid == id {
			continue
		}
		p := &peerConn{id: pid, addr: addr, queue: make(chan []byte, sendQueueLen)}
		t.peers[pid] = p
		t.wg.Add(1)
		go t.sendLoop(p)
	}
	t.wg.Add(1)
	go t.acceptLoop()
	return t, nil
}

// Addr is the address the peer listener is bound to.
func (t *transport) Addr() string { return t.ln.Addr().String() }

// send encodes m and queues it for m.To; it never blocks. It reports false when the message was dropped.
func (t *transport) send(m core.Message) bool {
	p := t.peers[m.To]
	if p == nil {
		return false
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.logf("transport: encode message type %d to %s: %v", m.Type, m.To, err)
		return false
	}
	frame := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(frame, uint32(len(b)))
	copy(frame[4:], b)
	select {
	case p.queue <- frame:
		return true
	default:
		t.dropped.Add(1)
		return false
	}
}

// sendLoop keeps one outbound connection to p, redialling with backoff, and writes queued frames to it.
func (t *transport) sendLoop(p *peerConn) {
	defer t.wg.Done()
	backoff := 20 * time.Millisecond
	var pending []byte // a frame taken from the queue whose write failed; retried once on the next connection
	for {
		select {
		case <-t.closing:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", p.addr, time.Second)
		if err != nil {
			select {
			case <-t.closing:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
			// Messages queued while the peer is unreachable are stale by the time it comes back; drop them so the
			// queue holds only fresh ones.
			drainStale(p.queue, len(p.queue)/2)
			continue
		}
		backoff = 20 * time.Millisecond
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		setUserTimeout(c, 2*time.Second)
		t.track(c, true)
		pending = t.writeFrames(c, p, pending)
		t.track(c, false)
		c.Close()
	}
}

func drainStale(q chan []byte, n int) {
	for i := 0; i < n; i++ {
		select {
		case <-q:
		default:
			return
		}
	}
}

// writeFrames writes frames to c until a write fails or the transport closes; it returns the frame that failed.
func (t *transport) writeFrames(c net.Conn, p *peerConn, pending []byte) []byte {
	w := bufio.NewWriterSize(c, 64<<10)
	write := func(f []byte) bool {
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		_, err := w.Write(f)
		return err == nil
	}
	if pending != nil && !write(pending) {
		return nil
	}
	for {
		var f []byte
		select {
		case <-t.closing:
			w.Flush()
			return nil
		case f = <-p.queue:
		}
		if !write(f) {
			return nil
		}
		// Write what else is queued in the same flush, so a burst costs one syscall.
	more:
		for {
			select {
			case f = <-p.queue:
				if !write(f) {
					return nil
				}
			default:
				break more
			}
		}
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := w.Flush(); err != nil {
			return nil
		}
	}
}

func (t *transport) track(c net.Conn, add bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if add {
		t.conns[c] = struct{}{}
	} else {
		delete(t.conns, c)
	}
}

func (t *transport) acceptLoop() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			select {
			case <-t.closing:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		t.track(c, true)
		t.wg.Add(1)
		go t.recvLoop(c)
	}
}

// recvLoop reads frames from one inbound connection and hands each message to the event loop.
func (t *transport) recvLoop(c net.Conn) {
	defer t.wg.Done()
	defer func() { t.track(c, false); c.Close() }()
	r := bufio.NewReaderSize(c, 64<<10)
	var hdr [4]byte
	var from core.NodeID
	defer func() {
		t.mu.Lock()
		if from != "" && t.inbound[from] == c {
			delete(t.inbound, from)
		}
		t.mu.Unlock()
	}()
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > maxFrame {
			t.logf("transport: peer connection from %s sent a %d-byte frame (limit %d); closing it", c.RemoteAddr(), n, maxFrame)
			return
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return
		}
		var m core.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.logf("transport: undecodable message from %s: %v; closing the connection", c.RemoteAddr(), err)
			return
		}
		if m.To != t.id {
			continue // misrouted (a peer with a stale address map); drop it
		}
		if from == "" && m.From != "" {
			from = m.From
			t.mu.Lock()
			if old := t.inbound[from]; old != nil && old != c {
				old.Close()
			}
			t.inbound[from] = c
			t.mu.Unlock()
		}
		select {
		case t.inbox <- m:
		case <-t.closing:
			return
		default:
			t.dropped.Add(1) // the event loop is behind; dropping is what a lossy network would do
		}
	}
}

// close stops every goroutine and closes every connection. It may be called more than once.
func (t *transport) close() {
	t.closeOnce.Do(t.shutdown)
}

func (t *transport) shutdown() {
	close(t.closing)
	t.ln.Close()
	t.mu.Lock()
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
}
