package core

import "fmt"

// Mutations names the mutations a test can switch on with SetMutation (see mutation.go).
func Mutations() []string {
	out := make([]string, len(mutations))
	for i, m := range mutations {
		out[i] = string(m)
	}
	return out
}

// SetMutation switches on mutation name for every node of this package ("" for none) and returns a function
// that switches it off again. Tests that use it must not run in parallel.
func SetMutation(name string) (restore func(), err error) {
	m := mutation(name)
	if m != mutNone {
		known := false
		for _, x := range mutations {
			known = known || x == m
		}
		if !known {
			return nil, fmt.Errorf("unknown mutation %q (known: %v)", name, mutations)
		}
	}
	prev := activeMutation
	activeMutation = m
	return func() { activeMutation = prev }, nil
}
