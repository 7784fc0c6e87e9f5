package workloads

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// TypedModel is a Porcupine model with typed state S, input I and output O. Porcupine's Model works on
// interface{}; Porcupine converts a TypedModel so that the type assertions happen in one place, and the
// model's own code is checked by the compiler.
//
// Step must be a pure function: it returns whether the operation (in, out) could take effect on state s, and
// the state after it. It must not mutate s. S must be comparable: Porcupine's default equality is ==.
type TypedModel[S comparable, I, O any] struct {
	// Init returns the initial state.
	Init func() S
	// Step applies one operation to s; see the type's doc.
	Step func(s S, in I, out O) (bool, S)
	// Hash returns a hash of s; equal states must have equal hashes. It lets Porcupine's cache of visited
	// (linearized set, state) pairs find repeats without comparing every entry.
	Hash func(s S) uint64
	// Partition splits a history into independent sub-histories (for a key-value store: one per key). It may
	// be nil.
	Partition func(ops []porcupine.Operation) [][]porcupine.Operation
	// DescribeOperation renders an operation for visualizations.
	DescribeOperation func(in I, out O) string
	// DescribeState renders a state for visualizations.
	DescribeState func(s S) string
}

// Porcupine converts m into the model Porcupine's checker takes. Inputs and outputs given to Porcupine must
// be of types I and O; anything else is a programming error and panics with the type found.
func (m TypedModel[S, I, O]) Porcupine() porcupine.Model {
	pm := porcupine.Model{
		Partition: m.Partition,
		Init:      func() interface{} { return m.Init() },
		Step: func(state, input, output interface{}) (bool, interface{}) {
			s := state.(S)
			ok, next := m.Step(s, mustBe[I](input), mustBe[O](output))
			if next == s {
				return ok, state // reuse the boxed state: no allocation for reads and no-op steps
			}
			return ok, next
		},
		Equal: func(a, b interface{}) bool { return a.(S) == b.(S) },
	}
	if m.Hash != nil {
		pm.Hash = func(state interface{}) uint64 { return m.Hash(state.(S)) }
	}
	if m.DescribeOperation != nil {
		pm.DescribeOperation = func(input, output interface{}) string {
			return m.DescribeOperation(mustBe[I](input), mustBe[O](output))
		}
	}
	if m.DescribeState != nil {
		pm.DescribeState = func(state interface{}) string { return m.DescribeState(state.(S)) }
	}
	return pm
}

func mustBe[T any](v interface{}) T {
	t, ok := v.(T)
	if !ok {
		var zero T
		panic(fmt.Sprintf("workloads: model got a %T where it expects a %T", v, zero))
	}
	return t
}
