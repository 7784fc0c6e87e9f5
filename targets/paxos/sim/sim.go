package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"time"

	"github.com/skeptic-dev/skeptic/targets/paxos/core"
	"github.com/skeptic-dev/skeptic/targets/paxos/driver"
	"github.com/skeptic-dev/skeptic/targets/paxos/kv"
	"github.com/skeptic-dev/skeptic/targets/paxos/wal"
)

// tickUnits is the virtual time of one nominal tick of a node's clock.
const tickUnits = 100

// tickNanos is the nominal length of a tick on the nodes' wall clocks (1 ms).
const tickNanos = int64(1_000_000)

// Options configure one simulated run. Zero fields take the defaults that Run documents.
type Options struct {
	// Seed drives every random choice of the run.
	Seed int64
	// Nodes is the cluster size (3 or 5 make sense); 0 picks 3 or 5 from the seed.
	Nodes int
	// Flaw is the deliberate bug switched on. Core flaws go to the core; stale-reads and forget-promises are
	// driver flaws the simulation's drivers play.
	Flaw core.Flaw
	// ReadMode is how reads are served; "" picks index, lease or log from the seed.
	ReadMode core.ReadMode
	// Ticks is how long clients issue operations, in nominal ticks; 0 means 250.
	Ticks int
	// Clients is the number of concurrent clients; 0 means 4.
	Clients int
	// Keys is the number of keys clients use; 0 means 2.
	Keys int
}

// OpKind is a client operation's kind.
type OpKind uint8

// The operation kinds.
const (
	OpRead OpKind = iota
	OpWrite
	OpCas
)

// Op is one client operation of the history, in the shape Porcupine checks: Call and Return in virtual time,
// Return = math.MaxInt64 when the outcome is unknown.
type Op struct {
	Client int
	Kind   OpKind
	Key    string
	Value  int64 // write: the value written
	From   int64 // cas
	To     int64 // cas
	Call   int64
	Return int64

	// Output. For a read: Found and Got. For a cas: OK, or Found and Got (what it saw) when it did not match.
	Unknown bool
	OK      bool
	Found   bool
	Got     int64
}

// String describes o for failure reports, e.g. "c1 write(k0, 5) -> ok [120, 180]".
func (o Op) String() string {
	var b strings.Builder
	switch o.Kind {
	case OpRead:
		fmt.Fprintf(&b, "c%d read(%s)", o.Client, o.Key)
	case OpWrite:
		fmt.Fprintf(&b, "c%d write(%s, %d)", o.Client, o.Key, o.Value)
	case OpCas:
		fmt.Fprintf(&b, "c%d cas(%s, %d->%d)", o.Client, o.Key, o.From, o.To)
	}
	switch {
	case o.Unknown:
		b.WriteString(" -> ?")
	case o.Kind == OpRead && o.Found:
		fmt.Fprintf(&b, " -> %d", o.Got)
	case o.Kind == OpRead:
		b.WriteString(" -> nil")
	case o.Kind == OpCas && !o.OK && o.Found:
		fmt.Fprintf(&b, " -> mismatch(%d)", o.Got)
	case o.Kind == OpCas && !o.OK:
		b.WriteString(" -> mismatch(nil)")
	default:
		b.WriteString(" -> ok")
	}
	ret := "inf"
	if o.Return != math.MaxInt64 {
		ret = fmt.Sprint(o.Return)
	}
	fmt.Fprintf(&b, " [%d, %s]", o.Call, ret)
	return b.String()
}

// Result is what a run produced.
type Result struct {
	// History holds the completed operations and the writes and cas with unknown outcomes. Reads that failed
	// or timed out are left out: they changed nothing.
	History []Op
	// Violation describes the first agreement violation (two values applied in one slot), or is "".
	Violation string
	// Panic holds the message of a core panic (a broken invariant), or is "".
	Panic string
	// Log is a short trace of the nemesis and leadership, for failure reports.
	Log []string
	// Stats: what the run exercised.
	Nodes, Slots, OK, Unknown, Messages            int
	Elections, Crashes, SnapshotsSent, Compactions int
	ReadMode                                       core.ReadMode
}

// Run simulates one seed. Defaults: 3 or 5 nodes, 250 ticks of client traffic, 4 clients, 2 keys.
func Run(o Options) (res Result) {
	s := newSim(o)
	defer func() {
		if r := recover(); r != nil {
			res = s.result()
			res.Panic = fmt.Sprint(r)
		}
	}()
	s.run()
	return s.result()
}

// ---- events ----

type evKind uint8

const (
	evTick evKind = iota
	evMsg
	evReq
	evResp
	evAttemptTimeout
	evClientStart
	evNemesis
	evResume
	evRestart
	evStaleHeal
	evStaleCut
	evBridgeEnd
)

type event struct {
	at   int64
	seq  uint64
	kind evKind
	node int
	gen  int // node incarnation the event belongs to (ticks)
	msg  core.Message
	req  *request
	resp *response
	cl   int
}

// evQueue orders events by time, then by the order they were scheduled, so runs are deterministic. Its methods
// implement heap.Interface.
type evQueue []*event

func (q evQueue) Len() int { return len(q) }
func (q evQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q evQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *evQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *evQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// ---- nodes ----

type request struct {
	client  int
	seq     uint64 // client's op number, to match the response
	attempt int
	id      core.CommandID
	op      kv.Op
}

type response struct {
	seq      uint64
	attempt  int
	definite bool // not applied, never will be (not leader, pipeline full)
	hint     int  // leader hint: the leader's index + 1, 0 when none
	unknown  bool // applied at some point, result lost
	res      kv.Result
}

type simNode struct {
	idx int
	id  core.NodeID
	up  bool
	gen int
	// d is the node's driver (targets/paxos/driver), the same code the real node runs, over the real log (wal)
	// on disk, a simulated disk that survives crashes; nil while the node is down.
	d    *driver.Driver
	disk *disk
	log  *wal.Log

	rate       float64 // clock rate: local ticks per nominal tick
	wallOffset int64   // wall clock = wallOffset + virtual time scaled by rate
	ticks      int64

	// A paused node (SIGSTOP) keeps its state but runs nothing: the ticks it misses are counted, and the messages
	// and requests that reach it wait in held (in the kernel's socket buffers) until it resumes.
	paused bool
	missed int
	held   []*event

	crashAfter core.MsgType // faultCrashPoint: crash right after sending a message of this type (0: none)
	// faultDiskCrash: crash while handling the next Ready that has records, in the middle of its fsync
	// (crashInSync: the records reached the page cache, not the disk) or after the fsync and before any message
	// is sent (crashPoint driver.CrashAfterSync).
	crashInSync bool
	crashPoint  driver.CrashPoint
	crashWhy    string

	leading bool
	applied uint64 // highest slot applied (or installed by a snapshot), for the agreement check
}

// ---- clients ----

type simClient struct {
	idx      int
	name     string
	seq      uint64
	op       *Op
	req      *request
	target   int
	attempt  int
	deadline int64
	// ambiguous: some attempt timed out, so the operation may have been proposed and may yet be applied.
	ambiguous bool
	lastSeen  map[string]int64
	// sticky: after a timeout the client tries the same node again, as a client bound to one node does (Jepsen's
	// clients are); otherwise it moves on to another node.
	sticky bool
	// reader: the client only reads (a monitoring reader, say); it is sticky. Its writing peers block on a leader
	// that lost its majority, but a reader keeps asking it, so a read served by a deposed leader shows.
	reader bool
}

type sim struct {
	o       Options
	rnd     *rand.Rand
	now     int64
	seq     uint64
	q       evQueue
	nodes   []*simNode
	ids     []core.NodeID
	clients []*simClient
	hist    []Op
	chosen  map[uint64]string // slot -> the value first applied there, for the agreement check
	viol    string
	log     []string
	msgs    int
	stats   Result // counters only
	nextVal int64
	end     int64

	// Network and nemesis parameters, drawn from the seed.
	drop, dup float64
	maxDelay  int64
	cut       map[[2]int]bool
	lossy     map[[2]int]float64 // links that lose this share of their messages (faultLossy)
	skew      float64
	// strongClocks: clock rates range over [0.5, 2] (index and log modes). hbTicks: HeartbeatTicks.
	strongClocks bool
	hbTicks      int
	// slow links add this many virtual time units to every message's delay (faultSlow).
	slow map[[2]int]int64
	// ctrlOnly links lose every prepare and accept (the messages that raise an acceptor's promise) and carry the
	// rest: heartbeats and their acknowledgements, commits, catch-up and snapshots (faultStaleBridge).
	ctrlOnly map[[2]int]bool
	mode     core.ReadMode
	// compactEvery: a node compacts once it has applied this many slots past its snapshot.
	compactEvery uint64
	// faults are the nemesis actions this seed uses, weighted (pickFaults).
	faults []fault
	jumped int // 1 + the node whose wall clock the last nemesis step jumped, 0 if it did not
	// slowed: 1 + the node whose clock rate the last nemesis step changed, in index and log modes; 0 if none.
	slowed int
	// holdUntil: the next nemesis step waits until then (a scenario is playing out).
	holdUntil int64
}

func newSim(o Options) *sim {
	rnd := rand.New(rand.NewSource(o.Seed))
	if o.Nodes == 0 {
		o.Nodes = 3 + 2*rnd.Intn(2)
	}
	if o.Ticks == 0 {
		o.Ticks = 250
	}
	if o.Clients == 0 {
		o.Clients = 4
	}
	if o.Keys == 0 {
		o.Keys = 2
	}
	if o.Flaw == "" {
		o.Flaw = core.FlawNone
	}
	mode := o.ReadMode
	if mode == "" {
		mode = []core.ReadMode{core.ReadIndex, core.ReadLease, core.ReadLog}[rnd.Intn(3)]
	}
	s := &sim{o: o, rnd: rnd, chosen: map[uint64]string{}, cut: map[[2]int]bool{}, mode: mode}
	s.drop = []float64{0, 0.01, 0.05, 0.15}[rnd.Intn(4)]
	s.dup = []float64{0, 0.02, 0.1}[rnd.Intn(3)]
	s.maxDelay = []int64{20, 80, 250}[rnd.Intn(3)]
	// Frequent compaction makes snapshots travel (to lagging followers and to stale leaders) within the windows
	// that partitions and pauses open.
	s.compactEvery = []uint64{4, 8, 24, 64}[rnd.Intn(4)]
	s.faults = pickFaults(rnd)
	// Clock rates start within +-4%, which the lease's 20% drift margin covers. In the read modes whose safety
	// does not rest on clocks (index, log), the rate fault then goes as far as the harness's clock nemesis, from
	// half to twice the real rate, and half the time further, down to a twentieth (strongClocks; FLAWS.md: index
	// mode is safe under any clock fault); in lease mode it stays within the margin, as the store claims safety only
	// there.
	s.skew = 0.04
	s.strongClocks = mode != core.ReadLease
	// The heartbeat period, against a fixed election timeout (10 ticks): a leader that heartbeats rarely leaves
	// long gaps between rounds, where a read confirmed by an old round would show.
	s.hbTicks = []int{2, 3, 5, 8}[rnd.Intn(4)]
	for i := range o.Nodes {
		s.ids = append(s.ids, fmt.Sprintf("n%d", i+1))
	}
	for i := range o.Nodes {
		n := &simNode{idx: i, id: s.ids[i], rate: 1 + s.skew*(2*rnd.Float64()-1), wallOffset: rnd.Int63n(1000) * tickNanos, disk: newDisk(rnd)}
		s.nodes = append(s.nodes, n)
		s.start(n, true)
	}
	reader := rnd.Intn(2) == 0 // half the seeds have one reader client
	for i := range o.Clients {
		c := &simClient{idx: i, name: fmt.Sprintf("c%d", i), target: rnd.Intn(o.Nodes), lastSeen: map[string]int64{}, sticky: rnd.Intn(2) == 0}
		if reader && i == 0 {
			c.reader, c.sticky = true, true
		}
		s.clients = append(s.clients, c)
		s.push(&event{at: int64(rnd.Intn(5 * tickUnits)), kind: evClientStart, cl: i})
	}
	s.end = int64(o.Ticks) * tickUnits
	s.scheduleNemesis()
	return s
}

func (s *sim) push(e *event) {
	s.seq++
	e.seq = s.seq
	heap.Push(&s.q, e)
}

func (s *sim) logf(format string, args ...any) {
	if len(s.log) < 400 {
		s.log = append(s.log, fmt.Sprintf("t=%d.%02d ", s.now/tickUnits, s.now%tickUnits)+fmt.Sprintf(format, args...))
	}
}

func (s *sim) config(n *simNode) core.Config {
	return core.Config{
		ID: n.id, Peers: s.ids, HeartbeatTicks: s.hbTicks, ElectionTicks: 10, Rand: s.rnd,
		ReadMode: s.mode, LeaseTicks: 8, DriftMargin: 0.2, MaxBatch: 4, MaxInflight: 16,
		Flaw: s.o.Flaw, TickNanos: tickNanos,
	}
}

// start boots (or reboots) a node from what its disk holds, with the real log and the real driver.
func (s *sim) start(n *simNode, first bool) {
	var st driver.Storage
	var recs []core.Record
	n.log = nil
	if s.o.Flaw == core.FlawForgetPromises {
		// FLAW(forget-promises): the driver keeps its acceptor state in memory only; a restarted node comes back
		// with no records at all.
		st = &driver.MemStorage{}
	} else {
		l, rs, rec, err := wal.OpenFS(n.disk, "data")
		if err != nil {
			s.failf("%s cannot restart: %v", n.id, err)
			return
		}
		if rec.TornBytes > 0 {
			s.logf("%s recovery: cut %d torn bytes (%s)", n.id, rec.TornBytes, rec.Reason)
		}
		n.log, st, recs = l, l, rs
	}
	c, err := core.New(s.config(n), recs)
	if err != nil {
		s.failf("%s cannot restart: %v", n.id, err)
		return
	}
	n.gen++
	d, err := driver.New(driver.Config{
		ID: n.id, Read: s.mode, Flaw: s.o.Flaw, Nonce: fmt.Sprint(n.gen), CompactSlots: s.compactEvery,
		Send: s.send,
		OnReady: func(rd *core.Ready) {
			if rd.SoftState != nil {
				if rd.SoftState.Leader == n.id && !n.leading {
					s.stats.Elections++
					s.logf("%s leads (highest ballot seen %v)", n.id, rd.SoftState.Ballot)
				}
				n.leading = rd.SoftState.Leader == n.id
			}
			if rd.Snapshot != nil {
				n.applied = rd.Snapshot.Slot
			}
			if len(rd.Records) > 0 && n.crashInSync {
				n.crashInSync = false
				n.disk.failSync = true
				n.crashWhy = " in the middle of an fsync"
			}
		},
		OnApply: func(e core.Entry) { s.apply(n, e) },
		Crash: func(p driver.CrashPoint, rd *core.Ready) bool {
			switch {
			case p == driver.CrashAfterSync && n.crashPoint == p && len(rd.Records) > 0:
				n.crashPoint = 0
				n.crashWhy = " after persisting a Ready and before sending its messages"
				return true
			case p == driver.CrashAfterSend && n.crashAfter != 0:
				for _, m := range rd.Messages {
					if m.Type == n.crashAfter {
						n.crashWhy = fmt.Sprintf(" right after sending a message of type %d", n.crashAfter)
						return true
					}
				}
			}
			return false
		},
	}, c, st)
	if err != nil {
		panic(err)
	}
	n.d = d
	n.up = true
	n.paused, n.missed, n.held = false, 0, nil
	n.applied = 0
	n.leading = false
	s.push(&event{at: s.now + s.tickEvery(n), kind: evTick, node: n.idx, gen: n.gen})
	s.flush(n)
}

// failf records a failure of the run that is not a client's observation (agreement, a node that cannot
// restart); the first one ends the run.
func (s *sim) failf(format string, args ...any) {
	if s.viol == "" {
		s.viol = fmt.Sprintf(format, args...)
	}
}

func (s *sim) tickEvery(n *simNode) int64 {
	return max(1, int64(math.Round(tickUnits/n.rate)))
}

// wall is n's wall clock in nanoseconds: it advances at the node's clock rate, plus any jumps.
func (s *sim) wall(n *simNode) int64 {
	return n.wallOffset + int64(float64(s.now)*n.rate)*tickNanos/tickUnits
}

func (s *sim) run() {
	for len(s.q) > 0 {
		e := heap.Pop(&s.q).(*event)
		s.now = e.at
		// Run past the client window long enough for retries and timeouts to finish.
		if s.now > s.end+80*tickUnits {
			break
		}
		switch e.kind {
		case evTick:
			n := s.nodes[e.node]
			if !n.up || e.gen != n.gen {
				continue
			}
			if n.paused {
				n.missed++
				s.push(&event{at: s.now + s.tickEvery(n), kind: evTick, node: n.idx, gen: n.gen})
				continue
			}
			n.ticks++
			n.d.Tick(s.wall(n))
			if n.ticks%5 == 0 {
				n.d.Sweep(time.Duration(s.now))
			}
			s.push(&event{at: s.now + s.tickEvery(n), kind: evTick, node: n.idx, gen: n.gen})
			s.flush(n)
		case evMsg:
			n := s.nodes[e.node]
			from := s.index(e.msg.From)
			if !n.up || s.cut[[2]int{from, n.idx}] {
				continue
			}
			if n.paused {
				n.held = append(n.held, e)
				continue
			}
			s.step(n, e.msg)
			s.flush(n)
		case evReq:
			s.onRequest(s.nodes[e.node], e.req)
		case evResp:
			s.onResponse(s.clients[e.cl], e.resp)
		case evAttemptTimeout:
			s.onAttemptTimeout(s.clients[e.cl], e.req)
		case evClientStart:
			s.startOp(s.clients[e.cl])
		case evNemesis:
			s.nemesis()
		case evRestart:
			if n := s.nodes[e.node]; !n.up && n.gen == e.gen {
				s.start(n, false)
				s.logf("restart %s", n.id)
			}
		case evStaleCut:
			for _, o := range s.nodes {
				if o.idx != e.node {
					s.cut[[2]int{e.node, o.idx}] = true
				}
			}
			s.logf("%s's messages are lost", s.ids[e.node])
		case evStaleHeal:
			s.staleHeal(s.nodes[e.node], s.nodes[e.cl])
		case evBridgeEnd:
			if s.now <= s.end {
				s.cut, s.ctrlOnly = map[[2]int]bool{}, nil
				s.logf("stale bridge over: heal")
			}
		case evResume:
			if n := s.nodes[e.node]; n.up && n.gen == e.gen && n.paused {
				s.resume(n)
			}
		}
		if s.viol != "" {
			return
		}
	}
	// Whatever is still open when the run ends has an unknown outcome.
	for _, c := range s.clients {
		if c.op != nil {
			s.finishUnknown(c)
		}
	}
}

// crash stops n: it loses everything but its disk, which keeps what was fsynced and, drawn from the seed, part
// of what was written after the last fsync (disk.crash).
func (s *sim) crash(n *simNode, why string) {
	n.up = false
	n.paused, n.missed, n.held = false, 0, nil
	n.crashAfter, n.crashPoint, n.crashInSync = 0, 0, false
	if n.d != nil {
		s.stats.Compactions += n.d.Stats().Compactions
	}
	n.d, n.log = nil, nil
	n.disk.crash()
	n.gen++
	s.stats.Crashes++
	s.logf("crash %s%s", n.id, why)
}

func (s *sim) step(n *simNode, m core.Message) {
	if err := n.d.Step(m); err != nil {
		panic(fmt.Sprintf("sim: %s rejected a message the cores sent: %v", n.id, err))
	}
}

// stallLag is how many ticks a driver whose loop stalled runs at once when it wakes up, at most: the node's driver
// (targets/paxos/node, tick) skips the rest, but never fewer than ElectionTicks (see there why). That floor is what
// the node runs at its defaults (max(20, ElectionTicks) with ElectionTicks 30), and the least time a stalled leader
// can see pass, so the simulation uses it.
func stallLag(cfg core.Config) int { return cfg.ElectionTicks }

// resume wakes a paused node as the node's event loop wakes from SIGSTOP: it steps the messages that waited for
// it, then runs the ticks it missed (at most stallLag of them), then handles the client requests that waited.
func (s *sim) resume(n *simNode) {
	n.paused = false
	held := n.held
	n.held = nil
	var reqs []*request
	for _, e := range held {
		if e.kind == evMsg {
			s.step(n, e.msg)
		} else {
			reqs = append(reqs, e.req)
		}
	}
	for range min(n.missed, stallLag(s.config(n))) {
		n.ticks++
		n.d.Tick(s.wall(n))
	}
	s.logf("resume %s (%d messages and %d requests waited, %d ticks missed)", n.id, len(held)-len(reqs), len(reqs), n.missed)
	n.missed = 0
	s.flush(n)
	for _, r := range reqs {
		s.onRequest(n, r)
	}
}

func (s *sim) index(id core.NodeID) int {
	for i, x := range s.ids {
		if x == id {
			return i
		}
	}
	panic("sim: unknown node " + id)
}

// flush runs n's driver: propose, confirm reads, handle every Ready (persist, send, apply, answer), compact. A
// crash the seed armed stops it; then the node is down until a restart.
func (s *sim) flush(n *simNode) {
	if !n.up {
		return
	}
	err := n.d.Flush()
	switch {
	case err == nil:
		return
	case errors.Is(err, driver.ErrCrashed), errors.Is(err, errSyncCrash):
		s.crash(n, n.crashWhy)
		// Half the time the node is back within a few ticks, before its peers' timers notice it was gone.
		d := int64(1 + s.rnd.Intn(20))
		if s.rnd.Intn(2) == 0 {
			d = int64(1 + s.rnd.Intn(4))
		}
		s.push(&event{at: s.now + d*tickUnits, kind: evRestart, node: n.idx, gen: n.gen})
	default:
		s.failf("%s stopped: %v", n.id, err)
	}
}

func valueKey(v core.Value) string {
	var b strings.Builder
	for _, c := range v.Commands {
		fmt.Fprintf(&b, "%s/%d:%s;", c.ID.Client, c.ID.Seq, c.Data)
	}
	return b.String()
}

// apply checks agreement as n's driver applies slot e.
func (s *sim) apply(n *simNode, e core.Entry) {
	if e.Slot != n.applied+1 {
		panic(fmt.Sprintf("sim: %s applies slot %d after %d", n.id, e.Slot, n.applied))
	}
	n.applied = e.Slot
	k := valueKey(e.Value)
	if prev, ok := s.chosen[e.Slot]; !ok {
		s.chosen[e.Slot] = k
	} else if prev != k {
		s.failf("agreement: %s applied slot %d = %q, another node applied %q", n.id, e.Slot, k, prev)
	}
}

// ---- network ----

func (s *sim) delay() int64 {
	d := 1 + s.rnd.Int63n(s.maxDelay)
	if s.rnd.Float64() < 0.03 {
		d *= 10 // a straggler, which reorders
	}
	return d
}

func (s *sim) send(m core.Message) {
	s.msgs++
	if m.Type == core.MsgSnapshot {
		s.stats.SnapshotsSent++
	}
	from, to := s.index(m.From), s.index(m.To)
	if s.cut[[2]int{from, to}] || s.rnd.Float64() < max(s.drop, s.lossy[[2]int{from, to}]) {
		return
	}
	if s.ctrlOnly[[2]int{from, to}] && (m.Type == core.MsgPrepare || m.Type == core.MsgAccept) {
		return
	}
	extra := s.slow[[2]int{from, to}]
	s.push(&event{at: s.now + s.delay() + extra, kind: evMsg, node: to, msg: m})
	if s.rnd.Float64() < s.dup {
		s.push(&event{at: s.now + s.delay() + extra, kind: evMsg, node: to, msg: m})
	}
}

// Client links are slow but not cut by partitions (faults act on peer addresses only, as in the harness);
// a crashed node loses requests, which the client times out.
func (s *sim) respond(n *simNode, req *request, r *response) {
	r.seq, r.attempt = req.seq, req.attempt
	s.push(&event{at: s.now + 1 + s.rnd.Int63n(30), kind: evResp, cl: req.client, resp: r})
}

// ---- node driver: client requests ----

func (s *sim) onRequest(n *simNode, req *request) {
	if !n.up {
		return
	}
	if n.paused {
		n.held = append(n.held, &event{kind: evReq, req: req})
		return
	}
	n.d.Handle(&driver.Request{Op: req.op, ID: req.id, HasID: true, Deadline: time.Duration(s.now + opTimeout),
		Reply: func(r driver.Reply) {
			switch r.Kind {
			case driver.Done:
				s.respond(n, req, &response{res: r.Res})
			case driver.Unknown:
				s.respond(n, req, &response{unknown: true})
			default: // NotLeader, Failed: nothing was applied, nor will be
				hint := 0
				if l := r.Leader; l != "" && l != n.id {
					hint = s.index(l) + 1
				}
				s.respond(n, req, &response{definite: true, hint: hint})
			}
		}})
	s.flush(n)
}

// ---- clients ----

const (
	attemptTimeout = 15 * tickUnits
	opTimeout      = 50 * tickUnits
)

func (s *sim) startOp(c *simClient) {
	if s.now >= s.end {
		return
	}
	key := fmt.Sprintf("k%d", s.rnd.Intn(s.o.Keys))
	op := &Op{Client: c.idx, Key: key, Call: s.now}
	var kop kv.Op
	switch x := s.rnd.Intn(10); {
	case x < 4 || c.reader:
		op.Kind = OpRead
		kop = kv.Op{F: kv.FRead, Key: key}
	case x < 8:
		s.nextVal++
		op.Kind, op.Value = OpWrite, s.nextVal
		kop = kv.Op{F: kv.FWrite, Key: key, Value: op.Value}
	default:
		s.nextVal++
		from := c.lastSeen[key]
		if s.rnd.Intn(3) == 0 {
			from = s.rnd.Int63n(s.nextVal)
		}
		op.Kind, op.From, op.To = OpCas, from, s.nextVal
		kop = kv.Op{F: kv.FCas, Key: key, From: from, To: op.To}
	}
	c.seq++
	c.op = op
	c.req = &request{client: c.idx, seq: c.seq, id: core.CommandID{Client: c.name, Seq: c.seq}, op: kop}
	c.attempt = 0
	c.ambiguous = false
	c.deadline = s.now + opTimeout
	s.attempt(c)
}

func (s *sim) attempt(c *simClient) {
	c.attempt++
	r := *c.req
	r.attempt = c.attempt
	s.push(&event{at: s.now + 1 + s.rnd.Int63n(30), kind: evReq, node: c.target, req: &r})
	s.push(&event{at: s.now + attemptTimeout, kind: evAttemptTimeout, cl: c.idx, req: &r})
}

func (s *sim) onAttemptTimeout(c *simClient, r *request) {
	if c.op == nil || r.seq != c.req.seq || r.attempt != c.attempt {
		return
	}
	c.ambiguous = true
	if s.now >= c.deadline {
		s.finishUnknown(c)
		return
	}
	// Try another node, with the same command ID: the store applies it at most once.
	if !c.sticky {
		c.target = (c.target + 1 + s.rnd.Intn(len(s.nodes)-1)) % len(s.nodes)
	}
	s.attempt(c)
}

func (s *sim) onResponse(c *simClient, r *response) {
	if c.op == nil || r.seq != c.req.seq || (r.definite && r.attempt != c.attempt) {
		return // a late answer to an attempt the client gave up on; a late real result still counts
	}
	op := c.op
	switch {
	case r.definite:
		if s.now >= c.deadline {
			if op.Kind == OpRead || !c.ambiguous {
				s.finishFailed(c)
			} else {
				// An earlier attempt may still be chosen.
				s.finishUnknown(c)
			}
			return
		}
		if r.hint > 0 {
			c.target = r.hint - 1
		} else {
			c.target = s.rnd.Intn(len(s.nodes))
		}
		// Back off a little and retry with the same ID.
		c.attempt++
		rr := *c.req
		rr.attempt = c.attempt
		at := s.now + 1 + s.rnd.Int63n(2*tickUnits)
		s.push(&event{at: at, kind: evReq, node: c.target, req: &rr})
		s.push(&event{at: at + attemptTimeout, kind: evAttemptTimeout, cl: c.idx, req: &rr})
		return
	case r.unknown:
		s.finishUnknown(c)
		return
	}
	op.Return = s.now
	switch op.Kind {
	case OpRead:
		op.Found = r.res.Found
		if r.res.Value != nil {
			op.Got = *r.res.Value
			c.lastSeen[op.Key] = op.Got
		}
	case OpWrite:
		op.OK = true
		c.lastSeen[op.Key] = op.Value
	case OpCas:
		op.OK = !r.res.Mismatch
		if op.OK {
			c.lastSeen[op.Key] = op.To
		} else if r.res.Value != nil {
			op.Found, op.Got = true, *r.res.Value
			c.lastSeen[op.Key] = op.Got
		}
	}
	s.hist = append(s.hist, *op)
	s.next(c)
}

func (s *sim) finishUnknown(c *simClient) {
	op := c.op
	if op.Kind != OpRead {
		// A write or cas that may have happened stays in the history, open until the end of time.
		op.Unknown = true
		op.Return = math.MaxInt64
		s.hist = append(s.hist, *op)
	}
	s.next(c)
}

func (s *sim) finishFailed(c *simClient) { s.next(c) }

func (s *sim) next(c *simClient) {
	c.op, c.req = nil, nil
	s.push(&event{at: s.now + s.rnd.Int63n(2*tickUnits), kind: evClientStart, cl: c.idx})
}

// ---- nemesis ----

// fault is one kind of nemesis action.
type fault uint8

const (
	faultHeal        fault = iota // remove every cut
	faultIsolate                  // cut one node from all the others, both ways
	faultSplit                    // two random sides that cannot talk
	faultCrash                    // crash a node, or restart it if it is down
	faultRestartAll               // restart every node that is down
	faultWallJump                 // jump a wall clock
	faultRate                     // change a clock's rate
	faultOneWay                   // cut a node's links in one direction only
	faultRing                     // majorities ring: each node sees a majority, no two the same
	faultBridge                   // two halves that cannot talk, joined by one node that talks to both
	faultPause                    // pause a node (SIGSTOP) for a while
	faultLossy                    // some links, in one direction, lose most of their messages
	faultCrashPoint               // crash a node right after it sends a message of some type
	faultDiskCrash                // crash a node in the middle of an fsync, or between persisting and sending
	faultSlow                     // some links, in one direction, delay every message by many ticks
	faultStaleLeader              // cut the leader off until others elect a new one, then let it back in, maybe to a few
	faultStaleBridge              // the leader hears only one node, which hears the new leader, for many election timeouts
	numFaults
)

// faultWeights: how often a nemesis step picks each kind, among the kinds the seed enabled.
var faultWeights = [numFaults]int{faultHeal: 2, faultIsolate: 2, faultSplit: 1, faultCrash: 2, faultRestartAll: 1,
	faultWallJump: 1, faultRate: 2, faultOneWay: 1, faultRing: 1, faultBridge: 1, faultPause: 1, faultLossy: 1, faultCrashPoint: 1,
	faultDiskCrash: 1, faultSlow: 1, faultStaleLeader: 2, faultStaleBridge: 2}

// pickFaults draws the seed's fault profile: each kind but heal is on with probability 1/2 (all of them if the
// draw leaves none), so that one run concentrates on a few kinds and their interactions while the seeds together
// cover every combination. It returns the kinds weighted, for a uniform pick.
func pickFaults(rnd *rand.Rand) []fault {
	var on []fault
	for f := faultHeal + 1; f < numFaults; f++ {
		if rnd.Intn(2) == 0 {
			on = append(on, f)
		}
	}
	if len(on) == 0 {
		for f := faultHeal + 1; f < numFaults; f++ {
			on = append(on, f)
		}
	}
	var out []fault
	for _, f := range append([]fault{faultHeal}, on...) {
		for range faultWeights[f] {
			out = append(out, f)
		}
	}
	return out
}

func (s *sim) scheduleNemesis() {
	s.push(&event{at: s.now + int64(5+s.rnd.Intn(25))*tickUnits, kind: evNemesis})
}

func (s *sim) leaderIdx() int {
	for _, n := range s.nodes {
		if n.up && n.d.Core().Status().Leader == n.id {
			return n.idx
		}
	}
	return -1
}

func (s *sim) nemesis() {
	soon := false
	defer func() {
		if s.holdUntil > s.now {
			s.push(&event{at: s.holdUntil, kind: evNemesis})
			return
		}
		if soon {
			// A clock fault is followed closely by the next fault, so that a clock jump and a partition can
			// overlap (what the wallclock-lease flaw needs to show).
			s.push(&event{at: s.now + int64(1+s.rnd.Intn(4))*tickUnits, kind: evNemesis})
			return
		}
		s.scheduleNemesis()
	}()
	if s.now > s.end {
		// Heal everything so the run can finish cleanly.
		s.cut = map[[2]int]bool{}
		s.lossy = nil
		s.slow = nil
		s.ctrlOnly = nil
		for _, n := range s.nodes {
			if !n.up {
				s.start(n, false)
			} else if n.paused {
				s.resume(n)
			}
		}
		return
	}
	if j := s.jumped; j > 0 {
		// Half the time a clock jump is followed by cutting that node off, as the harness's clock nemesis does
		// with a leader: the jump then decides what the node does alone (a lease it may or may not trust).
		s.jumped = 0
		if s.rnd.Intn(2) == 0 {
			s.isolate(s.nodes[j-1])
			return
		}
	}
	if j := s.slowed; j > 0 {
		// Half the time a new clock rate (in index and log modes) is followed by cutting that node off for 20 to 80
		// ticks, no other fault meanwhile: a leader whose ticks crawl keeps leading alone, and sends its next
		// heartbeat round long after the others elected a new leader and took writes.
		s.slowed = 0
		if s.rnd.Intn(2) == 0 {
			s.isolate(s.nodes[j-1])
			s.holdUntil = s.now + int64(20+s.rnd.Intn(61))*tickUnits
			return
		}
	}
	target := s.rnd.Intn(len(s.nodes))
	if l := s.leaderIdx(); l >= 0 && s.rnd.Intn(2) == 0 {
		target = l
	}
	t := s.nodes[target]
	switch s.faults[s.rnd.Intn(len(s.faults))] {
	case faultHeal:
		s.cut = map[[2]int]bool{}
		s.lossy = nil
		s.slow = nil
		s.ctrlOnly = nil
		s.logf("heal")
	case faultLossy:
		s.lossy = map[[2]int]float64{}
		var desc []string
		for i := range s.nodes {
			for j := range s.nodes {
				if i != j && s.rnd.Intn(3) == 0 {
					p := []float64{0.3, 0.6, 0.9}[s.rnd.Intn(3)]
					s.lossy[[2]int{i, j}] = p
					desc = append(desc, fmt.Sprintf("%s->%s %.0f%%", s.ids[i], s.ids[j], 100*p))
				}
			}
		}
		s.logf("lossy links: %s", strings.Join(desc, ", "))
	case faultIsolate:
		s.isolate(t)
	case faultSplit:
		// Split the cluster in two at random.
		s.cut = map[[2]int]bool{}
		side := make([]bool, len(s.nodes))
		for i := range side {
			side[i] = s.rnd.Intn(2) == 0
		}
		for i := range s.nodes {
			for j := range s.nodes {
				if side[i] != side[j] {
					s.cut[[2]int{i, j}] = true
				}
			}
		}
		s.logf("split %v", side)
	case faultCrash:
		if t.up {
			s.crash(t, "")
		} else {
			s.start(t, false)
			s.logf("restart %s", t.id)
		}
	case faultCrashPoint:
		// Arm a crash at a protocol step: the node crashes right after it sends its next message of this type
		// (its records fsynced, the message on the wire), and restarts a little later.
		if t.up && t.crashAfter == 0 {
			t.crashAfter = []core.MsgType{core.MsgPromise, core.MsgAccepted, core.MsgAccept, core.MsgCommit, core.MsgHeartbeatResp}[s.rnd.Intn(5)]
			s.logf("%s will crash after its next message of type %d", t.id, t.crashAfter)
		}
	case faultDiskCrash:
		// Arm a crash inside the handling of the node's next Ready that has records: in the middle of its fsync
		// (the disk then keeps, drawn from the seed, none, some or all of the write, maybe torn), or after the
		// fsync and before any of the Ready's messages leaves.
		if t.up && !t.crashInSync && t.crashPoint == 0 {
			if s.rnd.Intn(2) == 0 {
				t.crashInSync = true
				s.logf("%s will crash in its next fsync", t.id)
			} else {
				t.crashPoint = driver.CrashAfterSync
				s.logf("%s will crash between persisting and sending its next Ready", t.id)
			}
		}
	case faultRestartAll:
		for _, n := range s.nodes {
			if !n.up {
				s.start(n, false)
				s.logf("restart %s", n.id)
			}
		}
	case faultStaleLeader:
		// A stale leader: cut the leader off both ways, long enough for the others to elect a new leader but not
		// so long that it steps down for want of a majority (2*ElectionTicks), then let it back in, to everyone or
		// only to one node (asymmetric: it talks to that node alone, which also talks to the new world). Meanwhile
		// another node either crashes right after its next promise (to the new leader) and comes back, or (with
		// 5 nodes) is cut off too, so that it stays out of the new leader's phase 1 and later catches up without
		// raising its promise.
		l := s.leaderIdx()
		if l < 0 {
			l = target
		}
		lt := s.nodes[l]
		a := s.nodes[(l+1+s.rnd.Intn(len(s.nodes)-1))%len(s.nodes)]
		cutAt := s.now
		if s.rnd.Intn(3) == 0 {
			// Asymmetric: what the leader hears comes 2 to 30 ticks late, and a few ticks later what it sends is
			// lost, so it learns of the acknowledgements of its last rounds, and of the new leader, long after
			// the fact.
			s.cut = map[[2]int]bool{}
			s.slow = map[[2]int]int64{}
			late := int64(2+s.rnd.Intn(29)) * tickUnits
			for _, o := range s.nodes {
				if o != lt {
					s.slow[[2]int{o.idx, lt.idx}] = late
				}
			}
			cutAt = s.now + int64(1+s.rnd.Intn(5))*tickUnits
			s.push(&event{at: cutAt, kind: evStaleCut, node: lt.idx})
			s.logf("stale leader: %s hears everyone %d ticks late; its messages will be lost from t=%d", lt.id, late/tickUnits, cutAt/tickUnits)
		} else {
			s.isolate(lt)
			if len(s.nodes) >= 5 && s.rnd.Intn(2) == 0 {
				for _, o := range s.nodes {
					if o != a {
						s.cut[[2]int{a.idx, o.idx}] = true
						s.cut[[2]int{o.idx, a.idx}] = true
					}
				}
				s.logf("stale leader: %s and %s cut off", lt.id, a.id)
			} else if a.up && a.crashAfter == 0 {
				a.crashAfter = core.MsgPromise
				s.logf("stale leader: %s cut off; %s will crash after its next promise", lt.id, a.id)
			}
		}
		heal := cutAt + int64(12+s.rnd.Intn(8))*tickUnits
		s.push(&event{at: heal, kind: evStaleHeal, node: lt.idx, cl: a.idx})
		// No other fault until the scenario has played out: a heal or a new cut now would end it early.
		s.holdUntil = heal + int64(5+s.rnd.Intn(10))*tickUnits
	case faultSlow:
		// Some links, in one direction, get slow: every message on them takes 5 to 30 ticks longer (a latency
		// spike, as netem would add). Acknowledgements that come back late are what a lease timed from their
		// arrival gets wrong.
		// Half the time every link into one node (the leader, more often than not) is slow: it hears its peers
		// late, acknowledgements and news of a new leader alike.
		s.slow = map[[2]int]int64{}
		var desc []string
		into := -1
		if s.rnd.Intn(2) == 0 {
			into = target
		}
		for i := range s.nodes {
			for j := range s.nodes {
				if i != j && ((into < 0 && s.rnd.Intn(3) == 0) || j == into) {
					d := int64(5+s.rnd.Intn(26)) * tickUnits
					s.slow[[2]int{i, j}] = d
					desc = append(desc, fmt.Sprintf("%s->%s +%d", s.ids[i], s.ids[j], d/tickUnits))
				}
			}
		}
		s.logf("slow links (ticks): %s", strings.Join(desc, ", "))
	case faultWallJump:
		// Jump the wall clock, backwards more often than not: by tens of ticks, or, as the harness's clock nemesis
		// does, by seconds (1 to 5 s; a tick is 1 ms). Only the wallclock-lease flaw reads the wall clock.
		j := int64(20+s.rnd.Intn(80)) * tickNanos
		if s.rnd.Intn(2) == 0 {
			j = int64(1000+s.rnd.Intn(4000)) * tickNanos
		}
		if s.rnd.Intn(4) > 0 {
			j = -j
		}
		t.wallOffset += j
		soon = true
		s.jumped = t.idx + 1
		s.logf("wall clock of %s jumps %d ticks", t.id, j/tickNanos)
	case faultRate:
		// Change a clock's rate: within the skew the lease's drift margin covers, or, where the store's safety
		// does not rest on clocks, from half to twice the real rate, or slower still (crawl). The wall clock stays
		// continuous.
		rate := 1 + s.skew*(2*s.rnd.Float64()-1)
		if s.strongClocks {
			rate = math.Pow(2, 2*s.rnd.Float64()-1)
			if s.rnd.Intn(2) == 0 {
				// Beyond the harness's clock nemesis, as /admin/clock allows: a leader whose ticks crawl heartbeats
				// rarely (a read confirmed by an old round shows) and takes long to notice that it lost its majority
				// (a stale leader lives long).
				rate = crawl(s.rnd)
			}
			// The next step may cut the node off, for long: a slowed leader alone.
			soon = true
			s.slowed = t.idx + 1
		}
		s.setRate(t, rate)
	case faultStaleBridge:
		l := s.leaderIdx()
		if l < 0 {
			l = target
		}
		s.staleBridge(s.nodes[l])
	case faultOneWay:
		s.oneWay(t)
	case faultRing:
		s.majoritiesRing()
	case faultBridge:
		s.bridge()
	case faultPause:
		// Pause a node (SIGSTOP) for 3 to 60 ticks: it keeps its state and its clock runs on, but it handles
		// nothing; what reaches it waits until it resumes.
		if t.up && !t.paused {
			t.paused = true
			d := int64(3+s.rnd.Intn(58)) * tickUnits
			s.push(&event{at: s.now + d, kind: evResume, node: t.idx, gen: t.gen})
			s.logf("pause %s for %d ticks", t.id, d/tickUnits)
		}
	}
}

// crawl draws the rate of a clock slowed beyond the harness's clock nemesis: from 0.05 to 0.5 times the real rate,
// log-uniformly (as often below 0.16 as above). A node slowed tenfold is its peers sped up tenfold, at a tenth of
// the events.
func crawl(rnd *rand.Rand) float64 { return 0.5 * math.Pow(10, -rnd.Float64()) }

// setRate makes n's clock run at rate from now on; its wall clock stays continuous.
func (s *sim) setRate(n *simNode, rate float64) {
	n.wallOffset += int64(float64(s.now)*n.rate)*tickNanos/tickUnits - int64(float64(s.now)*rate)*tickNanos/tickUnits
	n.rate = rate
	s.logf("clock of %s runs at %.3f", n.id, n.rate)
}

// staleBridge cuts the leader l off from every node but b, both ways, for many election timeouts. The others
// elect a new leader (b refuses them its promise while it hears l), which chooses and compacts slots; b hears it
// too. Most of the time the links into b carry only heartbeats, commits, catch-up and snapshots (ctrlOnly): b
// catches up, by snapshot, past everything l knows without raising its promise, and keeps acknowledging l's
// heartbeats, each acknowledgement carrying b's commit index. Where the store's safety does not rest on clocks,
// l's clock may also crawl, so that it notices late (2*ElectionTicks of its own ticks) that it has no majority.
// This is the issue-10 path to a stale leader that installs a snapshot past its next slot.
func (s *sim) staleBridge(l *simNode) {
	b := s.nodes[(l.idx+1+s.rnd.Intn(len(s.nodes)-1))%len(s.nodes)]
	s.cut, s.lossy, s.slow, s.ctrlOnly = map[[2]int]bool{}, nil, nil, map[[2]int]bool{}
	ctrl := s.rnd.Intn(4) > 0
	for _, o := range s.nodes {
		if o == l || o == b {
			continue
		}
		s.cut[[2]int{l.idx, o.idx}], s.cut[[2]int{o.idx, l.idx}] = true, true
		if ctrl {
			s.ctrlOnly[[2]int{o.idx, b.idx}] = true
		}
	}
	what := ""
	if ctrl {
		what = "; links into it carry no prepare or accept"
	}
	s.logf("stale bridge: %s hears only %s%s", l.id, b.id, what)
	if s.strongClocks && s.rnd.Intn(2) == 0 {
		s.setRate(l, crawl(s.rnd))
	}
	end := s.now + int64(40+s.rnd.Intn(160))*tickUnits
	s.push(&event{at: end, kind: evBridgeEnd})
	s.holdUntil = end + int64(1+s.rnd.Intn(5))*tickUnits
}

// staleHeal lets the stale leader l back in: to everyone, or to a alone (asymmetric), a then talking to all.
func (s *sim) staleHeal(l, a *simNode) {
	if s.now > s.end {
		return
	}
	s.cut = map[[2]int]bool{}
	if s.rnd.Intn(2) == 0 {
		s.logf("stale leader %s back, to everyone", l.id)
		return
	}
	for _, o := range s.nodes {
		if o != l && o != a {
			s.cut[[2]int{l.idx, o.idx}] = true
			s.cut[[2]int{o.idx, l.idx}] = true
		}
	}
	s.logf("stale leader %s back, talking to %s only", l.id, a.id)
}

// isolate cuts t off from its peers, both ways (and heals every other cut).
func (s *sim) isolate(t *simNode) {
	s.cut = map[[2]int]bool{}
	for _, o := range s.nodes {
		if o != t {
			s.cut[[2]int{t.idx, o.idx}] = true
			s.cut[[2]int{o.idx, t.idx}] = true
		}
	}
	s.logf("isolate %s", t.id)
}

// oneWay cuts the links of t in one direction only, to every peer or to a random half of them: t hears them but
// is not heard, or is heard but hears nothing. Other cuts stay.
func (s *sim) oneWay(t *simNode) {
	out := s.rnd.Intn(2) == 0
	all := s.rnd.Intn(2) == 0
	var to []core.NodeID
	for _, o := range s.nodes {
		if o == t || (!all && s.rnd.Intn(2) == 0) {
			continue
		}
		to = append(to, o.id)
		if out {
			s.cut[[2]int{t.idx, o.idx}] = true
		} else {
			s.cut[[2]int{o.idx, t.idx}] = true
		}
	}
	if out {
		s.logf("one-way: %s's messages to %v are lost", t.id, to)
	} else {
		s.logf("one-way: messages from %v to %s are lost", to, t.id)
	}
}

// majoritiesRing (Jepsen's partition-majorities-ring) puts the nodes on a ring in random order and lets each talk
// only to its neighbours within ring distance (n-1)/4 rounded up: with 5 nodes each one sees a majority (itself and
// both neighbours), and no two see the same one. With 3 nodes it is every link but one, cut both ways.
func (s *sim) majoritiesRing() {
	n := len(s.nodes)
	ring := s.rnd.Perm(n)
	pos := make([]int, n)
	for i, x := range ring {
		pos[x] = i
	}
	reach := max(1, (n-1+3)/4)
	s.cut = map[[2]int]bool{}
	for i := range n {
		for j := range n {
			d := (pos[i] - pos[j] + n) % n
			d = min(d, n-d)
			if d > reach {
				s.cut[[2]int{i, j}] = true
			}
		}
	}
	if n == 3 {
		a, b := ring[0], ring[1]
		s.cut[[2]int{a, b}], s.cut[[2]int{b, a}] = true, true
	}
	ids := make([]core.NodeID, n)
	for i, x := range ring {
		ids[i] = s.ids[x]
	}
	s.logf("majorities ring %v", ids)
}

// bridge (Jepsen's partition-bridge) splits the nodes into two halves that cannot talk, and one node, the
// bridge, that talks to both.
func (s *sim) bridge() {
	n := len(s.nodes)
	perm := s.rnd.Perm(n)
	b := perm[0]
	half := (n - 1) / 2
	side := make([]int, n) // 0: bridge, 1 or 2: a half
	for i, x := range perm[1:] {
		side[x] = 1
		if i >= half {
			side[x] = 2
		}
	}
	s.cut = map[[2]int]bool{}
	for i := range n {
		for j := range n {
			if side[i] != 0 && side[j] != 0 && side[i] != side[j] {
				s.cut[[2]int{i, j}] = true
			}
		}
	}
	s.logf("bridge %s between %v", s.ids[b], side)
}

func (s *sim) result() Result {
	compactions := s.stats.Compactions // of incarnations that crashed; the live ones' counts are added here
	for _, n := range s.nodes {
		if n.d != nil {
			compactions += n.d.Stats().Compactions
		}
	}
	r := Result{History: s.hist, Violation: s.viol, Log: s.log, Nodes: len(s.nodes), Slots: len(s.chosen), Messages: s.msgs, ReadMode: s.mode,
		Elections: s.stats.Elections, Crashes: s.stats.Crashes, SnapshotsSent: s.stats.SnapshotsSent, Compactions: compactions}
	for _, o := range s.hist {
		if o.Unknown {
			r.Unknown++
		} else {
			r.OK++
		}
	}
	return r
}
