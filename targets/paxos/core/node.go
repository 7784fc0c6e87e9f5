package core

import (
	"errors"
	"fmt"
	"slices"
)

// Defaults used when a Config leaves the field zero.
const (
	// DefaultMaxBatch is the MaxBatch used when Config.MaxBatch is 0.
	DefaultMaxBatch = 64
	// DefaultMaxInflight is the MaxInflight used when Config.MaxInflight is 0.
	DefaultMaxInflight = 128
	// catchupChunk bounds the chosen slots one MsgCatchupResp carries.
	catchupChunk = 256
)

// role is what a node's proposer is doing.
type role uint8

const (
	follower role = iota
	candidate
	leader
)

func (r role) String() string {
	return [...]string{"follower", "candidate", "leader"}[r]
}

// accepted is an acceptor's vote: the value it accepted for a slot, and the ballot it accepted it at.
type accepted struct {
	ballot Ballot
	value  Value
}

// proposal is a slot the leader has in phase 2.
type proposal struct {
	value Value
	acks  map[NodeID]bool
}

// hbRound is one round of leader heartbeats, used to confirm leadership for reads and to time the lease.
type hbRound struct {
	sentTick int64
	sentWall int64
	acks     map[NodeID]bool
}

// pendingRead is a ReadIndex request waiting for a heartbeat round sent after it to reach a majority.
type pendingRead struct {
	ctx   uint64
	index uint64
	round uint64
}

// Node is one Multi-Paxos replica: proposer, acceptor and learner at once. It is a pure state machine; see the
// package comment for how a driver runs it. A Node is not safe for concurrent use.
type Node struct {
	cfg    Config
	quorum int
	peers  []NodeID // every node but this one, sorted

	// Clock. now counts Tick calls; wall is the last wall-clock reading Tick was given.
	now  int64
	wall int64

	// Acceptor state.
	//
	// Durability: promised is persisted as RecPromise (or implied by a RecAccept at the same ballot) in the
	// Ready whose Messages carry the Promise or Accepted that depends on it; the driver fsyncs the records
	// BEFORE sending, so no peer ever hears of a promise a crash can forget (Paxos assumes acceptors remember).
	promised Ballot
	// accepts is persisted as RecAccept under the same rule, before the Accepted message leaves.
	accepts map[uint64]accepted

	// Learner state. chosen holds chosen slots above snap.Slot; each is persisted as RecChosen before the
	// driver applies it (same Ready, records first), and snap as RecSnapshot.
	chosen  map[uint64]Value
	snap    *Snapshot
	commit  uint64 // every slot <= commit is chosen (in chosen or in snap)
	applied uint64 // every slot <= applied was handed out in Ready (Committed or Snapshot)

	// Proposer state.
	role      role
	ballot    Ballot // this node's ballot while candidate or leader
	maxBallot Ballot // highest ballot seen anywhere
	leader    NodeID
	leaderBal Ballot // ballot of the node believed to lead

	// Candidate: promises gathered for ballot, and what they reported.
	promises  map[NodeID]bool
	p1Start   uint64
	p1Commits map[NodeID]uint64
	p1Acc     map[uint64]accepted
	p1Chosen  map[uint64]Value

	// Leader: next free slot and slots in phase 2.
	nextSlot    uint64
	recoveredHi uint64 // last slot phase 1 recovered; reads wait for it (see readIndex)
	inflight    map[uint64]*proposal

	// Heartbeats, leases and reads.
	hbElapsed      int
	electElapsed   int
	electTimeout   int
	heardTick      int64 // tick this node last heard from a leader (or booted): promises refused for ElectionTicks after
	hbSeq          uint64
	rounds         map[uint64]*hbRound
	quorumTick     int64 // sentTick of the newest heartbeat round a majority acknowledged
	leaseUntil     int64 // tick before which the lease holds
	leaseUntilWall int64 // FLAW(wallclock-lease): wall-clock instant before which the lease holds
	reads          []pendingRead
	knownCommit    uint64 // highest commit index a peer reported
	knownFrom      NodeID // the peer that reported it

	// Pending output, taken by Ready.
	msgs       []Message
	records    []Record
	readStates []ReadState
	snapOut    *Snapshot
	lastSoft   SoftState
	// handed is what the last Ready handed out, which Advance takes out of the node.
	handed handedOut

	// Flaw accounting (Status.FlawActs, Status.LastFlawAct).
	flawActs    uint64
	lastFlawAct string
}

// New returns a Node for cfg, restored from recovered: the records a driver persisted (from Ready.Records and
// Compact, or from PersistentState), in the order they were written. New validates cfg; an error names the bad
// field. After a restart the first Ready hands the driver the snapshot (if any) and every chosen slot after it,
// so the driver rebuilds its state machine from Ready alone.
func New(cfg Config, recovered []Record) (*Node, error) {
	if err := validate(&cfg); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      cfg,
		quorum:   len(cfg.Peers)/2 + 1,
		accepts:  map[uint64]accepted{},
		chosen:   map[uint64]Value{},
		inflight: map[uint64]*proposal{},
		rounds:   map[uint64]*hbRound{},
	}
	for _, p := range cfg.Peers {
		if p != cfg.ID {
			n.peers = append(n.peers, p)
		}
	}
	slices.Sort(n.peers)
	for i, r := range recovered {
		if err := n.replay(r); err != nil {
			return nil, fmt.Errorf("core: recovered record %d: %w", i, err)
		}
	}
	n.advanceCommit()
	if n.snap != nil {
		// The driver's state machine starts empty: the first Ready installs the snapshot, then the slots after it.
		s := *n.snap
		n.snapOut = &s
	}
	n.maxBallot = n.promised
	// A node that boots may have acknowledged a leader's heartbeat just before it crashed, so it treats the boot
	// as hearing from a leader: no promise to anyone for ElectionTicks. This keeps leases safe across restarts.
	n.heardTick = 0
	n.resetElectionTimer()
	n.lastSoft = SoftState{}
	return n, nil
}

func validate(cfg *Config) error {
	if cfg.ID == "" {
		return errors.New("core: config ID is empty")
	}
	if len(cfg.Peers) == 0 {
		return errors.New("core: config Peers is empty")
	}
	seen := map[NodeID]bool{}
	for _, p := range cfg.Peers {
		if p == "" {
			return errors.New("core: config Peers holds an empty ID")
		}
		if seen[p] {
			return fmt.Errorf("core: config Peers lists %q twice", p)
		}
		seen[p] = true
	}
	if !seen[cfg.ID] {
		return fmt.Errorf("core: config Peers does not include ID %q", cfg.ID)
	}
	if cfg.HeartbeatTicks < 1 {
		return fmt.Errorf("core: config HeartbeatTicks is %d, want >= 1", cfg.HeartbeatTicks)
	}
	if cfg.ElectionTicks <= cfg.HeartbeatTicks {
		return fmt.Errorf("core: config ElectionTicks is %d, want > HeartbeatTicks (%d)", cfg.ElectionTicks, cfg.HeartbeatTicks)
	}
	if cfg.Rand == nil {
		return errors.New("core: config Rand is nil")
	}
	switch cfg.ReadMode {
	case "":
		cfg.ReadMode = ReadIndex
	case ReadIndex, ReadLog:
	case ReadLease:
		// Why: followers refuse promises for ElectionTicks after hearing from the leader; a lease that outlasts
		// that refusal could overlap a new leader's writes.
		if cfg.LeaseTicks < 1 || cfg.LeaseTicks >= cfg.ElectionTicks {
			return fmt.Errorf("core: config LeaseTicks is %d, want 1..ElectionTicks-1 (%d)", cfg.LeaseTicks, cfg.ElectionTicks-1)
		}
	default:
		return fmt.Errorf("core: config ReadMode %q unknown (want index, log or lease)", cfg.ReadMode)
	}
	if cfg.DriftMargin < 0 || cfg.DriftMargin >= 1 {
		return fmt.Errorf("core: config DriftMargin is %v, want 0 <= DriftMargin < 1", cfg.DriftMargin)
	}
	if cfg.MaxBatch < 0 {
		return fmt.Errorf("core: config MaxBatch is %d, want >= 0", cfg.MaxBatch)
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxInflight < 0 {
		return fmt.Errorf("core: config MaxInflight is %d, want >= 0", cfg.MaxInflight)
	}
	if cfg.MaxInflight == 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.Flaw == "" {
		cfg.Flaw = FlawNone
	}
	if _, err := ParseFlaw(string(cfg.Flaw)); err != nil {
		return fmt.Errorf("core: config Flaw: %w", err)
	}
	if cfg.Flaw == FlawWallclockLease && cfg.TickNanos <= 0 {
		return fmt.Errorf("core: config TickNanos is %d, want > 0 with flaw %s", cfg.TickNanos, cfg.Flaw)
	}
	return nil
}

func (n *Node) replay(r Record) error {
	switch r.Kind {
	case RecPromise:
		if n.promised.Less(r.Ballot) {
			n.promised = r.Ballot
		}
	case RecAccept:
		if r.Slot == 0 || r.Value == nil {
			return fmt.Errorf("accept record without slot or value (slot %d)", r.Slot)
		}
		// Accepting at a ballot implies having promised it (Paxos: an acceptor accepts b only if it promised no
		// higher ballot), so the promise is at least the accept's ballot.
		if n.promised.Less(r.Ballot) {
			n.promised = r.Ballot
		}
		if n.snap == nil || r.Slot > n.snap.Slot {
			n.accepts[r.Slot] = accepted{ballot: r.Ballot, value: cloneValue(*r.Value)}
		}
	case RecChosen:
		if r.Slot == 0 || r.Value == nil {
			return fmt.Errorf("chosen record without slot or value (slot %d)", r.Slot)
		}
		if n.snap == nil || r.Slot > n.snap.Slot {
			n.chosen[r.Slot] = cloneValue(*r.Value)
		}
	case RecSnapshot:
		if r.Snapshot == nil {
			return errors.New("snapshot record without snapshot")
		}
		if n.snap == nil || r.Snapshot.Slot > n.snap.Slot {
			s := *r.Snapshot
			n.snap = &s
			n.dropThrough(s.Slot)
			if n.commit < s.Slot {
				n.commit = s.Slot
			}
		}
	default:
		return fmt.Errorf("unknown record kind %d", r.Kind)
	}
	return nil
}

// dropThrough forgets every chosen and accepted slot <= slot; a snapshot covers them.
func (n *Node) dropThrough(slot uint64) {
	for s := range n.chosen {
		if s <= slot {
			delete(n.chosen, s)
		}
	}
	for s := range n.accepts {
		if s <= slot {
			delete(n.accepts, s)
		}
	}
}

func cloneValue(v Value) Value {
	if len(v.Commands) == 0 {
		return Value{}
	}
	return Value{Commands: slices.Clone(v.Commands)}
}

func (n *Node) snapSlot() uint64 {
	if n.snap == nil {
		return 0
	}
	return n.snap.Slot
}

func (n *Node) isPeer(id NodeID) bool {
	return slices.Contains(n.cfg.Peers, id)
}

func (n *Node) send(m Message) {
	m.From = n.cfg.ID
	n.msgs = append(n.msgs, m)
}

func (n *Node) broadcast(m Message) {
	for _, p := range n.peers {
		m.To = p
		n.send(m)
	}
}

func (n *Node) persist(r Record) {
	n.records = append(n.records, r)
}

func (n *Node) resetElectionTimer() {
	n.electElapsed = 0
	// Why: randomised timeouts in [ElectionTicks, 2*ElectionTicks) make two proposers unlikely to start phase 1
	// together and duel forever (FLP: progress needs such partial synchrony, safety does not).
	n.electTimeout = n.cfg.ElectionTicks + n.cfg.Rand.Intn(n.cfg.ElectionTicks)
}

func (n *Node) observe(b Ballot) {
	if n.maxBallot.Less(b) {
		n.maxBallot = b
	}
}

// Tick advances the node's monotonic logical clock by one tick. wallNanos is the node's wall-clock reading; only
// the wallclock-lease flaw uses it. A leader sends heartbeats and resends unacknowledged phase 2 messages every
// HeartbeatTicks; a follower or candidate that hears nothing for its election timeout starts phase 1.
func (n *Node) Tick(wallNanos int64) {
	n.now++
	n.wall = wallNanos
	switch n.role {
	case leader:
		n.hbElapsed++
		// Why: a leader that has not heard from a majority for two election timeouts has probably been replaced;
		// stepping down sends its clients elsewhere instead of letting them wait on proposals that cannot be
		// chosen. This is liveness only: no read or write relies on it for safety (reads rely on a fresh majority
		// or on the lease, writes on phase 2), which is why it may be slower than a new election. A leader whose
		// lease holds keeps leading: the lease says no other leader can exist yet.
		if n.now-n.quorumTick > int64(2*n.cfg.ElectionTicks) && len(n.peers) > 0 && !n.leaseHolds() {
			n.stepDown("")
			return
		}
		if n.hbElapsed >= n.cfg.HeartbeatTicks {
			n.hbElapsed = 0
			n.heartbeat()
			n.resendAccepts()
		}
	case candidate:
		n.hbElapsed++
		n.electElapsed++
		if n.electElapsed >= n.electTimeout {
			n.campaign()
			return
		}
		if n.hbElapsed >= n.cfg.HeartbeatTicks {
			n.hbElapsed = 0
			n.resendPrepare()
		}
	default:
		n.electElapsed++
		if n.electElapsed >= n.electTimeout {
			n.campaign()
		}
	}
}

// Step hands the node a message from a peer. Stale messages (old ballots, answers to requests no longer
// pending) are ignored. A malformed message (unknown type, unknown sender, wrong recipient, missing fields)
// returns an error and changes nothing.
func (n *Node) Step(m Message) error {
	if err := n.checkMsg(m); err != nil {
		return err
	}
	n.observe(m.Ballot)
	switch m.Type {
	case MsgPrepare:
		n.onPrepare(m)
	case MsgPromise:
		n.onPromise(m)
	case MsgAccept:
		n.onAccept(m)
	case MsgAccepted:
		n.onAccepted(m)
	case MsgCommit:
		n.onCommit(m)
	case MsgHeartbeat:
		n.onHeartbeat(m)
	case MsgHeartbeatResp:
		n.onHeartbeatResp(m)
	case MsgCatchupReq:
		n.onCatchupReq(m)
	case MsgCatchupResp:
		n.onCatchupResp(m)
	case MsgSnapshot:
		n.onSnapshot(m)
	case MsgNack:
		n.onNack(m)
	}
	return nil
}

func (n *Node) checkMsg(m Message) error {
	if m.Type < MsgPrepare || m.Type > MsgNack {
		return fmt.Errorf("core: message type %d unknown", m.Type)
	}
	if m.From == n.cfg.ID || !n.isPeer(m.From) {
		return fmt.Errorf("core: message %d from %q, not a peer of %s", m.Type, m.From, n.cfg.ID)
	}
	if m.To != n.cfg.ID {
		return fmt.Errorf("core: message %d for %q delivered to %s", m.Type, m.To, n.cfg.ID)
	}
	switch m.Type {
	case MsgPrepare, MsgPromise, MsgAccept, MsgAccepted, MsgHeartbeat, MsgHeartbeatResp, MsgNack:
		if m.Ballot.IsZero() {
			return fmt.Errorf("core: message %d from %s has no ballot", m.Type, m.From)
		}
	}
	switch m.Type {
	case MsgAccept:
		if m.Slot == 0 || m.Value == nil {
			return fmt.Errorf("core: accept from %s lacks slot or value (slot %d)", m.From, m.Slot)
		}
	case MsgAccepted, MsgPrepare:
		if m.Slot == 0 {
			return fmt.Errorf("core: message %d from %s has slot 0", m.Type, m.From)
		}
	case MsgSnapshot:
		if m.Snapshot == nil {
			return fmt.Errorf("core: snapshot message from %s has no snapshot", m.From)
		}
	case MsgPromise:
		for _, r := range m.Accepted {
			if (r.Kind != RecAccept && r.Kind != RecChosen) || r.Slot == 0 || r.Value == nil {
				return fmt.Errorf("core: promise from %s reports a bad record (kind %d, slot %d)", m.From, r.Kind, r.Slot)
			}
		}
	}
	for _, e := range m.Entries {
		if e.Slot == 0 {
			return fmt.Errorf("core: message %d from %s carries an entry for slot 0", m.Type, m.From)
		}
	}
	return nil
}

// HasReady reports whether Ready would return any work. It changes nothing.
func (n *Node) HasReady() bool {
	return len(n.msgs) > 0 || len(n.records) > 0 || len(n.readStates) > 0 || n.snapOut != nil ||
		n.commit > n.applied || n.softState() != n.lastSoft
}

func (n *Node) softState() SoftState {
	return SoftState{Leader: n.leader, Ballot: n.maxBallot}
}

// handedOut is what one Ready handed out: the first msgs, records and readStates of the pending output, the
// snapshot, the committed slots up to applied, and the soft state.
type handedOut struct {
	msgs, records, readStates int
	snap                      *Snapshot
	applied                   uint64
	soft                      SoftState
}

// Ready returns the work accumulated since the last Advance, without changing the node (as in go.etcd.io/raft):
// calling it twice without Advance returns the same work. The driver must handle it in the order Ready's type
// comment gives (snapshot, records with fsync, messages, committed slots, read states), then call Advance, and
// must not call Tick, Step, Propose, ReadIndex or Compact in between.
func (n *Node) Ready() Ready {
	var rd Ready
	h := handedOut{msgs: len(n.msgs), records: len(n.records), readStates: len(n.readStates), snap: n.snapOut,
		applied: n.applied, soft: n.softState()}
	if h.soft != n.lastSoft {
		ss := h.soft
		rd.SoftState = &ss
	}
	if n.snapOut != nil {
		s := *n.snapOut
		rd.Snapshot = &s
		h.applied = max(h.applied, s.Slot)
	}
	// Full slice expressions: a driver that filters these in place cannot reach output added after this call.
	rd.Records = n.records[:h.records:h.records]
	rd.Messages = n.msgs[:h.msgs:h.msgs]
	rd.ReadStates = n.readStates[:h.readStates:h.readStates]
	for h.applied < n.commit {
		s := h.applied + 1
		v, ok := n.chosen[s]
		if !ok {
			panic(fmt.Sprintf("core: %s: slot %d is below commit %d but not chosen (snapshot %d)", n.cfg.ID, s, n.commit, n.snapSlot()))
		}
		rd.Committed = append(rd.Committed, Entry{Slot: s, Value: cloneValue(v)})
		h.applied = s
	}
	if len(rd.Records) == 0 {
		rd.Records = nil
	}
	if len(rd.Messages) == 0 {
		rd.Messages = nil
	}
	if len(rd.ReadStates) == 0 {
		rd.ReadStates = nil
	}
	n.handed = h
	return rd
}

// Advance tells the node that the driver has handled the last Ready: its records are durable, its messages
// sent, its snapshot installed and its committed slots applied. The node takes that work out: the slots count
// as applied from now on.
func (n *Node) Advance() {
	h := n.handed
	n.handed = handedOut{}
	n.msgs = dropFirst(n.msgs, h.msgs)
	n.records = dropFirst(n.records, h.records)
	n.readStates = dropFirst(n.readStates, h.readStates)
	if h.snap != nil && n.snapOut == h.snap {
		n.snapOut = nil
	}
	n.applied = max(n.applied, h.applied)
	n.lastSoft = h.soft
}

// dropFirst removes the first k elements of xs; nil when none remain, so a burst's backing array can go.
func dropFirst[T any](xs []T, k int) []T {
	if k >= len(xs) {
		return nil
	}
	return xs[k:]
}

// Status returns a point-in-time view of the node.
func (n *Node) Status() Status {
	st := Status{
		ID:       n.cfg.ID,
		Leader:   n.leader,
		Ballot:   n.maxBallot,
		Promised: n.promised,
		Commit:   n.commit,
		Applied:  n.applied,
		Snapshot: n.snapSlot(),

		FlawActs:    n.flawActs,
		LastFlawAct: n.lastFlawAct,
	}
	if n.role == leader && n.leaseHolds() {
		st.LeaseLeft = int(n.leaseUntil - n.now)
		if n.cfg.Flaw == FlawWallclockLease {
			st.LeaseLeft = int((n.leaseUntilWall - n.wall) / n.cfg.TickNanos)
		}
	}
	return st
}

// Role returns "follower", "candidate" or "leader", for logs and tests.
func (n *Node) Role() string { return n.role.String() }

// PersistentState returns the fewest records that restore this node's durable state exactly: the snapshot,
// the promise, the accepted values of unchosen slots and the chosen slots above the snapshot. A driver may
// rewrite its log with them (then fsync, then replace the old log atomically).
func (n *Node) PersistentState() []Record {
	var rs []Record
	if n.snap != nil {
		s := *n.snap
		rs = append(rs, Record{Kind: RecSnapshot, Snapshot: &s})
	}
	if !n.promised.IsZero() {
		rs = append(rs, Record{Kind: RecPromise, Ballot: n.promised})
	}
	for _, s := range sortedKeys(n.accepts) {
		if _, ok := n.chosen[s]; ok {
			continue
		}
		a := n.accepts[s]
		v := cloneValue(a.value)
		rs = append(rs, Record{Kind: RecAccept, Ballot: a.ballot, Slot: s, Value: &v})
	}
	for _, s := range sortedKeys(n.chosen) {
		v := cloneValue(n.chosen[s])
		rs = append(rs, Record{Kind: RecChosen, Slot: s, Value: &v})
	}
	return rs
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
