package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	mrand "math/rand"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/driver"
	"github.com/skeptic-dev/skeptic/targets/paxos/kv"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// Limits of the event loop's input queues.
const (
	inboxLen = 8192
	reqsLen  = 4096
)

// Node is one running Paxos node: the event loop that owns the core, the durable log, the peer transport and
// the HTTP API.
type Node struct {
	cfg   Config
	log   *log.Logger
	flaws *rateLog
	// coreFlaws logs the acts of a core-level flaw (naive-tickets, early-ack, wallclock-lease) from the core's
	// count; nil with no flaw or a driver-level one.
	coreFlaws *actLog
	clock     *Clock
	nonce     string

	d  *driver.Driver
	st storage
	tr *transport

	clientLn net.Listener
	srv      *http.Server
	fwd      *http.Client

	inbox chan core.Message
	reqs  chan *request

	// Loop-owned state (only the event loop goroutine touches these).
	lastSweep time.Duration
	ticksDone int64

	statusMu sync.Mutex
	status   Status

	stop    chan struct{}
	done    chan struct{}
	loopErr error
	closeMu sync.Once
}

// Status is what GET /admin/status returns.
type Status struct {
	// ID is this node; Leader is the node it believes leads, or "".
	ID     string `json:"id"`
	Leader string `json:"leader"`
	// Ballot is the highest ballot this node knows of, written round.node ("3.n2"); "" before any.
	Ballot string `json:"ballot"`
	// Commit is the highest slot known chosen with every slot before it; Applied the highest slot applied to the
	// store; Snapshot the slot of the latest snapshot.
	Commit   uint64 `json:"commit"`
	Applied  uint64 `json:"applied"`
	Snapshot uint64 `json:"snapshot"`
	// ClockOffsetNs and ClockRate are the last POST /admin/clock settings (0 and 1 when never set).
	ClockOffsetNs int64   `json:"clock_offset_ns"`
	ClockRate     float64 `json:"clock_rate"`
	// Flaw and Read are the node's --flaw and --read.
	Flaw string `json:"flaw"`
	Read string `json:"read"`
	// LogBytes is the durable log's size; Pending the client requests waiting in the event loop; Dropped the
	// peer messages lost to full queues since start.
	LogBytes int64  `json:"log_bytes"`
	Pending  int    `json:"pending"`
	Dropped  uint64 `json:"dropped_messages"`
	// FlawActs counts the times the node's flaw changed what it did since it started (0 with --flaw none): for a
	// core flaw the core's count (core.Status.FlawActs: slots whose reported value naive-tickets ignored, slots
	// early-ack took as chosen before a majority accepted them, read requests wallclock-lease answered after the
	// correct lease ran out); for stale-reads the reads answered from the local copy; for forget-promises the
	// promise and accept records kept only in memory.
	FlawActs uint64 `json:"flaw_acts"`
}

// request is one client operation travelling from an HTTP handler to the event loop and back.
type request struct {
	driver.Request
	done chan reply // buffered 1; the driver answers at most once
}

func newRequest(op kv.Op) *request {
	r := &request{done: make(chan reply, 1)}
	r.Op = op
	r.Reply = func(rep driver.Reply) { r.done <- httpReply(op, rep) }
	return r
}

// reply is the event loop's answer to a request, as HTTP.
type reply struct {
	status int
	body   map[string]any
	// notLeader: nothing was proposed because this node does not lead; leader is who it believes does.
	notLeader bool
	leader    string
}

// httpReply turns the driver's answer into the HTTP answer of shared/PROTOCOL.md.
func httpReply(op kv.Op, r driver.Reply) reply {
	switch r.Kind {
	case driver.NotLeader:
		return reply{notLeader: true, leader: r.Leader}
	case driver.Failed:
		return definite(r.Status, r.Msg)
	case driver.Unknown:
		return unknown(r.Status, r.Msg)
	}
	switch {
	case op.F == kv.FRead:
		if r.Res.Value == nil {
			return reply{status: http.StatusOK, body: map[string]any{"value": nil}}
		}
		return reply{status: http.StatusOK, body: map[string]any{"value": *r.Res.Value}}
	case op.F == kv.FCas && r.Res.Mismatch:
		if r.Res.Value == nil {
			return reply{status: http.StatusConflict, body: map[string]any{"error": "cas-mismatch", "value": nil}}
		}
		return reply{status: http.StatusConflict, body: map[string]any{"error": "cas-mismatch", "value": *r.Res.Value}}
	}
	return reply{status: http.StatusOK, body: map[string]any{}}
}

// Start opens the log, recovers, binds both listeners and starts the node. Close (or Run's context) stops it.
func Start(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	out := cfg.Log
	if out == nil {
		out = os.Stderr
	}
	lg := log.New(out, "paxos "+cfg.ID+": ", log.LstdFlags|log.Lmicroseconds)
	var nb [6]byte
	if _, err := io.ReadFull(rand.Reader, nb[:]); err != nil {
		return nil, fmt.Errorf("boot nonce: %w", err)
	}
	n := &Node{
		cfg:   cfg,
		log:   lg,
		flaws: newRateLog(lg, time.Second),
		clock: NewClock(),
		nonce: hex.EncodeToString(nb[:]),
		inbox: make(chan core.Message, inboxLen),
		reqs:  make(chan *request, reqsLen),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	switch cfg.Flaw {
	case core.FlawNaiveTickets, core.FlawEarlyAck, core.FlawWallclockLease:
		n.coreFlaws = &actLog{log: lg, flaw: cfg.Flaw, interval: time.Second}
	}

	var recovered []core.Record
	if cfg.Flaw == core.FlawForgetPromises {
		// FLAW(forget-promises): no log file at all; a restart comes back empty and catches up from its peers.
		n.st = &driver.MemStorage{}
		lg.Printf("FLAW forget-promises: no durable log; records are kept only in memory and lost on restart")
	} else {
		l, recs, rec, err := wal.Open(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("--data %s: %w", cfg.DataDir, err)
		}
		n.st, recovered = l, recs
		if rec.TornBytes > 0 {
			lg.Printf("recovery: replayed %d records (%d bytes) from %s/%s; cut %d torn bytes: %s",
				rec.Records, rec.GoodBytes, cfg.DataDir, wal.FileName, rec.TornBytes, rec.Reason)
		} else {
			lg.Printf("recovery: replayed %d records (%d bytes) from %s/%s; no torn tail",
				rec.Records, rec.GoodBytes, cfg.DataDir, wal.FileName)
		}
	}
	if cfg.wrapStorage != nil {
		n.st = cfg.wrapStorage(n.st)
	}

	peerIDs := sortedKeys(cfg.Peers)
	seed := cfg.Seed
	if seed == 0 {
		h := fnv.New64a()
		h.Write([]byte(cfg.ID + n.nonce))
		seed = int64(h.Sum64())
	}
	c, err := core.New(core.Config{
		ID:             cfg.ID,
		Peers:          peerIDs,
		HeartbeatTicks: cfg.HeartbeatTicks,
		ElectionTicks:  cfg.ElectionTicks,
		Rand:           mrand.New(mrand.NewSource(seed)),
		ReadMode:       cfg.Read,
		LeaseTicks:     cfg.LeaseTicks,
		DriftMargin:    0.1,
		Flaw:           cfg.Flaw,
		TickNanos:      int64(cfg.Tick),
	}, recovered)
	if err != nil {
		n.st.Close()
		return nil, err
	}
	n.tr, err = newTransport(cfg.ID, cfg.PeerAddr, cfg.Peers, n.inbox, lg.Printf)
	if err != nil {
		n.st.Close()
		return nil, err
	}
	send := func(m core.Message) {
		if cfg.onSend != nil {
			cfg.onSend(m)
		}
		n.tr.send(m) // a full queue drops the message (counted); Paxos tolerates the loss
	}
	n.d, err = driver.New(driver.Config{
		ID: cfg.ID, Read: cfg.Read, Flaw: cfg.Flaw, Nonce: n.nonce, CompactBytes: cfg.CompactBytes,
		Send: send, Logf: lg.Printf, FlawLogf: n.flaws.printf,
		// A core flaw that acted is logged when its Ready is taken, before anything of it answers a client.
		OnReady: func(*core.Ready) { n.logFlawActs() },
	}, c, n.st)
	if err != nil {
		n.tr.close()
		n.st.Close()
		return nil, err
	}
	n.clientLn, err = net.Listen("tcp", cfg.ClientAddr)
	if err != nil {
		n.tr.close()
		n.st.Close()
		return nil, fmt.Errorf("--client-addr %s: %w", cfg.ClientAddr, err)
	}
	// Rebuild the state machine from the recovered log (the first Ready holds the snapshot and every chosen
	// slot) before serving anything.
	if err := n.d.Flush(); err != nil {
		n.clientLn.Close()
		n.tr.close()
		n.st.Close()
		return nil, err
	}
	lg.Printf("recovery: state machine rebuilt up to slot %d", n.d.Stats().Applied)
	n.fwd = newForwardClient()
	n.srv = &http.Server{Handler: n.routes(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: lg}
	n.updateStatus()
	go n.srv.Serve(n.clientLn)
	go n.run()
	if cfg.Flaw == core.FlawWallclockLease && cfg.Read != core.ReadLease {
		lg.Printf("warning: --flaw wallclock-lease with --read %s: the flaw acts only on lease reads, so it will never act", cfg.Read)
	}
	lg.Printf("started: client %s, peer %s, peers %s, read %s, flaw %s, tick %s",
		n.ClientAddr(), n.tr.Addr(), FormatMap(cfg.Peers), cfg.Read, cfg.Flaw, cfg.Tick)
	return n, nil
}

// Run starts a node and serves until ctx is done, then shuts it down cleanly. It returns the error that stopped
// the node early (a failed fsync, say), or nil after a clean shutdown.
func Run(ctx context.Context, cfg Config) error {
	n, err := Start(cfg)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case <-n.done:
	}
	return n.Close()
}

// ClientAddr is the address the HTTP API listens on.
func (n *Node) ClientAddr() string { return n.clientLn.Addr().String() }

// PeerAddr is the address the peer listener is bound to.
func (n *Node) PeerAddr() string { return n.tr.Addr() }

// Done is closed when the event loop has stopped.
func (n *Node) Done() <-chan struct{} { return n.done }

// Close stops the node: the event loop, then HTTP, the transport and the log. It returns the error that
// stopped the event loop, if any.
func (n *Node) Close() error {
	n.closeMu.Do(func() {
		// Stop the loop first: it answers every pending request (unknown if proposed, definite if not), so the
		// HTTP shutdown that follows has no handler left waiting.
		close(n.stop)
		<-n.done
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n.srv.Shutdown(ctx)
		n.tr.close()
		if err := n.st.Close(); err != nil && n.loopErr == nil {
			n.loopErr = err
		}
		n.log.Printf("stopped")
	})
	return n.loopErr
}

// submit hands r to the event loop. It reports false when the loop's queue is full or the node is stopping;
// then nothing was proposed.
func (n *Node) submit(r *request) bool {
	select {
	case n.reqs <- r:
		return true
	case <-n.done:
		return false
	default:
		return false
	}
}

// run is the event loop. It alone touches the core, the store and the log.
func (n *Node) run() {
	defer close(n.done)
	defer n.d.FailAll()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		_, _, clockChanged := n.clock.Settings()
		next := time.Duration(n.ticksDone+1) * n.cfg.Tick
		timer.Reset(n.clock.RealUntil(next))
		select {
		case <-n.stop:
			return
		case <-clockChanged:
		case <-timer.C:
		case m := <-n.inbox:
			_ = n.d.Step(m)
		case r := <-n.reqs:
			n.d.Handle(&r.Request)
		}
		// Take whatever else is waiting, so that one fsync covers it all (group commit).
	drain:
		for i := 0; i < 1024; i++ {
			select {
			case m := <-n.inbox:
				_ = n.d.Step(m)
			case r := <-n.reqs:
				n.d.Handle(&r.Request)
			default:
				break drain
			}
		}
		n.tick()
		if err := n.d.Flush(); err != nil {
			n.loopErr = err
			n.log.Printf("FATAL: %v; stopping the node", err)
			return
		}
		n.logFlawActs() // acts held back by the one-line-a-second limit
		n.updateStatus()
	}
}

// logFlawActs logs the acts of a core-level flaw that the core counted since the last line (at most a line a
// second).
func (n *Node) logFlawActs() {
	if n.coreFlaws != nil {
		n.coreFlaws.observe(n.d.Core().Status())
	}
}

// tick runs the core's ticks that are due on the node's monotonic clock, and sweeps expired requests.
func (n *Node) tick() {
	now := n.clock.Mono()
	due := int64(now / n.cfg.Tick)
	if lag := int64(max(20, n.cfg.ElectionTicks)); due-n.ticksDone > lag {
		// The loop stalled (a paused process, or a clock sped up); do not fire a storm of ticks, skip ahead. But
		// never by fewer than ElectionTicks: the core must see at least that much time pass, or a leader stalled
		// past its followers' promise refusal (ElectionTicks, on their clocks) would come back with a lease
		// (LeaseTicks, up to ElectionTicks-1) that still holds on its own, and serve a stale lease read.
		n.ticksDone = due - lag
	}
	for n.ticksDone < due {
		n.ticksDone++
		n.d.Tick(n.clock.Now().UnixNano())
	}
	if now-n.lastSweep >= 100*time.Millisecond {
		n.lastSweep = now
		n.d.Sweep(now)
	}
}

func (n *Node) updateStatus() {
	cs := n.d.Core().Status()
	ds := n.d.Stats()
	off, rate, _ := n.clock.Settings()
	st := Status{
		ID: n.cfg.ID, Leader: cs.Leader, Ballot: cs.Ballot.String(), Commit: cs.Commit, Applied: cs.Applied,
		Snapshot: cs.Snapshot, ClockOffsetNs: off, ClockRate: rate, Flaw: string(n.cfg.Flaw),
		Read: string(n.cfg.Read), LogBytes: ds.LogBytes, Pending: ds.Pending, Dropped: n.tr.dropped.Load(),
		FlawActs: cs.FlawActs + ds.DriverActs,
	}
	if cs.Ballot.IsZero() {
		st.Ballot = ""
	}
	n.statusMu.Lock()
	n.status = st
	n.statusMu.Unlock()
}

// Status returns the node's current status, as GET /admin/status shows it.
func (n *Node) Status() Status {
	n.statusMu.Lock()
	defer n.statusMu.Unlock()
	st := n.status
	off, rate, _ := n.clock.Settings()
	st.ClockOffsetNs, st.ClockRate = off, rate
	return st
}

func definite(status int, msg string) reply {
	return reply{status: status, body: map[string]any{"error": msg, "definite": true}}
}

func unknown(status int, msg string) reply {
	return reply{status: status, body: map[string]any{"error": msg, "definite": false}}
}
