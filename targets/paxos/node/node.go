package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	mrand "math/rand"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/kv"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// protocol is the part of *core.Node the event loop drives.
type protocol interface {
	Tick(wallNanos int64)
	Step(m core.Message) error
	Propose(cmds ...core.Command) error
	ReadIndex(ctx uint64) error
	HasReady() bool
	Ready() core.Ready
	Advance()
	Compact(slot uint64, data []byte)
	PersistentState() []core.Record
	Status() core.Status
}

var _ protocol = (*core.Node)(nil)

// Limits that keep a long run's memory bounded.
const (
	// maxPending bounds the client requests waiting in the event loop (proposed, or waiting for a read index);
	// beyond it a request is refused with a definite 503 before anything is proposed.
	maxPending = 16384
	// maxBacklog bounds the proposals waiting for room in the core's pipeline (ErrTooMuchInflight).
	maxBacklog = 8192
	// maxBatch is how many commands the driver proposes in one core.Propose call (the core splits them into
	// slots of at most Config.MaxBatch).
	maxBatch = 256
	// idLanes is how many client ids a node spreads its own requests over, so that no one id has more than
	// kv.Window requests outstanding (kv.Store remembers only the last kv.Window seqs of each client).
	idLanes = 16
	// inboxLen and reqsLen bound the event loop's input queues.
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

	core  protocol
	st    storage
	store *kv.Store
	tr    *transport

	clientLn net.Listener
	srv      *http.Server
	fwd      *http.Client

	inbox chan core.Message
	reqs  chan *request

	// Loop-owned state (only the event loop goroutine touches these).
	seq         uint64
	waiters     map[core.CommandID][]*request // queued or proposed, waiting for the command to be applied
	pending     int                           // requests in waiters, readsByCtx and readWaits
	backlog     []*request                    // in waiters but not yet handed to the core; nothing proposed
	readBatch   []*request                    // reads received in this loop iteration
	readCtx     uint64
	readsByCtx  map[uint64][]*request // waiting for the core's ReadState
	readWaits   []readWait            // confirmed, waiting for applied >= index
	applied     uint64
	leader      string
	nextCompact int64
	lastSweep   time.Duration
	ticksDone   int64
	skipSnap    uint64 // slot of the snapshot record that maybeCompact already wrote with Rewrite
	driverActs  uint64 // acts of a driver-level flaw: reads answered locally, records kept only in memory

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

type readWait struct {
	index uint64
	reqs  []*request
}

// request is one client operation travelling from an HTTP handler to the event loop and back.
type request struct {
	op    kv.Op
	id    core.CommandID
	hasID bool // id came from the Skeptic-Client/Skeptic-Seq headers
	local bool // FLAW(stale-reads): answer from the local store, no confirmation
	// deadline is on the node's monotonic clock; past it the handler has already answered "unknown".
	deadline time.Duration
	done     chan reply // buffered 1; the loop sends at most once
	answered bool       // loop-owned
}

// reply is the event loop's answer to a request.
type reply struct {
	status int
	body   map[string]any
	// notLeader: nothing was proposed because this node does not lead; leader is who it believes does.
	notLeader bool
	leader    string
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
		cfg:        cfg,
		log:        lg,
		flaws:      newRateLog(lg, time.Second),
		clock:      NewClock(),
		nonce:      hex.EncodeToString(nb[:]),
		store:      kv.New(),
		inbox:      make(chan core.Message, inboxLen),
		reqs:       make(chan *request, reqsLen),
		waiters:    map[core.CommandID][]*request{},
		readsByCtx: map[uint64][]*request{},
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	switch cfg.Flaw {
	case core.FlawNaiveTickets, core.FlawEarlyAck, core.FlawWallclockLease:
		n.coreFlaws = &actLog{log: lg, flaw: cfg.Flaw, interval: time.Second}
	}

	var recovered []core.Record
	if cfg.Flaw == core.FlawForgetPromises {
		// FLAW(forget-promises): no log file at all; a restart comes back empty and catches up from its peers.
		n.st = &memStorage{flawf: func(f string, a ...any) {
			n.driverActs++
			n.flaws.printf("forget-promises", "FLAW "+f, a...)
		}}
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
	n.nextCompact = max(cfg.CompactBytes, 2*n.st.Size())

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
	n.core = c

	n.tr, err = newTransport(cfg.ID, cfg.PeerAddr, cfg.Peers, n.inbox, lg.Printf)
	if err != nil {
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
	if err := n.processReady(); err != nil {
		n.clientLn.Close()
		n.tr.close()
		n.st.Close()
		return nil, err
	}
	lg.Printf("recovery: state machine rebuilt up to slot %d", n.applied)
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
	defer n.failAll()
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
			n.step(m)
		case r := <-n.reqs:
			n.handle(r)
		}
		// Take whatever else is waiting, so that one fsync covers it all (group commit).
	drain:
		for i := 0; i < 1024; i++ {
			select {
			case m := <-n.inbox:
				n.step(m)
			case r := <-n.reqs:
				n.handle(r)
			default:
				break drain
			}
		}
		n.tick()
		n.flushProposals()
		n.flushReads()
		if err := n.processReady(); err != nil {
			n.loopErr = err
			n.log.Printf("FATAL: %v; stopping the node", err)
			return
		}
		n.maybeCompact()
		n.logFlawActs() // acts held back by the one-line-a-second limit
		n.updateStatus()
	}
}

// logFlawActs logs the acts of a core-level flaw that the core counted since the last line (at most a line a
// second).
func (n *Node) logFlawActs() {
	if n.coreFlaws != nil {
		n.coreFlaws.observe(n.core.Status())
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
		n.core.Tick(n.clock.Now().UnixNano())
	}
	if now-n.lastSweep >= 100*time.Millisecond {
		n.lastSweep = now
		n.sweep(now)
	}
}

func (n *Node) step(m core.Message) {
	if err := n.core.Step(m); err != nil {
		n.flaws.printf("bad-msg", "dropped message type %d from %s: %v", m.Type, m.From, err)
	}
}

// handle takes one request from an HTTP handler.
func (n *Node) handle(r *request) {
	if r.local {
		// FLAW(stale-reads): answered from this replica's copy, which may lag any number of writes behind.
		n.driverActs++
		n.flaws.printf("stale-reads", "FLAW stale-reads: read of %q answered from the local copy (applied %d) without confirmation", r.op.Key, n.applied)
		n.answer(r, n.readReply(r.op.Key))
		return
	}
	if n.pending >= maxPending {
		n.answer(r, definite(http.StatusServiceUnavailable, fmt.Sprintf("overloaded: %d requests pending; nothing was proposed", n.pending)))
		return
	}
	if r.op.F == kv.FRead && n.cfg.Read != core.ReadLog {
		n.readBatch = append(n.readBatch, r)
		n.pending++
		return
	}
	if !r.hasID {
		n.seq++
		lane := n.seq % idLanes
		r.id = core.CommandID{Client: fmt.Sprintf("%s-%s-%d", n.cfg.ID, n.nonce, lane), Seq: n.seq/idLanes + 1}
	}
	n.queue(r)
}

// queue adds r to the proposals of this loop iteration. A retry of a command already in flight waits for the
// same outcome instead of being proposed twice.
func (n *Node) queue(r *request) {
	n.pending++
	if ws, ok := n.waiters[r.id]; ok {
		n.waiters[r.id] = append(ws, r)
		return
	}
	n.waiters[r.id] = []*request{r}
	n.backlog = append(n.backlog, r)
}

// flushProposals proposes the backlog to the core in slot-sized batches, so that every request received while the
// previous fsync ran shares the next one (group commit). Requests stay in the backlog, counted as pending, while
// the pipeline is full; nothing has been proposed for them.
func (n *Node) flushProposals() {
	for len(n.backlog) > 0 {
		k := min(len(n.backlog), maxBatch)
		batch := make([]core.Command, 0, k)
		for _, r := range n.backlog[:k] {
			batch = append(batch, core.Command{ID: r.id, Data: kv.Encode(r.op)})
		}
		err := n.core.Propose(batch...)
		switch {
		case err == nil:
			n.backlog = n.backlog[k:] // from here on their fate is unknown until applied
		case errors.Is(err, core.ErrTooMuchInflight):
			if len(n.backlog) > maxBacklog {
				for _, r := range n.backlog[maxBacklog:] {
					n.unwait(r, definite(http.StatusServiceUnavailable, "overloaded: proposal pipeline and backlog full; nothing was proposed"))
				}
				n.backlog = n.backlog[:maxBacklog]
			}
			return
		case errors.Is(err, core.ErrNotLeader):
			leader := n.core.Status().Leader
			for _, r := range n.backlog {
				n.unwait(r, reply{notLeader: true, leader: leader})
			}
			n.backlog = nil
			return
		default:
			// Not a documented "nothing was proposed" condition, so the outcome is not known to be a failure.
			for _, r := range n.backlog[:k] {
				n.unwait(r, unknown(http.StatusInternalServerError, "propose: "+err.Error()))
			}
			n.backlog = n.backlog[k:]
		}
	}
	if len(n.backlog) == 0 {
		n.backlog = nil // let a burst's backing array go
	}
}

// unwait answers r and removes it from the waiters.
func (n *Node) unwait(r *request, rep reply) {
	ws := n.waiters[r.id]
	for i, w := range ws {
		if w == r {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(n.waiters, r.id)
	} else {
		n.waiters[r.id] = ws
	}
	n.pending--
	n.answer(r, rep)
}

// flushReads asks the core to confirm leadership once for every read received in this iteration.
func (n *Node) flushReads() {
	if len(n.readBatch) == 0 {
		return
	}
	batch := n.readBatch
	n.readBatch = nil
	n.readCtx++
	if err := n.core.ReadIndex(n.readCtx); err != nil {
		leader := n.core.Status().Leader
		for _, r := range batch {
			n.pending--
			if errors.Is(err, core.ErrNotLeader) {
				n.answer(r, reply{notLeader: true, leader: leader})
			} else {
				// A read changes nothing, so a failed read is a definite failure.
				n.answer(r, definite(http.StatusServiceUnavailable, "read index: "+err.Error()))
			}
		}
		return
	}
	n.readsByCtx[n.readCtx] = batch
}

// processReady handles every Ready the core has, strictly in the order core.Ready documents.
func (n *Node) processReady() error {
	for n.core.HasReady() {
		rd := n.core.Ready()
		// A core flaw that acted is logged now, before anything of this Ready answers a client.
		n.logFlawActs()
		if rd.SoftState != nil {
			n.onSoftState(*rd.SoftState)
		}
		// 1. Install the snapshot.
		if rd.Snapshot != nil {
			s, err := kv.Restore(rd.Snapshot.Data)
			if err != nil {
				return fmt.Errorf("install snapshot at slot %d: %w", rd.Snapshot.Slot, err)
			}
			n.store = s
			n.applied = rd.Snapshot.Slot
			n.log.Printf("installed snapshot at slot %d (%d bytes)", rd.Snapshot.Slot, len(rd.Snapshot.Data))
		}
		// 2. Make the records durable before anything that depends on them leaves this node.
		if n.skipSnap != 0 {
			rd.Records = n.dropCompactedSnapshot(rd.Records)
		}
		if len(rd.Records) > 0 {
			if err := n.st.Append(rd.Records...); err != nil {
				return err
			}
			if err := n.st.Sync(); err != nil {
				return err
			}
		}
		// 3. Send. (The core never addresses a message to its own node: its peer list excludes it.)
		for _, m := range rd.Messages {
			if n.cfg.onSend != nil {
				n.cfg.onSend(m)
			}
			n.tr.send(m)
		}
		// 4. Apply, in slot order.
		for _, e := range rd.Committed {
			n.apply(e)
		}
		// 5. Reads confirmed by the core wait until the store has applied their index.
		for _, rs := range rd.ReadStates {
			if reqs, ok := n.readsByCtx[rs.Ctx]; ok {
				delete(n.readsByCtx, rs.Ctx)
				n.readWaits = append(n.readWaits, readWait{index: rs.Index, reqs: reqs})
			}
		}
		n.answerReads()
		// 6. Advance; then propose what waited for room in the pipeline.
		n.core.Advance()
		n.flushProposals()
	}
	return nil
}

// dropCompactedSnapshot removes the RecSnapshot record that Compact emitted after maybeCompact had already
// rewritten the log to include it.
func (n *Node) dropCompactedSnapshot(recs []core.Record) []core.Record {
	out := recs[:0]
	for _, r := range recs {
		if r.Kind == core.RecSnapshot && r.Snapshot != nil && r.Snapshot.Slot == n.skipSnap {
			n.skipSnap = 0
			continue
		}
		out = append(out, r)
	}
	return out
}

// onSoftState logs a leader change and settles the requests a lost leadership leaves behind.
func (n *Node) onSoftState(ss core.SoftState) {
	if ss.Leader == n.leader {
		return
	}
	old := n.leader
	n.leader = ss.Leader
	n.log.Printf("leader change: %q -> %q (ballot %s)", old, ss.Leader, ss.Ballot)
	if old != n.cfg.ID || ss.Leader == n.cfg.ID {
		return
	}
	// This node stopped leading. Requests not yet handed to the core were never proposed: the handler may
	// forward them to the new leader.
	for _, r := range n.backlog {
		n.unwait(r, reply{notLeader: true, leader: ss.Leader})
	}
	n.backlog = nil
	// The proposals already handed to the core stay in waiters: the next leader re-proposes what a majority
	// accepted, and kv applies each command id once, so a waiter may still be answered with the real result.
	// The rest time out as unknown (sweep), never as failures.
	// Reads not yet confirmed: a read has no effect, so failing it is definite.
	for ctx, reqs := range n.readsByCtx {
		for _, r := range reqs {
			n.answer(r, definite(http.StatusServiceUnavailable, "leadership lost before the read was confirmed"))
			n.pending--
		}
		delete(n.readsByCtx, ctx)
	}
}

// apply executes one chosen slot and answers the requests waiting for its commands.
func (n *Node) apply(e core.Entry) {
	if e.Slot <= n.applied {
		return // covered by an installed snapshot
	}
	for _, cmd := range e.Value.Commands {
		res := n.store.Apply(cmd)
		ws, ok := n.waiters[cmd.ID]
		if !ok {
			continue
		}
		delete(n.waiters, cmd.ID)
		for _, r := range ws {
			n.pending--
			n.answer(r, resultReply(r.op, res))
		}
	}
	n.applied = e.Slot
}

// resultReply turns a kv.Result into the HTTP answer of shared/PROTOCOL.md.
func resultReply(op kv.Op, res kv.Result) reply {
	switch {
	case res.Duplicate:
		return unknown(http.StatusGatewayTimeout, "duplicate of an earlier request whose result is no longer known; outcome unknown")
	case res.Err != "":
		return definite(http.StatusBadRequest, "command rejected by the state machine: "+res.Err)
	case op.F == kv.FRead:
		return reply{status: http.StatusOK, body: map[string]any{"value": res.Value}}
	case op.F == kv.FCas && res.Mismatch:
		return reply{status: http.StatusConflict, body: map[string]any{"error": "cas-mismatch", "value": res.Value}}
	}
	return reply{status: http.StatusOK, body: map[string]any{}}
}

// answerReads answers confirmed reads whose index the store has applied.
func (n *Node) answerReads() {
	if len(n.readWaits) == 0 {
		return
	}
	sort.SliceStable(n.readWaits, func(i, j int) bool { return n.readWaits[i].index < n.readWaits[j].index })
	i := 0
	for ; i < len(n.readWaits) && n.readWaits[i].index <= n.applied; i++ {
		for _, r := range n.readWaits[i].reqs {
			n.pending--
			n.answer(r, n.readReply(r.op.Key))
		}
	}
	n.readWaits = append(n.readWaits[:0], n.readWaits[i:]...)
}

func (n *Node) readReply(key string) reply {
	if v, ok := n.store.Get(key); ok {
		return reply{status: http.StatusOK, body: map[string]any{"value": v}}
	}
	return reply{status: http.StatusOK, body: map[string]any{"value": nil}}
}

// sweep drops requests whose handlers have given up, so abandoned requests cannot pile up.
func (n *Node) sweep(now time.Duration) {
	expired := func(r *request) bool { return r.answered || now > r.deadline }
	parked := n.backlog[:0]
	for _, r := range n.backlog {
		if expired(r) {
			n.unwait(r, definite(http.StatusServiceUnavailable, "timed out waiting for room in the proposal pipeline; nothing was proposed"))
			continue
		}
		parked = append(parked, r)
	}
	n.backlog = parked
	for id, ws := range n.waiters {
		keep := ws[:0]
		for _, r := range ws {
			if expired(r) {
				n.answer(r, unknown(http.StatusGatewayTimeout, "timed out waiting for the command to be chosen; outcome unknown"))
				n.pending--
				continue
			}
			keep = append(keep, r)
		}
		if len(keep) == 0 {
			delete(n.waiters, id)
		} else {
			n.waiters[id] = keep
		}
	}
	for ctx, reqs := range n.readsByCtx {
		if len(reqs) > 0 && expired(reqs[0]) && expired(reqs[len(reqs)-1]) {
			for _, r := range reqs {
				n.answer(r, definite(http.StatusServiceUnavailable, "read not confirmed in time"))
				n.pending--
			}
			delete(n.readsByCtx, ctx)
		}
	}
	keep := n.readWaits[:0]
	for _, w := range n.readWaits {
		if len(w.reqs) > 0 && expired(w.reqs[0]) && expired(w.reqs[len(w.reqs)-1]) {
			for _, r := range w.reqs {
				n.answer(r, definite(http.StatusServiceUnavailable, "read not applied in time"))
				n.pending--
			}
			continue
		}
		keep = append(keep, w)
	}
	n.readWaits = keep
}

// answer sends the loop's reply to r's handler, once.
func (n *Node) answer(r *request, rep reply) {
	if r.answered {
		return
	}
	r.answered = true
	r.done <- rep // buffered 1, and this is the only send
}

// failAll answers everything still pending when the loop stops.
func (n *Node) failAll() {
	for _, r := range n.backlog {
		n.unwait(r, definite(http.StatusServiceUnavailable, "node stopping; nothing was proposed"))
	}
	for _, ws := range n.waiters {
		for _, r := range ws {
			n.answer(r, unknown(http.StatusServiceUnavailable, "node stopping; outcome unknown"))
		}
	}
	for _, reqs := range n.readsByCtx {
		for _, r := range reqs {
			n.answer(r, definite(http.StatusServiceUnavailable, "node stopping"))
		}
	}
	for _, w := range n.readWaits {
		for _, r := range w.reqs {
			n.answer(r, definite(http.StatusServiceUnavailable, "node stopping"))
		}
	}
	for _, r := range n.readBatch {
		n.answer(r, definite(http.StatusServiceUnavailable, "node stopping"))
	}
}

// maybeCompact snapshots the store and rewrites the log once it has grown past the threshold. It runs only when
// the core has no Ready pending, so everything the core holds is durable and PersistentState covers the log.
func (n *Node) maybeCompact() {
	if n.st.Size() < n.nextCompact || n.core.HasReady() {
		return
	}
	before := n.st.Size()
	data, err := n.store.Snapshot()
	if err == nil {
		if n.applied > n.core.Status().Snapshot {
			n.core.Compact(n.applied, data)
			// Compact leaves a RecSnapshot record for the next Ready. PersistentState already holds it, so the
			// rewritten log is the durable form of everything, and processReady skips that one record.
			n.skipSnap = n.applied
		}
		err = n.st.Rewrite(n.core.PersistentState())
	}
	if err != nil {
		n.nextCompact = before * 2
		n.log.Printf("compaction at slot %d failed (%v); the old log is intact, next try at %d bytes", n.applied, err, n.nextCompact)
		return
	}
	n.nextCompact = max(n.cfg.CompactBytes, 2*n.st.Size())
	n.log.Printf("compacted the log at slot %d: %d -> %d bytes", n.applied, before, n.st.Size())
}

func (n *Node) updateStatus() {
	cs := n.core.Status()
	off, rate, _ := n.clock.Settings()
	st := Status{
		ID: n.cfg.ID, Leader: cs.Leader, Ballot: cs.Ballot.String(), Commit: cs.Commit, Applied: cs.Applied,
		Snapshot: cs.Snapshot, ClockOffsetNs: off, ClockRate: rate, Flaw: string(n.cfg.Flaw),
		Read: string(n.cfg.Read), LogBytes: n.st.Size(), Pending: n.pending, Dropped: n.tr.dropped.Load(),
		FlawActs: cs.FlawActs + n.driverActs,
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
