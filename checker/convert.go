package checker

import (
	"fmt"
	"math"
	"sort"

	"github.com/anishathalye/porcupine"

	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/workloads"
)

// Infinity is the return time given to an operation whose outcome is unknown.
const Infinity int64 = math.MaxInt64

// Meta is the Metadata of each Porcupine operation: where in the history it came from.
type Meta struct {
	// Process is the process that issued it.
	Process history.Process
	// Invoke and Complete are the indexes of its invocation and completion events; Complete is -1 when the run
	// ended before it completed.
	Invoke, Complete int64
	// Node is the node it was sent to, if known.
	Node string
}

// String describes the metadata for visualizations.
func (m Meta) String() string {
	s := fmt.Sprintf("process %s, events %d", m.Process, m.Invoke)
	if m.Complete >= 0 {
		s += fmt.Sprintf("-%d", m.Complete)
	} else {
		s += ", never completed"
	}
	if m.Node != "" {
		s += ", node " + m.Node
	}
	return s
}

// KeyOps is the operations of one key, ready for Porcupine. ClientId is the process renumbered from 0 in
// order of first appearance on this key, so visualizations have no empty rows.
type KeyOps struct {
	// Key is the register's key.
	Key string
	// Ops is the key's operations, in invocation order.
	Ops []porcupine.Operation
}

// Stats counts how the events of a history were used.
type Stats struct {
	// Events is the number of events read.
	Events int `json:"events"`
	// Ops is the number of operations handed to Porcupine.
	Ops int `json:"ops"`
	// Unknown is how many of them are writes or cas with unknown outcomes (info, or never completed).
	Unknown int `json:"unknown"`
	// Observations is how many of them are cas-mismatch failures counted as observations.
	Observations int `json:"observations"`
	// Dropped is how many completed operations were left out: failures, and reads that failed or are unknown.
	Dropped int `json:"dropped"`
	// Nemesis is the number of nemesis events, which the check ignores.
	Nemesis int `json:"nemesis"`
	// Pruned is how many of the unknown operations Check left out because nothing saw their values; Operations
	// itself prunes nothing.
	Pruned int `json:"pruned,omitempty"`
}

type pending struct {
	ev history.Event
	in workloads.RegisterInput
}

// Operations converts a history into Porcupine operations grouped by key (keys in order of first invocation),
// as the package doc describes. An error names the index of the first malformed event and what was wrong.
func Operations(events []history.Event) ([]KeyOps, Stats, error) {
	return operations(events, history.FailCASObserved)
}

// operations is Operations with a reading of cas-mismatch failures: with history.FailCASNeverHappened they are
// dropped as other failures are.
func operations(events []history.Event, failCAS history.FailCAS) ([]KeyOps, Stats, error) {
	st := Stats{Events: len(events)}
	open := map[history.Process]*pending{}
	retired := map[history.Process]int64{} // process -> index of its info
	keyIdx := map[string]int{}
	var keys []KeyOps
	clients := map[string]map[history.Process]int{}

	add := func(p *pending, out workloads.RegisterOutput, ret int64, complete int64) {
		k := p.ev.Key
		i, ok := keyIdx[k]
		if !ok {
			i = len(keys)
			keyIdx[k] = i
			keys = append(keys, KeyOps{Key: k})
			clients[k] = map[history.Process]int{}
		}
		cid, ok := clients[k][p.ev.Process]
		if !ok {
			cid = len(clients[k])
			clients[k][p.ev.Process] = cid
		}
		node := p.ev.Node
		keys[i].Ops = append(keys[i].Ops, porcupine.Operation{
			ClientId: cid,
			Input:    p.in,
			Call:     p.ev.Time,
			Output:   out,
			Return:   ret,
			Metadata: Meta{Process: p.ev.Process, Invoke: p.ev.Index, Complete: complete, Node: node},
		})
		st.Ops++
	}

	for _, e := range events {
		if e.Process == history.NemesisProcess {
			st.Nemesis++
			continue
		}
		if e.Process < 0 {
			return nil, st, fmt.Errorf("event %d: process %d is negative", e.Index, e.Process)
		}
		if e.Type == history.Invoke {
			if at, ok := retired[e.Process]; ok {
				return nil, st, fmt.Errorf("event %d: process %s invokes again after its info at event %d; a process whose outcome is unknown must be retired", e.Index, e.Process, at)
			}
			if p, ok := open[e.Process]; ok {
				return nil, st, fmt.Errorf("event %d: process %s invokes while its invocation at event %d is still open", e.Index, e.Process, p.ev.Index)
			}
			in, err := input(e)
			if err != nil {
				return nil, st, fmt.Errorf("event %d: %w", e.Index, err)
			}
			open[e.Process] = &pending{ev: e, in: in}
			continue
		}
		if !e.Type.Valid() {
			return nil, st, fmt.Errorf("event %d: type %q is not one of invoke, ok, fail, info", e.Index, e.Type)
		}
		p, ok := open[e.Process]
		if !ok {
			if at, ok := retired[e.Process]; ok {
				return nil, st, fmt.Errorf("event %d: %s completion on process %s, retired by its info at event %d", e.Index, e.Type, e.Process, at)
			}
			return nil, st, fmt.Errorf("event %d: %s completion on process %s, which has no open invocation", e.Index, e.Type, e.Process)
		}
		delete(open, e.Process)
		if e.F != p.ev.F {
			return nil, st, fmt.Errorf("event %d: completion of %q on process %s, whose invocation at event %d is %q", e.Index, e.F, e.Process, p.ev.Index, p.ev.F)
		}
		if e.Key != "" && e.Key != p.ev.Key {
			return nil, st, fmt.Errorf("event %d: completion on key %q, whose invocation at event %d is on key %q", e.Index, e.Key, p.ev.Index, p.ev.Key)
		}
		if e.Time < p.ev.Time {
			return nil, st, fmt.Errorf("event %d: completes at time %d, before its invocation at event %d (time %d)", e.Index, e.Time, p.ev.Index, p.ev.Time)
		}
		switch e.Type {
		case history.Ok:
			out := workloads.RegisterOutput{Kind: workloads.Done}
			if p.in.F == workloads.Read {
				v, err := history.AsOptInt(e.Value)
				if err != nil {
					return nil, st, fmt.Errorf("event %d: ok read: %w", e.Index, err)
				}
				out.Value = state(v)
			}
			add(p, out, e.Time, e.Index)
		case history.Info:
			retired[e.Process] = e.Index
			if p.in.F == workloads.Read {
				st.Dropped++
				continue
			}
			st.Unknown++
			add(p, workloads.RegisterOutput{Kind: workloads.Unknown}, Infinity, e.Index)
		case history.Fail:
			if p.in.F != workloads.CAS || e.Error != history.ErrCASMismatch || failCAS == history.FailCASNeverHappened {
				st.Dropped++
				continue
			}
			out := workloads.RegisterOutput{Kind: workloads.Mismatch}
			if _, _, err := history.AsPair(e.Value); err != nil {
				// Our protocol's form: the value the cas saw.
				v, err := history.AsOptInt(e.Value)
				if err != nil {
					return nil, st, fmt.Errorf("event %d: cas-mismatch fail: value %s is neither the value seen (an integer or null) nor Jepsen's [from, to]", e.Index, e.Value)
				}
				out.Observed, out.Value = true, state(v)
			}
			st.Observations++
			add(p, out, e.Time, e.Index)
		}
	}
	// Invocations the run never completed: as info.
	for _, p := range sortedOpen(open) {
		if p.in.F == workloads.Read {
			continue
		}
		st.Unknown++
		add(p, workloads.RegisterOutput{Kind: workloads.Unknown}, Infinity, -1)
	}
	return keys, st, nil
}

// sortedOpen returns the invocations still open, in invocation order, so the result is deterministic.
func sortedOpen(open map[history.Process]*pending) []*pending {
	out := make([]*pending, 0, len(open))
	for _, p := range open {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ev.Index < out[j].ev.Index })
	return out
}

func state(v *int64) workloads.RegisterState {
	if v == nil {
		return workloads.RegisterState{}
	}
	return workloads.RegisterState{Set: true, Value: *v}
}

// input decodes an invocation.
func input(e history.Event) (workloads.RegisterInput, error) {
	in := workloads.RegisterInput{Key: e.Key}
	if e.Key == "" {
		return in, fmt.Errorf("%s invocation has no key", e.F)
	}
	switch e.F {
	case "read":
		in.F = workloads.Read
		if !history.IsNull(e.Value) {
			return in, fmt.Errorf("read invocation has value %s; want null", e.Value)
		}
	case "write":
		in.F = workloads.Write
		v, err := history.AsOptInt(e.Value)
		if err != nil || v == nil {
			return in, fmt.Errorf("write invocation has value %s; want an integer", e.Value)
		}
		in.Arg = *v
	case "cas":
		in.F = workloads.CAS
		from, to, err := history.AsPair(e.Value)
		if err != nil {
			return in, fmt.Errorf("cas invocation: %w", err)
		}
		in.From, in.To = from, to
	default:
		return in, fmt.Errorf("unknown function %q; want read, write or cas", e.F)
	}
	return in, nil
}
