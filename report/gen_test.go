package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/skeptic-dev/skeptic/history"
)

// genSpec describes a history made by genHistory.
type genSpec struct {
	Seed      uint64
	Ops       int              // client operations in all
	Workers   int              // concurrent workers, bound to n1..n3 round robin
	OpsPerKey int              // operations on a key before the workers move to the next (kv); 0: one key
	Partition [2]time.Duration // n3 cut off from the others over [from, to); zero: no fault
	Stale     int              // this many stale reads on n3 during the partition (each makes its key invalid)
}

// genHistory makes a history of the shape a real kv run records (worker processes bound to nodes, reads,
// writes and cas with ok/fail/info outcomes, nemesis event pairs), deterministically from spec. Each operation
// takes effect at one instant inside its interval, so the history is linearizable, except for the Stale reads,
// which return the value from before the last write that completed before they began. Operations through n3
// during the partition fail or time out (info: those never take effect), except reads, which n3 serves from its own copy.
func genHistory(spec genSpec) []byte {
	r := rand.New(rand.NewPCG(spec.Seed, 7))
	type op struct {
		proc              int
		node, f, key      string
		arg, from, to     int64
		invoke, lin, done int64
		typ               history.Type
		err               string
		out               json.RawMessage
	}
	clock := make([]int64, spec.Workers)
	procs := make([]int, spec.Workers)
	for w := range procs {
		procs[w] = w
		clock[w] = int64(w) * 100_000
	}
	pFrom, pTo := int64(spec.Partition[0]), int64(spec.Partition[1])
	var ops []*op
	next := int64(1)
	for i := 0; i < spec.Ops; i++ {
		w := r.IntN(spec.Workers)
		o := &op{proc: procs[w], node: fmt.Sprintf("n%d", w%3+1), invoke: clock[w] + int64(r.IntN(2_000_000))}
		o.key = "k0"
		if spec.OpsPerKey > 0 {
			o.key = fmt.Sprintf("k%d", i/spec.OpsPerKey)
		}
		switch x := r.Float64(); {
		case x < 0.5:
			o.f = "read"
		case x < 0.75:
			o.f = "write"
			o.arg = next
			next++
		default:
			o.f = "cas"
			o.to = next
			next++
		}
		cut := o.node == "n3" && o.invoke >= pFrom && o.invoke < pTo && o.f != "read" // n3 still serves reads, from its own copy
		if cut {
			o.lin = -1
			if r.IntN(4) == 0 {
				o.typ, o.err, o.done = history.Info, "timeout", o.invoke+500_000_000
				procs[w] += spec.Workers
			} else {
				o.typ, o.err, o.done = history.Fail, "unavailable", o.invoke+int64(50_000_000+r.IntN(50_000_000))
			}
		} else {
			d := int64(500_000 + r.IntN(3_000_000))
			o.lin = o.invoke + d/3
			o.done = o.invoke + d
			o.typ = history.Ok
		}
		clock[w] = o.done + int64(r.IntN(1_000_000))
		ops = append(ops, o)
	}
	// Apply in linearization order.
	byLin := append([]*op(nil), ops...)
	sort.SliceStable(byLin, func(i, j int) bool { return byLin[i].lin < byLin[j].lin })
	state := map[string]*int64{}
	prev := map[string]*int64{} // the value before the last write
	lastWriteDone := map[string]int64{}
	stale := spec.Stale
	for _, o := range byLin {
		if o.lin < 0 {
			continue
		}
		cur := state[o.key]
		switch o.f {
		case "read":
			o.out = history.OptInt(cur)
			if stale > 0 && o.node == "n3" && o.invoke >= pFrom && o.invoke < pTo && prev[o.key] != nil && lastWriteDone[o.key] < o.invoke {
				o.out = history.OptInt(prev[o.key])
				stale--
			}
		case "write":
			v := o.arg
			prev[o.key], state[o.key] = cur, &v
			lastWriteDone[o.key] = o.done
			o.out = history.Int(v)
		case "cas":
			if cur != nil && r.IntN(2) == 0 {
				o.from = *cur
				v := o.to
				prev[o.key], state[o.key] = cur, &v
				lastWriteDone[o.key] = o.done
				o.out = history.Pair(o.from, o.to)
			} else {
				o.from = o.to + 1_000_000 // a value never written: the cas cannot apply
				o.typ, o.err = history.Fail, history.ErrCASMismatch
				o.out = history.OptInt(cur)
			}
		}
	}
	// Events, in time order.
	type ev struct {
		t int64
		e history.Event
	}
	var evs []ev
	for _, o := range ops {
		in := history.Event{Time: o.invoke, Process: history.Process(o.proc), Type: history.Invoke, F: o.f, Key: o.key, Node: o.node}
		switch o.f {
		case "read":
			in.Value = history.Null()
		case "write":
			in.Value = history.Int(o.arg)
		case "cas":
			if o.from == 0 {
				o.from = o.to + 1_000_000
			}
			in.Value = history.Pair(o.from, o.to)
		}
		out := in
		out.Time, out.Type, out.Error = o.done, o.typ, o.err
		if o.out != nil {
			out.Value = o.out
		} else if o.f == "read" {
			out.Value = history.Null()
		}
		evs = append(evs, ev{o.invoke, in}, ev{o.done, out})
	}
	if pTo > 0 {
		grudge := json.RawMessage(`{"strategy":"one","grudge":{"n1":["n3"],"n2":["n3"],"n3":["n1","n2"]}}`)
		evs = append(evs,
			ev{pFrom, history.Event{Time: pFrom, Process: history.NemesisProcess, Type: history.Info, F: "start-partition", Value: grudge}},
			ev{pFrom + 1_000_000, history.Event{Time: pFrom + 1_000_000, Process: history.NemesisProcess, Type: history.Info, F: "start-partition", Value: grudge}},
			ev{pTo, history.Event{Time: pTo, Process: history.NemesisProcess, Type: history.Info, F: "stop-partition", Value: history.Null()}},
			ev{pTo + 1_000_000, history.Event{Time: pTo + 1_000_000, Process: history.NemesisProcess, Type: history.Info, F: "stop-partition", Value: history.Null()}})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t < evs[j].t })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i, e := range evs {
		e.e.Index = int64(i)
		_ = enc.Encode(e.e)
	}
	return buf.Bytes()
}
