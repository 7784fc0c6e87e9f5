// Package driver is the Paxos node's driver logic, synchronous and free of I/O of its own: it feeds a core.Node
// ticks, messages, proposals and reads, and handles each core.Ready (install the snapshot, append and fsync the
// records, send the messages, apply the chosen slots to a kv.Store, answer the clients). It admits and batches
// client requests (group commit), keeps the requests waiting for their outcome, answers reads once the store has
// applied their index, sweeps requests whose deadline passed, compacts the log, and plays the driver-level flaws
// (stale-reads, forget-promises).
//
// It is run two ways: targets/paxos/node runs it on one goroutine with real sockets, a real clock, HTTP and the
// real write-ahead log (wal), and targets/paxos/sim runs the same type in virtual time, with the same wal over a
// simulated disk. Neither copies its logic.
//
//	Handle(request) ---+                 Flush():
//	Step(message) -----+--> core.Node      1. propose the backlog in batches, ask ReadIndex once for the reads
//	Tick(wall) --------+                   2. for each Ready: snapshot -> Storage.Append+Sync -> Config.Send
//	                                          -> kv.Store.Apply (answer writes) -> answer reads -> Advance
//	                                       3. compact when the log grew past the threshold
//	Sweep(now): answer requests whose deadline passed (unknown if proposed, definite if not)
//
// A Driver is not safe for concurrent use: one goroutine (the node's event loop, or the simulation) owns it.
package driver

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/kv"
)

// Protocol is the part of *core.Node the driver drives.
type Protocol interface {
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

var _ Protocol = (*core.Node)(nil)

// Storage is where the driver makes Ready.Records durable. Durability order: Append then Sync, and only after
// Sync returns nil does the driver send the Ready's messages or answer anything that depends on them.
type Storage interface {
	Append(recs ...core.Record) error
	Sync() error
	Size() int64
	Rewrite(recs []core.Record) error
	Close() error
}

// Limits that keep a long run's memory bounded.
const (
	// MaxPending bounds the client requests waiting in the driver (proposed, or waiting for a read index);
	// beyond it a request is refused with a definite 503 before anything is proposed.
	MaxPending = 16384
	// MaxBacklog bounds the proposals waiting for room in the core's pipeline (ErrTooMuchInflight).
	MaxBacklog = 8192
	// maxBatch is how many commands the driver proposes in one core.Propose call (the core splits them into
	// slots of at most core.Config.MaxBatch).
	maxBatch = 256
	// idLanes is how many client ids a node spreads its own requests over, so that no one id has more than
	// kv.Window requests outstanding (kv.Store remembers only the last kv.Window seqs of each client).
	idLanes = 16
)

// CrashPoint names a point inside the handling of one Ready where Config.Crash may stop the driver.
type CrashPoint uint8

// The crash points, in the order a Ready passes them.
const (
	// CrashAfterSync: the records are durable; no message has left. (A crash in the middle of the fsync is the
	// storage's to simulate: its Sync fails and the records are not durable.)
	CrashAfterSync CrashPoint = iota + 1
	// CrashAfterSend: the messages have left; nothing was applied or answered.
	CrashAfterSend
)

// ErrCrashed is what Flush returns when Config.Crash stopped the driver; the driver must not be used again.
var ErrCrashed = errors.New("driver: crashed at a crash point")

// Config configures a Driver.
type Config struct {
	// ID is this node; Read and Flaw are its read mode and deliberate bug (driver-level flaws act here).
	ID   core.NodeID
	Read core.ReadMode
	Flaw core.Flaw
	// Nonce tells this incarnation's own command ids (for requests without one) from an earlier one's.
	Nonce string
	// CompactBytes: compact once the log passes this size (and twice its size after a compaction); 0: never by
	// size. CompactSlots: compact once this many slots were applied past the last snapshot; 0: never by slots.
	CompactBytes int64
	CompactSlots uint64
	// Send hands one message to the transport (required).
	Send func(core.Message)
	// Logf logs a line (nil: nothing). FlawLogf logs a driver flaw's act or a dropped message under a key, so
	// that the caller can rate-limit it (nil: Logf).
	Logf     func(format string, args ...any)
	FlawLogf func(key, format string, args ...any)
	// OnReady, if set, sees each Ready right after the driver took it, before handling it.
	OnReady func(rd *core.Ready)
	// OnApply, if set, sees each chosen slot as the store applies it.
	OnApply func(e core.Entry)
	// Crash, if set, is asked at each CrashPoint of each Ready; returning true stops the driver there (Flush
	// returns ErrCrashed). The simulation crashes nodes with it.
	Crash func(p CrashPoint, rd *core.Ready) bool
}

// ReplyKind is what became of a request.
type ReplyKind uint8

// The reply kinds.
const (
	// Done: the operation took effect (or, for a read or a mismatched cas, observed the state); Res says how.
	Done ReplyKind = iota + 1
	// Failed: certainly not applied, and never will be (nothing was proposed, or the state machine rejected it, or
	// a read was not confirmed).
	Failed
	// Unknown: proposed (or forwarded) and then no outcome; it may or may not take effect.
	Unknown
	// NotLeader: nothing was proposed because this node does not lead; Leader names who it believes does.
	NotLeader
)

// Reply is the driver's answer to a request.
type Reply struct {
	Kind ReplyKind
	// Res is the state machine's result (Done).
	Res kv.Result
	// Status is the HTTP status for Failed and Unknown (400, 500, 503, 504); Msg says why.
	Status int
	Msg    string
	// Leader is the node believed to lead (NotLeader), or "".
	Leader string
}

// Request is one client operation.
type Request struct {
	Op kv.Op
	// ID is the command id; with HasID false the driver assigns one.
	ID    core.CommandID
	HasID bool
	// Deadline is on the caller's clock (the one it passes to Sweep); past it the request is answered by Sweep.
	Deadline time.Duration
	// Reply receives the driver's answer, at most once, from inside a Driver call.
	Reply func(Reply)

	answered bool
}

// Stats counts what a driver did.
type Stats struct {
	// Applied is the highest slot applied to the store; Pending the requests waiting; LogBytes the log's size.
	Applied  uint64
	Pending  int
	LogBytes int64
	// DriverActs counts the acts of a driver-level flaw: reads answered locally, records kept only in memory.
	DriverActs  uint64
	Compactions int
}

type readWait struct {
	index uint64
	reqs  []*Request
}

// Driver runs one core.Node with its state machine and its log.
type Driver struct {
	cfg   Config
	core  Protocol
	st    Storage
	store *kv.Store

	seq         uint64
	waiters     map[core.CommandID][]*Request // queued or proposed, waiting for the command to be applied
	pending     int                           // requests in waiters, readBatch, readsByCtx and readWaits
	backlog     []*Request                    // in waiters but not yet handed to the core; nothing proposed
	readBatch   []*Request                    // reads received since the last Flush
	readCtx     uint64
	readsByCtx  map[uint64][]*Request // waiting for the core's ReadState
	readWaits   []readWait            // confirmed, waiting for applied >= index
	applied     uint64
	leader      core.NodeID
	nextCompact int64
	skipSnap    uint64 // slot of the snapshot record that maybeCompact already wrote with Rewrite
	driverActs  uint64
	compactions int
	crashed     bool
}

// New returns a driver for c (built from the records st holds) over st. Call Flush once before anything else:
// the first Ready rebuilds the state machine from the recovered snapshot and chosen slots.
func New(cfg Config, c Protocol, st Storage) (*Driver, error) {
	if cfg.Send == nil {
		return nil, errors.New("driver: config Send is nil")
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.FlawLogf == nil {
		lf := cfg.Logf
		cfg.FlawLogf = func(_, f string, a ...any) { lf(f, a...) }
	}
	d := &Driver{cfg: cfg, core: c, st: st, store: kv.New(), waiters: map[core.CommandID][]*Request{},
		readsByCtx: map[uint64][]*Request{}}
	d.nextCompact = max(cfg.CompactBytes, 2*st.Size())
	return d, nil
}

// Core is the protocol state machine the driver runs (for status and tests; do not drive it directly).
func (d *Driver) Core() Protocol { return d.core }

// Store is the state machine (for tests).
func (d *Driver) Store() *kv.Store { return d.store }

// Stats reports what the driver holds and did.
func (d *Driver) Stats() Stats {
	return Stats{Applied: d.applied, Pending: d.pending, LogBytes: d.st.Size(), DriverActs: d.driverActs, Compactions: d.compactions}
}

// Tick advances the core's clock by one tick; wallNanos is the node's wall clock.
func (d *Driver) Tick(wallNanos int64) { d.core.Tick(wallNanos) }

// Step hands the core a message from a peer; a malformed one is logged and dropped, and its error returned.
func (d *Driver) Step(m core.Message) error {
	err := d.core.Step(m)
	if err != nil {
		d.cfg.FlawLogf("bad-msg", "dropped message type %d from %s: %v", m.Type, m.From, err)
	}
	return err
}

// Handle admits one client request. Writes and cas (and reads in log mode) join the backlog that the next Flush
// proposes; reads join the batch that the next Flush confirms with one ReadIndex.
func (d *Driver) Handle(r *Request) {
	if r.Op.F == kv.FRead && d.cfg.Flaw == core.FlawStaleReads {
		// FLAW(stale-reads): answered from this replica's copy, which may lag any number of writes behind.
		d.driverActs++
		d.cfg.FlawLogf("stale-reads", "FLAW stale-reads: read of %q answered from the local copy (applied %d) without confirmation", r.Op.Key, d.applied)
		d.answer(r, d.readReply(r.Op.Key))
		return
	}
	if d.pending >= MaxPending {
		d.answer(r, failed(http.StatusServiceUnavailable, fmt.Sprintf("overloaded: %d requests pending; nothing was proposed", d.pending)))
		return
	}
	if r.Op.F == kv.FRead && d.cfg.Read != core.ReadLog {
		d.readBatch = append(d.readBatch, r)
		d.pending++
		return
	}
	if !r.HasID {
		d.seq++
		lane := d.seq % idLanes
		r.ID = core.CommandID{Client: fmt.Sprintf("%s-%s-%d", d.cfg.ID, d.cfg.Nonce, lane), Seq: d.seq/idLanes + 1}
	}
	d.pending++
	if ws, ok := d.waiters[r.ID]; ok {
		// A retry of a command already in flight waits for the same outcome instead of being proposed twice.
		d.waiters[r.ID] = append(ws, r)
		return
	}
	d.waiters[r.ID] = []*Request{r}
	d.backlog = append(d.backlog, r)
}

// Flush proposes what Handle admitted, asks the core to confirm the batch of reads, handles every Ready the core
// has, and compacts the log if it grew past the threshold. An error (a failed fsync, a snapshot that does not
// decode, ErrCrashed) means the node must stop.
func (d *Driver) Flush() error {
	if d.crashed {
		return ErrCrashed
	}
	d.flushProposals()
	d.flushReads()
	if err := d.processReady(); err != nil {
		return err
	}
	d.maybeCompact()
	return nil
}

// flushProposals proposes the backlog to the core in batches, so that every request received while the previous
// fsync ran shares the next one (group commit). Requests stay in the backlog, counted as pending, while the
// pipeline is full; nothing has been proposed for them.
func (d *Driver) flushProposals() {
	for len(d.backlog) > 0 {
		k := min(len(d.backlog), maxBatch)
		batch := make([]core.Command, 0, k)
		for _, r := range d.backlog[:k] {
			batch = append(batch, core.Command{ID: r.ID, Data: kv.Encode(r.Op)})
		}
		err := d.core.Propose(batch...)
		switch {
		case err == nil:
			d.backlog = d.backlog[k:] // from here on their fate is unknown until applied
		case errors.Is(err, core.ErrTooMuchInflight):
			if len(d.backlog) > MaxBacklog {
				for _, r := range d.backlog[MaxBacklog:] {
					d.unwait(r, failed(http.StatusServiceUnavailable, "overloaded: proposal pipeline and backlog full; nothing was proposed"))
				}
				d.backlog = d.backlog[:MaxBacklog]
			}
			return
		case errors.Is(err, core.ErrNotLeader):
			leader := d.core.Status().Leader
			for _, r := range d.backlog {
				d.unwait(r, Reply{Kind: NotLeader, Leader: leader})
			}
			d.backlog = nil
			return
		default:
			// Not a documented "nothing was proposed" condition, so the outcome is not known to be a failure.
			for _, r := range d.backlog[:k] {
				d.unwait(r, unknown(http.StatusInternalServerError, "propose: "+err.Error()))
			}
			d.backlog = d.backlog[k:]
		}
	}
	d.backlog = nil // let a burst's backing array go
}

// unwait answers r and removes it from the waiters.
func (d *Driver) unwait(r *Request, rep Reply) {
	ws := d.waiters[r.ID]
	for i, w := range ws {
		if w == r {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(d.waiters, r.ID)
	} else {
		d.waiters[r.ID] = ws
	}
	d.pending--
	d.answer(r, rep)
}

// flushReads asks the core to confirm leadership once for every read received since the last Flush.
func (d *Driver) flushReads() {
	if len(d.readBatch) == 0 {
		return
	}
	batch := d.readBatch
	d.readBatch = nil
	d.readCtx++
	if err := d.core.ReadIndex(d.readCtx); err != nil {
		leader := d.core.Status().Leader
		for _, r := range batch {
			d.pending--
			if errors.Is(err, core.ErrNotLeader) {
				d.answer(r, Reply{Kind: NotLeader, Leader: leader})
			} else {
				// A read changes nothing, so a failed read is a definite failure.
				d.answer(r, failed(http.StatusServiceUnavailable, "read index: "+err.Error()))
			}
		}
		return
	}
	d.readsByCtx[d.readCtx] = batch
}

// processReady handles every Ready the core has, strictly in the order core.Ready documents.
func (d *Driver) processReady() error {
	for d.core.HasReady() {
		rd := d.core.Ready()
		if d.cfg.OnReady != nil {
			d.cfg.OnReady(&rd)
		}
		if rd.SoftState != nil {
			d.onSoftState(*rd.SoftState)
		}
		// 1. Install the snapshot.
		if rd.Snapshot != nil {
			s, err := kv.Restore(rd.Snapshot.Data)
			if err != nil {
				return fmt.Errorf("install snapshot at slot %d: %w", rd.Snapshot.Slot, err)
			}
			d.store = s
			d.applied = rd.Snapshot.Slot
			d.cfg.Logf("installed snapshot at slot %d (%d bytes)", rd.Snapshot.Slot, len(rd.Snapshot.Data))
		}
		// 2. Make the records durable before anything that depends on them leaves this node.
		if d.skipSnap != 0 {
			rd.Records = d.dropCompactedSnapshot(rd.Records)
		}
		if d.cfg.Flaw == core.FlawForgetPromises {
			for _, r := range rd.Records {
				if r.Kind == core.RecPromise || r.Kind == core.RecAccept {
					// FLAW(forget-promises): see MemStorage.
					d.driverActs++
					d.cfg.FlawLogf("forget-promises", "FLAW forget-promises: %s record for ballot %s kept only in memory", kindName(r.Kind), r.Ballot)
				}
			}
		}
		if len(rd.Records) > 0 {
			if err := d.st.Append(rd.Records...); err != nil {
				return err
			}
			if err := d.st.Sync(); err != nil {
				return err
			}
		}
		if d.crashAt(CrashAfterSync, &rd) {
			return ErrCrashed
		}
		// 3. Send. (The core never addresses a message to its own node: its peer list excludes it.)
		for _, m := range rd.Messages {
			d.cfg.Send(m)
		}
		if d.crashAt(CrashAfterSend, &rd) {
			return ErrCrashed
		}
		// 4. Apply, in slot order.
		for _, e := range rd.Committed {
			d.apply(e)
		}
		// 5. Reads confirmed by the core wait until the store has applied their index.
		for _, rs := range rd.ReadStates {
			if reqs, ok := d.readsByCtx[rs.Ctx]; ok {
				delete(d.readsByCtx, rs.Ctx)
				d.readWaits = append(d.readWaits, readWait{index: rs.Index, reqs: reqs})
			}
		}
		d.answerReads()
		// 6. Advance; then propose what waited for room in the pipeline.
		d.core.Advance()
		d.flushProposals()
	}
	return nil
}

func (d *Driver) crashAt(p CrashPoint, rd *core.Ready) bool {
	if d.cfg.Crash != nil && d.cfg.Crash(p, rd) {
		d.crashed = true
		return true
	}
	return false
}

// dropCompactedSnapshot removes the RecSnapshot record that Compact emitted after maybeCompact had already
// rewritten the log to include it.
func (d *Driver) dropCompactedSnapshot(recs []core.Record) []core.Record {
	out := make([]core.Record, 0, len(recs))
	for _, r := range recs {
		if r.Kind == core.RecSnapshot && r.Snapshot != nil && r.Snapshot.Slot == d.skipSnap {
			d.skipSnap = 0
			continue
		}
		out = append(out, r)
	}
	return out
}

// onSoftState logs a leader change and settles the requests a lost leadership leaves behind.
func (d *Driver) onSoftState(ss core.SoftState) {
	if ss.Leader == d.leader {
		return
	}
	old := d.leader
	d.leader = ss.Leader
	d.cfg.Logf("leader change: %q -> %q (ballot %s)", old, ss.Leader, ss.Ballot)
	if old != d.cfg.ID || ss.Leader == d.cfg.ID {
		return
	}
	// This node stopped leading. Requests not yet handed to the core were never proposed: the caller may
	// forward them to the new leader.
	for _, r := range d.backlog {
		d.unwait(r, Reply{Kind: NotLeader, Leader: ss.Leader})
	}
	d.backlog = nil
	// The proposals already handed to the core stay in waiters: the next leader re-proposes what a majority
	// accepted, and kv applies each command id once, so a waiter may still be answered with the real result.
	// The rest time out as unknown (Sweep), never as failures.
	// Reads not yet confirmed: a read has no effect, so failing it is definite.
	for _, ctx := range sortedKeys(d.readsByCtx) {
		for _, r := range d.readsByCtx[ctx] {
			d.answer(r, failed(http.StatusServiceUnavailable, "leadership lost before the read was confirmed"))
			d.pending--
		}
		delete(d.readsByCtx, ctx)
	}
}

// apply executes one chosen slot and answers the requests waiting for its commands.
func (d *Driver) apply(e core.Entry) {
	if e.Slot <= d.applied {
		return // covered by an installed snapshot
	}
	if d.cfg.OnApply != nil {
		d.cfg.OnApply(e)
	}
	for _, cmd := range e.Value.Commands {
		res := d.store.Apply(cmd)
		ws, ok := d.waiters[cmd.ID]
		if !ok {
			continue
		}
		delete(d.waiters, cmd.ID)
		for _, r := range ws {
			d.pending--
			d.answer(r, resultReply(res))
		}
	}
	d.applied = e.Slot
}

// resultReply turns a kv.Result into a Reply.
func resultReply(res kv.Result) Reply {
	switch {
	case res.Duplicate:
		return unknown(http.StatusGatewayTimeout, "duplicate of an earlier request whose result is no longer known; outcome unknown")
	case res.Err != "":
		return failed(http.StatusBadRequest, "command rejected by the state machine: "+res.Err)
	}
	return Reply{Kind: Done, Res: res}
}

// answerReads answers confirmed reads whose index the store has applied.
func (d *Driver) answerReads() {
	if len(d.readWaits) == 0 {
		return
	}
	sort.SliceStable(d.readWaits, func(i, j int) bool { return d.readWaits[i].index < d.readWaits[j].index })
	i := 0
	for ; i < len(d.readWaits) && d.readWaits[i].index <= d.applied; i++ {
		for _, r := range d.readWaits[i].reqs {
			d.pending--
			d.answer(r, d.readReply(r.Op.Key))
		}
	}
	d.readWaits = append(d.readWaits[:0], d.readWaits[i:]...)
}

func (d *Driver) readReply(key string) Reply {
	v, ok := d.store.Get(key)
	res := kv.Result{Found: ok}
	if ok {
		res.Value = &v
	}
	return Reply{Kind: Done, Res: res}
}

// Sweep answers the requests whose deadline is before now (on the caller's clock), so abandoned requests cannot
// pile up: unknown if proposed, definite if not.
func (d *Driver) Sweep(now time.Duration) {
	expired := func(r *Request) bool { return r.answered || now > r.Deadline }
	parked := d.backlog[:0]
	for _, r := range d.backlog {
		if expired(r) {
			d.unwait(r, failed(http.StatusServiceUnavailable, "timed out waiting for room in the proposal pipeline; nothing was proposed"))
			continue
		}
		parked = append(parked, r)
	}
	d.backlog = parked
	// Maps are walked in sorted order so that a run is a function of its inputs (the simulation replays seeds).
	ids := make([]core.CommandID, 0, len(d.waiters))
	for id := range d.waiters {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].Client != ids[j].Client {
			return ids[i].Client < ids[j].Client
		}
		return ids[i].Seq < ids[j].Seq
	})
	for _, id := range ids {
		ws := d.waiters[id]
		keep := ws[:0]
		for _, r := range ws {
			if expired(r) {
				d.answer(r, unknown(http.StatusGatewayTimeout, "timed out waiting for the command to be chosen; outcome unknown"))
				d.pending--
				continue
			}
			keep = append(keep, r)
		}
		if len(keep) == 0 {
			delete(d.waiters, id)
		} else {
			d.waiters[id] = keep
		}
	}
	for _, ctx := range sortedKeys(d.readsByCtx) {
		reqs := d.readsByCtx[ctx]
		if len(reqs) > 0 && expired(reqs[0]) && expired(reqs[len(reqs)-1]) {
			for _, r := range reqs {
				d.answer(r, failed(http.StatusServiceUnavailable, "read not confirmed in time"))
				d.pending--
			}
			delete(d.readsByCtx, ctx)
		}
	}
	keep := d.readWaits[:0]
	for _, w := range d.readWaits {
		if len(w.reqs) > 0 && expired(w.reqs[0]) && expired(w.reqs[len(w.reqs)-1]) {
			for _, r := range w.reqs {
				d.answer(r, failed(http.StatusServiceUnavailable, "read not applied in time"))
				d.pending--
			}
			continue
		}
		keep = append(keep, w)
	}
	d.readWaits = keep
}

// answer sends the reply to r, once.
func (d *Driver) answer(r *Request, rep Reply) {
	if r.answered {
		return
	}
	r.answered = true
	if r.Reply != nil {
		r.Reply(rep)
	}
}

// FailAll answers everything still pending, as a stopping node must: unknown if proposed, definite if not.
func (d *Driver) FailAll() {
	for _, r := range d.backlog {
		d.unwait(r, failed(http.StatusServiceUnavailable, "node stopping; nothing was proposed"))
	}
	d.backlog = nil
	for _, ws := range d.waiters {
		for _, r := range ws {
			d.answer(r, unknown(http.StatusServiceUnavailable, "node stopping; outcome unknown"))
		}
	}
	for _, reqs := range d.readsByCtx {
		for _, r := range reqs {
			d.answer(r, failed(http.StatusServiceUnavailable, "node stopping"))
		}
	}
	for _, w := range d.readWaits {
		for _, r := range w.reqs {
			d.answer(r, failed(http.StatusServiceUnavailable, "node stopping"))
		}
	}
	for _, r := range d.readBatch {
		d.answer(r, failed(http.StatusServiceUnavailable, "node stopping"))
	}
}

// maybeCompact snapshots the store and rewrites the log once it has grown past the threshold. It runs only when
// the core has no Ready pending, so everything the core holds is durable and PersistentState covers the log.
func (d *Driver) maybeCompact() {
	bySize := d.cfg.CompactBytes > 0 && d.st.Size() >= d.nextCompact
	bySlots := d.cfg.CompactSlots > 0 && d.applied >= d.core.Status().Snapshot+d.cfg.CompactSlots
	if !(bySize || bySlots) || d.core.HasReady() {
		return
	}
	before := d.st.Size()
	data, err := d.store.Snapshot()
	if err == nil {
		if d.applied > d.core.Status().Snapshot {
			d.core.Compact(d.applied, data)
			// Compact leaves a RecSnapshot record for the next Ready. PersistentState already holds it, so the
			// rewritten log is the durable form of everything, and processReady skips that one record.
			d.skipSnap = d.applied
		}
		err = d.st.Rewrite(d.core.PersistentState())
	}
	if err != nil {
		d.nextCompact = before * 2
		d.cfg.Logf("compaction at slot %d failed (%v); the old log is intact, next try at %d bytes", d.applied, err, d.nextCompact)
		return
	}
	d.compactions++
	d.nextCompact = max(d.cfg.CompactBytes, 2*d.st.Size())
	d.cfg.Logf("compacted the log at slot %d: %d -> %d bytes", d.applied, before, d.st.Size())
}

func failed(status int, msg string) Reply { return Reply{Kind: Failed, Status: status, Msg: msg} }

func unknown(status int, msg string) Reply { return Reply{Kind: Unknown, Status: status, Msg: msg} }

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
