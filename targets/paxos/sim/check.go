package sim

import (
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"
)

// This file judges a run: agreement and core panics from the run itself, linearizability of the clients'
// history with Porcupine (github.com/anishathalye/porcupine).

// register is the state of one key: its value, if it has one.
type register struct {
	v  int64
	ok bool
}

// Model is a single-register Porcupine model; histories are partitioned by key. An unknown write or cas may have
// happened at any point after its call (its return is +inf), so it steps like one that happened; Porcupine can
// always order it after everything else, which is the "never happened" case.
var Model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, o := range h {
			k := o.Input.(Op).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], o)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return register{} },
	Step: func(state, input, _ any) (bool, any) {
		st, op := state.(register), input.(Op)
		switch op.Kind {
		case OpRead:
			return op.Found == st.ok && (!st.ok || op.Got == st.v), st
		case OpWrite:
			return true, register{v: op.Value, ok: true}
		default: // OpCas
			match := st.ok && st.v == op.From
			if op.Unknown {
				if match {
					return true, register{v: op.To, ok: true}
				}
				return true, st
			}
			if op.OK {
				return match, register{v: op.To, ok: true}
			}
			// A mismatch observes the value: it was not From, and it was what the cas saw.
			return !match && op.Found == st.ok && (!st.ok || op.Got == st.v), st
		}
	},
	DescribeOperation: func(input, _ any) string { return input.(Op).String() },
	DescribeState: func(state any) string {
		st := state.(register)
		if !st.ok {
			return "nil"
		}
		return fmt.Sprint(st.v)
	},
}

// Operations turns a run's history into Porcupine's operations.
func Operations(res Result) []porcupine.Operation {
	ops := make([]porcupine.Operation, 0, len(res.History))
	for _, op := range res.History {
		ops = append(ops, porcupine.Operation{ClientId: op.Client, Input: op, Call: op.Call, Output: op, Return: op.Return})
	}
	return ops
}

// Verdict judges a finished run: why it failed (a core panic, an agreement violation, a history that lin finds
// not linearizable), or "". timedOut reports that lin gave up without a verdict (porcupine.Unknown): that is no
// pass, since nothing was shown linearizable, and callers must count it as a failure of the check.
func Verdict(res Result, lin func([]porcupine.Operation) porcupine.CheckResult) (why string, timedOut bool) {
	if res.Panic != "" {
		return "core panic: " + res.Panic, false
	}
	if res.Violation != "" {
		return res.Violation, false
	}
	switch lin(Operations(res)) {
	case porcupine.Illegal:
		return "not linearizable", false
	case porcupine.Unknown:
		return "", true
	}
	return "", false
}

// Check runs one seed and judges it (Verdict) with Porcupine, which may search for at most timeout.
func Check(o Options, timeout time.Duration) (why string, timedOut bool, res Result) {
	res = Run(o)
	why, timedOut = Verdict(res, func(ops []porcupine.Operation) porcupine.CheckResult {
		return porcupine.CheckOperationsTimeout(Model, ops, timeout)
	})
	return why, timedOut, res
}
