package checker

import (
	"github.com/anishathalye/porcupine"

	"github.com/skeptic-dev/skeptic/workloads"
)

// pruneUnobserved removes from one key's operations the unknown writes and cas (info, or never completed) whose
// value nothing in the history could have seen, and returns the rest, in order, with how many it removed.
//
// Why: an unknown operation returns at +infinity, so it is concurrent with everything invoked after it, and
// Porcupine's search tries it at every point. A fault that makes dozens of operations unknown on one key (a
// leader killed while the workers keep trying through it) makes that search exponential, and the check of a
// correct store ends unknown. Most such operations never took effect, and nobody saw their values.
//
// Why it is exact (the key is linearizable with the operation if and only if it is without it): an unknown
// operation may always be left out, since "never applied" is one of its outcomes (put it last). Conversely, take
// a linearization with an unknown operation U that stores v (a write of v, or a cas to v), and remove U. Only
// the stretch after U, up to the next operation that changes the register, saw v and now sees the state before
// U. No operation of that stretch can depend on v: not a read (it returned v), not an ok cas (from v), not a
// cas-mismatch (it saw v), and not an unknown cas from v, by the rule below; a mismatch that did not record
// what it saw (Jepsen's histories) could depend on the old state not being its from, so a key with one is never
// pruned. What remains in that stretch are unknown cas that did not apply there; they move to the very end of
// the linearization, where an unknown operation may always go and nothing observes their effect. The stretch
// ends with a write (or the end), after which every state is as before.
//
// The rule: U is removed when no other operation of the key reads v, cas-es from v (ok or unknown), or
// mismatched having seen v. Removing an unknown cas drops its own dependency on its from value, which may free
// more operations; the loop runs to a fixed point.
//
// It also removes every unknown cas from a value that no remaining operation can have stored (no write of it,
// no ok or unknown cas to it; the register starts with no value): such a cas never applies, and a step that
// changes nothing and observes nothing can be left out of any linearization. This holds whatever else the key
// holds, Jepsen's mismatches included. Each rule may free operations for the other; both run until neither
// removes anything.
func pruneUnobserved(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	total := 0
	for {
		var a, b int
		ops, a = pruneNoopCAS(ops)
		ops, b = pruneUnseen(ops)
		total += a + b
		if a+b == 0 {
			return ops, total
		}
	}
}

// pruneNoopCAS removes the unknown cas whose from value no other operation can have stored, until none is left.
func pruneNoopCAS(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	total := 0
	for {
		// Only the from values of the unknown cas are looked up below, so only they are counted: a few values,
		// not one for every write of the key.
		stored := map[int64]int{} // candidate's from value -> operations that may store it
		for _, op := range ops {
			if in := op.Input.(workloads.RegisterInput); in.F == workloads.CAS && op.Output.(workloads.RegisterOutput).Kind == workloads.Unknown {
				stored[in.From] = 0
			}
		}
		if len(stored) == 0 {
			return ops, total
		}
		for _, op := range ops {
			in := op.Input.(workloads.RegisterInput)
			var v int64
			switch {
			case in.F == workloads.Write:
				v = in.Arg
			case in.F == workloads.CAS && op.Output.(workloads.RegisterOutput).Kind != workloads.Mismatch:
				v = in.To
			default:
				continue
			}
			if c, ok := stored[v]; ok {
				stored[v] = c + 1
			}
		}
		removed := make([]bool, len(ops))
		n := 0
		for i, op := range ops {
			in := op.Input.(workloads.RegisterInput)
			if in.F != workloads.CAS || op.Output.(workloads.RegisterOutput).Kind != workloads.Unknown {
				continue
			}
			others := stored[in.From]
			if in.To == in.From {
				others-- // a cas from v to v stores v only when the register already held it
			}
			if others == 0 {
				removed[i] = true
				n++
			}
		}
		if n == 0 {
			return ops, total
		}
		ops = keep(ops, removed, n)
		total += n
	}
}

// pruneUnseen applies the first rule, to a fixed point.
func pruneUnseen(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	// deps is consulted only for the values the unknown operations store (the keys of writers), so only those
	// are counted: a few values, not one for every read and cas of the key.
	writers := map[int64][]int{} // value -> unknown operations that store it
	for i, op := range ops {
		in := op.Input.(workloads.RegisterInput)
		out := op.Output.(workloads.RegisterOutput)
		if in.F == workloads.CAS && out.Kind == workloads.Mismatch && !out.Observed {
			return ops, 0
		}
		if out.Kind == workloads.Unknown {
			switch in.F {
			case workloads.Write:
				writers[in.Arg] = append(writers[in.Arg], i)
			case workloads.CAS:
				writers[in.To] = append(writers[in.To], i)
			}
		}
	}
	if len(writers) == 0 {
		return ops, 0
	}
	deps := make(map[int64]int, len(writers)) // value of writers -> operations that depend on the register holding it
	for _, op := range ops {
		in := op.Input.(workloads.RegisterInput)
		out := op.Output.(workloads.RegisterOutput)
		var v int64
		switch {
		case in.F == workloads.Read || in.F == workloads.CAS && out.Kind == workloads.Mismatch:
			if !out.Value.Set {
				continue
			}
			v = out.Value.Value
		case in.F == workloads.CAS:
			// Done or Unknown: both may have needed the register to hold From.
			v = in.From
		default:
			continue
		}
		if _, ok := writers[v]; ok {
			deps[v]++
		}
	}
	var work []int64
	for v := range writers {
		if deps[v] == 0 {
			work = append(work, v)
		}
	}
	removed := make([]bool, len(ops))
	n := 0
	for len(work) > 0 {
		v := work[len(work)-1]
		work = work[:len(work)-1]
		if deps[v] != 0 {
			continue
		}
		for _, i := range writers[v] {
			if removed[i] {
				continue
			}
			removed[i] = true
			n++
			if in := ops[i].Input.(workloads.RegisterInput); in.F == workloads.CAS {
				deps[in.From]--
				if deps[in.From] == 0 && len(writers[in.From]) > 0 {
					work = append(work, in.From)
				}
			}
		}
		delete(writers, v)
	}
	if n == 0 {
		return ops, 0
	}
	return keep(ops, removed, n), n
}

// keep returns ops without the n marked removed, in order.
func keep(ops []porcupine.Operation, removed []bool, n int) []porcupine.Operation {
	kept := make([]porcupine.Operation, 0, len(ops)-n)
	for i, op := range ops {
		if !removed[i] {
			kept = append(kept, op)
		}
	}
	return kept
}
