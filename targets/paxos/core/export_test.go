package core

import "github.com/skeptic-dev/skeptic/targets/paxos/internal/mutation"

// Mutations names every mutation a test can switch on with SetMutation (targets/paxos/internal/mutation), the
// core's and the log's.
func Mutations() []string {
	out := make([]string, len(mutation.All))
	for i, m := range mutation.All {
		out[i] = string(m)
	}
	return out
}

// SetMutation switches on mutation name for every node ("" for none) and returns a function that switches it off
// again. Tests that use it must not run in parallel.
func SetMutation(name string) (restore func(), err error) { return mutation.Set(name) }
