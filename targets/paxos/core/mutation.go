package core

import "github.com/skeptic-dev/skeptic/targets/paxos/internal/mutation"

// The core's mutations (see targets/paxos/internal/mutation): small deliberate bugs of the correct store that only
// tests switch on. Each marks its code with "MUTATION(name)".
const (
	mutLowestBallot       = mutation.LowestBallot
	mutNoBallotCompare    = mutation.NoBallotCompare
	mutUnpersistedPromise = mutation.UnpersistedPromise
	mutLongLease          = mutation.LongLease
	mutLeaseFromAck       = mutation.LeaseFromAck
	mutStaleRound         = mutation.StaleRound
	mutNoStepDown         = mutation.NoStepDownOnSnapshot
)

// activeMutation returns the mutation switched on.
func activeMutation() mutation.Name { return mutation.Active() }
