package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/skeptic-dev/skeptic/checker"
	"github.com/skeptic-dev/skeptic/history"
	"github.com/skeptic-dev/skeptic/workloads"
)

// Anomaly is the plain-words account of why one key is not linearizable.
type Anomaly struct {
	// Key is the key that failed.
	Key string `json:"key"`
	// Kind names the anomaly: stale read, lost write, read of a value never written, cas from a value never
	// written, cas from a stale value, stale cas mismatch, or unexplained.
	Kind string `json:"kind"`
	// Text says which operation cannot be linearized, what it saw, and what it could have seen.
	Text string `json:"text"`
	// Process, Node, Invoke and Return identify the operation (times in ns on the history's clock; Return is -1
	// for an operation that never completed).
	Process int    `json:"process"`
	Node    string `json:"node,omitempty"`
	Invoke  int64  `json:"invoke"`
	Return  int64  `json:"return"`
	// Event is the index of the operation's invocation in history.jsonl.
	Event int64 `json:"event"`
	// Faults are the faults active while it ran, in words, and FaultyNodes the nodes they touched. When none
	// was, LastFault says which fault had ended last before it began, and how long before.
	Faults      []string `json:"faults,omitempty"`
	FaultyNodes []string `json:"faulty_nodes,omitempty"`
	LastFault   string   `json:"last_fault,omitempty"`
	// Visualization is the file name of the key's Porcupine visualization, and Window says how it was cut.
	Visualization string `json:"visualization,omitempty"`
	Window        string `json:"window,omitempty"`
}

// keyOp is one Porcupine operation of a key with what it came from.
type keyOp struct {
	op   porcupine.Operation
	in   workloads.RegisterInput
	out  workloads.RegisterOutput
	meta checker.Meta
}

func (o keyOp) unknown() bool { return o.out.Kind == workloads.Unknown }

// observes returns the value an operation saw (a read's result, an ok cas's from, an observed mismatch's
// value), and whether it saw one.
func (o keyOp) observes() (workloads.RegisterState, bool) {
	switch {
	case o.in.F == workloads.Read:
		return o.out.Value, true
	case o.in.F == workloads.CAS && o.out.Kind == workloads.Done:
		return workloads.RegisterState{Set: true, Value: o.in.From}, true
	case o.in.F == workloads.CAS && o.out.Kind == workloads.Mismatch && o.out.Observed:
		return o.out.Value, true
	}
	return workloads.RegisterState{}, false
}

// stores returns the value a write or cas stores (if it applies).
func (o keyOp) stores() (int64, bool) {
	switch {
	case o.in.F == workloads.Write:
		return o.in.Arg, true
	case o.in.F == workloads.CAS && (o.out.Kind == workloads.Done || o.out.Kind == workloads.Unknown):
		return o.in.To, true
	}
	return 0, false
}

// explainer holds what the explanations of one run need.
type explainer struct {
	events map[int64]history.Event // by index
	faults []Fault
	// budget bounds the checks that find what an operation could have seen, for the whole run.
	budget time.Duration
	// prec is the number of decimals of the seconds in the explanation being written: 3, or 6 when two of its
	// times are less than a millisecond apart.
	prec int
}

// sec formats a history time as seconds.
func sec(ns int64) string { return fmt.Sprintf("%.3f s", float64(ns)/1e9) }

// sec formats a history time as seconds, with the precision of the explanation being written.
func (x *explainer) sec(ns int64) string {
	if x.prec > 3 {
		return fmt.Sprintf("%.*f s", x.prec, float64(ns)/1e9)
	}
	return sec(ns)
}

// stateWord writes a register state as the explanation says it: the integer, or "nothing (null)".
func stateWord(s workloads.RegisterState) string {
	if !s.Set {
		return "nothing (null)"
	}
	return fmt.Sprint(s.Value)
}

// describe names an operation: "write 44 (process 3 on n1, acknowledged at 13.998 s)".
func (x *explainer) describe(o keyOp) string {
	var what string
	switch o.in.F {
	case workloads.Read:
		what = "a read that saw " + stateWord(o.out.Value)
	case workloads.Write:
		what = fmt.Sprintf("write %d", o.in.Arg)
	case workloads.CAS:
		what = fmt.Sprintf("cas %d→%d", o.in.From, o.in.To)
	}
	where := "process " + o.meta.Process.String()
	if o.meta.Node != "" {
		where += " on " + o.meta.Node
	}
	if o.unknown() {
		why := "it never completed"
		if e, ok := x.events[o.meta.Complete]; ok && o.meta.Complete >= 0 {
			why = "info"
			if e.Error != "" {
				why += ": " + e.Error
			}
		}
		return fmt.Sprintf("%s (%s, invoked at %s, outcome unknown (%s), so it may have taken effect at any time after)", what, where, x.sec(o.op.Call), why)
	}
	verb := "acknowledged"
	if o.in.F == workloads.Read {
		verb = "completed"
	}
	return fmt.Sprintf("%s (%s, %s at %s)", what, where, verb, x.sec(o.op.Return))
}

// keyOps converts a key's events into operations with their metadata.
func keyOps(events []history.Event) ([]keyOp, error) {
	keys, _, err := checker.Operations(events)
	if err != nil {
		return nil, err
	}
	var out []keyOp
	for _, k := range keys {
		for _, op := range k.Ops {
			out = append(out, keyOp{op: op, in: op.Input.(workloads.RegisterInput), out: op.Output.(workloads.RegisterOutput), meta: op.Metadata.(checker.Meta)})
		}
	}
	return out, nil
}

// stuck finds, from Porcupine's partial linearizations, the operation that cannot be linearized: the longest
// partial linearization L is a legal order of some operations; among the operations left out, the one that
// observed something and returned first is where every extension of L failed (writes always apply, so it is an
// observation that blocks). It returns that operation, the longest L (as invoke indexes) and the register's
// state after L.
func stuck(ops []keyOp, info porcupine.LinearizationInfo) (keyOp, []int64, workloads.RegisterState, bool) {
	byInvoke := map[int64]keyOp{}
	for _, o := range ops {
		byInvoke[o.meta.Invoke] = o
	}
	var longest []porcupine.Operation
	for _, part := range info.PartialLinearizationsOperations() {
		for _, l := range part {
			if len(l) > len(longest) {
				longest = l
			}
		}
	}
	model := workloads.RegisterModel()
	state := model.Init()
	in := map[int64]bool{}
	var order []int64
	for _, op := range longest {
		m := op.Metadata.(checker.Meta)
		in[m.Invoke] = true
		order = append(order, m.Invoke)
		_, state = model.Step(state, op.Input.(workloads.RegisterInput), op.Output.(workloads.RegisterOutput))
	}
	var best keyOp
	found := false
	for pass := 0; pass < 2 && !found; pass++ {
		for _, o := range ops {
			if in[o.meta.Invoke] {
				continue
			}
			if _, obs := o.observes(); pass == 0 && !obs {
				continue
			}
			if !found || o.op.Return < best.op.Return || o.op.Return == best.op.Return && o.op.Call < best.op.Call {
				best, found = o, true
			}
		}
	}
	return best, order, state, found
}

// explain writes the anomaly of one failed key. keyEvents are the key's events only (client events of that key).
func (x *explainer) explain(key string, keyEvents []history.Event, info porcupine.LinearizationInfo) (Anomaly, keyOp, []int64, error) {
	ops, err := keyOps(keyEvents)
	if err != nil {
		return Anomaly{}, keyOp{}, nil, err
	}
	a := Anomaly{Key: key}
	bad, order, state, ok := stuck(ops, info)
	if !ok {
		a.Text = fmt.Sprintf("Porcupine found no order of the %d operations of %s that satisfies a register, but every operation appears in some partial order; see the visualization.", len(ops), key)
		return a, keyOp{}, order, nil
	}
	a.Process, a.Node, a.Invoke, a.Event = int(bad.meta.Process), bad.meta.Node, bad.op.Call, bad.meta.Invoke
	a.Return = bad.op.Return
	if bad.op.Return == checker.Infinity {
		a.Return = -1
	}
	a.Faults, a.FaultyNodes = x.activeFaults(bad.op.Call, a.Return)
	if len(a.Faults) == 0 {
		a.LastFault = x.lastFault(bad.op.Call)
	}

	saw, observed := bad.observes()
	var w *keyOp
	if observed {
		w = witness(ops, bad, saw)
	}
	x.prec = 3
	if w != nil && (abs(w.op.Return-bad.op.Call) < 1e6 || abs(w.op.Call-bad.op.Call) < 1e6) {
		x.prec = 6
	}
	var b strings.Builder
	where := "process " + bad.meta.Process.String()
	if bad.meta.Node != "" {
		where += " on " + bad.meta.Node
	}
	switch {
	case bad.in.F == workloads.Read:
		fmt.Fprintf(&b, "read of %s by %s at %s returned %s", key, where, x.sec(bad.op.Call), stateWord(saw))
	case bad.in.F == workloads.CAS && bad.out.Kind == workloads.Done:
		fmt.Fprintf(&b, "cas %d→%d of %s by %s at %s succeeded, so it found %d", bad.in.From, bad.in.To, key, where, x.sec(bad.op.Call), bad.in.From)
	case bad.in.F == workloads.CAS && observed:
		fmt.Fprintf(&b, "cas %d→%d of %s by %s at %s failed, saying the register held %s", bad.in.From, bad.in.To, key, where, x.sec(bad.op.Call), stateWord(saw))
	case bad.in.F == workloads.CAS && bad.out.Kind == workloads.Mismatch:
		fmt.Fprintf(&b, "cas %d→%d of %s by %s at %s failed, saying the register did not hold %d", bad.in.From, bad.in.To, key, where, x.sec(bad.op.Call), bad.in.From)
	default:
		fmt.Fprintf(&b, "%s cannot be placed in any order of the operations of %s", x.describe(bad), key)
	}

	a.Kind = "unexplained"
	if observed {
		a.Kind = x.because(&b, ops, bad, saw, w)
	}
	var could []workloads.RegisterState
	if observed && bad.in.F == workloads.Read {
		could = x.couldSee(keyEvents, ops, bad)
	}
	if len(could) > 0 {
		// Proven by the substitution: with this one value changed the key is linearizable, so it is this read.
		words := make([]string, len(could))
		for i, c := range could {
			words[i] = stateWord(c)
		}
		fmt.Fprintf(&b, "; no order of the operations allows %s here (had it returned %s, the history of %s would be linearizable)", stateWord(saw), joinOr(words), key)
	} else {
		fmt.Fprintf(&b, "; Porcupine could not place it in any order: its longest legal order, %d of the %d operations, leaves the register holding %s", len(order), len(ops), stateWord(state))
	}
	b.WriteString(".")
	a.Text = upperFirst(b.String())
	return a, bad, order, nil
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// witness returns the operation that shows bad's value was no longer there: the last write or ok cas that
// completed before bad began, of a value other than saw; failing that, the last observation of another value.
func witness(ops []keyOp, bad keyOp, saw workloads.RegisterState) *keyOp {
	var w *keyOp
	for pass := 0; pass < 2 && w == nil; pass++ {
		for i := range ops {
			o := &ops[i]
			if o.meta.Invoke == bad.meta.Invoke || o.unknown() || o.op.Return >= bad.op.Call {
				continue
			}
			var val workloads.RegisterState
			if v, ok := o.stores(); ok && pass == 0 && o.out.Kind == workloads.Done {
				val = workloads.RegisterState{Set: true, Value: v}
			} else if v, ok := o.observes(); ok && pass == 1 {
				val = v
			} else {
				continue
			}
			if val == saw {
				continue
			}
			if w == nil || o.op.Return > w.op.Return {
				w = o
			}
		}
	}
	return w
}

// because adds why the value saw cannot be what bad saw: the witness w that completed before bad began and
// fixed another value, and where saw came from.
func (x *explainer) because(b *strings.Builder, ops []keyOp, bad keyOp, saw workloads.RegisterState, w *keyOp) (kind string) {
	read := bad.in.F == workloads.Read
	switch {
	case read:
		kind = "stale read"
	case bad.out.Kind == workloads.Done:
		kind = "cas from a stale value"
	default:
		kind = "stale cas mismatch"
	}
	writers := func(v workloads.RegisterState) []keyOp {
		var out []keyOp
		for _, o := range ops {
			if s, ok := o.stores(); ok && v.Set && s == v.Value && o.meta.Invoke != bad.meta.Invoke {
				out = append(out, o)
			}
		}
		return out
	}
	if w != nil {
		fmt.Fprintf(b, ", but %s had completed before it began", x.describe(*w))
		if s, ok := w.stores(); ok && w.in.F != workloads.Read {
			if w.in.F == workloads.CAS {
				fmt.Fprintf(b, " (it found %d there and left %d)", w.in.From, s)
			}
		} else if v, ok := w.observes(); ok && v.Set {
			if ws := writers(v); len(ws) > 0 {
				fmt.Fprintf(b, "; %d came from %s", v.Value, x.describe(latestBefore(ws, w.op.Return)))
			}
		}
	}
	ws := writers(saw)
	switch {
	case saw.Set && len(ws) == 0:
		fmt.Fprintf(b, "; no operation on this key ever wrote %d", saw.Value)
		if read {
			kind = "read of a value never written"
		} else {
			kind = "cas from a value never written"
		}
	case saw.Set && w != nil:
		src := latestBefore(ws, bad.op.Return)
		switch {
		case !src.unknown() && src.op.Return < w.op.Call:
			fmt.Fprintf(b, "; %d had been written before that, by %s", saw.Value, x.describe(src))
		case len(ws) == 1:
			fmt.Fprintf(b, "; %d can only come from %s", saw.Value, x.describe(src))
		default:
			fmt.Fprintf(b, "; %d came from %s", saw.Value, x.describe(src))
		}
	case !saw.Set && w != nil:
		b.WriteString("; the register had a value by then, and nothing can unset it")
	}
	if w != nil && w.in.F != workloads.Read {
		if s, ok := w.stores(); ok && lost(ops, *w, s) {
			fmt.Fprintf(b, "; no operation after it ever saw %d, and every read after it saw an older value: the write was lost", s)
			kind = "lost write"
		}
	}
	return kind
}

// lost reports whether the value s that w stored was never seen after w completed, while every observation
// after it saw a value stored by an operation invoked before w completed (or null): nothing newer replaced s,
// yet nobody saw it.
func lost(ops []keyOp, w keyOp, s int64) bool {
	after := 0
	for _, o := range ops {
		v, ok := o.observes()
		if !ok || o.op.Call <= w.op.Return {
			continue
		}
		after++
		if v.Set && v.Value == s {
			return false
		}
		if !v.Set {
			continue
		}
		older := false
		for _, p := range ops {
			if t, ok := p.stores(); ok && t == v.Value && p.op.Call < w.op.Return && p.meta.Invoke != w.meta.Invoke {
				older = true
				break
			}
		}
		if !older {
			return false
		}
	}
	return after > 0
}

// latestBefore returns the operation of ws invoked last before t, or the first one.
func latestBefore(ws []keyOp, t int64) keyOp {
	best := ws[0]
	for _, o := range ws[1:] {
		if o.op.Call < t && (best.op.Call >= t || o.op.Call > best.op.Call) {
			best = o
		}
	}
	return best
}

// maxCandidates bounds how many values couldSee tries for one operation.
const maxCandidates = 24

// couldSee returns the values a read could have returned instead with the key's history then linearizable:
// each candidate (null, and the values written most recently before the read ended) is substituted into the
// read's completion and the key checked again, within the explainer's budget.
func (x *explainer) couldSee(keyEvents []history.Event, ops []keyOp, bad keyOp) []workloads.RegisterState {
	if x.budget <= 0 || bad.meta.Complete < 0 {
		return nil
	}
	type cand struct {
		v    workloads.RegisterState
		call int64
	}
	seen := map[workloads.RegisterState]bool{bad.out.Value: true}
	var cands []cand
	for _, o := range ops {
		if s, ok := o.stores(); ok && o.op.Call < bad.op.Return {
			v := workloads.RegisterState{Set: true, Value: s}
			if !seen[v] {
				seen[v] = true
				cands = append(cands, cand{v, o.op.Call})
			}
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].call > cands[j].call })
	if len(cands) > maxCandidates {
		cands = cands[:maxCandidates]
	}
	if !seen[workloads.RegisterState{}] {
		cands = append(cands, cand{v: workloads.RegisterState{}})
	}
	evs := append([]history.Event(nil), keyEvents...)
	at := -1
	for i, e := range evs {
		if e.Index == bad.meta.Complete {
			at = i
		}
	}
	if at < 0 {
		return nil
	}
	orig := evs[at].Value
	var out []workloads.RegisterState
	for _, c := range cands {
		if x.budget <= 0 {
			break
		}
		if c.v.Set {
			evs[at].Value = history.Int(c.v.Value)
		} else {
			evs[at].Value = history.Null()
		}
		t0 := time.Now()
		res, err := checker.Check(evs, checker.Options{Timeout: min(x.budget, time.Second), Workers: 1})
		x.budget -= time.Since(t0)
		if err == nil && res.Verdict == checker.Valid {
			out = append(out, c.v)
		}
	}
	evs[at].Value = orig
	sort.Slice(out, func(i, j int) bool { return !out[i].Set || out[j].Set && out[i].Value < out[j].Value })
	return out
}

// activeFaults lists the faults that overlap [from, to] (to -1: still running at the end), and the nodes they
// touched.
func (x *explainer) activeFaults(from, to int64) ([]string, []string) {
	if to < 0 {
		to = math.MaxInt64
	}
	var out []string
	nodes := map[string]bool{}
	for _, f := range x.faults {
		if f.Start <= to && f.End >= from {
			out = append(out, fmt.Sprintf("%s (from %s to %s)", f.What, sec(f.Start), sec(f.End)))
			for _, n := range f.Nodes {
				nodes[n] = true
			}
		}
	}
	return out, sortedKeys(nodes)
}

// lastFault describes the fault that ended last before t, or "" if none had.
func (x *explainer) lastFault(t int64) string {
	var last *Fault
	for i, f := range x.faults {
		if f.End < t && (last == nil || f.End > last.End) {
			last = &x.faults[i]
		}
	}
	if last == nil {
		return ""
	}
	return fmt.Sprintf("%s, which ended at %s, %.3f s before it began", last.What, sec(last.End), float64(t-last.End)/1e9)
}

func joinOr(ws []string) string {
	switch len(ws) {
	case 0:
		return ""
	case 1:
		return ws[0]
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// eventsByKey splits the client events by key, keeping their order.
func eventsByKey(events []history.Event) map[string][]history.Event {
	out := map[string][]history.Event{}
	open := map[history.Process]string{}
	for _, e := range events {
		if e.Process == history.NemesisProcess {
			continue
		}
		k := e.Key
		if e.Type == history.Invoke {
			open[e.Process] = k
		} else if k == "" {
			k = open[e.Process]
		}
		out[k] = append(out[k], e)
	}
	return out
}

// jsonMarshal is json.Marshal with HTML left unescaped off: the summary is read by scripts.
func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
