package core

import (
	"errors"
	"fmt"
	"math/rand"
)

// This file is the contract between the core and its driver (targets/paxos/node) and simulation. Types here are
// stable: add to them, do not change what exists.

// NodeID names a node: "n1", "n2", ...
type NodeID = string

// Ballot is a proposal number (a seed "ticket"). Ballots are ordered by Round, then by Node, so two proposers
// never share a ballot.
type Ballot struct {
	Round uint64 `json:"r"`
	Node  NodeID `json:"n"`
}

// Less reports whether b orders before o.
func (b Ballot) Less(o Ballot) bool {
	if b.Round != o.Round {
		return b.Round < o.Round
	}
	return b.Node < o.Node
}

// IsZero reports whether b is the zero ballot, which orders before every real one.
func (b Ballot) IsZero() bool { return b.Round == 0 && b.Node == "" }

func (b Ballot) String() string { return fmt.Sprintf("%d.%s", b.Round, b.Node) }

// CommandID identifies a client request, so that a retried request is applied at most once.
type CommandID struct {
	Client string `json:"c"`
	Seq    uint64 `json:"s"`
}

// Command is one client request. Data is opaque to the core (see targets/paxos/kv).
type Command struct {
	ID   CommandID `json:"id"`
	Data []byte    `json:"d"`
}

// Value is what one slot chooses: a batch of commands, applied in order. An empty batch is a no-op, which a new
// leader uses to fill holes in the log.
type Value struct {
	Commands []Command `json:"cmds,omitempty"`
}

// Entry is a chosen slot. Slots are numbered from 1.
type Entry struct {
	Slot  uint64 `json:"slot"`
	Value Value  `json:"v"`
}

// Snapshot is the state machine's state after applying every slot up to and including Slot.
type Snapshot struct {
	Slot uint64 `json:"slot"`
	Data []byte `json:"data"`
}

// RecordKind says what a Record persists.
type RecordKind uint8

// The record kinds.
const (
	// RecPromise: the acceptor promised Ballot; it must reject every lower ballot from now on, across restarts.
	RecPromise RecordKind = iota + 1
	// RecAccept: the acceptor accepted Value for Slot at Ballot.
	RecAccept
	// RecChosen: Slot is chosen with Value.
	RecChosen
	// RecSnapshot: Snapshot replaces every slot up to Snapshot.Slot.
	RecSnapshot
)

// Record is one unit of durable state. A driver appends records to its log in the order Ready gives them and
// fsyncs them BEFORE it sends any message of the same Ready: a promise or an accept that is sent before it is
// durable can be forgotten by a crash, and then two ballots can choose different values for one slot.
type Record struct {
	Kind     RecordKind `json:"k"`
	Ballot   Ballot     `json:"b,omitempty"`
	Slot     uint64     `json:"s,omitempty"`
	Value    *Value     `json:"v,omitempty"`
	Snapshot *Snapshot  `json:"snap,omitempty"`
}

// ReadState answers a ReadIndex request: once the state machine has applied every slot up to Index, a read
// served from it is linearizable.
type ReadState struct {
	Ctx   uint64
	Index uint64
}

// SoftState is volatile state that a driver shows (status, logs) but never persists.
type SoftState struct {
	// Leader is the node this node believes leads, or "".
	Leader NodeID
	// Ballot is the highest ballot this node knows of.
	Ballot Ballot
}

// Ready is the work the core hands to its driver. The driver must, in this order:
//  1. install Snapshot, if any, into its state machine;
//  2. append Records to stable storage and fsync them;
//  3. send Messages;
//  4. apply Committed, in slot order;
//  5. answer ReadStates once applied >= Index;
//  6. call Advance.
type Ready struct {
	SoftState  *SoftState // non-nil when Leader or Ballot changed
	Snapshot   *Snapshot
	Records    []Record
	Messages   []Message
	Committed  []Entry
	ReadStates []ReadState
}

// Status is a point-in-time view of a node, for /admin/status and tests.
type Status struct {
	ID        NodeID
	Leader    NodeID
	Ballot    Ballot // highest ballot known
	Promised  Ballot // acceptor's promise
	Commit    uint64 // highest slot known chosen with all before it
	Applied   uint64 // highest slot handed out in Committed
	Snapshot  uint64 // slot of the latest snapshot
	LeaseLeft int    // ticks left on the leader lease, 0 when none
	// FlawActs counts the times the configured core flaw (Config.Flaw) changed what this node did, since New; it
	// stays 0 with no flaw or a driver-level one. What one act is, per flaw:
	//   - naive-tickets: one slot, at the end of a phase 1 this node won, for which the promises reported a value
	//     (accepted, or chosen) that the new leader did not adopt: it proposed another value or a no-op there, or
	//     left the slot to its clients' commands. A phase 1 that ignored values in three slots counts three.
	//   - early-ack: one slot this leader took as chosen on its own accept while fewer than a majority had
	//     accepted it (never in a one-node cluster, where this node is the majority).
	//   - wallclock-lease: one ReadIndex request answered at once on the wall-clock lease while the correct lease
	//     (ticks of the monotonic clock, minus the drift margin) had run out, so a correct leader would have
	//     confirmed the read with a heartbeat round first. Reads both leases allow do not count, nor do reads the
	//     flawed lease sends to a heartbeat round while the tick lease still holds (the safe direction).
	FlawActs uint64
	// LastFlawAct says what the latest act counted in FlawActs did (slot, ballot, values), for logs; "" before
	// any.
	LastFlawAct string
}

// ReadMode is how a leader makes a read linearizable.
type ReadMode string

// The read modes.
const (
	// ReadIndex confirms leadership with a majority of heartbeats before answering (the default).
	ReadIndex ReadMode = "index"
	// ReadLog puts the read through the log as a command; the driver does this, the core sees a proposal.
	ReadLog ReadMode = "log"
	// ReadLease answers while a leader lease, timed on ticks of the monotonic clock minus a drift margin, holds.
	ReadLease ReadMode = "lease"
)

// Flaw is a deliberate bug, switched on by --flaw. FLAWS.md documents each. The zero value is the correct store.
type Flaw string

// The flaws.
const (
	FlawNone           Flaw = "none"
	FlawNaiveTickets   Flaw = "naive-tickets"   // core: proposer ignores accepted values reported by promises
	FlawStaleReads     Flaw = "stale-reads"     // driver: reads answered from local state
	FlawEarlyAck       Flaw = "early-ack"       // core: leader commits a slot once it has accepted it itself
	FlawForgetPromises Flaw = "forget-promises" // driver: acceptor state only in memory, lost on restart
	FlawWallclockLease Flaw = "wallclock-lease" // core: lease timed on the wall clock, no drift margin
)

// Flaws lists every flaw but none, in documentation order.
var Flaws = []Flaw{FlawNaiveTickets, FlawStaleReads, FlawEarlyAck, FlawForgetPromises, FlawWallclockLease}

// ParseFlaw returns the flaw named s; "" is none.
func ParseFlaw(s string) (Flaw, error) {
	if s == "" || s == string(FlawNone) {
		return FlawNone, nil
	}
	for _, f := range Flaws {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown flaw %q (want none, naive-tickets, stale-reads, early-ack, forget-promises or wallclock-lease)", s)
}

// Config configures a core Node.
type Config struct {
	// ID is this node; Peers lists every node of the cluster, this one included.
	ID    NodeID
	Peers []NodeID
	// HeartbeatTicks is how often a leader sends heartbeats. ElectionTicks is the minimum election timeout; each
	// timeout is drawn from [ElectionTicks, 2*ElectionTicks) with Rand.
	HeartbeatTicks int
	ElectionTicks  int
	// Rand is the node's only source of randomness.
	Rand *rand.Rand
	// ReadMode selects how reads are made linearizable. LeaseTicks is the lease length for ReadLease (it must be
	// below ElectionTicks); DriftMargin is the fraction of the lease given up for clock drift (e.g. 0.1).
	ReadMode    ReadMode
	LeaseTicks  int
	DriftMargin float64
	// MaxBatch bounds the commands per slot; MaxInflight bounds the slots a leader has in phase 2 at once.
	MaxBatch    int
	MaxInflight int
	// Flaw switches on one deliberate bug (core-level flaws only change the core).
	Flaw Flaw
	// TickNanos is the nominal length of one tick in nanoseconds. Only the wallclock-lease flaw uses it, to turn
	// LeaseTicks into wall-clock time; it must then be > 0.
	TickNanos int64
}

// Errors the core returns for expected conditions.
var (
	// ErrNotLeader: this node does not lead; Status().Leader names the node it believes does, if any. Nothing
	// was proposed, so the request can be forwarded or failed definitely.
	ErrNotLeader = errors.New("not the leader")
	// ErrTooMuchInflight: the leader's pipeline is full; nothing was proposed.
	ErrTooMuchInflight = errors.New("too many proposals in flight")
)
