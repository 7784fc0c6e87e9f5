package workloads

import (
	"fmt"
	"strconv"

	"github.com/anishathalye/porcupine"
)

// RegisterState is the value of one register: Set is false while the key has no value (it starts that way).
// It is comparable, so Porcupine can compare states with ==.
type RegisterState struct {
	// Set reports whether the register holds a value.
	Set bool
	// Value is the register's value when Set.
	Value int64
}

// String renders the state as the protocol writes it: the integer, or null.
func (s RegisterState) String() string {
	if !s.Set {
		return "null"
	}
	return strconv.FormatInt(s.Value, 10)
}

// RegisterFunc is the function of a register operation.
type RegisterFunc uint8

// The register functions.
const (
	// Read observes the register.
	Read RegisterFunc = iota
	// Write stores Arg.
	Write
	// CAS stores To if the register holds From.
	CAS
)

// RegisterInput is a register operation as invoked.
type RegisterInput struct {
	// Key is the register's key; the model itself ignores it, the Partition function groups by it.
	Key string
	// F is the function.
	F RegisterFunc
	// Arg is the value a Write stores.
	Arg int64
	// From and To are a CAS's expected and new values.
	From, To int64
}

// OutcomeKind says what a completion tells the model.
type OutcomeKind uint8

// The outcome kinds.
const (
	// Done is an ok completion: a read that returned Value, or a write or cas that took effect.
	Done OutcomeKind = iota
	// Unknown is an info (or missing) completion of a write or cas: it may have taken effect, at any instant
	// after its invocation, or never. The checker gives it a return time of +infinity, so Porcupine may
	// linearize it last, where it changes nothing anyone observed: that is how "never applied" is accepted.
	Unknown
	// Mismatch is a cas that failed with cas-mismatch: it observed, at one instant, that the register was not
	// From. If Observed, it also saw Value.
	Mismatch
)

// RegisterOutput is how a register operation completed.
type RegisterOutput struct {
	// Kind is what the completion tells.
	Kind OutcomeKind
	// Value is what a Done read, or an Observed Mismatch, saw.
	Value RegisterState
	// Observed reports, for a Mismatch, whether Value is known. Our protocol reports the value; Jepsen's
	// histories only say that the value was not From.
	Observed bool
}

// RegisterModel returns the sequential specification of one register that starts with no value.
//
//   - A read is legal when it returned the current state; it changes nothing.
//   - A write always succeeds and sets the state, whether Done or Unknown.
//   - A Done cas is legal when the state is From, and sets To.
//   - An Unknown cas is always legal: it sets To if the state is From, else changes nothing. Porcupine's
//     model is deterministic, and it needs no branch for "did not apply": the operation's return is at
//     +infinity, so it can be linearized after everything else, where its effect is unobservable.
//   - A Mismatch cas is legal when the state is not From (and equals Value, when Observed); it changes nothing.
//
// Partition groups operations by RegisterInput.Key, so the model also checks a multi-key history directly.
func RegisterModel() TypedModel[RegisterState, RegisterInput, RegisterOutput] {
	return TypedModel[RegisterState, RegisterInput, RegisterOutput]{
		Init:              func() RegisterState { return RegisterState{} },
		Step:              registerStep,
		Hash:              registerHash,
		Partition:         PartitionByKey,
		DescribeOperation: DescribeRegisterOp,
		DescribeState:     RegisterState.String,
	}
}

func registerStep(s RegisterState, in RegisterInput, out RegisterOutput) (bool, RegisterState) {
	switch in.F {
	case Read:
		return s == out.Value, s
	case Write:
		return true, RegisterState{Set: true, Value: in.Arg}
	case CAS:
		matches := s.Set && s.Value == in.From
		switch out.Kind {
		case Done:
			if !matches {
				return false, s
			}
			return true, RegisterState{Set: true, Value: in.To}
		case Unknown:
			if matches {
				return true, RegisterState{Set: true, Value: in.To}
			}
			return true, s
		case Mismatch:
			if matches {
				return false, s
			}
			return !out.Observed || s == out.Value, s
		}
	}
	panic(fmt.Sprintf("workloads: register model got function %d, outcome %d", in.F, out.Kind))
}

// registerHash is Fibonacci hashing of the value: one multiply, since Porcupine calls it on every step it
// caches. The unset register gets a constant of its own; a collision only costs Porcupine an Equal call.
func registerHash(s RegisterState) uint64 {
	if !s.Set {
		return 0x5bd1e9955bd1e995
	}
	return uint64(s.Value) * 0x9e3779b97f4a7c15
}

// PartitionByKey splits register operations (inputs of type RegisterInput) by key, keeping each key's
// operations in their original order. Keys appear in order of first appearance.
func PartitionByKey(ops []porcupine.Operation) [][]porcupine.Operation {
	index := map[string]int{}
	var out [][]porcupine.Operation
	for _, op := range ops {
		k := mustBe[RegisterInput](op.Input).Key
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], op)
	}
	return out
}

// DescribeRegisterOp renders an operation as the visualizations show it, e.g. "cas(3, 4) -> mismatch (saw 7)".
func DescribeRegisterOp(in RegisterInput, out RegisterOutput) string {
	switch in.F {
	case Read:
		return "read() -> " + out.Value.String()
	case Write:
		if out.Kind == Unknown {
			return fmt.Sprintf("write(%d) -> unknown", in.Arg)
		}
		return fmt.Sprintf("write(%d)", in.Arg)
	case CAS:
		switch out.Kind {
		case Unknown:
			return fmt.Sprintf("cas(%d, %d) -> unknown", in.From, in.To)
		case Mismatch:
			if out.Observed {
				return fmt.Sprintf("cas(%d, %d) -> mismatch (saw %s)", in.From, in.To, out.Value)
			}
			return fmt.Sprintf("cas(%d, %d) -> mismatch", in.From, in.To)
		default:
			return fmt.Sprintf("cas(%d, %d) -> ok", in.From, in.To)
		}
	}
	return "<invalid>"
}
