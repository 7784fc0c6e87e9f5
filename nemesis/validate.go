package nemesis

// Validating a schedule's ops: the checks common to every op here, each kind's own in its Fault's Check.

import (
	"fmt"
	"slices"

	"github.com/skeptic-dev/skeptic/internal/field"
)

// Validate checks every op's time, function and value against a cluster of nodes. Its error is a *field.Error
// naming the op's field ("schedule[3].value.nodes").
func (s Schedule) Validate(nodes []string) error {
	for i, op := range s {
		if err := op.validate(nodes); err != nil {
			return opError(i, op, "", err)
		}
	}
	return nil
}

// validate checks one op; its error is a *field.Error named relative to the op ("value.nodes").
func (op Op) validate(nodes []string) error {
	if op.At < 0 {
		return field.Errorf("at", "must be >= 0")
	}
	f, _ := faultOf(op.F)
	if f == nil {
		return field.Errorf("f", "unknown function %q", op.F)
	}
	return f.Check(op, nodes)
}

// opError names the field of op i of a schedule that err (from Op.validate) names, and says which op it is:
// where (line, which may be "") and at what time, with what function.
func opError(i int, op Op, where string, err error) error {
	fe, ok := field.As(err)
	if !ok {
		fe = &field.Error{Msg: err.Error()}
	}
	return field.Errorf(opField(i, fe.Field), "%sop at %s, %s: %s", where, op.At.D(), op.F, fe.Msg)
}

// opField is the path of field f (none: the op itself) of op i of the schedule.
func opField(i int, f string) string {
	p := fmt.Sprintf("schedule[%d]", i)
	if f != "" {
		p += "." + f
	}
	return p
}

// knownNodes refuses a node that is not in nodes, naming the field that holds it.
func knownNodes(name string, nodes []string, ns ...string) error {
	for _, n := range ns {
		if !slices.Contains(nodes, n) {
			return field.Errorf(name, "unknown node %q (the cluster has %v)", n, nodes)
		}
	}
	return nil
}

// checkNull refuses a value on an op that takes none (the stop functions).
func checkNull(op Op) error {
	if !nullish(op.Value) {
		return field.Errorf("value", "must be null or absent, got %s", op.Value)
	}
	return nil
}
