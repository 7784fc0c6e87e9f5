// Package mutation holds the mutation switched on in the Paxos store: a small deliberate bug of the correct store
// that only tests switch on, to measure whether the tests and the simulation would notice it (a mutation score).
// Unlike a core.Flaw, nothing outside the tests reaches a mutation: no flag, no config field, no environment
// variable; and being internal to targets/paxos, no other package can import it. Each mutation marks its code with
// "MUTATION(name)".
package mutation

import "fmt"

// Name names a mutation; "" is none.
type Name string

// The mutations.
const (
	None Name = ""
	// LowestBallot: phase 1 keeps, per slot, the reported value with the LOWEST ballot instead of the highest.
	LowestBallot Name = "lowest-ballot"
	// NoBallotCompare: phase 1 takes the latest reported value of a slot without comparing ballots.
	NoBallotCompare Name = "no-ballot-compare"
	// UnpersistedPromise: an acceptor answers a Prepare without writing its promise to its log, so a restart
	// forgets it.
	UnpersistedPromise Name = "unpersisted-promise"
	// LongLease: the leader's lease lasts a few ticks longer than the followers' promise refusal
	// (ElectionTicks+3 from the heartbeat instead of LeaseTicks minus the drift margin).
	LongLease Name = "long-lease"
	// LeaseFromAck: the lease is timed from when a majority's acknowledgements arrived instead of from when the
	// heartbeat was sent (before the followers started refusing promises).
	LeaseFromAck Name = "lease-from-ack"
	// StaleRound: a read-index read is confirmed by the latest heartbeat round, sent before the read arrived,
	// instead of a fresh one (answered at once if that round already had its majority).
	StaleRound Name = "stale-round"
	// WALNoChecksum: the log takes a frame whose length fits as written, without checking its CRC, so a torn
	// record whose payload was not all written is replayed (wal).
	WALNoChecksum Name = "wal-no-checksum"
	// NoStepDownOnSnapshot reverts the stale-leader fix of issue 10: a leader no longer steps down when a message
	// proves the log went past it (a peer's commit index, a Commit, catch-up entry or snapshot at or past its next
	// slot, another value chosen in a slot it has in flight, a Commit at a higher ballot). A stale leader that
	// then installs a snapshot past its next slot panics on its next proposal ("proposes slot N at or below
	// snapshot M").
	NoStepDownOnSnapshot Name = "no-step-down-on-snapshot"
)

// All lists every mutation, for the tests that score them.
var All = []Name{LowestBallot, NoBallotCompare, UnpersistedPromise, LongLease, LeaseFromAck, StaleRound, WALNoChecksum,
	NoStepDownOnSnapshot}

// active is the mutation switched on; only tests set it, and never while nodes run concurrently.
var active = None

// Active returns the mutation switched on, or None.
func Active() Name { return active }

// Set switches on mutation name ("" for none) and returns a function that switches the previous one on again.
// Tests that use it must not run in parallel. An unknown name is an error, not a silent no-op that would score as
// caught.
func Set(name string) (restore func(), err error) {
	m := Name(name)
	if m != None {
		known := false
		for _, x := range All {
			known = known || x == m
		}
		if !known {
			return nil, fmt.Errorf("unknown mutation %q (known: %v)", name, All)
		}
	}
	prev := active
	active = m
	return func() { active = prev }, nil
}
