package core

// mutation is a small deliberate bug in the correct store that only tests switch on (SetMutation, in
// export_test.go), to measure whether the tests and the simulation would notice it: a mutation score. Unlike a
// Flaw, nothing outside the package's tests reaches it: no flag, no config field, no environment variable.
type mutation string

// The mutations. Each marks its code with "MUTATION(name)".
const (
	mutNone mutation = ""
	// mutLowestBallot: phase 1 keeps, per slot, the reported value with the LOWEST ballot instead of the highest.
	mutLowestBallot mutation = "lowest-ballot"
	// mutNoBallotCompare: phase 1 takes the latest reported value of a slot without comparing ballots.
	mutNoBallotCompare mutation = "no-ballot-compare"
	// mutUnpersistedPromise: an acceptor answers a Prepare without writing its promise to its log, so a restart
	// forgets it.
	mutUnpersistedPromise mutation = "unpersisted-promise"
)

// mutations lists every mutation, for the tests that score them.
var mutations = []mutation{mutLowestBallot, mutNoBallotCompare, mutUnpersistedPromise}

// activeMutation is the mutation switched on; only tests set it, and never while nodes run concurrently.
var activeMutation = mutNone
