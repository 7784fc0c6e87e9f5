package checker

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

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
	ks *keyState
}

// keyState is what the converter knows of a key while it reads.
type keyState struct {
	idx        int // index in converter.keys, -1 until the key's first operation
	open       int // invocations open on the key
	touch      int // Stats.Events at the key's last event
	dispatched int // operations handed to onQuiet last
}

// Operations converts a history into Porcupine operations grouped by key (keys in order of first invocation),
// as the package doc describes. An error names the index of the first malformed event and what was wrong.
func Operations(events []history.Event) ([]KeyOps, Stats, error) {
	return operations(events, history.FailCASObserved)
}

// operations is Operations with a reading of cas-mismatch failures: with history.FailCASNeverHappened they are
// dropped as other failures are.
func operations(events []history.Event, failCAS history.FailCAS) ([]KeyOps, Stats, error) {
	c := newConverter(failCAS)
	for _, e := range events {
		if err := c.add(e); err != nil {
			return nil, c.st, err
		}
	}
	keys, st := c.finish()
	return keys, st, nil
}

// converter is operations one event at a time, so that a file can be converted as it is read, without holding
// its events.
type converter struct {
	failCAS history.FailCAS
	st      Stats
	open    procTable[*pending]
	free    []*pending       // pendings to reuse
	retired procTable[int64] // process -> index of its info
	keyStat map[string]*keyState
	keys    []KeyOps
	readIn  []interface{} // per key: its read input, boxed once
	// per key: the last output boxed that is neither doneOut nor unknownOut, and its box
	lastOut   []workloads.RegisterOutput
	lastBoxed []interface{}
	clients   [][]history.Process // per key: its processes, by client id

	// onQuiet, when set, is handed the operations so far of a key that has no open invocation and has had no
	// event for quietAfter events, while the rest of the history is still read: most likely a key the workload
	// is done with, which can be checked at once. A key that sees more events later is handed over again when
	// it goes quiet again (and, in any case, finish has the final word on it).
	onQuiet    func(idx int, ops []porcupine.Operation)
	quietAfter int
	touched    []touched // keys in the order of their events, oldest first from touchHead
	touchHead  int
}

type touched struct {
	ks    *keyState
	touch int
}

func newConverter(failCAS history.FailCAS) *converter {
	return &converter{
		failCAS: failCAS,
		keyStat: map[string]*keyState{},
	}
}

func (c *converter) addOp(p *pending, out workloads.RegisterOutput, ret int64, complete int64) {
	i := p.ks.idx
	if i < 0 {
		i = len(c.keys)
		p.ks.idx = i
		c.keys = append(c.keys, KeyOps{Key: p.ev.Key})
		c.clients = append(c.clients, nil)
		c.readIn = append(c.readIn, nil)
		c.lastOut = append(c.lastOut, doneOut) // never compared: doneOut is matched first
		c.lastBoxed = append(c.lastBoxed, nil)
	}
	// A key has few processes (its workers, and those that replaced a worker after an info): a list is faster
	// than a map. Most operations are by a process seen lately, so the search starts at the end.
	clients := c.clients[i]
	cid := -1
	for j := len(clients) - 1; j >= 0; j-- {
		if clients[j] == p.ev.Process {
			cid = j
			break
		}
	}
	if cid < 0 {
		cid = len(clients)
		c.clients[i] = append(clients, p.ev.Process)
	}
	// Boxing an input or output in an interface allocates. Reads of a key all have the same input, and outputs
	// repeat, so those are boxed once and shared (Porcupine never changes them); writes and cas are boxed each.
	var in interface{}
	if p.in.F == workloads.Read {
		if in = c.readIn[i]; in == nil {
			in = p.in
			c.readIn[i] = in
		}
	} else {
		in = p.in
	}
	var boxed interface{}
	switch {
	case out == doneOut:
		boxed = boxedDone
	case out == unknownOut:
		boxed = boxedUnknown
	case out == c.lastOut[i]:
		boxed = c.lastBoxed[i] // reads of a key in a row mostly see the same value
	default:
		boxed = out
		c.lastOut[i], c.lastBoxed[i] = out, boxed
	}
	c.keys[i].Ops = append(c.keys[i].Ops, porcupine.Operation{
		ClientId: cid,
		Input:    in,
		Call:     p.ev.Time,
		Output:   boxed,
		Return:   ret,
		Metadata: Meta{Process: p.ev.Process, Invoke: p.ev.Index, Complete: complete, Node: p.ev.Node},
	})
	c.st.Ops++
}

// The outputs most operations have, boxed once.
var (
	doneOut                  = workloads.RegisterOutput{Kind: workloads.Done}
	unknownOut               = workloads.RegisterOutput{Kind: workloads.Unknown}
	boxedDone    interface{} = doneOut
	boxedUnknown interface{} = unknownOut
)

// touch notes an event on ks, and hands the keys that went quiet to onQuiet.
func (c *converter) touch(ks *keyState) {
	if c.onQuiet == nil {
		return
	}
	now := c.st.Events
	if ks.dispatched > 0 && ks.touch <= now-c.quietAfter {
		// A key handed over comes back: the workload leaves keys for longer than quietAfter. Wait longer, so as
		// not to check keys over and over.
		c.quietAfter = min(2*c.quietAfter, 1<<20) // the queue of touches holds up to this many entries
	}
	ks.touch = now
	c.touched = append(c.touched, touched{ks, now})
	for c.touchHead < len(c.touched) && c.touched[c.touchHead].touch <= now-c.quietAfter {
		t := c.touched[c.touchHead]
		c.touched[c.touchHead] = touched{}
		c.touchHead++
		ks := t.ks
		if t.touch != ks.touch || ks.open > 0 || ks.idx < 0 {
			continue // touched again since, or busy, or nothing to check
		}
		if ops := c.keys[ks.idx].Ops; len(ops) > ks.dispatched {
			ks.dispatched = len(ops)
			c.onQuiet(ks.idx, ops[:len(ops):len(ops)])
		}
	}
	if c.touchHead > 4096 && c.touchHead > len(c.touched)/2 {
		n := copy(c.touched, c.touched[c.touchHead:])
		c.touched = c.touched[:n]
		c.touchHead = 0
	}
}

// add takes the next event of the history.
func (c *converter) add(e history.Event) error {
	c.st.Events++
	if e.Process == history.NemesisProcess {
		c.st.Nemesis++
		return nil
	}
	if e.Process < 0 {
		return fmt.Errorf("event %d: process %d is negative", e.Index, e.Process)
	}
	if e.Type == history.Invoke {
		if at, ok := c.retired.get(e.Process); ok {
			return fmt.Errorf("event %d: process %s invokes again after its info at event %d; a process whose outcome is unknown must be retired", e.Index, e.Process, at)
		}
		if p, ok := c.open.get(e.Process); ok {
			return fmt.Errorf("event %d: process %s invokes while its invocation at event %d is still open", e.Index, e.Process, p.ev.Index)
		}
		in, err := input(e)
		if err != nil {
			return fmt.Errorf("event %d: %w", e.Index, err)
		}
		ks := c.keyStat[e.Key]
		if ks == nil {
			ks = &keyState{idx: -1}
			c.keyStat[e.Key] = ks
		}
		ks.open++
		var p *pending
		if n := len(c.free); n > 0 {
			p, c.free = c.free[n-1], c.free[:n-1]
		} else {
			p = new(pending)
		}
		*p = pending{ev: e, in: in, ks: ks}
		c.open.set(e.Process, p)
		c.touch(ks)
		return nil
	}
	if !e.Type.Valid() {
		return fmt.Errorf("event %d: type %q is not one of invoke, ok, fail, info", e.Index, e.Type)
	}
	p, ok := c.open.get(e.Process)
	if !ok {
		if at, ok := c.retired.get(e.Process); ok {
			return fmt.Errorf("event %d: %s completion on process %s, retired by its info at event %d", e.Index, e.Type, e.Process, at)
		}
		return fmt.Errorf("event %d: %s completion on process %s, which has no open invocation", e.Index, e.Type, e.Process)
	}
	c.open.del(e.Process)
	p.ks.open--
	defer func() {
		c.touch(p.ks)
		c.free = append(c.free, p)
	}()
	if e.F != p.ev.F {
		return fmt.Errorf("event %d: completion of %q on process %s, whose invocation at event %d is %q", e.Index, e.F, e.Process, p.ev.Index, p.ev.F)
	}
	if e.Key != "" && e.Key != p.ev.Key {
		return fmt.Errorf("event %d: completion on key %q, whose invocation at event %d is on key %q", e.Index, e.Key, p.ev.Index, p.ev.Key)
	}
	if e.Time < p.ev.Time {
		return fmt.Errorf("event %d: completes at time %d, before its invocation at event %d (time %d)", e.Index, e.Time, p.ev.Index, p.ev.Time)
	}
	switch e.Type {
	case history.Ok:
		out := workloads.RegisterOutput{Kind: workloads.Done}
		if p.in.F == workloads.Read {
			v, err := history.AsOptInt(e.Value)
			if err != nil {
				return fmt.Errorf("event %d: ok read: %w", e.Index, err)
			}
			out.Value = state(v)
		}
		c.addOp(p, out, e.Time, e.Index)
	case history.Info:
		c.retired.set(e.Process, e.Index)
		if p.in.F == workloads.Read {
			c.st.Dropped++
			return nil
		}
		c.st.Unknown++
		c.addOp(p, workloads.RegisterOutput{Kind: workloads.Unknown}, Infinity, e.Index)
	case history.Fail:
		if p.in.F != workloads.CAS || e.Error != history.ErrCASMismatch || c.failCAS == history.FailCASNeverHappened {
			c.st.Dropped++
			return nil
		}
		out := workloads.RegisterOutput{Kind: workloads.Mismatch}
		// Our protocol's form is the value the cas saw (an integer or null, which is never a pair); Jepsen's is
		// [from, to], and says nothing of what it saw. The integer form is tried first: it is the common one, and
		// a failed asPair costs an error.
		if v, err := history.AsOptInt(e.Value); err == nil {
			out.Observed, out.Value = true, state(v)
		} else if _, _, err := asPair(e.Value); err != nil {
			return fmt.Errorf("event %d: cas-mismatch fail: value %s is neither the value seen (an integer or null) nor Jepsen's [from, to]", e.Index, e.Value)
		}
		c.st.Observations++
		c.addOp(p, out, e.Time, e.Index)
	}
	return nil
}

// finish ends the history: invocations the run never completed count as info.
func (c *converter) finish() ([]KeyOps, Stats) {
	for _, p := range sortedOpen(c.open.all()) {
		if p.in.F == workloads.Read {
			continue
		}
		c.st.Unknown++
		c.addOp(p, workloads.RegisterOutput{Kind: workloads.Unknown}, Infinity, -1)
	}
	c.open = procTable[*pending]{}
	return c.keys, c.st
}

// asPair is history.AsPair, without encoding/json for the plain form [from,to] that skeptic writes.
func asPair(v json.RawMessage) (from, to int64, err error) {
	if len(v) >= 5 && v[0] == '[' && v[len(v)-1] == ']' {
		if a, b, ok := strings.Cut(string(v[1:len(v)-1]), ","); ok && canonicalInt(a) && canonicalInt(b) {
			from, err1 := strconv.ParseInt(a, 10, 64)
			to, err2 := strconv.ParseInt(b, 10, 64)
			if err1 == nil && err2 == nil {
				return from, to, nil
			}
		}
	}
	return history.AsPair(v)
}

// canonicalInt reports whether s is an integer as JSON writes it: -?(0|[1-9][0-9]*).
func canonicalInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 1 && s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// procTable maps processes to values: a slice for the small process numbers workers use, a map for the rest.
type procTable[V any] struct {
	small []V
	has   []bool
	big   map[history.Process]V
}

// procSmall bounds the process numbers procTable keeps in its slice.
const procSmall = 1 << 16

func (t *procTable[V]) get(p history.Process) (V, bool) {
	if p >= 0 && p < procSmall {
		if int(p) < len(t.has) && t.has[p] {
			return t.small[p], true
		}
		var zero V
		return zero, false
	}
	v, ok := t.big[p]
	return v, ok
}

func (t *procTable[V]) set(p history.Process, v V) {
	if p >= 0 && p < procSmall {
		for int(p) >= len(t.has) {
			t.has = append(t.has, false)
			var zero V
			t.small = append(t.small, zero)
		}
		t.small[p], t.has[p] = v, true
		return
	}
	if t.big == nil {
		t.big = map[history.Process]V{}
	}
	t.big[p] = v
}

func (t *procTable[V]) del(p history.Process) {
	if p >= 0 && p < procSmall {
		if int(p) < len(t.has) {
			var zero V
			t.small[p], t.has[p] = zero, false
		}
		return
	}
	delete(t.big, p)
}

// all returns the table's values, in no particular order.
func (t *procTable[V]) all() []V {
	var out []V
	for i, ok := range t.has {
		if ok {
			out = append(out, t.small[i])
		}
	}
	for _, v := range t.big {
		out = append(out, v)
	}
	return out
}

// sortedOpen returns the invocations still open, in invocation order, so the result is deterministic.
func sortedOpen(open []*pending) []*pending {
	out := open
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
		from, to, err := asPair(e.Value)
		if err != nil {
			return in, fmt.Errorf("cas invocation: %w", err)
		}
		in.From, in.To = from, to
	default:
		return in, fmt.Errorf("unknown function %q; want read, write or cas", e.F)
	}
	return in, nil
}
